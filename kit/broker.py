"""Embedded MQTT brokers, started in one call from a notebook or a script.

    >>> from kit.broker import start_broker
    >>> broker = start_broker()               # MQTT 3.1.1 (amqtt), 127.0.0.1, a free port
    >>> broker5 = start_broker(protocol=5)    # MQTT v5 (and 3.1.1): the kit's own small broker
    >>> client.connect(broker.host, broker.port)
    >>> broker.stop()

Each broker runs in its own thread with its own asyncio event loop (a Jupyter
kernel already runs one in the main thread). Re-running the cell gives you the
broker that is already running instead of an "address already in use" error.

The embedded brokers keep their logs to themselves (their thread would print into
whatever cell runs next): set ``propagate = True`` on the ``kit.mqtt_broker`` logger
(or amqtt's) to see them. ``python -m kit broker`` prints the v5 broker's log on stderr.

Set ``MQTT_BROKER_URL=mqtt://localhost:1883`` to use a broker you run
yourself (Mosquitto, EMQX, HiveMQ, the compose stack): ``start_broker`` then
starts nothing and returns that address, so the lessons run against it unchanged.

From a terminal, for exercises across processes::

    python -m kit broker --protocol 5 --port 1883
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass
from urllib.parse import urlparse

from kit.ports import free_port, is_listening

__all__ = ["start_broker", "Broker", "BrokerError", "stop_all"]

PROTOCOLS = {"3.1.1": "3.1.1", "311": "3.1.1", "4": "3.1.1", "5": "5", "5.0": "5"}


class BrokerError(RuntimeError):
    """A broker could not be started or reached; the message says what to do."""


@dataclass
class Broker:
    """Where a broker listens. ``embedded`` is False for one given by MQTT_BROKER_URL."""

    host: str
    port: int
    protocol: str
    implementation: str
    embedded: bool = True
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: object = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop an embedded broker and free its port (does nothing for an external one)."""
        if not self.embedded or self._loop is None or self._loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout_s)
        except Exception:  # stopping must not raise into the lesson
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)
        _running.pop((self.protocol, self.port), None)

    def __repr__(self):
        kind = "embedded " + self.implementation if self.embedded else "external"
        return f"<MQTT {self.protocol} broker at {self.url} ({kind})>"


_running: dict[tuple[str, int], Broker] = {}
_lock = threading.Lock()


def start_broker(protocol: str | int = "3.1.1", port: int | None = None, host: str = "127.0.0.1") -> Broker:
    """Start (or return the already running) embedded broker.

    ``protocol``: ``"3.1.1"`` (amqtt) or ``5`` (the kit's :mod:`kit.mqtt_broker`,
    which also accepts 3.1.1 clients). ``port``: a free one if None (or 0: one the system
    picks as the broker binds; ``.port`` says which). With
    ``MQTT_BROKER_URL`` set, nothing is started and that broker is returned.
    """
    proto = PROTOCOLS.get(str(protocol))
    if proto is None:
        raise BrokerError(f"protocol={protocol!r}: use '3.1.1' or 5.")
    external = os.environ.get("MQTT_BROKER_URL")
    if external:
        return _external(external, proto)
    with _lock:
        for (p, prt), broker in _running.items():
            if p == proto and port in (None, 0, prt) and broker._thread.is_alive():
                return broker  # the cell was re-run: same broker, no "address in use"
        if port is not None and is_listening(host, port):
            raise BrokerError(f"port {port} on {host} is already taken by another program (another "
                              f"broker?). Leave port out to get a free one, or stop the other program.")
        broker = _start_thread(proto, host, port) if port is not None else _start_on_a_free_port(proto, host)
        _running[(proto, broker.port)] = broker
        return broker


def _start_on_a_free_port(protocol: str, host: str, tries: int = 5) -> Broker:
    """Another program may take the free port between its choice and the broker's bind
    (a parallel test run, a second kernel): then another port, not an error."""
    for attempt in range(tries):
        port = free_port(host)
        try:
            return _start_thread(protocol, host, port)
        except BrokerError:
            if attempt == tries - 1 or not is_listening(host, port):  # not a port lost to a race
                raise


def stop_all() -> None:
    """Stop every embedded broker this process started."""
    for broker in list(_running.values()):
        broker.stop()


def _external(url: str, protocol: str) -> Broker:
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "tcp") or not parsed.hostname:
        raise BrokerError(f"MQTT_BROKER_URL={url!r}: write it as mqtt://HOST:PORT, e.g. mqtt://localhost:1883.")
    return Broker(parsed.hostname, parsed.port or 1883, protocol, "external", embedded=False)


def _start_thread(protocol: str, host: str, port: int) -> Broker:
    ready = threading.Event()
    box: dict = {}

    def run():
        loop = asyncio.new_event_loop()
        box["loop"] = loop
        try:
            box["stop"], box["port"] = loop.run_until_complete(_serve(protocol, host, port))
        except BaseException as exc:  # reported to the caller below
            box["error"] = exc
            ready.set()
            loop.close()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name=f"mqtt-{protocol}-broker-{port}", daemon=True)
    thread.start()
    if not ready.wait(15) or "error" in box:
        raise BrokerError(f"the MQTT {protocol} broker could not start on {host}:{port}: "
                          f"{box.get('error', 'it did not answer within 15 s')}")
    implementation = "amqtt" if protocol == "3.1.1" else "kit.mqtt_broker"
    return Broker(host, box["port"], protocol, implementation, True, thread, box["loop"], box["stop"])


async def _serve(protocol: str, host: str, port: int):
    """Start the broker inside the running loop; return a coroutine function that stops it,
    and the port it listens on (the one the system chose, for port 0)."""
    if protocol == "5":
        from kit.mqtt_broker import MQTTBroker
        logger = logging.getLogger("kit.mqtt_broker")
        if not logger.handlers:  # embedded in a notebook: its warnings must not print into a later cell
            logger.propagate = False
            logger.addHandler(logging.NullHandler())
        broker = MQTTBroker(host, port)
        return broker.stop, await broker.start()
    for name in ("amqtt", "transitions"):
        # amqtt is chatty, and its thread would print into whatever cell runs next:
        # keep its log to itself (set propagate = True on these loggers to see it)
        logger = logging.getLogger(name)
        logger.setLevel(logging.WARNING)
        logger.propagate = False
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
    from kit.amqtt_broker import KitAmqttBroker  # amqtt, with the 3.1.1 defects the lessons hit fixed
    broker = KitAmqttBroker({
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    })
    await broker.start()
    listening = broker._servers["default"].instance.sockets[0]  # amqtt does not say which port it took
    return broker.shutdown, listening.getsockname()[1]
