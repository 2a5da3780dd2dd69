"""An ``on_message`` callback that keeps what arrives, so a cell can wait for it.

    >>> inbox = Inbox()
    >>> client.on_message = inbox          # paho calls inbox(client, userdata, msg)
    >>> client.publish("sensors/temp", b"21.5")
    >>> inbox.wait(1)                      # the messages, once 1 has arrived (or after 5 s)

paho runs callbacks in its network thread; a notebook cell must wait for them
before looking. Waiting on a condition returns as soon as the message is
there: no ``time.sleep`` guess that is too short on a slow laptop and too long
on a fast one.

If the handler you give it (``then``) raises, paho would let the exception stop
its network thread, and the client would receive nothing more. In a lesson,
one typo must not cost you the client: ``Inbox`` logs the error, keeps it in
``inbox.errors`` (the self-checks report it), keeps the message, and the client
goes on. Likewise a handler that attaches an OpenTelemetry context and never
detaches it would leave it on paho's thread, under every later message: ``Inbox``
notes it in ``inbox.leaks`` and puts the context back as it was.
"""

from __future__ import annotations

import logging
import threading

_log = logging.getLogger("kit.inbox")


class Inbox:
    def __init__(self, then=None):
        """``then(client, userdata, msg)``, if given, handles each message before it is kept."""
        self.messages: list = []
        self.errors: list = []  # (message, exception) for each message the handler raised on
        self.leaks: list = []   # (message, context) for each message the handler left a context attached on
        self.then = then
        self._arrived = threading.Condition()

    def __call__(self, client, userdata, msg):  # the paho VERSION2 on_message signature
        from opentelemetry import context
        before = context.get_current()
        try:
            if self.then is not None:  # first, so wait() returns only once it is done
                self.then(client, userdata, msg)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001  a broken handler (even a sys.exit()) must not stop paho's thread
            self.errors.append((msg, exc))
            _log.error("on_message raised %s: %s (the kit's Inbox caught it; the client goes on)",
                       type(exc).__name__, exc)
        finally:
            left = context.get_current()
            if left != before:  # attached and never detached: not under the next message too
                self.leaks.append((msg, left))
                context.attach(before)
            with self._arrived:
                self.messages.append(msg)
                self._arrived.notify_all()

    def wait(self, count: int = 1, timeout_s: float = 5.0) -> list:
        """The messages received, once at least ``count`` are in (or after ``timeout_s``)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout_s)
            return list(self.messages)

    def clear(self) -> None:
        with self._arrived:
            self.messages.clear()
            self.errors.clear()
            self.leaks.clear()
