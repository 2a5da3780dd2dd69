"""An embedded OTLP endpoint: telemetry from other processes, in the notebook's views.

    >>> from kit.receiver import start_receiver
    >>> receiver = start_receiver(grpc_port=0, http_port=0)   # 0: a free port; default 4317 / 4318
    >>> receiver.grpc_endpoint, receiver.http_endpoint
    ('http://127.0.0.1:40123', 'http://127.0.0.1:40124')
    >>> # run any program with OTEL_EXPORTER_OTLP_ENDPOINT=receiver.grpc_endpoint, then:
    >>> waterfall(receiver.spans_df())
    >>> receiver.stop()

It binds to 127.0.0.1 and speaks OTLP as the specification and the OpenTelemetry
Collector's ``otlp`` receiver do: gRPC (gzip too), and HTTP ``POST /v1/traces``,
``/v1/metrics``, ``/v1/logs`` in protobuf (``application/x-protobuf``) or JSON
(``application/json``), plain or ``Content-Encoding: gzip``, with a ``Content-Length`` or
chunked. It decodes with the official definitions (``opentelemetry-proto``): see
:mod:`kit.otlp_decode` for what becomes of each span, log record and metric point (every
metric kind: exponential histograms and summaries too). Its HTTP port also takes Zipkin
v2 JSON on ``POST /api/v2/spans``, as Zipkin and a collector's ``zipkin`` receiver do
(:mod:`kit.zipkin`).

Answers, as the Collector gives them:

    accepted                      gRPC OK, HTTP 200 with the Export…ServiceResponse (JSON for JSON)
    some items invalid            the same, with partial_success: how many were rejected, and why
    not OTLP / bad framing        INVALID_ARGUMENT, HTTP 400 (bad Content-Length, broken chunks, bad gzip)
    too large                     RESOURCE_EXHAUSTED, HTTP 413 (over MAX_REQUEST_BYTES, compressed or
                                  not, or more than kit.otlp_wire.MAX_MESSAGES messages)
    unknown Content-Type/-Encoding HTTP 415; a client that stalls: 408; too busy: 503 (retry)

HTTP errors on the OTLP paths carry a ``google.rpc.Status`` in the request's encoding.

It stays small whatever it is sent: a body is read within ``READ_TIMEOUT_S`` per read and
``REQUEST_DEADLINE_S`` in all (:mod:`kit.http_body`), at most ``MAX_CONNECTIONS`` HTTP
connections are served at once, decoding is bounded before it starts
(:mod:`kit.otlp_wire`), and what it keeps is bounded twice: the newest
``capture.MAX_ITEMS`` of each signal, and the newest ``MAX_BYTES`` (estimated) of each.
``requests_df()`` lists every request, refused ones too, and ``spans_df()`` says how each
span came (``transport``: ``"grpc"`` or ``"http"``). ``serve_page()`` shows it all in a
browser (:mod:`kit.receiver_page`).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections import deque
from concurrent import futures
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import grpc
import pandas as pd
from google.protobuf import json_format
from google.rpc import status_pb2

from kit import capture, http_body, otlp_decode, running, zipkin
from kit.otlp_decode import value_of  # noqa: F401  (kept: part of this module's interface)

MAX_REQUEST_BYTES = 16 * 1024 * 1024   # a body, as sent and once decompressed
MAX_BYTES = 64 * 1024 * 1024           # what the store keeps of each signal (estimated)
READ_TIMEOUT_S = 10.0                  # the longest wait for the next bytes of a request
REQUEST_DEADLINE_S = 30.0              # the longest a request may take to arrive
IDLE_TIMEOUT_S = 120.0                 # a kept-alive connection with no request is closed
MAX_CONNECTIONS = 64                   # HTTP connections served at once (then 503)
BODY_BUDGET_BYTES = 80 * 1024 * 1024   # bytes all the HTTP requests being read may hold
GRPC_MAX_RPCS = 16                     # gRPC calls at once (then RESOURCE_EXHAUSTED)
REQUEST_COLUMNS = ["time", "transport", "path", "signal", "status", "items", "names", "note"]
SPAN_COLUMNS = capture.SPAN_COLUMNS + ["transport"]  # how each span came: "grpc" or "http"
LOG_COLUMNS = capture.LOG_COLUMNS + ["transport"]
_RPC = {400: 3, 408: 4, 411: 3, 413: 8, 415: 3, 501: 12, 503: 14}  # HTTP status → google.rpc code


class _Store(deque):
    """A signal's rows, oldest first, with the estimated size of each."""

    def __init__(self):
        super().__init__()
        self.sizes: deque = deque()
        self.bytes = 0

    def put(self, rows: list, sizes: list) -> None:
        self.extend(rows)
        self.sizes.extend(sizes)
        self.bytes += sum(sizes)
        while self and (len(self) > capture.MAX_ITEMS or self.bytes > MAX_BYTES):
            self.popleft()
            self.bytes -= self.sizes.popleft()

    def clear(self) -> None:
        super().clear()
        self.sizes.clear()
        self.bytes = 0


def _estimate(row: dict) -> int:
    """The size of a row that came without one (Zipkin's), from its attributes and events."""
    attrs = row.get("attributes") or {}
    return (otlp_decode.ROW_BYTES["spans"] + sum(len(str(k)) + len(str(v)) for k, v in attrs.items())
            + otlp_decode.ITEM_BYTES * (len(attrs) + len(row.get("events") or ())))


class Received:
    """Everything accepted so far, a log of every request (refused ones too), and a
    condition to wait on."""

    def __init__(self):
        self.spans = _Store()
        self.logs = _Store()
        self.metrics = _Store()
        self.log: deque = deque(maxlen=1000)  # one row per request: how it came, what became of it
        self.requests = 0
        self._totals = {"spans": 0, "logs": 0, "metrics": 0, "requests": 0}
        self.changed = threading.Condition()
        self._decoding = threading.Lock()  # one request decoded at a time: its memory is bounded
        running.add_receiver(self)

    @property
    def bytes(self) -> dict:
        """The estimated bytes kept of each signal (each at most ``MAX_BYTES``)."""
        with self.changed:
            return {s: getattr(self, s).bytes for s in ("spans", "logs", "metrics")}

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
        """Log one request (``status``: HTTP's code, or gRPC's name such as ``"OK"``)."""
        with self.changed:
            self.log.append({"time": datetime.now(timezone.utc), "transport": transport, "path": path,
                             "signal": signal, "status": status, "items": items, "names": list(names),
                             "note": note})
            self._totals["requests"] += 1
            self.changed.notify_all()

    def accept(self, signal: str, body: bytes, content_type: str, transport: str, path: str, how: str = ""):
        """Decode one OTLP body of ``signal`` (``"traces"``, ``"metrics"``, ``"logs"``), keep its
        valid items and return the response; raises ``otlp_decode.Invalid`` / ``TooLarge``.
        ``how`` (the encodings it came in) goes into the request's note."""
        with self._decoding:
            request = otlp_decode.parse(signal, body, content_type)
            decoded = otlp_decode.rows(request, len(body))
        while decoded.rows and sum(decoded.sizes) > MAX_BYTES:  # more than the store holds: the oldest go
            decoded.rows.pop(0)
            decoded.sizes.pop(0)
            decoded.reject(f"more than the receiver keeps ({MAX_BYTES // 2**20} MB of {decoded.store})")
        rejected = f"{decoded.rejected} rejected: {decoded.why}" if decoded.rejected else ""
        self.keep(decoded.store, decoded.rows, transport, path, decoded.sizes,
                  note="; ".join(n for n in (how, rejected) if n))
        return otlp_decode.response(request, decoded)

    def add(self, request, transport: str = "grpc", path: str = "") -> None:
        """Keep the items of an already parsed Export…ServiceRequest."""
        decoded = otlp_decode.rows(request)
        self.keep(decoded.store, decoded.rows, transport, path, decoded.sizes)

    def keep(self, signal: str, rows: list, transport: str, path: str, sizes: list | None = None,
             note: str = "") -> None:
        """Keep decoded rows of ``signal`` (``"spans"``, ``"logs"``, ``"metrics"``) and log the request."""
        for row in rows if signal in ("spans", "logs") else ():
            row["transport"] = transport
        sizes = [_estimate(r) for r in rows] if sizes is None else sizes
        with self.changed:
            getattr(self, signal).put(rows, sizes)
            self._totals[signal] += len(rows)
            self.requests += 1
            self.changed.notify_all()
        names = dict.fromkeys(r.get("name", "") for r in rows) if signal != "logs" else ()
        self.note(transport, path, "OK" if transport == "grpc" else 200, note=note, signal=signal,
                  items=len(rows), names=names)


_GRPC_SERVICES = {"traces": "opentelemetry.proto.collector.trace.v1.TraceService",
                  "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
                  "logs": "opentelemetry.proto.collector.logs.v1.LogsService"}


def _grpc_handlers(received) -> list:
    """The three Export methods, taking the raw bytes so that a bad body is INVALID_ARGUMENT."""
    def export_for(signal, path):
        def export(body, context):
            try:
                reply = received.accept(signal, body, "application/x-protobuf", "grpc", path)
            except otlp_decode.Invalid as err:
                received.note("grpc", path, "INVALID_ARGUMENT", str(err), signal=otlp_decode.SIGNALS[signal][2])
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
            except otlp_decode.TooLarge as err:
                received.note("grpc", path, "RESOURCE_EXHAUSTED", str(err), signal=otlp_decode.SIGNALS[signal][2])
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(err))
            return reply.SerializeToString()
        return export

    return [grpc.method_handlers_generic_handler(service, {
        "Export": grpc.unary_unary_rpc_method_handler(export_for(signal, f"{service.rsplit('.', 1)[1]}/Export"))})
        for signal, service in _GRPC_SERVICES.items()]


_HTTP_SIGNALS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}
_CONTENT_TYPES = ("application/x-protobuf", "application/json")


def _http_handler(received, budget):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status, body=b"", content_type="application/x-protobuf", note=None):
            if status >= 400:
                received.note("http", self.path, status, note if note is not None
                              else body.decode("utf-8", "replace"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            if status >= 400 and self.close_connection:
                self._linger()

        def _linger(self):
            """Let the client read the error before the connection closes: a close with its
            unread bytes still arriving would reset the connection and lose the reply."""
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                deadline = time.monotonic() + 1.0
                drained = 0
                while drained < 4 * 2**20 and time.monotonic() < deadline:
                    self.connection.settimeout(max(deadline - time.monotonic(), 0.01))
                    data = self.connection.recv(65536)
                    if not data:
                        break
                    drained += len(data)
            except OSError:
                pass

        def _error(self, status, message, content_type):
            """An OTLP error: a google.rpc.Status in the request's encoding (text otherwise)."""
            if content_type not in _CONTENT_TYPES:
                return self._reply(status, message.encode("utf-8", "replace"), "text/plain; charset=utf-8")
            rpc = status_pb2.Status(code=_RPC.get(status, 2), message=message)
            body = (json_format.MessageToJson(rpc, indent=None).encode() if content_type == "application/json"
                    else rpc.SerializeToString())
            return self._reply(status, body, content_type, note=message)

        def _limits(self):
            return http_body.Limits(MAX_REQUEST_BYTES, READ_TIMEOUT_S, time.monotonic() + REQUEST_DEADLINE_S,
                                    budget)

        def do_POST(self):
            path = urlsplit(self.path).path
            if path == zipkin.PATH:
                return self._zipkin()
            try:  # the framing first, as an HTTP server does before any handler
                length = http_body.content_length(self.headers)
            except http_body.BodyError as err:
                self.close_connection = True
                return self._reply(err.status, err.message.encode(), "text/plain")
            if length is not None and length > MAX_REQUEST_BYTES and not self.headers.get("Transfer-Encoding"):
                self.close_connection = True
                return self._reply(413, b"request too large", "text/plain")
            signal = _HTTP_SIGNALS.get(path)
            content_type = self.headers.get_content_type()
            if signal is None:
                self.close_connection = True
                return self._reply(404, b"not an OTLP path: use /v1/traces, /v1/metrics or /v1/logs",
                                   "text/plain")
            if content_type not in _CONTENT_TYPES:
                self.close_connection = True
                return self._reply(415, f"Content-Type {content_type!r} is not OTLP: use application/x-protobuf "
                                        f"or application/json".encode(), "text/plain")
            limits = self._limits()
            try:
                body = http_body.read_body(self.rfile, self.connection, self.headers, limits)
                if self.headers.get("Transfer-Encoding"):
                    self.close_connection = "Content-Length" in self.headers  # both sent: RFC 9112 §6.3
                how = ", ".join([content_type] + [f"{k.lower()} {self.headers[k].strip().lower()}" for k in
                                                  ("Content-Encoding", "Transfer-Encoding") if self.headers.get(k)])
                reply = received.accept(signal, body, content_type, "http", path, how)
            except http_body.BodyError as err:
                self.close_connection = True
                return self._error(err.status, err.message, content_type)
            except otlp_decode.Invalid as err:
                return self._error(400, str(err), content_type)
            except otlp_decode.TooLarge as err:
                return self._error(413, str(err), content_type)
            finally:
                limits.release()
            body = (json_format.MessageToJson(reply, indent=None).encode() if content_type == "application/json"
                    else reply.SerializeToString())
            self._reply(200, body, content_type)

        def _zipkin(self):  # Zipkin v2 JSON, as Zipkin and a collector's zipkin receiver take it
            length = self.headers.get("Content-Length", "")
            if not (length.isascii() and length.isdigit()):
                self.close_connection = True
                return self._reply(411, b"a Content-Length is required", "text/plain")
            if int(length) > MAX_REQUEST_BYTES:
                self.close_connection = True
                return self._reply(413, b"request too large", "text/plain")
            limits = self._limits()
            try:
                rows = zipkin.span_rows(http_body.read_body(self.rfile, self.connection, self.headers, limits))
            except http_body.BodyError as err:
                self.close_connection = True
                return self._reply(err.status, err.message.encode(), "text/plain")
            except ValueError as err:
                return self._reply(400, str(err).encode("utf-8", "replace"), "text/plain; charset=utf-8")
            finally:
                limits.release()
            received.keep("spans", rows, "http", self.path)
            return self._reply(202, content_type="text/plain")

        def do_GET(self):
            allowed = urlsplit(self.path).path in _HTTP_SIGNALS or urlsplit(self.path).path == zipkin.PATH
            self.close_connection = True
            if allowed:
                self.send_response(405)
                self.send_header("Allow", "POST")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return received.note("http", self.path, 405, "use POST")
            return self._reply(404, b"not an OTLP path: use POST /v1/traces, /v1/metrics or /v1/logs",
                               "text/plain")

        def handle_one_request(self):
            """Wait for a request at most IDLE_TIMEOUT_S, then read it within READ_TIMEOUT_S per read."""
            try:
                self.connection.settimeout(IDLE_TIMEOUT_S)
                if not self.rfile.peek(1):
                    self.close_connection = True
                    return
            except OSError:
                self.close_connection = True
                return
            self.connection.settimeout(READ_TIMEOUT_S)
            self.server.watch(self.connection)
            try:
                super().handle_one_request()
            finally:
                self.server.unwatch(self.connection)

        def send_error(self, code, message=None, explain=None):  # a request that did not parse
            version = (getattr(self, "raw_requestline", b"") or b"").strip()
            note = ("an HTTP/2 client (gRPC?) on the HTTP port" if b"HTTP/2" in version
                    else message or "malformed request")
            received.note("http", getattr(self, "path", ""), code, note)
            super().send_error(code, message, explain)

        def log_error(self, format, *args):
            if "timed out" in format:
                received.note("http", getattr(self, "path", ""), 408,
                              "the request line or headers did not arrive in time")

        def log_message(self, *args):  # quiet: no lines from a background thread in a later cell
            pass

    return Handler


class _HTTPServer(ThreadingHTTPServer):
    """At most MAX_CONNECTIONS connections served at once; a request still arriving after
    REQUEST_DEADLINE_S has its connection shut (a client dripping its headers)."""

    daemon_threads = True
    request_queue_size = 256  # the listen backlog: connections waiting to be accepted

    def __init__(self, address, handler, received):
        self.received = received
        self._watched: dict = {}
        self._lock = threading.Lock()
        self._active = 0
        self._closing = threading.Event()
        super().__init__(address, handler)
        threading.Thread(target=self._reap, name="otlp-http-reaper", daemon=True).start()

    def process_request(self, request, client_address):
        with self._lock:
            busy = self._active >= MAX_CONNECTIONS
            if not busy:
                self._active += 1
        if busy:
            self.received.note("http", "", 503, f"more than {MAX_CONNECTIONS} connections at once")
            try:
                request.settimeout(1)
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                                b"Content-Length: 4\r\nConnection: close\r\nRetry-After: 1\r\n\r\nbusy")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._active -= 1

    def watch(self, sock) -> None:
        with self._lock:
            self._watched[sock] = time.monotonic() + REQUEST_DEADLINE_S + READ_TIMEOUT_S

    def unwatch(self, sock) -> None:
        with self._lock:
            self._watched.pop(sock, None)

    def _reap(self) -> None:
        while not self._closing.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [s for s, deadline in self._watched.items() if deadline < now]
            for sock in late:
                self.received.note("http", "", 408, f"the request took more than {REQUEST_DEADLINE_S:g} s")
                self.unwatch(sock)
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request, client_address):
        """Not socketserver's traceback on stderr (it would land in a later cell): a client
        that hung up before its reply is its own business; any other failure is noted in
        the requests log, with its message."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            self.received.note("http", "", 500, f"the receiver failed: {type(error).__name__}: {error}")

    def server_close(self):
        self._closing.set()
        super().server_close()


class Receiver:
    """A running OTLP endpoint (see the module's docstring)."""

    def __init__(self, host, grpc_port, http_port):
        self.received = Received()
        self.host = host
        self.page = None
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=_grpc_handlers(self.received),
                                 maximum_concurrent_rpcs=GRPC_MAX_RPCS,
                                 options=[("grpc.max_receive_message_length", MAX_REQUEST_BYTES)])
        self.grpc_port = self._grpc.add_insecure_port(f"{host}:{grpc_port}")
        if not self.grpc_port:
            raise OSError(f"cannot listen on {host}:{grpc_port} for OTLP/gRPC (is a collector running?)")
        self._http = _HTTPServer((host, http_port), _http_handler(self.received, http_body.Budget(BODY_BUDGET_BYTES)),
                                 self.received)
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
        return frame_of(signal, self.received.since(signal, since))

    def wait_for_spans(self, predicate, timeout_s: float = 10.0) -> bool:
        """Wait until ``predicate(spans_df)`` is true (re-checked at each request), at most ``timeout_s``."""
        with self.received.changed:
            return self.received.changed.wait_for(
                lambda: predicate(pd.DataFrame(list(self.received.spans), columns=capture.SPAN_COLUMNS)),
                timeout=timeout_s)

    def serve_page(self, port: int = 16686):
        """Show what it received in a browser (:mod:`kit.receiver_page`); the ``PageServer``
        (``.url``). Port 0: a free one."""
        from kit.receiver_page import PageServer
        if self.page is None:
            self.page = PageServer(self, self.host, port)
        return self.page

    def stop(self) -> None:
        if self.page is not None:
            self.page.stop()
        self._grpc.stop(grace=None)
        self._http.shutdown()
        self._http.server_close()


def frame_of(signal: str, rows: list) -> pd.DataFrame:
    """Rows of ``signal`` (``"spans"``, ``"logs"``, ``"metrics"``, ``"requests"``) as the DataFrame
    the views draw (spans in start order, missing ids as None)."""
    if signal == "spans":
        df = pd.DataFrame(rows, columns=SPAN_COLUMNS).sort_values("start", kind="stable")
        return capture.none_for_missing(df.reset_index(drop=True), ["parent_span_id", "parent_remote", "scope"])
    if signal == "logs":
        return capture.none_for_missing(pd.DataFrame(rows, columns=LOG_COLUMNS), ["trace_id", "span_id"])
    return pd.DataFrame(rows, columns=capture.METRIC_COLUMNS if signal == "metrics" else REQUEST_COLUMNS)


def start_receiver(grpc_port: int = 4317, http_port: int = 4318, host: str = "127.0.0.1") -> Receiver:
    """Start OTLP/gRPC and OTLP/HTTP endpoints in background threads (port 0: a free one)."""
    return Receiver(host, grpc_port, http_port)
