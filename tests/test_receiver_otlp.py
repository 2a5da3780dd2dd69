"""kit.receiver follows the OTLP specification: what the SDK's own exporters send in their
other settings (gzip, JSON, exponential histograms) is kept, and a client's mistakes get
the protocol's error codes, as the OpenTelemetry Collector's OTLP receiver answers them."""

import gzip
import json
import urllib.error
import urllib.request

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetrics
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from receiver_helpers import post_head, raw_request, send_logs, send_metrics, send_spans

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
METRICS_EXPORT = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"


def exporter(kind, receiver, signal="traces"):
    if kind == "grpc":
        return (GrpcSpans if signal == "traces" else GrpcMetrics)(endpoint=receiver.grpc_endpoint, insecure=True)
    return (HttpSpans if signal == "traces" else HttpMetrics)(endpoint=f"{receiver.http_endpoint}/v1/{signal}")


def one_span_request(**span) -> bytes:
    span = {"trace_id": b"\x01" * 16, "span_id": b"\x02" * 8, "name": "s", **span}
    return trace_service_pb2.ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(
        scope_spans=[trace_pb2.ScopeSpans(spans=[trace_pb2.Span(**span)])])]).SerializeToString()


def post(receiver, path, body, headers=None):
    req = urllib.request.Request(receiver.http_endpoint + path, data=body, method="POST",
                                 headers={"Content-Type": "application/x-protobuf", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type"), err.read()


# -- gzip ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["http", "grpc"])
def test_the_sdk_exporter_with_gzip_compression_loses_nothing(receiver, otel_env, kind):
    otel_env.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    send_spans(exporter(kind, receiver), 50)
    df = receiver.spans_df()
    assert len(df) == 50 and set(df.transport) == {kind}
    if kind == "http":
        assert set(receiver.requests_df().note) == {"application/x-protobuf, content-encoding gzip"}
    assert receiver.requests_df().status.eq(200 if kind == "http" else "OK").all()


def test_a_gzip_body_is_decompressed_and_a_bad_one_is_a_400(receiver):
    status, _, _ = post(receiver, "/v1/traces", gzip.compress(one_span_request()), {"Content-Encoding": "gzip"})
    assert status == 200 and len(receiver.spans_df()) == 1
    status, _, _ = post(receiver, "/v1/traces", b"\x1f\x8b not gzip", {"Content-Encoding": "gzip"})
    assert status == 400
    status, _, _ = post(receiver, "/v1/traces", one_span_request(), {"Content-Encoding": "br"})
    assert status == 415  # an encoding it cannot read, said so
    assert len(receiver.spans_df()) == 1


# -- JSON ----------------------------------------------------------------------------

def test_otlp_json_from_the_sdks_json_encoder_is_kept(receiver):
    """The SDK's OTLP/JSON encoding (opentelemetry-exporter-otlp-json-common, what its
    http/json exporter sends): hex ids, lowerCamelCase keys, 64-bit integers as strings."""
    from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    memory = InMemorySpanExporter()
    send_spans(memory, 3, {"tags": ("a", "b")}, service="json-svc")
    body = encode_spans(memory.get_finished_spans()).to_json().encode()
    status, ctype, reply = post(receiver, "/v1/traces", body, {"Content-Type": "application/json"})
    assert (status, ctype) == (200, "application/json") and json.loads(reply) == {}
    df = receiver.spans_df()
    sdk = memory.get_finished_spans()[0]
    assert list(df.name) == ["span 0", "span 1", "span 2"] and set(df.service) == {"json-svc"}
    assert df.trace_id[0] == f"{sdk.context.trace_id:032x}" and df.span_id[0] == f"{sdk.context.span_id:016x}"
    assert df.attributes[0] == {"i": 0, "tags": ("a", "b")} and df.events[0] == [("halfway", {"at": 0})]
    assert df.duration_ms[0] == pytest.approx((sdk.end_time - sdk.start_time) / 1e6)


def test_otlp_json_metrics_and_logs_and_gzip(receiver):
    from opentelemetry.exporter.otlp.json.common._log_encoder import encode_logs
    from opentelemetry.exporter.otlp.json.common.metrics_encoder import encode_metrics
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("m")
    meter.create_counter("hits").add(5)
    body = encode_metrics(reader.get_metrics_data()).to_json().encode()
    assert post(receiver, "/v1/metrics", gzip.compress(body),
                {"Content-Type": "application/json", "Content-Encoding": "gzip"})[0] == 200
    logs = InMemoryLogRecordExporter()
    send_logs(logs, 2)
    assert post(receiver, "/v1/logs", encode_logs(logs.get_finished_logs()).to_json().encode(),
                {"Content-Type": "application/json"})[0] == 200
    assert receiver.metric_points_df().value.tolist() == [5]
    assert receiver.logs_df().body.tolist() == ["line 0", "line 1"]


def test_bad_json_gets_a_400_in_json_and_an_unknown_content_type_a_415(receiver):
    status, ctype, reply = post(receiver, "/v1/traces", b"{not json", {"Content-Type": "application/json"})
    assert (status, ctype) == (400, "application/json") and json.loads(reply)["code"] == 3  # INVALID_ARGUMENT
    assert post(receiver, "/v1/traces", b'{"resourceSpans": 5}', {"Content-Type": "application/json"})[0] == 400
    assert post(receiver, "/v1/traces", b"x", {"Content-Type": "text/plain"})[0] == 415
    assert post(receiver, "/v1/traces", json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "zz", "spanId": "0102030405060708", "name": "bad id"}]}]}]}).encode(),
        {"Content-Type": "application/json"})[0] == 400
    assert receiver.spans_df().empty


# -- chunked bodies and Content-Length -------------------------------------------------

def test_a_chunked_body_is_read(receiver):
    body = one_span_request(name="chunked")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:])) + b"0\r\n\r\n"
    status, _ = raw_request(receiver.http_port, post_head("/v1/traces", {
        "Content-Type": "application/x-protobuf", "Transfer-Encoding": "chunked"}), chunks)
    assert status == 200 and receiver.spans_df().name.tolist() == ["chunked"]


def test_a_chunked_gzip_body_is_read(receiver):
    body = gzip.compress(one_span_request(name="chunked gzip"))
    status, _ = raw_request(receiver.http_port, post_head("/v1/traces", {
        "Content-Type": "application/x-protobuf", "Transfer-Encoding": "chunked", "Content-Encoding": "gzip"}),
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    assert status == 200 and receiver.spans_df().name.tolist() == ["chunked gzip"]


@pytest.mark.parametrize("chunks", [b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nab\r\n", b"ffffffffffffffffff\r\n"])
def test_a_broken_chunked_body_is_a_400(receiver, chunks):
    status, _ = raw_request(receiver.http_port, post_head("/v1/traces", {
        "Content-Type": "application/x-protobuf", "Transfer-Encoding": "chunked"}),
                            chunks, timeout=5, half_close=True)
    assert status in (400, 413)
    assert post(receiver, "/v1/traces", one_span_request())[0] == 200  # still serving


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "+5", " 5 5"])
def test_a_bad_content_length_is_a_400(receiver, length):
    status, _ = raw_request(receiver.http_port, post_head("/v1/traces", {"Content-Length": length}), b"x" * 5)
    assert status == 400
    assert receiver.requests_df().status.tolist()[-1] == 400
    assert post(receiver, "/v1/traces", one_span_request())[0] == 200


# -- metrics of every kind -------------------------------------------------------------

@pytest.mark.parametrize("kind", ["grpc", "http"])
def test_exponential_histograms_from_the_sdk_are_kept_and_shown(receiver, otel_env, kind):
    otel_env.setenv("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
                    "base2_exponential_bucket_histogram")
    send_metrics(exporter(kind, receiver, "metrics"))
    df = receiver.metric_points_df()
    assert set(df.name) == {"messages", "latency"}
    point = df[df.name == "latency"].iloc[0]
    assert point.kind == "exponential_histogram"
    v = point.value
    assert (v["count"], v["sum"], v["min"], v["max"]) == (7, 365.5, 0.5, 250)
    assert sum(v["positive"]["buckets"]) + v["zero_count"] == 7 and isinstance(v["scale"], int)
    from kit.views import metrics_chart
    chart = metrics_chart("latency", points=df)
    assert "latency (exponential_histogram, ms)" in repr(chart) and "count=7" in repr(chart)
    assert chart._repr_png_().startswith(b"\x89PNG")  # drawn as a distribution, like an explicit one


def test_summaries_and_metrics_with_no_points_are_kept(receiver):
    summary = metrics_pb2.Metric(name="rtt", unit="ms", summary=metrics_pb2.Summary(data_points=[
        metrics_pb2.SummaryDataPoint(time_unix_nano=1, count=4, sum=10.0, quantile_values=[
            metrics_pb2.SummaryDataPoint.ValueAtQuantile(quantile=0.5, value=2.0),
            metrics_pb2.SummaryDataPoint.ValueAtQuantile(quantile=0.99, value=4.0)])]))
    empty = metrics_pb2.Metric(name="nothing yet", unit="1")  # no data at all: the Collector's "Empty" type
    no_points = metrics_pb2.Metric(name="no points", gauge=metrics_pb2.Gauge())
    body = metrics_service_pb2.ExportMetricsServiceRequest(resource_metrics=[metrics_pb2.ResourceMetrics(
        scope_metrics=[metrics_pb2.ScopeMetrics(metrics=[summary, empty, no_points])])])
    status, _, reply = post(receiver, "/v1/metrics", body.SerializeToString())
    assert status == 200
    df = receiver.metric_points_df()
    rows = {r.name: r for r in df.itertuples()}
    assert rows["rtt"].kind == "summary"
    assert rows["rtt"].value == {"count": 4, "sum": 10.0, "quantiles": {0.5: 2.0, 0.99: 4.0}}
    assert (rows["nothing yet"].kind, rows["nothing yet"].value) == ("empty", None)
    assert (rows["no points"].kind, rows["no points"].value) == ("gauge", None)
    from kit.views import metrics_chart
    chart = metrics_chart(points=df)
    assert repr(chart).splitlines()[:3] == ["rtt (summary, ms)", "  : count=4 sum=10 ms",
                                            "    p50: 2 ms · p99: 4 ms"]
    assert chart._repr_png_().startswith(b"\x89PNG")  # the two metrics with no point are left out
    channel = grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}")
    call = channel.unary_unary(METRICS_EXPORT, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    assert call(body.SerializeToString(), timeout=10) == b""
    channel.close()
    assert len(receiver.metric_points_df()) == 6


# -- gRPC status codes and partial success ---------------------------------------------

def test_grpc_malformed_is_invalid_argument(receiver):
    channel = grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}")
    call = channel.unary_unary(TRACE_EXPORT, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    for garbage in (b"\xff\xff not protobuf", one_span_request()[:-3]):
        with pytest.raises(grpc.RpcError) as err:
            call(garbage, timeout=5)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    channel.close()
    assert receiver.requests_df().status.tolist() == ["INVALID_ARGUMENT", "INVALID_ARGUMENT"]


def test_dropped_spans_are_reported_as_partial_success(receiver):
    request = trace_service_pb2.ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    scope.spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="good")
    scope.spans.add(trace_id=b"", span_id=b"\x03" * 8, name="no trace id")
    scope.spans.add(trace_id=b"\x01" * 16, span_id=b"\x00" * 8, name="zero span id")
    body = request.SerializeToString()
    status, _, reply = post(receiver, "/v1/traces", body)
    response = trace_service_pb2.ExportTraceServiceResponse.FromString(reply)
    assert status == 200 and response.partial_success.rejected_spans == 2
    assert "span_id" in response.partial_success.error_message
    channel = grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}")
    call = channel.unary_unary(TRACE_EXPORT, request_serializer=lambda b: b,
                               response_deserializer=trace_service_pb2.ExportTraceServiceResponse.FromString)
    assert call(body, timeout=5).partial_success.rejected_spans == 2
    channel.close()
    assert receiver.spans_df().name.tolist() == ["good", "good"]
    assert receiver.requests_df()["items"].tolist() == [1, 1]


def test_a_log_record_with_a_bad_trace_id_is_rejected_not_stored(receiver):
    request = logs_service_pb2.ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add().log_records
    records.add().body.string_value = "fine, outside any span"
    records.add(trace_id=b"\x01" * 3).body.string_value = "a 3-byte trace id"
    status, _, reply = post(receiver, "/v1/logs", request.SerializeToString())
    assert status == 200
    assert logs_service_pb2.ExportLogsServiceResponse.FromString(reply).partial_success.rejected_log_records == 1
    assert receiver.logs_df().body.tolist() == ["fine, outside any span"]


# -- the SDK's own http/json exporter ----------------------------------------------------

JSON_EXPORTER = """
import sys
from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter
sys.path.insert(0, sys.argv[2])
from receiver_helpers import send_spans
send_spans(OTLPSpanExporter(endpoint=sys.argv[1] + "/v1/traces"), 20, service="json-exporter")
"""
# opentelemetry-exporter-otlp-json-http 0.66b1, the Python SDK's http/json exporter (beta), pins
# the SDK's HTTP transport at 0.66b1 while the protobuf exporters of 1.45.2 pin it at 0.66b2:
# both cannot be installed in one environment. So it runs in its own process, from a folder
# that holds it and its 0.66b1 companions in front of the lessons' packages.
JSON_EXPORTER_PACKAGES = ["opentelemetry-exporter-otlp-json-http==0.66b1", "opentelemetry-exporter-otlp-json-common==0.66b1",
                          "opentelemetry-proto-json==0.66b1", "opentelemetry-exporter-http-transport==0.66b1",
                          "opentelemetry-exporter-otlp-common==0.66b1"]


@pytest.mark.slow
@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_the_sdks_http_json_exporter_loses_nothing(receiver, tmp_path, compression):
    import os
    import subprocess
    import sys
    from pathlib import Path
    target = tmp_path / "json-exporter"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    *JSON_EXPORTER_PACKAGES], check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target), "OTEL_EXPORTER_OTLP_COMPRESSION": compression}
    subprocess.run([sys.executable, "-c", JSON_EXPORTER, receiver.http_endpoint, str(Path(__file__).parent)],
                   check=True, timeout=120, env=env)
    df = receiver.spans_df()
    assert len(df) == 20 and set(df.service) == {"json-exporter"}
    [request] = receiver.requests_df().itertuples()
    assert request.status == 200 and request.note == "application/json" + (", content-encoding gzip" if
                                                                             compression == "gzip" else "")
