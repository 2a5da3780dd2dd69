"""Zipkin v2 JSON into the receiver: the real ZipkinExporter's spans land in the frame, as Zipkin would take them."""

import json
import socket
import urllib.error
import urllib.request

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from kit import capture
from kit.receiver import zipkin
from kit.views import waterfall


def two_spans():
    """A PRODUCER and its CONSUMER child, as the SDK hands them to an exporter."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "sensor"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("lesson10")
    with tracer.start_as_current_span("publish sensors/temp", kind=SpanKind.PRODUCER,
                                      attributes={"messaging.destination.name": "sensors/temp", "n": 1,
                                                  "retained": False, "tags": ("a", "b")}):
        with tracer.start_as_current_span("process sensors/temp", kind=SpanKind.CONSUMER) as child:
            child.add_event("too hot", {"celsius": 31.5, "sensor": "s1"})
            child.set_status(Status(StatusCode.ERROR, "threshold"))
    provider.shutdown()
    return memory.get_finished_spans()


def post(receiver, body: bytes, path=zipkin.PATH):
    request = urllib.request.Request(receiver.http_endpoint + path, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_the_zipkin_exporter_sends_a_parent_and_child_that_land_in_the_frame(receiver):
    exporter = ZipkinExporter(endpoint=receiver.http_endpoint + "/api/v2/spans")
    assert exporter.export(two_spans()) is SpanExportResult.SUCCESS  # the receiver said 202
    exporter.shutdown()
    df = receiver.spans_df()
    assert list(df.name) == ["publish sensors/temp", "process sensors/temp"]
    parent, child = df.iloc[0], df.iloc[1]
    assert parent.parent_span_id is None and child.parent_span_id == parent.span_id
    assert parent.trace_id == child.trace_id and len(parent.trace_id) == 32
    assert (parent.kind, child.kind) == ("PRODUCER", "CONSUMER")
    assert set(df.service) == {"sensor"}
    assert (parent.status, child.status) == ("UNSET", "ERROR")
    # Zipkin tags are strings: the types are gone; resource and scope tags are not span attributes
    assert parent.attributes == {"messaging.destination.name": "sensors/temp", "n": "1", "retained": "false",
                                 "tags": '["a","b"]'}
    assert child.attributes == {"error": "threshold"}  # the status description, kept as the collector does
    assert child.events == [("too hot", {"celsius": 31.5, "sensor": "s1"})]  # annotations keep JSON types
    assert 0 <= child.duration_ms <= parent.duration_ms and parent.duration_ms > 0  # µs, rounded
    picture = repr(waterfall(df))
    assert "sensor" in picture and "PRODUCER" in picture and "✗ ERROR" in picture


def test_the_same_spans_by_zipkin_and_by_otlp_make_the_same_rows_but_for_attribute_types(receiver):
    spans = two_spans()
    assert ZipkinExporter(endpoint=receiver.http_endpoint + "/api/v2/spans").export(spans) is SpanExportResult.SUCCESS
    by_zipkin = receiver.spans_df()
    receiver.received.spans.clear()
    assert OTLPSpanExporter(endpoint=receiver.http_endpoint + "/v1/traces").export(spans) is SpanExportResult.SUCCESS
    by_otlp = receiver.spans_df()
    same = ["trace_id", "span_id", "parent_span_id", "name", "kind", "service", "status", "events", "links"]
    assert by_zipkin[same].equals(by_otlp[same])
    # Zipkin counts µs; the OTLP row went through a float: both on the µs grid, at most one step apart
    assert ((by_zipkin.start - by_otlp.start).abs() <= pd.Timedelta(microseconds=1)).all()
    assert by_otlp.attributes[0]["n"] == 1 and by_zipkin.attributes[0]["n"] == "1"


def test_a_64_bit_trace_id_and_a_span_without_kind_or_timestamp(receiver):
    body = json.dumps([{"traceId": "463AC35C9F6413AD", "id": "a2fb4a1d1a96d312", "name": "local work",
                        "duration": 1500, "localEndpoint": {"serviceName": "legacy"},
                        "annotations": [{"timestamp": 1, "value": "cache miss"}]}]).encode()
    assert post(receiver, body) == (202, "")
    [row] = receiver.spans_df().to_dict("records")
    assert row["trace_id"] == "0000000000000000463ac35c9f6413ad" and row["kind"] == "INTERNAL"
    assert row["start"].year == 1970 and row["duration_ms"] == 1.5
    assert row["events"] == [("cache miss", {})] and row["service"] == "legacy"


GOOD_SPAN = {"traceId": "5af7183fb1d4cf5f5af7183fb1d4cf5f", "id": "352bff9a74ca9ad2"}
MALFORMED = {
    "not JSON": (b"\xff\xfe not json", "not JSON"),
    "an object, not an array": (b'{"traceId": "5af7183fb1d4cf5f"}', "expected a JSON array"),
    "a number in the array": (b"[1]", "span 0 must be a JSON object"),
    "no id": (json.dumps([{"traceId": GOOD_SPAN["traceId"]}]).encode(), "span 0: 'id'"),
    "a bad trace id": (json.dumps([{**GOOD_SPAN, "traceId": "xyz"}]).encode(), "'traceId'"),
    "an all-zero span id": (json.dumps([{**GOOD_SPAN, "id": "0" * 16}]).encode(), "'id'"),
    "an unknown kind": (json.dumps([GOOD_SPAN, {**GOOD_SPAN, "kind": "BROKER"}]).encode(), "span 1: 'kind'"),
    "a timestamp past year 9999": (json.dumps([{**GOOD_SPAN, "timestamp": 10 ** 30}]).encode(), "'timestamp'"),
    "a negative duration": (json.dumps([{**GOOD_SPAN, "duration": -1}]).encode(), "'duration'"),
    "NaN": (b'[{"traceId": "5af7183fb1d4cf5f", "id": "352bff9a74ca9ad2", "timestamp": NaN}]', "'timestamp'"),
    "tags as a list": (json.dumps([{**GOOD_SPAN, "tags": ["a"]}]).encode(), "'tags'"),
    "a tag holding an object": (json.dumps([{**GOOD_SPAN, "tags": {"a": {}}}]).encode(), "'tags'"),
    "an annotation without a value": (json.dumps([{**GOOD_SPAN, "annotations": [{}]}]).encode(), "'annotations'"),
    "a number service name": (json.dumps([{**GOOD_SPAN, "localEndpoint": {"serviceName": 7}}]).encode(),
                              "'localEndpoint.serviceName'"),
    "a raw U+0000": (b"[\x00]", "not JSON"),
    "a 5000-digit number": (b"[" + b"9" * 5000 + b"]", "not JSON"),
    "100000 nested arrays": (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
}


@pytest.mark.parametrize("body, says", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_body_gets_400_with_the_reason_and_nothing_is_kept(receiver, body, says):
    status, text = post(receiver, body)
    assert status == 400 and says in text, text
    assert receiver.spans_df().empty
    assert post(receiver, json.dumps([GOOD_SPAN]).encode()) == (202, "")  # still serving
    assert len(receiver.spans_df()) == 1


def test_oversized_or_unsized_requests_are_refused_before_reading(receiver):
    from kit.receiver.limits import MAX_REQUEST_BYTES
    for head, answer in [(f"Content-Length: {MAX_REQUEST_BYTES + 1}", b"HTTP/1.1 413"),
                         ("Content-Length: -5", b"HTTP/1.1 400"), ("Content-Type: application/json", b"HTTP/1.1 411")]:
        with socket.create_connection(("127.0.0.1", receiver.http_port), timeout=5) as s:
            s.sendall(f"POST /api/v2/spans HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n\r\n".encode())
            assert s.recv(64).startswith(answer), head
    assert post(receiver, b"[]") == (202, "")


def test_strings_that_json_allows_come_through_displayable():
    [row] = zipkin.span_rows(json.dumps([{**GOOD_SPAN, "name": "a\u0000b\ud800", "tags": {"k\ud800": "\u0000"},
                                          "annotations": [{"timestamp": 1, "value": '{"e\\ud800": {"x": 1}}'}]}
                                         ]).encode())
    assert row["name"] == "a\u0000b?" and row["attributes"] == {"k?": "\u0000"} and row["events"] == [("e?", {"x": 1})]


# --- fuzzing: whatever arrives, rows or a ValueError, and the rows can be drawn ---

text = st.text(st.characters(exclude_categories=()), max_size=12) | st.just("\u0000")
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | text,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                           max_leaves=8)
hex_ids = st.sampled_from(["352bff9a74ca9ad2", "5af7183fb1d4cf5f", "5af7183fb1d4cf5f5af7183fb1d4cf5f",
                           "0000000000000000", "352BFF9A74CA9AD2", "352bff9a74ca9ad", ""])
micros = st.integers(min_value=-1, max_value=zipkin.MAX_MICROS + 1) | st.integers() | st.floats() | json_values
annotation_values = text | st.builds(lambda n, a: json.dumps({n: a}), text, json_values)
hostile_spans = st.fixed_dictionaries({}, optional={
    "traceId": hex_ids | json_values, "id": hex_ids | json_values, "parentId": hex_ids | json_values,
    "name": text | json_values, "kind": st.sampled_from(sorted(zipkin.KINDS)) | json_values,
    "timestamp": micros, "duration": micros,
    "localEndpoint": st.fixed_dictionaries({}, optional={"serviceName": text | json_values}) | json_values,
    "tags": st.dictionaries(text, text | json_values, max_size=4) | json_values,
    "annotations": st.lists(st.fixed_dictionaries({"timestamp": micros, "value": annotation_values}), max_size=3)
                   | json_values,
    "debug": json_values, "shared": json_values})
plausible_spans = st.fixed_dictionaries({"traceId": hex_ids.filter(lambda h: h.strip("0") and len(h) in (16, 32)),
                                         "id": st.sampled_from(["352bff9a74ca9ad2", "5af7183fb1d4cf5f"])}, optional={
    "parentId": st.sampled_from(["352bff9a74ca9ad2", "5af7183fb1d4cf5f"]) | st.none(), "name": text,
    "kind": st.sampled_from(sorted(zipkin.KINDS)), "timestamp": st.integers(0, zipkin.MAX_MICROS),
    "duration": st.integers(0, zipkin.MAX_MICROS) | st.floats(0, 1e9).map(round),
    "localEndpoint": st.fixed_dictionaries({}, optional={"serviceName": text}),
    "tags": st.dictionaries(text | st.sampled_from(["error", "otel.status_code", "service.name"]),
                            text | st.sampled_from(["OK", "ERROR", "true", ""]) | st.integers() | st.floats(),
                            max_size=4),
    "annotations": st.lists(st.fixed_dictionaries({"timestamp": micros, "value": annotation_values}), max_size=3)})
spans = plausible_spans | hostile_spans
bodies = (st.lists(spans | json_values, max_size=4).map(lambda v: json.dumps(v).encode())
          | json_values.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=200))


@settings(max_examples=400, deadline=None)
@given(body=bodies)
def test_any_body_gives_rows_that_draw_or_a_value_error(body):
    try:
        rows = zipkin.span_rows(body)
    except ValueError as err:
        assert str(err)
        return
    df = capture.none_for_missing(pd.DataFrame(rows, columns=capture.SPAN_COLUMNS), ["parent_span_id"])
    assert all(isinstance(r["trace_id"], str) and len(r["trace_id"]) == 32 for r in rows)
    if rows:
        picture = waterfall(df)
        (repr(picture) + picture._repr_svg_()).encode("utf-8")  # what Jupyter sends: never raises


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_any_body_over_http_gets_202_or_400_and_the_receiver_stays_up(receiver, body):
    status, _ = post(receiver, body)
    assert status in (202, 400)


def test_a_chunked_or_gzip_body_is_taken_as_zipkin_and_the_collector_take_it(receiver):
    """The OpenTelemetry JS SDK's Zipkin exporter posts its JSON chunked: it got a 411."""
    import gzip

    from receiver_helpers import post_head, raw_request
    body = json.dumps([{**GOOD_SPAN, "name": "chunked"}]).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:10], body[10:])) + b"0\r\n\r\n"
    assert raw_request(receiver.http_port, post_head(zipkin.PATH, {
        "Content-Type": "application/json", "Transfer-Encoding": "chunked"}), chunks)[0] == 202
    packed = gzip.compress(json.dumps([{**GOOD_SPAN, "name": "gzip"}]).encode())
    assert raw_request(receiver.http_port, post_head(zipkin.PATH, {
        "Content-Type": "application/json", "Content-Encoding": "gzip", "Content-Length": len(packed)}), packed)[0] == 202
    assert receiver.spans_df().name.tolist() == ["chunked", "gzip"]
