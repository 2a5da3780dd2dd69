"""kit.receiver: OTLP from other processes, decoded with the official definitions, into the views."""

import socket
import subprocess
import sys
import urllib.request

import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from kit.views import waterfall


SCRIPT = """
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
import sys
if sys.argv[2] == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    exporter = OTLPSpanExporter(endpoint=sys.argv[1], insecure=True)
else:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    exporter = OTLPSpanExporter(endpoint=sys.argv[1] + "/v1/traces")
provider = TracerProvider(resource=Resource.create({"service.name": "other-process"}))
provider.add_span_processor(SimpleSpanProcessor(exporter))
tracer = provider.get_tracer("t")
with tracer.start_as_current_span("parent", kind=SpanKind.PRODUCER, attributes={"n": 1, "tags": ("a", "b")}) as p:
    with tracer.start_as_current_span("child") as c:
        c.add_event("moment", {"x": 1.5})
        c.set_status(Status(StatusCode.ERROR))
provider.shutdown()
"""


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_spans_from_another_process_land_in_the_frame(receiver, protocol):
    endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
    subprocess.run([sys.executable, "-c", SCRIPT, endpoint, protocol], check=True, timeout=60)
    df = receiver.spans_df()
    assert list(df.name) == ["parent", "child"]
    parent, child = df.iloc[0], df.iloc[1]
    assert child.parent_span_id == parent.span_id and parent.parent_span_id is None
    assert (parent.kind, parent.service, child.status) == ("PRODUCER", "other-process", "ERROR")
    assert parent.attributes == {"n": 1, "tags": ("a", "b")}
    assert child.events == [("moment", {"x": 1.5})]
    assert "other-process" in repr(waterfall(df))


def test_malformed_and_oversized_requests_get_error_statuses(receiver):
    url = receiver.http_endpoint + "/v1/traces"
    bad = urllib.request.Request(url, data=b"\xff\xff not protobuf", method="POST",
                                 headers={"Content-Type": "application/x-protobuf"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bad, timeout=5)
    assert err.value.code == 400
    with socket.create_connection(("127.0.0.1", receiver.http_port), timeout=5) as s:
        s.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999999\r\n\r\n")
        assert s.recv(64).startswith(b"HTTP/1.1 413")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(receiver.http_endpoint + "/nope", data=b"", method="POST"))
    assert err.value.code == 404
    good = urllib.request.Request(url, data=trace_service_pb2.ExportTraceServiceRequest().SerializeToString(),
                                  method="POST", headers={"Content-Type": "application/x-protobuf"})
    assert urllib.request.urlopen(good, timeout=5).status == 200  # still serving


def test_grpc_garbage_gets_an_error_not_a_crash(receiver):
    import grpc
    channel = grpc.insecure_channel(f"127.0.0.1:{receiver.grpc_port}")
    call = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                               request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as err:
        call(b"\xff\xff not protobuf", timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert call(trace_service_pb2.ExportTraceServiceRequest().SerializeToString(), timeout=5) == b""
    channel.close()


def test_cli_runs_in_the_foreground_and_stops_on_sigterm():
    import os
    import signal

    from kit.ports import free_port
    grpc_port, http_port = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kit", "receiver", "--grpc-port", str(grpc_port),
                             "--http-port", str(http_port), "--page-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"OTLP receiver ready: gRPC http://127.0.0.1:{grpc_port}, "
                               f"HTTP http://127.0.0.1:{http_port}; traces on http://127.0.0.1:")
        subprocess.run([sys.executable, "-c", SCRIPT, f"http://127.0.0.1:{grpc_port}", "grpc"], check=True, timeout=60)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0 and "receiver stopped: 2 spans" in out, err
    finally:
        proc.kill()


def test_cli_says_why_when_the_port_is_taken(receiver):
    out = subprocess.run([sys.executable, "-m", "kit", "receiver", "--grpc-port", "0",
                          "--http-port", str(receiver.http_port)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "Traceback" not in out.stderr and "kit receiver:" in out.stderr
    page = receiver.serve_page(0)
    out = subprocess.run([sys.executable, "-m", "kit", "receiver", "--grpc-port", "0", "--http-port", "0",
                          "--page-port", str(page.port)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "Traceback" not in out.stderr and "--page-port 0" in out.stderr
