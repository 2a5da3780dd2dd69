"""The page's index of the traces a receiver keeps: its cost follows what it shows, not the store.

    >>> index = TraceIndex(receiver.received)     # the page makes one (kit.receiver.page)
    >>> found = index.search(Query(service="sensor", min_ms=2.0, limit=20))
    >>> found.traces[0].root, found.traces[0].spans, found.traces[0].duration_ms
    ('read temperature', 6, 3.94)
    >>> index.rows(found.traces[0].trace_id)      # that trace's span rows, as the store keeps them
    >>> index.services(), index.operations("sensor"), index.flows()
    >>> index.close()                             # the store forgets it

What it keeps, per trace: its spans (each row and what the list needs of it: ids, service,
name, start, end, status), its earliest start and latest end, its span and error counts, the
services and operations (service, span name) it has, its log records, and a version that
changes whenever one of those does. Across traces: the traces in start order (the newest
``limit`` are the last ones: no sort, no scan), how many spans each service and operation
has (the search form's lists), and the message flows between services (the service map of
every trace), each trace's share kept so that a trace that changes or goes is taken out.
Its root, services in order and depth are worked out when a trace is shown, and kept
until it changes.

How ingestion stays clear of the page: the store calls :meth:`TraceIndex.queue` for every
batch it keeps (and the old rows it lets go), under its lock, and ``queue`` only appends
the batch to a queue. The indexing itself is done by whoever reads the index (the page,
at most once a second per open tab), under the index's own lock, for the rows that came
since its last read: never by the thread that answers an exporter. With no page open
nothing is done; past ``QUEUE_ROWS`` rows waiting the queue is dropped (it would hold
rows the store let go), and the next read indexes the store afresh, as the first one does.
The same happens when the store and the index disagree on how many rows there are (a test
that empties the store directly).

Any value a sender sends is read as text (:mod:`kit.views.values`): a service that is a
number or a list, a span with no start time (listed last), a name a megabyte long (the
index keeps its first ``values.MAX_TEXT`` characters as its key; the row keeps all of it).
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from kit.views.values import number, text, when

QUEUE_ROWS = 50_000           # rows waiting to be indexed; past this the index starts again from the store
NO_START = -(2**63)           # the sort key of a trace with no start time: listed last (oldest)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
TOPIC = "messaging.destination.name"


def _key(value) -> str:
    """A value as the text the index compares (a short printable string as it is)."""
    if type(value) is str and len(value) <= 200 and value.isprintable():
        return value
    return text(value)


def start_ns(value) -> int | None:
    """A start time as nanoseconds since 1970 (None when it is not a time)."""
    if type(value) is datetime and value.tzinfo is not None:
        try:
            return (value - _EPOCH) // _US * 1000
        except OverflowError:
            return None
    t = when(value)
    if t is None:
        return None
    try:
        return int(t.value)
    except (OverflowError, ValueError):
        return None


class IndexedSpan:
    """What the index reads of one span row."""

    __slots__ = ("row", "serial", "span_id", "parent", "service", "name", "start", "end", "error")

    def __init__(self, row: dict, serial: int):
        self.row, self.serial = row, serial
        self.span_id = _key(row.get("span_id"))
        parent = row.get("parent_span_id")
        self.parent = None if parent is None or (isinstance(parent, float) and math.isnan(parent)) else _key(parent)
        self.service = _key(row.get("service")) or "(no service.name)"
        self.name = _key(row.get("name"))
        self.start = start_ns(row.get("start"))
        duration = number(row.get("duration_ms"))
        duration = duration if duration is not None and duration >= 0 else 0.0
        self.end = None if self.start is None else self.start + int(min(duration, 1e15) * 1e6)
        self.error = row.get("status") == "ERROR"


@dataclass
class Summary:
    """One trace as the results list shows it."""

    trace_id: str
    start_ns: int | None
    root: str                  # the root span's name (with a note when its parent is elsewhere)
    root_service: str
    services: list             # in the order they joined (first start)
    spans: int
    errors: int
    duration_ms: float | None
    depth: int
    version: int


class _Trace:
    __slots__ = ("trace_id", "spans", "logs", "start", "end", "errors", "services", "ops", "version",
                 "key", "flows", "summary")

    def __init__(self, trace_id: str):
        self.trace_id = trace_id
        self.spans: dict[int, IndexedSpan] = {}      # serial → span, in arrival order
        self.logs: dict[int, dict] = {}        # serial → log row
        self.start = self.end = None
        self.errors = 0
        self.services: dict = {}               # service → spans
        self.ops: dict = {}                    # (service, name) → spans
        self.version = 0
        self.key = None                        # its place in TraceIndex._order
        self.flows: dict = {}                  # its share of the flows between services
        self.summary: Summary | None = None    # worked out when shown, kept until it changes

    def bounds(self) -> None:
        starts = [s.start for s in self.spans.values() if s.start is not None]
        self.start = min(starts) if starts else None
        self.end = max((s.end for s in self.spans.values() if s.end is not None), default=None)


@dataclass
class Query:
    """A search, as Jaeger's form asks it. Empty fields match everything."""

    service: str = ""
    operation: str = ""
    tags: dict = field(default_factory=dict)    # key → wanted text (None: the key is there)
    min_ms: float | None = None
    max_ms: float | None = None
    lookback_s: float | None = None             # None: every trace kept
    limit: int = 20
    offset: int = 0
    trace_id: str = ""                          # a trace id, or its start


@dataclass
class Found:
    traces: list                    # Summary, newest first
    more: bool                      # older matches after these
    total: int                      # traces kept in all
    scanned: int                    # traces looked at (the cost of the search)


def _tag_matches(span: IndexedSpan, tags: dict) -> bool:
    row = span.row
    attrs = row.get("attributes")
    attrs = attrs if isinstance(attrs, dict) else {}
    resource = row.get("resource")
    resource = resource if isinstance(resource, dict) else {}
    for key, want in tags.items():
        if key == "error" and want in ("true", "1", "yes"):
            if not span.error:
                return False
            continue
        if key in attrs:
            value = attrs[key]
        elif key in resource:
            value = resource[key]
        elif key == "service.name":
            value = span.service
        else:
            return False
        if want is None:
            continue
        got = text(value)
        if got != want and not (isinstance(value, bool) and got.lower() == want.lower()):
            return False
    return True


class TraceIndex:
    """See the module's docstring."""

    def __init__(self, received):
        self.received = received
        self._lock = threading.RLock()
        self._queue: deque = deque()
        self._queued = 0
        self._stale = True                       # index the store afresh at the next read
        self._serial = 0
        self._traces: dict[str, _Trace] = {}
        self._order: list = []                   # (start or NO_START, trace_id), oldest first
        self._where: dict[int, int] = {}         # id(row) → its serial
        self._serials: dict[int, tuple] = {}     # serial → (trace id, "spans" | "logs")
        self._services: dict = {}                # service → spans kept
        self._operations: dict[str, dict] = {}   # service → {span name → spans kept}
        self._flows: dict = {}
        self._counts = {"spans": 0, "logs": 0}   # rows the store has, as the index counted them
        self.version = 0                         # changes whenever a trace does
        self.flows_version = 0
        self.work = Counter()                    # rows indexed, traces worked out, looked at: what reads cost
        received.watchers.append(self.queue)

    def close(self) -> None:
        """Stop being told of new rows (the page stopped)."""
        with self.received.changed:
            if self.queue in self.received.watchers:
                self.received.watchers.remove(self.queue)

    # -- fed by the store, under its lock: O(1) ----------------------------------------

    def queue(self, signal: str, rows: list, gone: list) -> None:
        if signal not in ("spans", "logs") or self._stale:
            return
        self._queue.append((signal, rows, gone))
        self._queued += len(rows) + len(gone)
        if self._queued > QUEUE_ROWS:            # nobody reads: let it go, start afresh when someone does
            self._queue.clear()
            self._queued = 0
            self._stale = True

    # -- brought up to date by a reader ------------------------------------------------

    def update(self) -> None:
        """Index what arrived since the last read (everything, the first time)."""
        with self._lock:
            r = self.received
            with r.changed:
                stale = self._stale
                if stale:
                    spans, logs = list(r.spans), list(r.logs)
                    batches = []
                    self._stale = False
                else:
                    batches = list(self._queue)
                have = {"spans": len(r.spans), "logs": len(r.logs)}
                self._queue.clear()
                self._queued = 0
            if stale:
                self._reset()
                batches = [("spans", spans, []), ("logs", logs, [])]
            dirty: set = set()
            for signal, rows, gone in batches:   # as the store did: the rows in, then the oldest out
                for row in rows:
                    (self._add_span if signal == "spans" else self._add_log)(row, dirty)
                for row in gone:
                    self._forget(signal, row, dirty)
            for trace_id in dirty:
                self._settle(trace_id)
            if dirty:
                self.version += 1
            if self._counts != have:             # the store was changed behind its back: start again
                with r.changed:
                    self._stale = True
                    self._queue.clear()
                    self._queued = 0
                if not stale:
                    self.update()

    def _reset(self) -> None:
        self._traces.clear()
        self._order.clear()
        self._where.clear()
        self._serials.clear()
        self._services.clear()
        self._operations.clear()
        self._flows.clear()
        self._counts = {"spans": 0, "logs": 0}
        self.flows_version += 1
        self.version += 1

    def _trace(self, trace_id: str) -> _Trace:
        t = self._traces.get(trace_id)
        if t is None:
            t = self._traces[trace_id] = _Trace(trace_id)
        return t

    def _add_span(self, row: dict, dirty: set) -> None:
        self._counts["spans"] += 1
        if not isinstance(row, dict):
            return
        self._serial += 1
        self.work["rows indexed"] += 1
        span = IndexedSpan(row, self._serial)
        trace_id = _key(row.get("trace_id"))
        t = self._trace(trace_id)
        t.spans[span.serial] = span
        self._where[id(row)] = span.serial
        self._serials[span.serial] = (trace_id, "spans")
        t.errors += span.error
        service, name = span.service, span.name
        t.services[service] = t.services.get(service, 0) + 1
        t.ops[(service, name)] = t.ops.get((service, name), 0) + 1
        self._services[service] = self._services.get(service, 0) + 1
        ops = self._operations.get(service)
        if ops is None:
            ops = self._operations[service] = {}
        ops[name] = ops.get(name, 0) + 1
        if span.start is not None and (t.start is None or span.start < t.start):
            t.start = span.start
        if span.end is not None and (t.end is None or span.end > t.end):
            t.end = span.end
        dirty.add(trace_id)

    def _add_log(self, row: dict, dirty: set) -> None:
        self._counts["logs"] += 1
        if not isinstance(row, dict) or row.get("trace_id") is None:
            return
        self._serial += 1
        trace_id = _key(row.get("trace_id"))
        t = self._trace(trace_id)
        t.logs[self._serial] = row
        self._where[id(row)] = self._serial
        self._serials[self._serial] = (trace_id, "logs")
        dirty.add(trace_id)

    def _forget(self, kind: str, row, dirty: set) -> None:
        self._counts[kind] -= 1
        serial = self._where.pop(id(row), None)
        where = self._serials.pop(serial, None) if serial is not None else None
        if where is None:
            return
        trace_id = where[0]
        t = self._traces.get(trace_id)
        if t is None:
            return
        dirty.add(trace_id)
        if kind == "logs":
            t.logs.pop(serial, None)
            return
        span = t.spans.pop(serial, None)
        if span is None:
            return
        t.errors -= span.error
        for counter, key in ((t.services, span.service), (t.ops, (span.service, span.name)),
                             (self._services, span.service), (self._operations.get(span.service), span.name)):
            if counter is not None:
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]
        if not self._operations.get(span.service, True):
            del self._operations[span.service]
        if span.start is not None and span.start == t.start or span.end is not None and span.end == t.end:
            t.bounds()

    def _settle(self, trace_id: str) -> None:
        """A trace that changed: its place in the order, its share of the flows, a new version."""
        t = self._traces.get(trace_id)
        if t is None:
            return
        self.work["traces settled"] += 1
        if t.key is not None:
            i = bisect.bisect_left(self._order, t.key)
            if i < len(self._order) and self._order[i] == t.key:
                del self._order[i]
            t.key = None
        self._add_flows(t.flows, -1)
        t.flows = {}
        if not t.spans and not t.logs:
            del self._traces[trace_id]
            return
        t.version += 1
        t.summary = None
        if t.spans:
            t.key = (NO_START if t.start is None else t.start, trace_id)
            bisect.insort(self._order, t.key)
            t.flows = self._flows_of(t)
            self._add_flows(t.flows, +1)

    @staticmethod
    def _flows_of(t: _Trace) -> dict:
        """A trace's messages between services: a span of B whose parent is a span of A."""
        if len(t.services) < 2:
            return {}
        by_id: dict = {}
        for s in t.spans.values():
            by_id.setdefault(s.span_id, s)
        out: dict = {}
        for s in t.spans.values():
            p = by_id.get(s.parent) if s.parent is not None else None
            if p is None or p.service == s.service:
                continue
            flow = out.get((p.service, s.service))
            if flow is None:
                flow = out[(p.service, s.service)] = [0, 0.0, 0, {}]
            flow[0] += 1
            if s.start is not None and p.start is not None:
                flow[1] += (s.start - p.start) / 1e6
                flow[2] += 1
            attrs = p.row.get("attributes")
            topic = attrs.get(TOPIC) if isinstance(attrs, dict) else None
            if topic is not None and topic != "":
                topic = _key(topic)
                flow[3][topic] = flow[3].get(topic, 0) + 1
        return out

    def _add_flows(self, flows: dict, sign: int) -> None:
        if not flows:
            return
        self.flows_version += 1
        for key, (count, delay, timed, topics) in flows.items():
            total = self._flows.get(key)
            if total is None:
                total = self._flows[key] = [0, 0.0, 0, {}]
            total[0] += sign * count
            total[1] += sign * delay
            total[2] += sign * timed
            kept = total[3]
            for topic, n in topics.items():
                kept[topic] = kept.get(topic, 0) + sign * n
                if kept[topic] <= 0:
                    del kept[topic]
            if total[0] <= 0:
                del self._flows[key]

    # -- what the page reads ------------------------------------------------------------

    def count(self) -> int:
        with self._lock:
            return len(self._traces)

    def search(self, q: Query) -> Found:
        """Traces matching ``q``, newest first: ``q.limit`` of them after ``q.offset`` matches."""
        self.update()
        with self._lock:
            order, found, skipped, scanned = self._order, [], 0, 0
            low = 0
            if q.lookback_s is not None:
                import time
                low = bisect.bisect_left(order, (time.time_ns() - int(q.lookback_s * 1e9), ""))
            more = False
            for i in range(len(order) - 1, low - 1, -1):
                t = self._traces[order[i][1]]
                scanned += 1
                if not self._matches(t, q):
                    continue
                if skipped < q.offset:
                    skipped += 1
                    continue
                if len(found) == q.limit:
                    more = True
                    break
                found.append(self.summary(t))
            self.work["traces looked at"] += scanned
            return Found(found, more, len(self._traces), scanned)

    @staticmethod
    def _matches(t: _Trace, q: Query) -> bool:
        if q.trace_id and not t.trace_id.startswith(q.trace_id):
            return False
        if q.service and q.service not in t.services:
            return False
        if q.operation:
            if q.service:
                if (q.service, q.operation) not in t.ops:
                    return False
            elif not any(name == q.operation for _, name in t.ops):
                return False
        if q.min_ms is not None or q.max_ms is not None:
            duration = None if t.start is None or t.end is None else (t.end - t.start) / 1e6
            if duration is None or (q.min_ms is not None and duration < q.min_ms) or \
                    (q.max_ms is not None and duration > q.max_ms):
                return False
        if q.tags and not any(_tag_matches(s, q.tags) for s in t.spans.values()):
            return False
        return True

    def summary(self, t: _Trace | str) -> Summary | None:
        """A trace as the list shows it: root, services in order, depth (worked out once per version)."""
        with self._lock:
            if isinstance(t, str):
                self.update()
                t = self._traces.get(t)
                if t is None or not t.spans:
                    return None
            if t.summary is None or t.summary.version != t.version:
                t.summary = self._summarize(t)
            return t.summary

    def _summarize(self, t: _Trace) -> Summary:
        self.work["traces worked out"] += 1
        spans = list(t.spans.values())
        far = 2**63
        spans.sort(key=lambda s: far if s.start is None else s.start)
        ids = {s.span_id for s in spans}
        roots = [s for s in spans if s.parent is None or s.parent not in ids]
        root = roots[0] if roots else spans[0]
        name = root.name if root.parent is None else f"{root.name} (parent not here)"
        services = list(dict.fromkeys(s.service for s in spans))
        children: dict = {}
        for s in spans:
            if s.parent is not None and s.parent in ids and s.parent != s.span_id:
                children.setdefault(s.parent, []).append(s.span_id)
        depth, seen = 0, set()
        stack = [(r.span_id, 1) for r in roots] or [(spans[0].span_id, 1)]
        while stack:
            span_id, level = stack.pop()
            if span_id in seen:
                continue
            seen.add(span_id)
            depth = max(depth, level)
            stack.extend((c, level + 1) for c in children.get(span_id, ()))
        duration = None if t.start is None or t.end is None else (t.end - t.start) / 1e6
        return Summary(t.trace_id, t.start, name, root.service, services, len(spans), t.errors, duration,
                       depth, t.version)

    def rows(self, trace_id: str) -> list:
        """The span rows of one trace (as the store keeps them), in arrival order."""
        self.update()
        with self._lock:
            t = self._traces.get(trace_id)
            return [s.row for s in t.spans.values()] if t else []

    def span_rows(self, trace_id: str) -> list[tuple[int, dict]]:
        """(serial, row) of each span of one trace: the serial names a row in :meth:`row`."""
        self.update()
        with self._lock:
            t = self._traces.get(trace_id)
            return [(serial, s.row) for serial, s in t.spans.items()] if t else []

    def logs(self, trace_id: str) -> list[tuple[int, dict]]:
        """(serial, row) of the log records written in one trace, in arrival order."""
        self.update()
        with self._lock:
            t = self._traces.get(trace_id)
            return list(t.logs.items()) if t else []

    def row(self, serial: int) -> dict | None:
        """A span or log row by its serial (None once the store let it go)."""
        with self._lock:
            where = self._serials.get(serial)
            t = self._traces.get(where[0]) if where else None
            if t is None:
                return None
            return t.spans[serial].row if where[1] == "spans" else t.logs.get(serial)

    def version_of(self, trace_id: str) -> int | None:
        with self._lock:
            t = self._traces.get(trace_id)
            return t.version if t and t.spans else None

    def services(self) -> list[tuple[str, int]]:
        """Every service with spans kept, and how many, by name."""
        self.update()
        with self._lock:
            return sorted(self._services.items())

    def operations(self, service: str) -> list[tuple[str, int]]:
        """The span names of ``service``, and how many, by name (as Jaeger, a service's only)."""
        self.update()
        with self._lock:
            return sorted(self._operations.get(service, {}).items())

    def flows(self) -> tuple[list, dict]:
        """The services (in the order they came) and the flows between them, shaped as
        :class:`kit.views.services.ServiceMap` keeps them."""
        self.update()
        with self._lock:
            flows = {k: {"count": c, "delay_ms": d, "timed": n, "topics": dict(topics)}
                     for k, (c, d, n, topics) in self._flows.items()}
            return list(self._services), flows


_DURATION = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*(us|µs|ms|s|m|h)?\s*")
_SCALE = {"us": 1e-3, "µs": 1e-3, "ms": 1.0, None: 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def duration_ms(value: str) -> float | None:
    """``"1.2s"``, ``"100ms"``, ``"500us"``, ``"250"`` (ms) → milliseconds; ``ValueError`` otherwise."""
    if value is None or not value.strip():
        return None
    m = _DURATION.fullmatch(value)
    if not m:
        raise ValueError(f"{value[:40]!r} is not a duration: write 250ms, 1.5s or 500us")
    return float(m.group(1)) * _SCALE[m.group(2)]
