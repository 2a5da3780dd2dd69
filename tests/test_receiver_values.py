"""kit.receiver takes any value OTLP allows in any field (a service.name of 7, an array where
a topic was expected, a span that starts at 0 or ends before it starts) without raising, and
keeps its rows in the columns' types (kit.rows); the page and its API still answer after one
such span. Sent for real, over OTLP/HTTP and gRPC."""

import base64
import json
import math
import urllib.error
import urllib.request
from datetime import datetime, timezone

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from kit.receiver import decode

TRACE_ID, SPAN_ID = bytes(range(1, 17)), bytes(range(1, 9))
NOW_NS = 1_700_000_000_000_000_000
TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def any_value(value) -> common_pb2.AnyValue:
    """A Python value as OTLP's AnyValue: ("empty",) for no value at all."""
    if value == ("empty",):
        return common_pb2.AnyValue()
    if isinstance(value, bool):
        return common_pb2.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common_pb2.AnyValue(int_value=value)
    if isinstance(value, float):
        return common_pb2.AnyValue(double_value=value)
    if isinstance(value, bytes):
        return common_pb2.AnyValue(bytes_value=value)
    if isinstance(value, (list, tuple)):
        return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[any_value(v) for v in value]))
    if isinstance(value, dict):
        return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=key_values(value)))
    return common_pb2.AnyValue(string_value=value)


def key_values(attributes: dict) -> list:
    return [common_pb2.KeyValue(key=k, value=any_value(v)) for k, v in attributes.items()]


def requests_for(service=("absent",), attributes=None, start=NOW_NS, end=NOW_NS + 1_000_000,
                 trace_id=TRACE_ID, span_id=SPAN_ID, name="hostile", with_consumer=False):
    """A span, a log record and a metric point of one resource, as three Export requests
    (``with_consumer``: and a CONSUMER child of the span in a service "consumer")."""
    resource = resource_pb2.Resource(attributes=[] if service == ("absent",) else key_values({"service.name": service}))
    attributes = key_values(attributes or {})
    span = trace_pb2.Span(trace_id=trace_id, span_id=span_id, name=name, start_time_unix_nano=start,
                          end_time_unix_nano=end, attributes=attributes, kind=trace_pb2.Span.SPAN_KIND_PRODUCER,
                          events=[trace_pb2.Span.Event(name="e", attributes=attributes)])
    log = logs_pb2.LogRecord(time_unix_nano=start, body=any_value("line"), attributes=attributes,
                             trace_id=trace_id, span_id=span_id)
    point = metrics_pb2.NumberDataPoint(time_unix_nano=start, as_int=3, attributes=attributes)
    metric = metrics_pb2.Metric(name="m", sum=metrics_pb2.Sum(data_points=[point], is_monotonic=True))
    consumer = trace_pb2.Span(trace_id=trace_id, span_id=bytes(range(11, 19)), parent_span_id=span_id,
                              name=f"{name} consumed", start_time_unix_nano=start, end_time_unix_nano=end,
                              attributes=attributes, kind=trace_pb2.Span.SPAN_KIND_CONSUMER)
    return {
        "traces": trace_service_pb2.ExportTraceServiceRequest(resource_spans=[
            trace_pb2.ResourceSpans(resource=resource, scope_spans=[trace_pb2.ScopeSpans(spans=[span])]),
            trace_pb2.ResourceSpans(resource=resource_pb2.Resource(attributes=key_values({"service.name": "consumer"})),
                                    scope_spans=[trace_pb2.ScopeSpans(spans=[consumer])])]) if with_consumer else
        trace_service_pb2.ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
            resource=resource, scope_spans=[trace_pb2.ScopeSpans(spans=[span])])]),
        "logs": logs_service_pb2.ExportLogsServiceRequest(resource_logs=[logs_pb2.ResourceLogs(
            resource=resource, scope_logs=[logs_pb2.ScopeLogs(log_records=[log])])]),
        "metrics": metrics_service_pb2.ExportMetricsServiceRequest(resource_metrics=[metrics_pb2.ResourceMetrics(
            resource=resource, scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[metric])])])}


SERVICES = {"an int": (7, "7"), "a double": (1.5, "1.5"), "a whole double": (2.0, "2"), "NaN": (math.nan, "NaN"),
            "a bool": (True, "true"), "an array": (["a", 1], '["a",1]'), "a map": ({"k": [b"\x00"]}, '{"k":["AA=="]}'),
            "bytes": (b"\xff\x00", "/wA="), "no value": (("empty",), ""), "absent": (("absent",), ""),
            "a string": ("s", "s")}


@pytest.mark.parametrize("service, text", SERVICES.values(), ids=SERVICES.keys())
def test_a_service_name_of_any_type_is_kept_as_its_text_and_the_request_says_so(receiver, service, text):
    for signal, request in requests_for(service).items():
        assert post(receiver, signal, request) == 200
    assert receiver.spans_df().service.tolist() == [text]
    assert receiver.logs_df().service.tolist() == [text] and receiver.metric_points_df().service.tolist() == [text]
    notes = receiver.requests_df().note.tolist()
    if isinstance(service, str) or service == ("absent",):
        assert notes == ["application/x-protobuf"] * 3
    else:
        kind = SERVICES_KIND[type(service) if service != ("empty",) else None]
        assert notes == [f"application/x-protobuf; service.name is {kind} ({text!r}), kept as that text"] * 3


SERVICES_KIND = {int: "an int", float: "a double", bool: "a bool", list: "an array", dict: "a map", bytes: "bytes",
                 None: "no value"}


def post(receiver, signal, request) -> int:
    req = urllib.request.Request(f"{receiver.http_endpoint}/v1/{signal}", data=request.SerializeToString(),
                                 headers={"Content-Type": "application/x-protobuf"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def test_times_of_zero_and_a_span_that_ends_before_it_starts(receiver):
    channel = grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}")
    call = channel.unary_unary(TRACE_EXPORT, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    for start, end, name in ((0, NOW_NS, "starts at 0"), (0, 0, "all 0"), (NOW_NS, NOW_NS - 2_000_000, "ends before")):
        call(requests_for("svc", start=start, end=end, name=name)["traces"].SerializeToString(), timeout=10)
    assert post(receiver, "logs", requests_for("svc", start=0)["logs"]) == 200
    assert post(receiver, "metrics", requests_for("svc", start=0)["metrics"]) == 200
    channel.close()
    spans = {r.name: r for r in receiver.spans_df().itertuples()}
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    assert spans["starts at 0"].start == epoch and spans["starts at 0"].duration_ms == NOW_NS / 1e6
    assert spans["all 0"].start == epoch and spans["all 0"].duration_ms == 0
    assert spans["ends before"].duration_ms == -2.0
    assert receiver.logs_df().time.isna().all() and receiver.metric_points_df().time.isna().all()  # none sent


def test_ids_of_the_wrong_length_are_rejected_with_a_reason_not_raised(receiver):
    for trace_id, span_id in ((b"\x01" * 15, SPAN_ID), (TRACE_ID, b"\x01" * 9), (b"", b"")):
        request = requests_for("svc", trace_id=trace_id, span_id=span_id)
        assert post(receiver, "traces", request["traces"]) == 200
        assert post(receiver, "logs", request["logs"]) == 200
    assert receiver.spans_df().empty
    assert receiver.logs_df().body.tolist() == ["line"]  # a log record may have no ids at all
    assert all("rejected" in note for note in receiver.requests_df().note.tolist()[:-1])


# -- anything at all, decoded: rows in the columns' types, or Invalid / TooLarge ---------

ints = st.integers(-2**63, 2**63 - 1)
texts = st.text(max_size=6)
plain_values = (st.just(("empty",)) | st.booleans() | ints | st.floats() | st.binary(max_size=6) | texts)
values = st.recursive(plain_values, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(texts, inner, max_size=3), max_leaves=8)
attributes = st.dictionaries(texts | st.sampled_from(["service.name", "messaging.destination.name"]), values,
                             max_size=3)
times = st.sampled_from([0, 1, NOW_NS, 2**64 - 1]) | st.integers(0, 2**64 - 1)
ids = st.sampled_from([TRACE_ID, SPAN_ID, b"", bytes(16), bytes(8)]) | st.binary(max_size=20)


@settings(max_examples=300, deadline=None)
@given(service=values, attrs=attributes, start=times, end=times, trace_id=ids, span_id=ids,
       name=st.text(max_size=6), kind=st.integers(0, 2**31 - 1), scale=st.integers(-2**31, 2**31 - 1),
       offset=st.integers(-2**31, 2**31 - 1))
def test_any_request_decodes_to_rows_of_the_columns_types(service, attrs, start, end, trace_id, span_id, name, kind,
                                                          scale, offset):
    requests = requests_for(service, attrs, start, end, trace_id, span_id, name)
    requests["traces"].resource_spans[0].scope_spans[0].spans[0].kind = kind
    requests["traces"].resource_spans[0].scope_spans[0].scope.attributes.extend(key_values(attrs))
    metric = requests["metrics"].resource_metrics[0].scope_metrics[0].metrics.add(name="x")
    metric.exponential_histogram.data_points.add(scale=scale, count=1).positive.offset = offset
    metric.exponential_histogram.data_points[0].positive.bucket_counts.extend([1, 0])
    for request in requests.values():
        for encoded in (request, decode.parse(signal_of(request), request.SerializeToString(), "application/x-protobuf")):
            decoded = decode.rows(encoded)
            for row in decoded.rows:
                assert isinstance(row["service"], str)
                time = row.get("start", row.get("time"))
                assert (isinstance(time, datetime) and time.tzinfo is not None) or (
                    time is None and decoded.store != "spans")  # a log record or point sent with no time
                if decoded.store == "spans":
                    assert isinstance(row["duration_ms"], float) and isinstance(row["name"], str)
                    assert len(row["trace_id"]) == 32 and len(row["span_id"]) == 16 and isinstance(row["kind"], str)
                json.dumps(decode_rows_encoded(decoded), allow_nan=False)  # the page's JSON never fails on them


def signal_of(request) -> str:
    return {"ExportTraceServiceRequest": "traces", "ExportLogsServiceRequest": "logs",
            "ExportMetricsServiceRequest": "metrics"}[type(request).__name__]


def decode_rows_encoded(decoded):
    from kit import rows
    return rows.encode(decoded.store, decoded.rows)


def test_as_text_writes_what_the_collectors_as_string_writes():
    assert [decode.as_text(v) for v in (None, "s", True, False, 7, -1, 1.5, 2.0, 1e21, math.inf, -math.inf,
                                        b"\xff", ("a", 1, None), {"k": (1.5,)})] == [
        "", "s", "true", "false", "7", "-1", "1.5", "2", "1e+21", "Infinity", "-Infinity",
        base64.b64encode(b"\xff").decode(), '["a",1,null]', '{"k":[1.5]}']


# -- the page and its API after one such span -------------------------------------------

SHAPES = {
    **{f"service.name as {name}": {"service": value} for name, (value, _) in SERVICES.items() if name != "a string"},
    "messaging.destination.name as an int": {"attributes": {"messaging.destination.name": 7}},
    "messaging.destination.name as an array": {"attributes": {"messaging.destination.name": ["a", "b"]}},
    "messaging.destination.name as a map": {"attributes": {"messaging.destination.name": {"k": "v"}}},
    "an attribute of no value": {"attributes": {"a": ("empty",)}},
    "start time 0": {"start": 0},
    "start and end 0": {"start": 0, "end": 0},
    "an end before the start": {"end": NOW_NS - 5_000_000},
    "a trace id of 15 bytes": {"trace_id": b"\x01" * 15},
    "a span id of 9 bytes": {"span_id": b"\x01" * 9},
}
ROUTES = ["/", "/part/summary", "/part/options", "/part/options?service=svc", "/part/results",
          "/part/traces?open={trace}", "/part/results?service=svc&tags=messaging.destination.name%3D7",
          "/part/trace/{trace}", "/part/span/0", "/part/span/1", "/part/compare?a={trace}&b={trace}", "/part/map",
          "/api/info", "/api/totals", "/api/changes?after=-1&timeout_s=0", "/api/spans", "/api/logs", "/api/metrics",
          "/api/requests"]
# What still fails because the page or the views cannot draw such a row (kit.views, the page),
# as {(shape, route): why}: each a strict xfail, so that the fix flips it. None since h18v's
# views (a destination name that is not text broke the service map's edges before them).
RENDERING_FAILS: dict = {}


def route_cases():
    for shape in SHAPES:
        for route in ROUTES:
            why = RENDERING_FAILS.get((shape, route))
            marks = [pytest.mark.xfail(strict=True, reason=f"the page cannot draw it yet: {why}")] if why else []
            yield pytest.param(shape, route, marks=marks, id=f"{shape}: {route}")


@pytest.fixture(scope="module")
def receivers():
    """One receiver per shape, for all the routes (starting and stopping one takes a second)."""
    from kit.receiver import start_receiver
    started = {}

    def holding(shape):
        if shape not in started:
            started[shape] = receiver = start_receiver(grpc_port=0, http_port=0)
            sent = {"service": "svc", "attributes": {"messaging.destination.name": "t"}, **SHAPES[shape],
                    "with_consumer": True}
            for signal, request in requests_for(**sent).items():
                assert post(receiver, signal, request) == 200
        return started[shape]
    yield holding
    for receiver in started.values():
        receiver.stop()


@pytest.mark.parametrize("shape, route", list(route_cases()))
def test_every_route_answers_after_a_hostile_span(receivers, shape, route):
    page = receivers(shape).serve_page(port=0)
    url = page.url + route.format(trace=TRACE_ID.hex())
    try:
        with urllib.request.urlopen(url, timeout=20) as reply:
            status, body = reply.status, reply.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    assert status == 200 and body
