"""OTLP requests → the kit's rows: what the receiver does with a body once it has it.

    >>> request = parse("traces", body, "application/x-protobuf")   # or "application/json"
    >>> decoded = rows(request)       # Decoded: rows, their estimated sizes, what was rejected
    >>> response(request, decoded)    # the Export…ServiceResponse, with partial_success if any

``parse`` takes both OTLP encodings: protobuf, and JSON as the OTLP specification writes
it (hex trace and span ids, lowerCamelCase or snake_case keys, enums as numbers, 64-bit
integers as strings or numbers, unknown fields ignored). A body it cannot decode raises
:class:`Invalid` (gRPC ``INVALID_ARGUMENT``, HTTP 400); one that holds too much to decode
within bounded memory raises :class:`TooLarge` (``RESOURCE_EXHAUSTED``, HTTP 413), see
:mod:`kit.receiver.wire_limits`.

``rows`` checks what the OTLP specification requires of each item: a span needs a 16-byte
trace id and an 8-byte span id, not all zero (and so does each link); a log record's ids,
when present, have those sizes. An item that fails is rejected, the rest kept, and the
response says how many and why (``partial_success``), as the specification asks.

Any other value is kept, never raised on, in the columns' types (:mod:`kit.rows`): OTLP lets
an attribute hold any ``AnyValue`` (:func:`value_of`: a string, int, double, bool, bytes, a
tuple for an array, a dict for a map, None for no value), and attributes keep it as sent. A
row's ``service`` is always text: a ``service.name`` of another type is kept as its text
(:func:`as_text`, as the Collector's ``AsString``: ``7`` → ``"7"``, an array → its JSON) and
the request's note in ``requests_df()`` says so. A span's ``start`` is always a datetime:
0 ("unknown") is 1970-01-01, as the Collector shows it; a log record or a metric point with
no time has ``time`` None (the checks judge such records). A span that ends before it
starts keeps its negative ``duration_ms``.

Everything else the SDKs send is kept too (the columns are in :mod:`kit.rows`): the whole
resource (``resource``, a dict of values as sent, shared by the rows of one resource), the
scope's version, a span's status message, trace state, link attributes (each link a
:class:`kit.rows.SpanLink`) and dropped counts; a log record's severity number, observed time
and event name; a metric's description, each point's start time and the temporality
(``"cumulative"``, ``"delta"``; None for a gauge or a summary).

Metric points come in every kind OTLP has, each as one row (``value``):

    gauge, counter, up_down_counter   the number
    histogram                         {count, sum, min, max, bounds, buckets}
    exponential_histogram             {count, sum, min, max, scale, zero_count, positive, negative,
                                       and bounds, buckets: the same counts with explicit bounds}
    summary                           {count, sum, quantiles: {0.5: v, 0.99: v, …}}
    a metric with no points           one row, value None (kind "empty" if it has no data at all)
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from kit.receiver import wire_limits
from kit.rows import SpanEvent, SpanLink

SIGNALS = {  # URL path's signal → (request, response, store, name of the partial-success count)
    "traces": (trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse,
               "spans", "rejected_spans"),
    "metrics": (metrics_service_pb2.ExportMetricsServiceRequest, metrics_service_pb2.ExportMetricsServiceResponse,
                "metrics", "rejected_data_points"),
    "logs": (logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse,
             "logs", "rejected_log_records"),
}
MAX_ITEMS_PER_REQUEST = 20_000   # spans, log records or metric points (an SDK batch: 512)
ROW_BYTES = {"spans": 1400, "logs": 1000, "metrics": 900}   # a row's own objects, measured
ITEM_BYTES = 160                 # each attribute, event or link: key, value and their slot
_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}
_SEVERITY = {n: t for t, rng in (("TRACE", range(1, 5)), ("DEBUG", range(5, 9)), ("INFO", range(9, 13)),
                                   ("WARN", range(13, 17)), ("ERROR", range(17, 21)), ("FATAL", range(21, 25)))
             for n in rng}
_TEMPORALITY = {0: "unspecified", 1: "delta", 2: "cumulative"}
_ID_KEYS = {"traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"}


class Invalid(ValueError):
    """Not an OTLP request in this encoding."""


class TooLarge(ValueError):
    """More than the receiver decodes in one request."""


@dataclass
class Decoded:
    store: str                                   # "spans", "logs" or "metrics"
    rows: list = field(default_factory=list)
    sizes: list = field(default_factory=list)    # estimated bytes of each row
    rejected: int = 0
    reasons: list = field(default_factory=list)  # why items were rejected, each reason once
    notes: list = field(default_factory=list)    # what was kept otherwise than sent (a service.name of 7)

    @property
    def why(self) -> str:
        return "; ".join(self.reasons[:3]) + (f"; and {len(self.reasons) - 3} more reasons"
                                              if len(self.reasons) > 3 else "")

    def reject(self, why: str) -> None:
        self.rejected += 1
        if why not in self.reasons and len(self.reasons) < 50:
            self.reasons.append(why)

    def note(self, what: str) -> None:
        if what not in self.notes and len(self.notes) < 10:
            self.notes.append(what)


def value_of(any_value):
    """An OTLP ``AnyValue`` as a plain Python value."""
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(value_of(v) for v in any_value.array_value.values)
    if kind == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in any_value.kvlist_value.values}
    return getattr(any_value, kind)


def _attrs(key_values) -> dict:
    return {kv.key: value_of(kv.value) for kv in key_values}


def _json_ready(value):
    if isinstance(value, tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, float):
        return _double_text(value) if not math.isfinite(value) else value
    return value


def _double_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def as_text(value) -> str:
    """A value as text, as the Collector's ``pcommon.Value.AsString`` writes it: no value ``""``,
    ``true``/``false``, ``7``, ``1.5``, ``NaN``, bytes in base64, an array or a map as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _double_text(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, (tuple, dict)):
        return json.dumps(_json_ready(value), ensure_ascii=False, separators=(",", ":"))
    return str(value)


_TYPE_NAMES = {bool: "a bool", int: "an int", float: "a double", bytes: "bytes", tuple: "an array",
               dict: "a map", type(None): "no value"}


def _service(resource, out: "Decoded") -> str:
    """The resource's ``service.name`` as text (``""`` when there is none); a value of another
    type than a string is kept as its text (:func:`as_text`) and said in the request's note."""
    for kv in resource.attributes:
        if kv.key == "service.name":
            value = value_of(kv.value)
            if isinstance(value, str):
                return value
            text = as_text(value)
            out.note(f"service.name is {_TYPE_NAMES.get(type(value), type(value).__name__)}"
                     f" ({text[:60]!r}), kept as that text")
            return text
    return ""


def _resource(resource) -> tuple[dict, int]:
    """The resource's attributes as sent (one dict, shared by the rows of that resource) and
    its estimated bytes, which :func:`_share_out` adds to those rows."""
    attributes = _attrs(resource.attributes)
    return attributes, (ITEM_BYTES * len(attributes) + resource.ByteSize()) if attributes else 0


def _share_out(sizes: list, first: int, size: int) -> None:
    """Add a resource's ``size`` to the rows kept of it (``sizes[first:]``), each its share: the
    dict lives as long as one of them does, and rows rejected count for nothing."""
    kept = len(sizes) - first
    if size and kept:
        each = -(-size // kept)
        for i in range(first, len(sizes)):
            sizes[i] += each


def _remote(span, parent: bytes):
    """Whether the span's parent was remote (an extracted context), when the sender says (OTLP span flags)."""
    flags = span.flags
    if not parent or not flags & 0x100:  # SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
        return None
    return bool(flags & 0x200)  # SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _time(ns):
    """A time in ns since the epoch; 0 ("unknown", says OTLP) is None."""
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc) if ns else None


def _time_or_epoch(ns):
    """A span's start is always a datetime: 0 ("unknown") is the epoch, as the Collector
    shows it and as a Zipkin span with no timestamp comes."""
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc) if ns else _EPOCH


# -- parsing -----------------------------------------------------------------------

def parse(signal: str, body: bytes, content_type: str):
    """The Export…ServiceRequest in ``body`` (``content_type`` ``application/json`` or protobuf)."""
    request_type = SIGNALS[signal][0]
    if content_type == "application/json":
        return _parse_json(request_type, body)
    try:
        wire_limits.check(body, request_type.DESCRIPTOR)
    except wire_limits.TooMany as err:
        raise TooLarge(str(err)) from None
    except wire_limits.Malformed as err:
        raise Invalid(f"not an OTLP protobuf message: {err}") from None
    request = request_type()
    try:
        request.ParseFromString(body)
    except (DecodeError, RecursionError) as err:
        raise Invalid(f"not an OTLP protobuf message: {err}"[:300]) from None
    return request


def _parse_json(request_type, body: bytes):
    body = bytes(body) if isinstance(body, memoryview) else body  # a large body comes as a view
    containers = body.count(b"{") + body.count(b"[")  # an upper bound on the objects json.loads makes
    if containers > wire_limits.MAX_MESSAGES:
        raise TooLarge(f"more than {wire_limits.MAX_MESSAGES:,} JSON objects in one request: send smaller batches")
    try:
        data = json.loads(body)
        _ids_from_hex(data)
        return json_format.ParseDict(data, request_type(), ignore_unknown_fields=True)
    except (ValueError, TypeError, AttributeError, RecursionError, json_format.ParseError) as err:
        raise Invalid(f"not OTLP JSON: {err}"[:300]) from None


def _ids_from_hex(node) -> None:
    """OTLP/JSON writes trace and span ids in hex; protobuf's JSON mapping wants base64."""
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _ID_KEYS and isinstance(value, str):
                    try:
                        node[key] = base64.b64encode(bytes.fromhex(value)).decode()
                    except ValueError:
                        raise ValueError(f"{key} {value[:40]!r} is not hex") from None
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))


# -- rows --------------------------------------------------------------------------

def count_items(request) -> int:
    """Spans, log records or metric points in ``request`` (read without decoding them)."""
    if isinstance(request, trace_service_pb2.ExportTraceServiceRequest):
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if isinstance(request, logs_service_pb2.ExportLogsServiceRequest):
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    return sum(max(len(getattr(m, m.WhichOneof("data")).data_points), 1) if m.WhichOneof("data") else 1
               for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)


def rows(request, wire_bytes: int | None = None) -> Decoded:
    """The rows of a parsed request, each with its estimated size; invalid items rejected.

    A row's size is its own objects (``ROW_BYTES``), ``ITEM_BYTES`` per attribute, event and
    link, and its share of the body's ``wire_bytes`` (its own encoded size when not given):
    strings take about as much room decoded as encoded."""
    n = count_items(request)
    if n > MAX_ITEMS_PER_REQUEST:
        raise TooLarge(f"more than {MAX_ITEMS_PER_REQUEST:,} items in one request: send smaller batches")
    share = wire_bytes // n if wire_bytes is not None and n else None
    if isinstance(request, trace_service_pb2.ExportTraceServiceRequest):
        return _spans(request, share)
    if isinstance(request, logs_service_pb2.ExportLogsServiceRequest):
        return _logs(request, share)
    return _metrics(request, share)


_ZERO16, _ZERO8 = bytes(16), bytes(8)


def _valid_id(value: bytes, size: int) -> bool:
    return len(value) == size and value.strip(b"\x00") != b""


def _spans(request, share: int | None) -> Decoded:
    out = Decoded("spans")
    rows, sizes, event, base = out.rows, out.sizes, SpanEvent, ROW_BYTES["spans"]
    for rs in request.resource_spans:
        service = _service(rs.resource, out)
        resource, resource_bytes = _resource(rs.resource)
        first = len(sizes)
        for ss in rs.scope_spans:
            scope, version = ss.scope.name or None, ss.scope.version or None
            for s in ss.spans:
                trace_id, span_id, parent, links = s.trace_id, s.span_id, s.parent_span_id, s.links
                if len(trace_id) != 16 or trace_id == _ZERO16:
                    out.reject("a span's trace_id must be 16 bytes, not all zero")
                    continue
                if len(span_id) != 8 or span_id == _ZERO8:
                    out.reject("a span's span_id must be 8 bytes, not all zero")
                    continue
                if parent and len(parent) != 8:
                    out.reject("a span's parent_span_id must be 8 bytes or empty")
                    continue
                if links and not all(_valid_id(link.trace_id, 16) and _valid_id(link.span_id, 8) for link in links):
                    out.reject("a link's trace_id must be 16 bytes and its span_id 8, not all zero")
                    continue
                attributes, events, start = s.attributes, s.events, s.start_time_unix_nano
                rows.append({
                    "trace_id": trace_id.hex(), "span_id": span_id.hex(),
                    "parent_span_id": parent.hex() if parent else None, "name": s.name,
                    "kind": _KINDS.get(s.kind, str(s.kind)), "service": service,
                    "start": _time_or_epoch(start), "duration_ms": (s.end_time_unix_nano - start) / 1e6,
                    "status": _STATUS.get(s.status.code, "UNSET"),
                    "attributes": _attrs(attributes) if attributes else {},
                    "events": [event(e.name, _attrs(e.attributes), _time(e.time_unix_nano)) for e in events]
                    if events else [],
                    "links": [SpanLink(link.trace_id.hex(), link.span_id.hex(),
                                       _attrs(link.attributes) if link.attributes else {}) for link in links]
                    if links else [],
                    "parent_remote": _remote(s, parent), "scope": scope,
                    "resource": resource, "scope_version": version, "status_message": s.status.message,
                    "trace_state": s.trace_state, "dropped_attributes_count": s.dropped_attributes_count,
                    "dropped_events_count": s.dropped_events_count, "dropped_links_count": s.dropped_links_count})
                items = len(attributes) + (sum(1 + len(link.attributes) for link in links) if links else 0) + \
                    (sum(1 + len(e.attributes) for e in events) if events else 0)
                sizes.append(base + (s.ByteSize() if share is None else share) + ITEM_BYTES * items)
        _share_out(sizes, first, resource_bytes)
    return out


def _logs(request, share: int | None) -> Decoded:
    out = Decoded("logs")
    for rl in request.resource_logs:
        service = _service(rl.resource, out)
        resource, resource_bytes = _resource(rl.resource)
        first = len(out.sizes)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                if r.trace_id and not _valid_id(r.trace_id, 16) or r.span_id and not _valid_id(r.span_id, 8):
                    out.reject("a log record's trace_id must be 16 bytes and span_id 8 bytes (or both empty)")
                    continue
                out.rows.append({
                    "time": _time(r.time_unix_nano or r.observed_time_unix_nano),
                    "severity": r.severity_text or _SEVERITY.get(r.severity_number, ""),
                    "body": value_of(r.body), "logger": sl.scope.name, "service": service,
                    "trace_id": r.trace_id.hex() or None, "span_id": r.span_id.hex() or None,
                    "attributes": _attrs(r.attributes), "severity_number": r.severity_number,
                    "observed_time": _time(r.observed_time_unix_nano), "event_name": r.event_name,
                    "resource": resource})
                out.sizes.append(ROW_BYTES["logs"] + (r.ByteSize() if share is None else share)
                                 + ITEM_BYTES * len(r.attributes))
        _share_out(out.sizes, first, resource_bytes)
    return out


def _histogram(p) -> dict:
    return {"count": p.count, "sum": p.sum if p.HasField("sum") else None,
            "min": p.min if p.HasField("min") else None, "max": p.max if p.HasField("max") else None,
            "bounds": list(p.explicit_bounds), "buckets": list(p.bucket_counts)}


def _exponential(p) -> dict:
    """An exponential histogram's point, with its buckets also as explicit bounds: bucket
    ``i`` of ``positive`` counts the values in (base**(offset+i), base**(offset+i+1)],
    ``base = 2**(2**-scale)``; the first explicit bucket holds zeros and negatives."""
    positive = {"offset": p.positive.offset, "buckets": list(p.positive.bucket_counts)}
    negative = {"offset": p.negative.offset, "buckets": list(p.negative.bucket_counts)}
    n = len(positive["buckets"])
    try:  # a scale or offset out of any float's range: the buckets only, no bounds
        base = 2.0 ** (2.0 ** -p.scale)
        bounds = [base ** (positive["offset"] + k) for k in range(n + 1)] if n else []
    except OverflowError:
        bounds = []
    buckets = [p.zero_count + sum(negative["buckets"])] + positive["buckets"] if bounds else []
    return {"count": p.count, "sum": p.sum if p.HasField("sum") else None,
            "min": p.min if p.HasField("min") else None, "max": p.max if p.HasField("max") else None,
            "scale": p.scale, "zero_count": p.zero_count, "zero_threshold": p.zero_threshold,
            "positive": positive, "negative": negative,
            "bounds": bounds, "buckets": buckets + ([0] if bounds else [])}


def _summary(p) -> dict:
    return {"count": p.count, "sum": p.sum, "quantiles": {q.quantile: q.value for q in p.quantile_values}}


_VALUE = {"histogram": _histogram, "exponential_histogram": _exponential, "summary": _summary}


def _metrics(request, share: int | None) -> Decoded:
    out = Decoded("metrics")
    for rm in request.resource_metrics:
        service = _service(rm.resource, out)
        resource, resource_bytes = _resource(rm.resource)
        first = len(out.sizes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                data = getattr(m, kind) if kind else None
                shown = ("empty" if kind is None else
                         ("counter" if data.is_monotonic else "up_down_counter") if kind == "sum" else kind)
                value_of_point = _VALUE.get(kind) or (lambda p: getattr(p, p.WhichOneof("value"))
                                                      if p.WhichOneof("value") else None)
                points = data.data_points if data is not None else ()
                temporality = (_TEMPORALITY.get(data.aggregation_temporality, str(data.aggregation_temporality))
                               if kind in ("sum", "histogram", "exponential_histogram") else None)
                for p in points:
                    out.rows.append({"time": _time(p.time_unix_nano), "service": service, "name": m.name,
                                     "kind": shown, "unit": m.unit, "attributes": _attrs(p.attributes),
                                     "value": value_of_point(p), "description": m.description,
                                     "start_time": _time(p.start_time_unix_nano),
                                     "temporality": temporality, "resource": resource})
                    out.sizes.append(ROW_BYTES["metrics"] + (p.ByteSize() if share is None else share)
                                     + ITEM_BYTES * len(p.attributes))
                if not points:  # shown too: a metric the SDK declared and has nothing for yet
                    out.rows.append({"time": None, "service": service, "name": m.name, "kind": shown,
                                     "unit": m.unit, "attributes": {}, "value": None, "description": m.description,
                                     "start_time": None, "temporality": temporality, "resource": resource})
                    out.sizes.append(ROW_BYTES["metrics"] + (m.ByteSize() if share is None else share))
        _share_out(out.sizes, first, resource_bytes)
    return out


def response(request, decoded: Decoded):
    """The Export…ServiceResponse for ``request``: empty, or with ``partial_success``."""
    for request_type, response_type, _, count_field in SIGNALS.values():
        if isinstance(request, request_type):
            reply = response_type()
            if decoded.rejected:
                setattr(reply.partial_success, count_field, decoded.rejected)
                reply.partial_success.error_message = decoded.why
            return reply
    raise TypeError(type(request).__name__)
