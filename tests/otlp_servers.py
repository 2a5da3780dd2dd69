"""Real OTLP endpoints for the tests: a gRPC server (grpcio with the official
opentelemetry-proto services) and an HTTP/protobuf server, both on 127.0.0.1,
that decode what the SDK's exporters send and keep the span names.
"""

from __future__ import annotations

import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class Received:
    """What an endpoint has decoded so far, and an event set at each request."""

    def __init__(self):
        self.spans: list[tuple[str, str]] = []  # (service.name, span name)
        self.metric_names: set[str] = set()
        self.log_bodies: list[str] = []
        self.arrived = threading.Condition()

    def add_traces(self, request):
        with self.arrived:
            for rs in request.resource_spans:
                service = next((a.value.string_value for a in rs.resource.attributes
                                if a.key == "service.name"), "")
                for ss in rs.scope_spans:
                    self.spans.extend((service, s.name) for s in ss.spans)
            self.arrived.notify_all()

    def add_metrics(self, request):
        with self.arrived:
            for rm in request.resource_metrics:
                for sm in rm.scope_metrics:
                    self.metric_names.update(m.name for m in sm.metrics)
            self.arrived.notify_all()

    def add_logs(self, request):
        with self.arrived:
            for rl in request.resource_logs:
                for sl in rl.scope_logs:
                    self.log_bodies.extend(r.body.string_value for r in sl.log_records)
            self.arrived.notify_all()

    def wait_for(self, predicate, timeout_s=10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(predicate, timeout=timeout_s)


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, received):
        self.received = received

    def Export(self, request, context):
        self.received.add_traces(request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, received):
        self.received = received

    def Export(self, request, context):
        self.received.add_metrics(request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class _Logs(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, received):
        self.received = received

    def Export(self, request, context):
        self.received.add_logs(request)
        return logs_service_pb2.ExportLogsServiceResponse()


def start_grpc():
    """(server, port, received) for an OTLP/gRPC endpoint on 127.0.0.1."""
    received = Received()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(received), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(received), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Logs(received), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port, received


_HTTP = {
    "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest, "add_traces",
                   trace_service_pb2.ExportTraceServiceResponse),
    "/v1/metrics": (metrics_service_pb2.ExportMetricsServiceRequest, "add_metrics",
                    metrics_service_pb2.ExportMetricsServiceResponse),
    "/v1/logs": (logs_service_pb2.ExportLogsServiceRequest, "add_logs",
                 logs_service_pb2.ExportLogsServiceResponse),
}


def start_http():
    """(server, port, received) for an OTLP/HTTP (protobuf) endpoint on 127.0.0.1."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path not in _HTTP:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            request_type, method, response_type = _HTTP[self.path]
            request = request_type()
            request.ParseFromString(body)
            getattr(received, method)(request)
            reply = response_type().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_port, received
