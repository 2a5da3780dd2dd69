"""What a receiver keeps: the rows of each signal, bounded, and a log of every request.

Every way in ends in :meth:`Received.keep` (OTLP over gRPC or HTTP through
:meth:`Received.accept`, Zipkin directly): the one place where rows arrive, are counted
and wake whoever waits on :attr:`Received.changed`. Each signal keeps its newest
``limits.MAX_ITEMS`` rows and its newest ``limits.MAX_BYTES`` (estimated) of them.

The totals are watermarks: how many rows of each signal ever arrived, so
:meth:`Received.since` gives what came after a moment even once older rows are gone.
Each store adds itself to :mod:`kit.running`, where :mod:`kit.attempts` finds it.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timezone

from kit import running
from kit.receiver import decode, limits


class _Store(deque):
    """A signal's rows, oldest first, with the estimated size of each."""

    def __init__(self):
        super().__init__()
        self.sizes: deque = deque()
        self.bytes = 0

    def put(self, rows: list, sizes: list) -> list:
        """Keep ``rows``; return the oldest rows let go to stay within the bounds."""
        self.extend(rows)
        self.sizes.extend(sizes)
        self.bytes += sum(sizes)
        gone = []
        while self and (len(self) > limits.MAX_ITEMS or self.bytes > limits.MAX_BYTES):
            gone.append(self.popleft())
            self.bytes -= self.sizes.popleft()
        return gone

    def clear(self) -> None:
        super().clear()
        self.sizes.clear()
        self.bytes = 0


def _estimate(row: dict) -> int:
    """The size of a row that came without one (Zipkin's), from its attributes, resource,
    texts and events."""
    attrs = row.get("attributes") or {}
    resource = row.get("resource") or {}
    texts = sum(len(str(row.get(k) or "")) for k in ("name", "status_message", "trace_state", "scope_version"))
    return (decode.ROW_BYTES["spans"] + texts
            + sum(len(str(k)) + len(str(v)) for d in (attrs, resource) for k, v in d.items())
            + decode.ITEM_BYTES * (len(attrs) + len(resource) + len(row.get("events") or ())))


class Received:
    """Everything accepted so far, a log of every request (refused ones too), and a
    condition to wait on."""

    def __init__(self):
        self.spans = _Store()
        self.logs = _Store()
        self.metrics = _Store()
        self.log: deque = deque(maxlen=1000)  # one row per request: how it came, what became of it
        self.requests = 0
        self._totals = {"spans": 0, "logs": 0, "metrics": 0, "requests": 0}
        self.changed = threading.Condition()
        self._decoding = threading.Lock()  # one request decoded at a time: its memory is bounded
        self.watchers: list = []  # watch(signal, rows, gone) for each batch kept, called under the lock:
        #                          it only queues them (the page's index, kit.receiver.trace_index)
        running.add_receiver(self)

    @property
    def bytes(self) -> dict:
        """The estimated bytes kept of each signal (each at most ``limits.MAX_BYTES``)."""
        with self.changed:
            return {s: getattr(self, s).bytes for s in ("spans", "logs", "metrics")}

    def totals(self) -> dict:
        """How many spans, logs, metric points and requests were ever received (a watermark)."""
        with self.changed:
            return dict(self._totals)

    def since(self, signal: str, mark: int | None) -> list:
        """The rows of ``signal`` (``"spans"``, ``"logs"``, ``"metrics"``, ``"requests"``)
        received after the watermark ``mark`` (all, for None)."""
        with self.changed:
            store = self.log if signal == "requests" else getattr(self, signal)
            items = list(store)
            new = len(items) if mark is None else self._totals[signal] - mark
        return items[len(items) - min(max(new, 0), len(items)):]

    def note(self, transport, path, status, note="", signal="", items=0, names=()) -> None:
        """Log one request (``status``: HTTP's code, or gRPC's name such as ``"OK"``)."""
        with self.changed:
            self.log.append({"time": datetime.now(timezone.utc), "transport": transport, "path": path,
                             "signal": signal, "status": status, "items": items, "names": list(names),
                             "note": note})
            self._totals["requests"] += 1
            self.changed.notify_all()

    def accept(self, signal: str, body: bytes, content_type: str, transport: str, path: str, how: str = ""):
        """Decode one OTLP body of ``signal`` (``"traces"``, ``"metrics"``, ``"logs"``), keep its
        valid items and return the response; raises ``decode.Invalid`` / ``TooLarge``.
        ``how`` (the encodings it came in) goes into the request's note."""
        with self._decoding:
            request = decode.parse(signal, body, content_type)
            decoded = decode.rows(request, len(body))
        max_bytes = limits.MAX_BYTES
        while decoded.rows and sum(decoded.sizes) > max_bytes:  # more than the store holds: the oldest go
            decoded.rows.pop(0)
            decoded.sizes.pop(0)
            decoded.reject(f"more than the receiver keeps ({max_bytes // 2**20} MB of {decoded.store})")
        rejected = f"{decoded.rejected} rejected: {decoded.why}" if decoded.rejected else ""
        self.keep(decoded.store, decoded.rows, transport, path, decoded.sizes,
                  note="; ".join(n for n in (how, rejected, *decoded.notes) if n))
        return decode.response(request, decoded)

    def add(self, request, transport: str = "grpc", path: str = "") -> None:
        """Keep the items of an already parsed Export…ServiceRequest."""
        decoded = decode.rows(request)
        self.keep(decoded.store, decoded.rows, transport, path, decoded.sizes)

    def keep(self, signal: str, rows: list, transport: str, path: str, sizes: list | None = None,
             note: str = "") -> None:
        """Keep decoded rows of ``signal`` (``"spans"``, ``"logs"``, ``"metrics"``) and log the request."""
        for row in rows if signal in ("spans", "logs") else ():
            row["transport"] = transport
        sizes = [_estimate(r) for r in rows] if sizes is None else sizes
        with self.changed:
            gone = getattr(self, signal).put(rows, sizes)
            for watch in self.watchers:
                watch(signal, rows, gone)
            self._totals[signal] += len(rows)
            self.requests += 1
            self.changed.notify_all()
        names = dict.fromkeys(r.get("name", "") for r in rows) if signal != "logs" else ()
        self.note(transport, path, "OK" if transport == "grpc" else 200, note=note, signal=signal,
                  items=len(rows), names=names)
