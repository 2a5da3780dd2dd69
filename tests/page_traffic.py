"""OTLP requests for the receiver's page tests, built with the official protobufs: lesson 09's
sensor → processor → alerter traces (events, an error, a link, logs in the trace), a trace as
lesson 12's zero-code instrumentation makes it (one span more), and traces whose every field
holds an unusual but valid value (issue 19: any AnyValue where a string is expected, no start
time, a megabyte of text)."""

from __future__ import annotations

import http.client
import time

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

MS = 1_000_000


def any_value(v) -> AnyValue:
    if v is None:
        return AnyValue()
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, bytes):
        return AnyValue(bytes_value=v)
    if isinstance(v, (list, tuple)):
        return AnyValue(array_value=ArrayValue(values=[any_value(x) for x in v]))
    if isinstance(v, dict):
        return AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=any_value(x)) for k, x in v.items()]))
    return AnyValue(string_value=str(v))


def attrs(d: dict) -> list:
    return [KeyValue(key=k, value=any_value(v)) for k, v in d.items()]


def trace_id(n: int) -> str:
    return (n + 0x4b000000).to_bytes(16, "big").hex()


def span_id(n: int, i: int) -> str:
    return ((n + 1) * 16 + i).to_bytes(8, "big").hex()


class Batch:
    """Spans and log records grouped by service (a resource each), as SDK exporters send them."""

    def __init__(self):
        self.spans: dict = {}
        self.logs: dict = {}

    def span(self, service, trace: str, span: str, parent: str | None, name, start_ns: int, duration_ms: float,
             kind=Span.SPAN_KIND_INTERNAL, attributes=None, events=(), links=(), error: str | None = None,
             resource=None):
        key = repr(service) if not isinstance(service, str) else service
        entry = self.spans.setdefault(key, (service, resource or {}, []))
        entry[2].append(Span(
            trace_id=bytes.fromhex(trace), span_id=bytes.fromhex(span),
            parent_span_id=bytes.fromhex(parent) if parent else b"", name=name, kind=kind,
            start_time_unix_nano=start_ns, end_time_unix_nano=start_ns + int(duration_ms * MS),
            attributes=attrs(attributes or {}),
            events=[Span.Event(name=n, time_unix_nano=start_ns + int(at * MS), attributes=attrs(a)) for n, at, a in events],
            links=[Span.Link(trace_id=bytes.fromhex(t), span_id=bytes.fromhex(s), attributes=attrs(a)) for t, s, a in links],
            status=Status(code=Status.STATUS_CODE_ERROR, message=error) if error else Status()))

    def log(self, service, trace: str, span: str, time_ns: int, severity: str, body):
        key = repr(service) if not isinstance(service, str) else service
        self.logs.setdefault(key, (service, []))[1].append(LogRecord(
            time_unix_nano=time_ns, severity_text=severity, body=any_value(body),
            trace_id=bytes.fromhex(trace), span_id=bytes.fromhex(span)))

    def traces_body(self) -> bytes:
        request = ExportTraceServiceRequest()
        for service, resource, spans in self.spans.values():
            request.resource_spans.append(ResourceSpans(
                resource={"attributes": [KeyValue(key="service.name", value=any_value(service))] + attrs(resource)},
                scope_spans=[ScopeSpans(scope={"name": "greenhouse", "version": "1.0"}, spans=spans)]))
        return request.SerializeToString()

    def logs_body(self) -> bytes:
        request = ExportLogsServiceRequest()
        for service, records in self.logs.values():
            request.resource_logs.append(ResourceLogs(
                resource={"attributes": [KeyValue(key="service.name", value=any_value(service))]},
                scope_logs=[ScopeLogs(scope={"name": str(service)}, log_records=records)]))
        return request.SerializeToString()


def greenhouse(batch: Batch, n: int, t0_ns: int, zero_code: bool = False, error: bool = False):
    """Lesson 09's trace number ``n``: the sensor reads and publishes, the processor checks the
    reading (an event) and publishes an alert, the alerter processes it; their logs.
    ``zero_code``: as the zero-code instrumentation makes it, with a receive span more."""
    t, s = trace_id(n), lambda i: span_id(n, i)
    start = t0_ns + n * 50 * MS
    topic = f"greenhouse/{n % 3 + 1}/temperature"
    host = {"service.version": "1.2.0", "host.name": "lab-3", "deployment.environment.name": "workshop"}
    batch.span("sensor", t, s(0), None, "read temperature", start, 3.9, resource=host)
    batch.span("sensor", t, s(1), s(0), f"publish {topic}", start + int(0.4 * MS), 0.5, Span.SPAN_KIND_PRODUCER,
               {"messaging.system": "mqtt", "messaging.destination.name": topic, "messaging.mqtt.qos": 1})
    batch.span("processor", t, s(2), s(1), f"process {topic}", start + int(1.6 * MS), 2.1, Span.SPAN_KIND_CONSUMER,
               {"messaging.system": "mqtt", "messaging.destination.name": topic},
               events=[("reading checked", 0.4, {"reading.celsius": 36.9, "ok": False})],
               error="reading above 35 °C: alert sent" if error else None)
    if zero_code:
        batch.span("processor", t, s(5), s(2), "receive alerts/greenhouse", start + int(1.7 * MS), 0.2,
                   Span.SPAN_KIND_CLIENT)
    batch.span("processor", t, s(3), s(2), "publish alerts/greenhouse", start + int(3.0 * MS), 0.3,
               Span.SPAN_KIND_PRODUCER, {"messaging.destination.name": "alerts/greenhouse"})
    batch.span("alerter", t, s(4), s(3), "process alerts/greenhouse", start + int(4.0 * MS), 1.2,
               Span.SPAN_KIND_CONSUMER, {"messaging.destination.name": "alerts/greenhouse"},
               links=[(trace_id(max(n - 1, 0)), span_id(max(n - 1, 0), 1), {"link.reason": "batched with"})])
    batch.log("sensor", t, s(0), start + MS, "INFO", f"read 36.9 °C from s-{n}")
    batch.log("processor", t, s(2), start + 2 * MS, "WARN" if error else "INFO",
              f"ALERT: s-{n} reads 36.9 °C" if error else f"s-{n} reads 21.5 °C")
    batch.log("alerter", t, s(4), start + 5 * MS, "INFO", "alert forwarded to the operators on call")


def post(port: int, path: str, body: bytes) -> int:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("POST", path, body, {"Content-Type": "application/x-protobuf"})
        r = c.getresponse()
        r.read()
        return r.status
    finally:
        c.close()


def send(receiver, batch: Batch) -> None:
    assert post(receiver.http_port, "/v1/traces", batch.traces_body()) == 200
    if batch.logs:
        assert post(receiver.http_port, "/v1/logs", batch.logs_body()) == 200


def lessons(receiver, n: int = 12, t0_ns: int | None = None) -> int:
    """``n`` lesson-09 traces (every fourth fails), trace ``n`` as zero-code makes it; their t0."""
    t0_ns = t0_ns if t0_ns is not None else time.time_ns() - 60_000 * MS
    batch = Batch()
    for k in range(n):
        greenhouse(batch, k, t0_ns, error=k % 4 == 1)
    greenhouse(batch, n, t0_ns, zero_code=True)
    send(receiver, batch)
    return t0_ns


MEGA = "m" * 1_000_000
HOSTILE_VALUES = {"int": 42, "double": 2.5, "bool": True, "array": ["a", 1], "kvlist": {"k": "v"},
                  "bytes": b"\x00\xff", "none": None, "empty": "", "mega": MEGA,
                  "markup": "<script>alert(1)</script>$\\href{https://x/}{\\text{Restart}}$", "control": "a\x00b\x1b"}


def hostile(receiver, t0_ns: int | None = None) -> list[str]:
    """A trace per unusual value, that value in every field the page reads (service.name,
    span name, attribute, topic, event, link attribute, log body); one more with no start
    time. Returns their trace ids."""
    t0_ns = t0_ns if t0_ns is not None else time.time_ns() - 30_000 * MS
    ids = []
    for k, (label, v) in enumerate(HOSTILE_VALUES.items()):
        n = 900 + k
        batch = Batch()
        t, s = trace_id(n), lambda i: span_id(n, i)
        name = v if isinstance(v, str) else f"span with a {label} value"
        batch.span(v, t, s(0), None, name, t0_ns + k * MS, 2.0, Span.SPAN_KIND_PRODUCER,
                   {"messaging.destination.name": v, label: v, "messaging.system": "mqtt"},
                   events=[(name, 0.5, {label: v})], links=[(trace_id(0), span_id(0, 0), {label: v})],
                   resource={label: v})
        batch.span("consumer", t, s(1), s(0), f"process {label}", t0_ns + k * MS + MS, 0.5,
                   Span.SPAN_KIND_CONSUMER, {"messaging.destination.name": v})
        batch.log(v, t, s(0), t0_ns + k * MS, "ERROR", v)
        send(receiver, batch)
        ids.append(t)
    batch = Batch()
    t = trace_id(990)
    batch.span("no start", t, span_id(990, 0), None, "a span with start time 0", 0, 1.0)
    send(receiver, batch)
    return ids + [t]
