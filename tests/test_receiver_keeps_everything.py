"""Everything the SDK sends arrives: from the official exporters (OTLP gRPC, OTLP HTTP protobuf,
and the SDK's OTLP/JSON encoding posted over HTTP) to the rows, the DataFrames, the page and
``kit.remote``: the resource's attributes of every type, the scope's version, a red span's
status message, the trace state, a link's attributes, what the SDK's limits dropped; a log
record's severity number, observed time and event name; a metric's description, start time
and temporality (cumulative and delta)."""

import json
import re
import urllib.request
from datetime import datetime, timezone

import pytest
from opentelemetry import trace
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, Status, StatusCode, TraceFlags, TraceState

from kit.remote import connect

RESOURCE = {"service.name": "sensor", "service.version": "1.2.0", "deployment.environment.name": "workshop",
            "host.name": "lab-3", "host.cpu.count": 4, "lab.ready": True, "lab.ratio": 0.5,
            "lab.seats": ("a1", "b2"), "lab.note": "<b>bold</b> & co"}
MESSAGE = "reading above 35 °C <script>alert(1)</script>"
PARENT_TRACE, PARENT_SPAN = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331
LINKED_TRACE, LINKED_SPAN = 0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7
T0 = 1_767_225_600 * 10**9          # 2026-01-01, a log's time; its observed time a second later


# -- the exporters: the SDK's own, and its JSON encoder posted as its http/json exporter would -----

def _post_json(receiver, signal: str, message) -> None:
    request = urllib.request.Request(f"{receiver.http_endpoint}/v1/{signal}", data=message.to_json().encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200


class JsonSpans(SpanExporter):
    def __init__(self, receiver):
        self.receiver = receiver

    def export(self, spans):
        from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
        _post_json(self.receiver, "traces", encode_spans(spans))
        return SpanExportResult.SUCCESS


class JsonLogs(LogRecordExporter):
    def __init__(self, receiver):
        self.receiver = receiver

    def export(self, batch):
        from opentelemetry.exporter.otlp.json.common._log_encoder import encode_logs
        _post_json(self.receiver, "logs", encode_logs(batch))
        return LogRecordExportResult.SUCCESS

    def shutdown(self):
        pass

    def force_flush(self, timeout_millis=30_000):
        return True


class JsonMetrics(MetricExporter):
    def __init__(self, receiver, preferred_temporality):
        super().__init__(preferred_temporality=preferred_temporality)
        self.receiver = receiver

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
        _post_json(self.receiver, "metrics", encode_metrics(metrics_data))
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis=10_000):
        return True

    def shutdown(self, timeout_millis=30_000, **kwargs):
        pass


def exporter(kind: str, signal: str, receiver, temporality=None):
    if kind == "json":
        return {"traces": JsonSpans, "logs": JsonLogs}[signal](receiver) if signal != "metrics" else \
            JsonMetrics(receiver, temporality)
    if kind == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        where = {"endpoint": receiver.grpc_endpoint, "insecure": True}
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        where = {"endpoint": f"{receiver.http_endpoint}/v1/{signal}"}
    if signal == "metrics":
        return OTLPMetricExporter(preferred_temporality=temporality, **where)
    return {"traces": OTLPSpanExporter, "logs": OTLPLogExporter}[signal](**where)


KINDS = ["grpc", "http", "json"]


def send_red_span(span_exporter) -> None:
    """One failed span with all of it: a resource of every type, a versioned scope, a trace
    state (from its remote parent), a link with attributes, and limits that drop one
    attribute, one event and one link (the SDK keeps the newest)."""
    provider = TracerProvider(resource=Resource.create(RESOURCE),
                              span_limits=SpanLimits(max_span_attributes=2, max_events=1, max_links=1))
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    tracer = provider.get_tracer("greenhouse.sensor", "0.3.1")
    parent = NonRecordingSpan(SpanContext(PARENT_TRACE, PARENT_SPAN, is_remote=True, trace_flags=TraceFlags(1),
                                          trace_state=TraceState([("vendor", "abc"), ("lab", "3")])))
    linked = SpanContext(LINKED_TRACE, LINKED_SPAN, is_remote=True)
    with tracer.start_as_current_span(
            "check reading", context=trace.set_span_in_context(parent),
            attributes={"reading.celsius": 36.9, "sensor.id": "s-1", "one.too.many": 1},
            links=[Link(linked, {"first": 1}), Link(linked, {"link.reason": "batched with", "batch.size": 3})]) as span:
        span.add_event("reading checked", {"ok": False})
        span.add_event("second event")
        span.set_status(Status(StatusCode.ERROR, MESSAGE))
    provider.shutdown()


def span_serial(page, trace_id: str) -> str:
    with urllib.request.urlopen(f"{page.url}/part/trace/{trace_id}", timeout=30) as reply:
        return re.search(r'class="kit-tree">\[\[(\d+),', reply.read().decode()).group(1)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as reply:
        return reply.read().decode()


@pytest.mark.parametrize("kind", KINDS)
def test_a_red_span_arrives_with_everything_the_sdk_sent(receiver, otel_env, kind):
    send_red_span(exporter(kind, "traces", receiver))
    page = receiver.serve_page(port=0)
    for df in (receiver.spans_df(), connect(page.url).spans_df()):      # here, and through kit.remote's JSON
        [span] = df.to_dict("records")
        assert span["service"] == "sensor" and span["status"] == "ERROR"
        resource = {k: v for k, v in span["resource"].items() if not k.startswith(("telemetry.", "service.instance."))}
        assert resource == RESOURCE                                   # typed as sent: 4, True, 0.5, a tuple
        assert type(span["resource"]["host.cpu.count"]) is int and type(span["resource"]["lab.ready"]) is bool
        assert span["scope"] == "greenhouse.sensor" and span["scope_version"] == "0.3.1"
        assert span["status_message"] == MESSAGE
        assert span["trace_state"] == "vendor=abc,lab=3"
        assert span["parent_span_id"] == f"{PARENT_SPAN:016x}" and span["parent_remote"] is True
        assert [tuple(link) for link in span["links"]] == [(f"{LINKED_TRACE:032x}", f"{LINKED_SPAN:016x}")]
        assert span["links"][0].attributes == {"link.reason": "batched with", "batch.size": 3}
        assert (span["dropped_attributes_count"], span["dropped_events_count"], span["dropped_links_count"]) == (1, 1, 1)
        assert list(df.columns[:15]) == ["trace_id", "span_id", "parent_span_id", "name", "kind", "service", "start",
                                         "duration_ms", "status", "attributes", "events", "links", "parent_remote",
                                         "scope", "transport"]      # the columns lessons show, as they were
    extra = get(f"{page.url}/part/span/{span_serial(page, f'{PARENT_TRACE:032x}')}")
    for shown in ("Process", "service.version = &#x27;1.2.0&#x27;", "host.cpu.count = 4", "lab.ready = True",
                  "lab.ratio = 0.5", "lab.seats = (&#x27;a1&#x27;, &#x27;b2&#x27;)",
                  "lab.note = &#x27;&lt;b&gt;bold&lt;/b&gt; &amp; co&#x27;", "greenhouse.sensor 0.3.1",
                  "vendor=abc,lab=3",
                  "link.reason = &#x27;batched with&#x27;", "batch.size = 3",
                  "<th>dropped</th><td>attributes: 1, events: 1, links: 1</td>"):
        assert shown in extra, shown
    assert "<script>" not in extra and "<b>bold" not in extra          # values are text
    drawn = get(f"{page.url}/part/trace/{PARENT_TRACE:032x}")          # the status message beside the status
    assert "✗ ERROR</b>: <code>&#x27;reading above 35 °C &lt;script&gt;alert(1)&lt;/script&gt;&#x27;</code>" in drawn
    assert "<script>alert" not in drawn and drawn.count("lab.note") == 0    # the Process: in the span's part, once
    assert "does not keep" not in extra and "no other resource attribute" not in extra


def test_the_notebook_views_span_details_show_the_status_message_and_the_process(receiver, otel_env):
    from kit.views import waterfall
    send_red_span(exporter("http", "traces", receiver))
    picture = waterfall(receiver.spans_df())
    shown = picture._repr_html_()            # the waterfall's rows open onto their details
    details = picture.details()._repr_html_()
    for html in (shown, details):
        assert "reading above 35 °C &#x27;" not in html       # the message as text, once, escaped
        assert "reading above 35 °C &lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>" not in html
        for part in ("host.name = &#x27;lab-3&#x27;", "lab.seats = (&#x27;a1&#x27;, &#x27;b2&#x27;)",
                     "service.version = &#x27;1.2.0&#x27;", "vendor=abc,lab=3", "link.reason = &#x27;batched with&#x27;",
                     "attributes: 1, events: 1, links: 1"):
            assert part in html, part
        assert "telemetry.sdk" not in html and "service.instance.id" not in html   # the SDK's, on every span
    assert f"status ERROR: {MESSAGE}" in repr(picture.details())


@pytest.mark.parametrize("kind", KINDS)
def test_a_log_record_arrives_with_its_event_name_severity_number_and_observed_time(receiver, otel_env, kind):
    provider = LoggerProvider(resource=Resource.create({"service.name": "alerter", "host.name": "lab-3"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter(kind, "logs", receiver)))
    provider.get_logger("greenhouse.alerts", "2.0").emit(LogRecord(
        timestamp=T0, observed_timestamp=T0 + 10**9, severity_number=SeverityNumber.WARN2, severity_text="WARN",
        body="alert forwarded", event_name="greenhouse.alert", attributes={"topic": "alerts/greenhouse"}))
    provider.shutdown()
    page = receiver.serve_page(port=0)
    for df in (receiver.logs_df(), connect(page.url).logs_df()):
        [log] = df.to_dict("records")
        assert (log["severity"], log["severity_number"], log["event_name"]) == ("WARN", 14, "greenhouse.alert")
        assert log["time"] == datetime(2026, 1, 1, tzinfo=timezone.utc)
        assert log["observed_time"] == datetime(2026, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
        assert log["resource"]["host.name"] == "lab-3" and log["service"] == "alerter"
        assert list(df.columns[:9]) == ["time", "severity", "body", "logger", "service", "trace_id", "span_id",
                                        "attributes", "transport"]


def test_the_pages_logs_show_the_event_name_and_a_severity_sent_only_as_a_number(receiver, otel_env):
    """A record with no severity text shows its number's name (WARN for 14, the number in the
    tooltip); its event name stands before its body."""
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "alerter"}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter("http", "traces", receiver)))
    provider = LoggerProvider(resource=Resource.create({"service.name": "alerter"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter("http", "logs", receiver)))
    logger = provider.get_logger("greenhouse.alerts")
    with tracer_provider.get_tracer("t").start_as_current_span("forward alert") as span:
        logger.emit(LogRecord(timestamp=T0, observed_timestamp=T0, severity_number=SeverityNumber.WARN2,
                              body="alert <forwarded>", event_name="greenhouse.alert"))
        logger.emit(LogRecord(observed_timestamp=T0 + 10**9, severity_number=SeverityNumber.ERROR,
                              severity_text="", body="no time sent"))
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    tracer_provider.shutdown()
    page = receiver.serve_page(port=0)
    html = get(f"{page.url}/part/trace/{trace_id}")
    logs = html[html.index("Logs of this trace (2)"):]
    assert 'title="severity number 14">WARN</td>' in logs
    assert 'title="severity number 17">ERROR</td>' in logs
    assert '<b class="event" title="event.name">greenhouse.alert</b> alert &lt;forwarded&gt;' in logs
    assert logs.index("alert &lt;forwarded&gt;") < logs.index("no time sent")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("temporality", ["cumulative", "delta"])
def test_metric_points_arrive_with_description_start_time_and_temporality(receiver, otel_env, kind, temporality):
    chosen = {"cumulative": AggregationTemporality.CUMULATIVE, "delta": AggregationTemporality.DELTA}[temporality]
    reader = PeriodicExportingMetricReader(
        exporter(kind, "metrics", receiver, {Counter: chosen, Histogram: chosen}), export_interval_millis=600_000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "sensor",
                                                                                "service.version": "1.2.0"}))
    meter = provider.get_meter("greenhouse.sensor", "0.3.1")
    counter = meter.create_counter("greenhouse.readings", unit="{reading}", description="Readings taken")
    latency = meter.create_histogram("greenhouse.read.duration", unit="ms", description="How long a read took")
    gauge = meter.create_gauge("greenhouse.temperature", unit="Cel", description="The last reading")
    counter.add(3)
    latency.record(2.5)
    gauge.set(21.5)
    reader.force_flush()
    counter.add(2)
    latency.record(4.0)
    provider.shutdown()
    page = receiver.serve_page(port=0)
    for df in (receiver.metric_points_df(), connect(page.url).metric_points_df()):
        readings = df[df.name == "greenhouse.readings"].to_dict("records")
        assert [p["value"] for p in readings] == ([3, 5] if temporality == "cumulative" else [3, 2])
        assert {p["description"] for p in readings} == {"Readings taken"}
        assert {p["temporality"] for p in readings} == {temporality}
        first, second = readings
        assert first["start_time"] is not None and first["start_time"] < first["time"]
        if temporality == "cumulative":     # counted from the same start
            assert second["start_time"] == first["start_time"]
        else:                               # counted from the last collection
            assert second["start_time"] == first["time"]
        durations = df[df.name == "greenhouse.read.duration"].to_dict("records")
        assert {p["temporality"] for p in durations} == {temporality}
        assert durations[0]["description"] == "How long a read took"
        [last] = df[df.name == "greenhouse.temperature"].to_dict("records")[:1]
        assert last["temporality"] is None and last["description"] == "The last reading"
        assert last["resource"]["service.version"] == "1.2.0"
        assert list(df.columns[:7]) == ["time", "service", "name", "kind", "unit", "attributes", "value"]


def test_the_store_counts_what_the_new_fields_hold(receiver, otel_env):
    """A resource of many attributes is counted in the bytes the store keeps (bounded memory)."""
    from kit.receiver import decode
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1 import trace_pb2

    def request(resource_attributes: int, link_attributes: int, rejected: int = 0):
        link = trace_pb2.Span.Link(trace_id=b"\x03" * 16, span_id=b"\x04" * 8, attributes=[
            KeyValue(key=f"l{i}", value=AnyValue(int_value=i)) for i in range(link_attributes)])
        return trace_service_pb2.ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
            resource={"attributes": [KeyValue(key=f"r{i}", value=AnyValue(int_value=i))
                                     for i in range(resource_attributes)]},
            scope_spans=[trace_pb2.ScopeSpans(spans=[trace_pb2.Span(
                trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="s", links=[link])] + [
                trace_pb2.Span(trace_id=b"\x01" * 16, span_id=bytes(8), name="bad id") for _ in range(rejected)])])])

    plain, rich = decode.rows(request(0, 0), 100), decode.rows(request(1000, 1000), 100)
    assert rich.sizes[0] - plain.sizes[0] >= 2000 * decode.ITEM_BYTES     # same wire share: the items count
    assert len(rich.rows[0]["resource"]) == 1000 and len(rich.rows[0]["links"][0].attributes) == 1000
    alone = decode.rows(request(1000, 0, rejected=999), 100)     # the one row kept holds the whole resource
    assert alone.rejected == 999 and len(alone.rows) == 1 and alone.sizes[0] - plain.sizes[0] >= 1000 * decode.ITEM_BYTES


def test_zipkin_spans_keep_what_zipkin_carries(receiver, otel_env):
    """The SDK's Zipkin exporter writes the resource, the scope, the status message and the
    dropped counts as tags: they go back to their columns (as text: Zipkin has no types)."""
    from opentelemetry.exporter.zipkin.json import ZipkinExporter
    send_red_span(ZipkinExporter(endpoint=receiver.http_endpoint + "/api/v2/spans"))
    [span] = receiver.spans_df().to_dict("records")
    assert {k: span["resource"].get(k) for k in ("service.name", "service.version", "host.name", "host.cpu.count",
                                                  "deployment.environment.name")} == \
        {"service.name": "sensor", "service.version": "1.2.0", "host.name": "lab-3", "host.cpu.count": "4",
         "deployment.environment.name": "workshop"}
    assert not any(k.startswith(("service.", "host.", "telemetry.", "otel.")) for k in span["attributes"])
    assert (span["scope"], span["scope_version"], span["status"]) == ("greenhouse.sensor", "0.3.1", "ERROR")
    assert span["status_message"] == MESSAGE and span["trace_state"] == ""
    assert (span["dropped_attributes_count"], span["dropped_events_count"], span["dropped_links_count"]) == (1, 1, 1)


def test_the_kernels_own_capture_has_the_same_columns_filled(clean_capture, otel_env):
    """kit.capture's DataFrames (what the lessons read) carry the same fields as a receiver's."""
    from kit import capture
    from kit.telemetry import setup
    tele = setup("capture-everything", resource_attributes={"host.name": "lab-3", "host.cpu.count": 4})
    parent = NonRecordingSpan(SpanContext(PARENT_TRACE, PARENT_SPAN, is_remote=True, trace_flags=TraceFlags(1),
                                          trace_state=TraceState([("vendor", "abc")])))
    tracer = tele.tracer_provider.get_tracer("greenhouse.sensor", "0.3.1")
    with tracer.start_as_current_span("check reading", context=trace.set_span_in_context(parent),
                                      links=[Link(SpanContext(LINKED_TRACE, LINKED_SPAN, True), {"why": "batch"})]) as span:
        span.set_status(Status(StatusCode.ERROR, MESSAGE))
        tele.logger.warning("reading above 35 °C")
    tele.meter.create_counter("greenhouse.readings", description="Readings taken").add(1)
    tele.flush()
    [s] = capture.spans_df(trace_id=f"{PARENT_TRACE:032x}").to_dict("records")
    assert (s["resource"]["host.name"], s["resource"]["host.cpu.count"]) == ("lab-3", 4)
    assert (s["scope_version"], s["status_message"], s["trace_state"]) == ("0.3.1", MESSAGE, "vendor=abc")
    assert s["links"][0].attributes == {"why": "batch"} and s["dropped_links_count"] == 0
    [log] = capture.logs_df(trace_id=f"{PARENT_TRACE:032x}").to_dict("records")
    assert log["severity_number"] == 13 and log["observed_time"] is not None and log["event_name"] == ""
    points = capture.metric_points_df("greenhouse.readings").to_dict("records")
    assert points and {(p["description"], p["temporality"]) for p in points} == {("Readings taken", "cumulative")}
    assert all(p["start_time"] is not None and p["start_time"] <= p["time"] for p in points)
