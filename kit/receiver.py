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
Its HTTP port also takes Zipkin v2 JSON on ``POST /api/v2/spans``, as Zipkin
and a collector's ``zipkin`` receiver do (:mod:`kit.zipkin`).
A request it cannot decode gets the protocol's error status (gRPC
``INVALID_ARGUMENT``, HTTP 400; too large: ``RESOURCE_EXHAUSTED`` / 413);
what it accepted is kept (the newest ``capture.MAX_ITEMS`` of each signal).
``requests_df()`` lists every request, refused ones too, and ``spans_df()``
says how each span came (``transport``: ``"grpc"`` or ``"http"``).
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

from kit import attempts, capture, zipkin

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


def _remote(span):
    """Whether the span's parent was remote (an extracted context), when the sender says (OTLP span flags)."""
    if not span.parent_span_id or not span.flags & 0x100:  # SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
        return None
    return bool(span.flags & 0x200)  # SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK


def _time(ns):
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc) if ns else None


REQUEST_COLUMNS = ["time", "transport", "path", "signal", "status", "items", "names", "note"]
SPAN_COLUMNS = capture.SPAN_COLUMNS + ["transport"]  # how each span came: "grpc" or "http"
LOG_COLUMNS = capture.LOG_COLUMNS + ["transport"]


class Received:
    """Everything accepted so far, a log of every request (refused ones too), and a
    condition to wait on."""

    def __init__(self):
        self.spans: deque = deque(maxlen=capture.MAX_ITEMS)
        self.logs: deque = deque(maxlen=capture.MAX_ITEMS)
        self.metrics: deque = deque(maxlen=capture.MAX_ITEMS)
        self.log: deque = deque(maxlen=1000)  # one row per request: how it came, what became of it
        self.requests = 0
        self._totals = {"spans": 0, "logs": 0, "metrics": 0, "requests": 0}
        self.changed = threading.Condition()
        attempts.track_receiver(self)

    def totals(self) -> dict:
        """How many spans, logs, metric points and requests were ever received (a watermark)."""
        with self.changed:
            return dict(self._totals)

    def since(self, signal: str, mark: int | None) -> list:
        """The rows of ``signal`` (``"spans"``, ``"logs"``, ``"metrics"``, ``"requests"``)
        received after the watermark ``mark`` (all, for None)."""
        with self.changed:
            store = self.log if signal == "requests" else getattr(self, signal)
            items = list(store)
            new = len(items) if mark is None else self._totals[signal] - mark
        return items[len(items) - min(max(new, 0), len(items)):]

    def note(self, transport, path, status, note="", signal="", items=0, names=()) -> None:
        """Log one request (``status`` 200 for accepted, the error code otherwise)."""
        with self.changed:
            self.log.append({"time": datetime.now(timezone.utc), "transport": transport, "path": path,
                             "signal": signal, "status": status, "items": items, "names": list(names),
                             "note": note})
            self._totals["requests"] += 1
            self.changed.notify_all()

    def add(self, request, transport: str = "grpc", path: str = "") -> None:
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
                            "links": [(link.trace_id.hex(), link.span_id.hex()) for link in s.links],
                            "parent_remote": _remote(s), "scope": ss.scope.name or None})
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
        signal = "spans" if target is self.spans else "logs" if target is self.logs else "metrics"
        self.keep(signal, rows, transport, path)

    def keep(self, signal: str, rows: list, transport: str, path: str) -> None:
        """Keep decoded rows of ``signal`` (``"spans"``, ``"logs"``, ``"metrics"``) and log the request."""
        for row in rows if signal in ("spans", "logs") else ():
            row["transport"] = transport
        with self.changed:
            getattr(self, signal).extend(rows)
            self._totals[signal] += len(rows)
            self.requests += 1
            self.changed.notify_all()
        names = dict.fromkeys(r.get("name", "") for r in rows) if signal != "logs" else ()
        self.note(transport, path, 200, signal=signal, items=len(rows), names=names)


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, received):
        self.received = received

    def Export(self, request, context):
        self.received.add(request, "grpc", "TraceService/Export")
        return trace_service_pb2.ExportTraceServiceResponse()


class _Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, received):
        self.received = received

    def Export(self, request, context):
        self.received.add(request, "grpc", "MetricsService/Export")
        return metrics_service_pb2.ExportMetricsServiceResponse()


class _Logs(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, received):
        self.received = received

    def Export(self, request, context):
        self.received.add(request, "grpc", "LogsService/Export")
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
            if status >= 400:
                received.note("http", self.path, status, body.decode("utf-8", "replace"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            if self.path == zipkin.PATH:  # Zipkin v2 JSON, as Zipkin and a collector's zipkin receiver take it
                length = self.headers.get("Content-Length", "")
                if not (length.isascii() and length.isdigit()):
                    self.close_connection = True
                    return self._reply(411, b"a Content-Length is required", "text/plain")
                if int(length) > MAX_REQUEST_BYTES:
                    self.close_connection = True
                    return self._reply(413, b"request too large", "text/plain")
                try:
                    rows = zipkin.span_rows(self.rfile.read(int(length)))
                except ValueError as err:
                    return self._reply(400, str(err).encode("utf-8", "replace"), "text/plain; charset=utf-8")
                received.keep("spans", rows, "http", self.path)
                return self._reply(202, content_type="text/plain")
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
            received.add(request, "http", self.path)
            self._reply(200, kinds[1]().SerializeToString())

        def send_error(self, code, message=None, explain=None):  # a request that did not parse
            version = (getattr(self, "raw_requestline", b"") or b"").strip()
            note = ("an HTTP/2 client (gRPC?) on the HTTP port" if b"HTTP/2" in version
                    else message or "malformed request")
            received.note("http", getattr(self, "path", ""), code, note)
            super().send_error(code, message, explain)

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
        """Spans received, shaped like :func:`kit.capture.spans_df` (so the views draw them),
        plus ``transport``: how each came, ``"grpc"`` or ``"http"``."""
        return self.frame("spans")

    def logs_df(self) -> pd.DataFrame:
        """Log records received, shaped like :func:`kit.capture.logs_df`, plus ``transport``."""
        return self.frame("logs")

    def metric_points_df(self) -> pd.DataFrame:
        """Metric points received, shaped like :func:`kit.capture.metric_points_df`."""
        return self.frame("metrics")

    def requests_df(self) -> pd.DataFrame:
        """One row per request, refused ones too: ``transport`` (grpc/http), ``path``,
        ``signal``, ``status`` (200, or the error code), ``items``, span/metric ``names``, ``note``."""
        return self.frame("requests")

    def frame(self, signal: str, since: int | None = None) -> pd.DataFrame:
        """``signal``'s rows received after the watermark ``since`` (see :mod:`kit.attempts`)."""
        rows = self.received.since(signal, since)
        if signal == "spans":
            df = pd.DataFrame(rows, columns=SPAN_COLUMNS).sort_values("start", kind="stable")
            return capture.none_for_missing(df.reset_index(drop=True), ["parent_span_id", "parent_remote", "scope"])
        if signal == "logs":
            return capture.none_for_missing(pd.DataFrame(rows, columns=LOG_COLUMNS), ["trace_id", "span_id"])
        return pd.DataFrame(rows, columns=capture.METRIC_COLUMNS if signal == "metrics" else REQUEST_COLUMNS)

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
