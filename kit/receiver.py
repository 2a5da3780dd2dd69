"""An embedded OTLP endpoint: telemetry from other processes, in the notebook's views.

    >>> from kit.receiver import start_receiver
    >>> receiver = start_receiver(grpc_port=0, http_port=0)   # 0: a free port; default 4317 / 4318
    >>> receiver.grpc_endpoint, receiver.http_endpoint
    ('http://127.0.0.1:40123', 'http://127.0.0.1:40124')
    >>> # run any program with OTEL_EXPORTER_OTLP_ENDPOINT=receiver.grpc_endpoint, then:
    >>> waterfall(receiver.spans_df())
    >>> receiver.stop()

It speaks OTLP over gRPC and over HTTP/protobuf, binds to 127.0.0.1, and
decodes requests with the official definitions (``opentelemetry-proto``).
A request it cannot decode gets the protocol's error status (gRPC
``INVALID_ARGUMENT``, HTTP 400; too large: ``RESOURCE_EXHAUSTED`` / 413);
what it accepted is kept (the newest ``capture.MAX_ITEMS`` of each signal).
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent import futures
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pandas as pd
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from kit import capture

MAX_REQUEST_BYTES = 16 * 1024 * 1024
_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}
_SEVERITY = {n: t for t, rng in (("TRACE", range(1, 5)), ("DEBUG", range(5, 9)), ("INFO", range(9, 13)),
                                   ("WARN", range(13, 17)), ("ERROR", range(17, 21)), ("FATAL", range(21, 25)))
             for n in rng}


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


def _time(ns):
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc) if ns else None


class Received:
    """Everything accepted so far, and a condition to wait on."""

    def __init__(self):
        self.spans: deque = deque(maxlen=capture.MAX_ITEMS)
        self.logs: deque = deque(maxlen=capture.MAX_ITEMS)
        self.metrics: deque = deque(maxlen=capture.MAX_ITEMS)
        self.requests = 0
        self.changed = threading.Condition()

    def add(self, request) -> None:
        rows = []
        if isinstance(request, trace_service_pb2.ExportTraceServiceRequest):
            target = self.spans
            for rs in request.resource_spans:
                service = _attrs(rs.resource.attributes).get("service.name", "")
                for ss in rs.scope_spans:
                    for s in ss.spans:
                        rows.append({
                            "trace_id": s.trace_id.hex(), "span_id": s.span_id.hex(),
                            "parent_span_id": s.parent_span_id.hex() or None, "name": s.name,
                            "kind": _KINDS.get(s.kind, str(s.kind)), "service": service,
                            "start": _time(s.start_time_unix_nano),
                            "duration_ms": (s.end_time_unix_nano - s.start_time_unix_nano) / 1e6,
                            "status": _STATUS.get(s.status.code, str(s.status.code)),
                            "attributes": _attrs(s.attributes),
                            "events": [capture.SpanEvent(e.name, _attrs(e.attributes), _time(e.time_unix_nano))
                                       for e in s.events],
                            "links": [(link.trace_id.hex(), link.span_id.hex()) for link in s.links]})
        elif isinstance(request, logs_service_pb2.ExportLogsServiceRequest):
            target = self.logs
            for rl in request.resource_logs:
                service = _attrs(rl.resource.attributes).get("service.name", "")
                for sl in rl.scope_logs:
                    for r in sl.log_records:
                        rows.append({
                            "time": _time(r.time_unix_nano or r.observed_time_unix_nano),
                            "severity": r.severity_text or _SEVERITY.get(r.severity_number, ""),
                            "body": value_of(r.body), "logger": sl.scope.name, "service": service,
                            "trace_id": r.trace_id.hex() or None, "span_id": r.span_id.hex() or None,
                            "attributes": _attrs(r.attributes)})
        else:
            target = self.metrics
            for rm in request.resource_metrics:
                service = _attrs(rm.resource.attributes).get("service.name", "")
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        kind = m.WhichOneof("data")
                        data = getattr(m, kind)
                        shown = {"sum": "counter" if getattr(data, "is_monotonic", True) else "up_down_counter",
                                 "gauge": "gauge", "histogram": "histogram"}.get(kind, kind)
                        for p in data.data_points:
                            if kind == "histogram":
                                value = {"count": p.count, "sum": p.sum, "bounds": list(p.explicit_bounds),
                                         "buckets": list(p.bucket_counts)}
                            else:
                                value = getattr(p, p.WhichOneof("value")) if p.WhichOneof("value") else None
                            rows.append({"time": _time(p.time_unix_nano), "service": service, "name": m.name,
                                         "kind": shown, "unit": m.unit, "attributes": _attrs(p.attributes),
                                         "value": value})
        with self.changed:
            target.extend(rows)
            self.requests += 1
            self.changed.notify_all()


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, received):
        self.received = received

    def Export(self, request, context):
        self.received.add(request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, received):
        self.received = received

    def Export(self, request, context):
        self.received.add(request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class _Logs(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, received):
        self.received = received

    def Export(self, request, context):
        self.received.add(request)
        return logs_service_pb2.ExportLogsServiceResponse()


_HTTP_PATHS = {
    "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse),
    "/v1/metrics": (metrics_service_pb2.ExportMetricsServiceRequest,
                    metrics_service_pb2.ExportMetricsServiceResponse),
    "/v1/logs": (logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse),
}


def _http_handler(received):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status, body=b"", content_type="application/x-protobuf"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            kinds = _HTTP_PATHS.get(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if kinds is None:
                self.rfile.read(min(length, MAX_REQUEST_BYTES))
                return self._reply(404, b"not an OTLP path: use /v1/traces, /v1/metrics or /v1/logs",
                                   "text/plain")
            if length > MAX_REQUEST_BYTES:
                self.close_connection = True
                return self._reply(413, b"request too large", "text/plain")
            request = kinds[0]()
            try:
                request.ParseFromString(self.rfile.read(length))
            except DecodeError:
                return self._reply(400, b"not an OTLP protobuf message", "text/plain")
            received.add(request)
            self._reply(200, kinds[1]().SerializeToString())

        def log_message(self, *args):  # quiet: no lines from a background thread in a later cell
            pass

    return Handler


class Receiver:
    """A running OTLP endpoint (see the module's docstring)."""

    def __init__(self, host, grpc_port, http_port):
        self.received = Received()
        self.host = host
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                                 options=[("grpc.max_receive_message_length", MAX_REQUEST_BYTES)])
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Traces(self.received), self._grpc)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_Metrics(self.received), self._grpc)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Logs(self.received), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port(f"{host}:{grpc_port}")
        if not self.grpc_port:
            raise OSError(f"cannot listen on {host}:{grpc_port} for OTLP/gRPC (is a collector running?)")
        self._http = ThreadingHTTPServer((host, http_port), _http_handler(self.received))
        self.http_port = self._http.server_port
        self._grpc.start()
        threading.Thread(target=self._http.serve_forever, name="otlp-http", daemon=True).start()

    @property
    def grpc_endpoint(self) -> str:
        return f"http://{self.host}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def spans_df(self) -> pd.DataFrame:
        """Spans received, shaped like :func:`kit.capture.spans_df` (so the views draw them)."""
        with self.received.changed:
            rows = list(self.received.spans)
        df = pd.DataFrame(rows, columns=capture.SPAN_COLUMNS).sort_values("start", kind="stable")
        return capture.none_for_missing(df.reset_index(drop=True), ["parent_span_id"])

    def logs_df(self) -> pd.DataFrame:
        with self.received.changed:
            rows = list(self.received.logs)
        return capture.none_for_missing(pd.DataFrame(rows, columns=capture.LOG_COLUMNS), ["trace_id", "span_id"])

    def metric_points_df(self) -> pd.DataFrame:
        with self.received.changed:
            rows = list(self.received.metrics)
        return pd.DataFrame(rows, columns=capture.METRIC_COLUMNS)

    def wait_for_spans(self, predicate, timeout_s: float = 10.0) -> bool:
        """Wait until ``predicate(spans_df)`` is true (re-checked at each request), at most ``timeout_s``."""
        with self.received.changed:
            return self.received.changed.wait_for(
                lambda: predicate(pd.DataFrame(list(self.received.spans), columns=capture.SPAN_COLUMNS)),
                timeout=timeout_s)

    def stop(self) -> None:
        self._grpc.stop(grace=None)
        self._http.shutdown()
        self._http.server_close()


def start_receiver(grpc_port: int = 4317, http_port: int = 4318, host: str = "127.0.0.1") -> Receiver:
    """Start OTLP/gRPC and OTLP/HTTP endpoints in background threads (port 0: a free one)."""
    return Receiver(host, grpc_port, http_port)
