"""OTLP over HTTP (and Zipkin v2 JSON) on one port, as the Collector's ``otlp`` receiver serves it.

    >>> server = HTTPServer(("127.0.0.1", 4318), received)   # port 0: a free one
    >>> threading.Thread(target=server.serve_forever, daemon=True).start()

``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs`` take protobuf or JSON, plain or gzip,
with a ``Content-Length`` or chunked (the body is read by :mod:`kit.receiver.http_body`) and
answer as the Collector does: 200 with the Export…ServiceResponse, or an error carrying a
``google.rpc.Status`` in the request's encoding. ``POST /api/v2/spans`` takes Zipkin v2
JSON (:mod:`kit.receiver.zipkin`) and answers 202. Any other path is 404; a GET on these
paths 405.

Two hooks for what is built on the receiver (:mod:`kit.classroom`): a ``gate`` sees each
POST's headers before its body is read and may refuse it (401, as a Collector's
authenticator does), and ``routes`` adds GET paths, each answered by its own function.

It stays small whatever it is sent: at most ``limits.MAX_CONNECTIONS`` connections are
served at once (then 503), a request waits at most ``limits.READ_TIMEOUT_S`` for each read
and ``limits.REQUEST_DEADLINE_S`` in all (then 408, or its connection is shut), an idle
kept-alive connection is closed after ``limits.IDLE_TIMEOUT_S``, and the bodies being read
share ``limits.BODY_BUDGET_BYTES``. Every request, refused ones too, is noted in the store's
log (``requests_df()``).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from google.protobuf import json_format
from google.rpc import status_pb2

from kit.receiver import decode, http_body, limits, zipkin

_RPC = {400: 3, 408: 4, 411: 3, 413: 8, 415: 3, 501: 12, 503: 14}  # HTTP status → google.rpc code
_HTTP_SIGNALS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}
_CONTENT_TYPES = ("application/x-protobuf", "application/json")


def _handler(received, budget):
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
            return http_body.Limits(limits.MAX_REQUEST_BYTES, limits.READ_TIMEOUT_S,
                                    time.monotonic() + limits.REQUEST_DEADLINE_S, budget)

        def do_POST(self):
            path = urlsplit(self.path).path
            if self.server.gate is not None and self._refused(path):
                return
            if path == zipkin.PATH:
                return self._zipkin()
            try:  # the framing first, as an HTTP server does before any handler
                length = http_body.content_length(self.headers)
            except http_body.BodyError as err:
                self.close_connection = True
                return self._reply(err.status, err.message.encode(), "text/plain")
            if length is not None and length > limits.MAX_REQUEST_BYTES and not self.headers.get("Transfer-Encoding"):
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
            bounds = self._limits()
            try:
                body = http_body.read_body(self.rfile, self.connection, self.headers, bounds)
                if self.headers.get("Transfer-Encoding"):
                    self.close_connection = "Content-Length" in self.headers  # both sent: RFC 9112 §6.3
                how = ", ".join([content_type] + [f"{k.lower()} {self.headers[k].strip().lower()}" for k in
                                                  ("Content-Encoding", "Transfer-Encoding") if self.headers.get(k)])
                reply = received.accept(signal, body, content_type, "http", path, how)
            except http_body.BodyError as err:
                self.close_connection = True
                return self._error(err.status, err.message, content_type)
            except decode.Invalid as err:
                return self._error(400, str(err), content_type)
            except decode.TooLarge as err:
                return self._error(413, str(err), content_type)
            finally:
                bounds.release()
            body = (json_format.MessageToJson(reply, indent=None).encode() if content_type == "application/json"
                    else reply.SerializeToString())
            self._reply(200, body, content_type)

        def _zipkin(self):  # Zipkin v2 JSON, as Zipkin and a collector's zipkin receiver take it
            length = self.headers.get("Content-Length", "")
            if not (length.isascii() and length.isdigit()):
                self.close_connection = True
                return self._reply(411, b"a Content-Length is required", "text/plain")
            if int(length) > limits.MAX_REQUEST_BYTES:
                self.close_connection = True
                return self._reply(413, b"request too large", "text/plain")
            bounds = self._limits()
            try:
                rows = zipkin.span_rows(http_body.read_body(self.rfile, self.connection, self.headers, bounds))
            except http_body.BodyError as err:
                self.close_connection = True
                return self._reply(err.status, err.message.encode(), "text/plain")
            except ValueError as err:
                return self._reply(400, str(err).encode("utf-8", "replace"), "text/plain; charset=utf-8")
            finally:
                bounds.release()
            received.keep("spans", rows, "http", self.path)
            return self._reply(202, content_type="text/plain")

        def _refused(self, path) -> bool:
            """The server's gate said no (its reason, or an error in it): 401, the body left unread."""
            try:
                why = self.server.gate("http", path, self.headers)
            except Exception as err:  # noqa: BLE001  a gate that fails refuses
                why = f"the gate failed: {type(err).__name__}"
            if why is None:
                return False
            self.close_connection = True
            self._reply(401, str(why).encode("utf-8", "replace"), "text/plain; charset=utf-8")
            return True

        def do_GET(self):
            route = self.server.routes.get(urlsplit(self.path).path)
            if route is not None:  # a page built on the receiver (kit.classroom's board): it answers itself
                return route(self)
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
                self.connection.settimeout(limits.IDLE_TIMEOUT_S)
                if not self.rfile.peek(1):
                    self.close_connection = True
                    return
            except OSError:
                self.close_connection = True
                return
            self.connection.settimeout(limits.READ_TIMEOUT_S)
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


class HTTPServer(ThreadingHTTPServer):
    """At most MAX_CONNECTIONS connections served at once; a request still arriving after
    REQUEST_DEADLINE_S has its connection shut (a client dripping its headers)."""

    daemon_threads = True
    request_queue_size = 256  # the listen backlog: connections waiting to be accepted

    def __init__(self, address, received, gate=None, routes=None):
        self.received = received
        self.gate = gate              # gate("http", path, headers) -> None to accept, else why it refuses (401)
        self.routes = dict(routes or {})  # GET path -> route(handler), which sends the whole reply
        self._watched: dict = {}
        self._lock = threading.Lock()
        self._active = 0
        self._closing = threading.Event()
        super().__init__(address, _handler(received, http_body.Budget(limits.BODY_BUDGET_BYTES)))
        threading.Thread(target=self._reap, name="otlp-http-reaper", daemon=True).start()

    def process_request(self, request, client_address):
        with self._lock:
            busy = self._active >= limits.MAX_CONNECTIONS
            if not busy:
                self._active += 1
        if busy:
            self.received.note("http", "", 503, f"more than {limits.MAX_CONNECTIONS} connections at once")
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
            self._watched[sock] = time.monotonic() + limits.REQUEST_DEADLINE_S + limits.READ_TIMEOUT_S

    def unwatch(self, sock) -> None:
        with self._lock:
            self._watched.pop(sock, None)

    def _reap(self) -> None:
        while not self._closing.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [s for s, deadline in self._watched.items() if deadline < now]
            for sock in late:
                self.received.note("http", "", 408, f"the request took more than {limits.REQUEST_DEADLINE_S:g} s")
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
