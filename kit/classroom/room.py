"""The instructor's side: the room's OTLP endpoint and its board, on the kit's receiver.

    >>> room = open_room(host="10.0.0.5", port=4318)     # python -m kit classroom does this
    >>> room = open_room(host="0.0.0.0", allowed_hosts=["instructor.local"])  # reached by a name too
    >>> room.code, room.endpoint                         # ('K7QX2M', 'http://10.0.0.5:4318')
    >>> room.board_url                                   # the board, for the instructor (its key inside)
    >>> room.progress.state()
    >>> room.close()

It is one :mod:`kit.receiver` (the same OTLP decoding, bounds and hardening, gRPC off
unless asked for), given a **gate** and the board's **routes**:

* the gate takes an OTLP request only with the room code in the ``x-kit-room`` header
  (:mod:`kit.classroom.record`); anything else is refused (401) before its body is read,
  and counted (``room.refused``);
* the board (:mod:`kit.classroom.board_page`) answers on the same port, under ``/board``,
  only to whoever has its key (a link printed for the instructor, then a cookie): the
  learners know the room code, not the key;
* like any kit receiver it answers HTTP only to its own names (:mod:`kit.receiver.hosts`):
  loopback, the address it listens on, and the names given in ``allowed_hosts``
  (``--allow-host``), for a room that reaches it by a name such as ``instructor.local``.

A thread folds each log record the receiver keeps into :class:`~kit.classroom.progress.Progress`.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import Counter

from kit.classroom import board_page, record
from kit.classroom.progress import Progress
from kit.receiver import start_receiver


def _known_exercises() -> list[str]:
    from kit.checks.exercises import EXERCISES
    return list(EXERCISES)


class Room:
    """A class board: the OTLP endpoint learners join and the page the instructor watches."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4318, code: str | None = None,
                 stuck_minutes: float = 5.0, lessons=None, grpc_port: int | None = None, key: str | None = None,
                 exercises=None, allowed_hosts=()):
        self.code = record.room_code(code) if code else record.new_code()
        self.key = key or secrets.token_urlsafe(16)
        self.refused: Counter = Counter()
        self._lock = threading.Lock()
        self.progress = Progress(_known_exercises() if exercises is None else exercises, stuck_minutes * 60, lessons)
        self.receiver = start_receiver(grpc_port, port, host, allowed_hosts, gate=self.gate,
                                       routes=board_page.routes(self))
        self._closing = threading.Event()
        self._follower = threading.Thread(target=self._follow, name="classroom-board", daemon=True)
        self._follower.start()

    @property
    def endpoint(self) -> str:
        return self.receiver.http_endpoint

    @property
    def board_url(self) -> str:
        return f"{self.endpoint}/board?key={self.key}"

    def invitation(self, name: str = "your name") -> record.Invitation:
        return record.Invitation(self.endpoint, self.code, name)

    def gate(self, transport: str, path: str, headers) -> str | None:
        """None for a request with the room code; else why it is refused (and it is counted)."""
        sent = headers.get(record.HEADER) or ""
        if hmac.compare_digest(sent.strip().upper().encode("utf-8", "replace"), self.code.encode()):
            return None
        why = "no room code" if not sent else "a wrong room code"
        with self._lock:
            self.refused[why] += 1
        return f"refused: {why} (send the header {record.HEADER}=<the room's code>)"

    def refused_total(self) -> int:
        with self._lock:
            return sum(self.refused.values())

    def _follow(self) -> None:
        """Fold every log row the receiver keeps, as it arrives."""
        received = self.receiver.received
        mark = 0
        while not self._closing.is_set():
            with received.changed:
                received.changed.wait_for(lambda: received.totals()["logs"] != mark or self._closing.is_set(),
                                          timeout=1.0)
                total = received.totals()["logs"]
                rows = received.since("logs", mark)
            if total != mark:
                self.progress.fold(rows, time.time(), lost=(total - mark) - len(rows))
                mark = total

    def wait_for(self, predicate, timeout_s: float = 10.0) -> bool:
        """Wait until ``predicate(room.progress)`` holds (tried again at each change), at most ``timeout_s``."""
        with self.progress.changed:
            return self.progress.changed.wait_for(lambda: predicate(self.progress), timeout=timeout_s)

    def close(self) -> None:
        self._closing.set()
        with self.receiver.received.changed:
            self.receiver.received.changed.notify_all()
        self._follower.join(5)
        self.receiver.stop()


def open_room(host: str = "127.0.0.1", port: int = 4318, code: str | None = None, stuck_minutes: float = 5.0,
              lessons=None, grpc_port: int | None = None, allowed_hosts=()) -> Room:
    """Start a class board (see the module); port 0: a free one; ``allowed_hosts``: the names,
    besides its address, learners and the instructor reach it by."""
    return Room(host, port, code, stuck_minutes, lessons, grpc_port, allowed_hosts=allowed_hosts)
