"""OTLP over HTTP (and Zipkin v2 JSON) on one port, as the Collector's ``otlp`` receiver serves it.

    >>> server = HTTPServer(("127.0.0.1", 4318), received)   # port 0: a free one
    >>> threading.Thread(target=server.serve_forever, daemon=True).start()

``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs`` take protobuf or JSON, plain or gzip,
with a ``Content-Length`` or chunked (the body is read by :mod:`kit.receiver.http_body`) and
answer as the Collector does: 200 with the Export…ServiceResponse, or an error carrying a
``google.rpc.Status`` in the request's encoding. ``POST /api/v2/spans`` takes Zipkin v2
JSON (:mod:`kit.receiver.zipkin`), with a ``Content-Length`` or chunked (as the JS SDK's
Zipkin exporter sends it), plain or gzip, ``Content-Type: application/json`` only (415
otherwise: a browser posts text/plain or a form to another site without asking), and
answers 202.
Any other path is 404; a GET on these paths 405. A request whose ``Host`` is not a name of
this receiver gets a 403 (:mod:`kit.receiver.hosts`).

Two hooks for what is built on the receiver (:mod:`kit.classroom`): a ``gate`` sees each
POST's headers before its body is read and may refuse it (401, as a Collector's
authenticator does), and ``routes`` adds GET paths, each answered by its own function.

Slow clients cost it little and keep no one out, as Go's HTTP server under the Collector
(``read_header_timeout``, bodies read as they come) and Kestrel (a minimum body rate):

* a request's line and headers are due ``limits.HEADER_TIMEOUT_S`` after the connection
  opens (or, on a kept-alive one, after its first byte; an idle one is closed after
  ``limits.IDLE_TIMEOUT_S``): a client dripping them, or sending nothing, is cut then;
* a body waits at most ``limits.READ_TIMEOUT_S`` for each read, must average
  ``limits.MIN_BODY_RATE`` bytes a second once ``limits.BODY_GRACE_S`` have passed, and must
  be in within ``limits.REQUEST_DEADLINE_S`` (then 408);
* a body holds the memory of what has arrived, not of what it declares; all the bodies
  being read share ``limits.BODY_BUDGET_BYTES``, and when that runs short the bodies still
  arriving after ``limits.SLOW_BODY_S`` are cut (503, retry later) for those arriving at
  full speed;
* at most ``limits.MAX_CONNECTIONS`` connections are served at once (a thread each; then
  503): far above what dozens of slow clients hold, since each is cut within seconds.

Every request, refused ones too, is noted in the store's log (``requests_df()``).
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
from kit.receiver.hosts import Hosts

_RPC = {400: 3, 403: 7, 408: 4, 411: 3, 413: 8, 415: 3, 501: 12, 503: 14}  # HTTP status → google.rpc code
_HTTP_SIGNALS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}
_CONTENT_TYPES = ("application/x-protobuf", "application/json")


def _handler(received, budget, hosts):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        body_budget = budget  # what the bodies being read hold (read by the tests)

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
            budget.total, budget.slow_s = limits.BODY_BUDGET_BYTES, limits.SLOW_BODY_S
            return http_body.Limits(limits.MAX_REQUEST_BYTES, limits.READ_TIMEOUT_S,
                                    time.monotonic() + limits.REQUEST_DEADLINE_S, budget,
                                    min_rate=limits.MIN_BODY_RATE, grace_s=limits.BODY_GRACE_S,
                                    sock=self.connection)

        def _foreign(self, content_type=None) -> bool:
            """Answer 403 to a request that names another host (see kit.receiver.hosts)."""
            why = hosts.refuse_request(self.headers)
            if why is not None:
                self.close_connection = True
                self._error(403, why, content_type)
            return why is not None

        def do_POST(self):
            path = urlsplit(self.path).path
            if self._foreign(self.headers.get_content_type() if path in _HTTP_SIGNALS else None):
                return
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
            try:
                length = http_body.content_length(self.headers)
            except http_body.BodyError as err:
                self.close_connection = True
                return self._reply(err.status, err.message.encode(), "text/plain")
            chunked = bool(self.headers.get("Transfer-Encoding"))  # as the JS SDK's Zipkin exporter sends it
            if length is None and not chunked:
                self.close_connection = True
                return self._reply(411, b"a Content-Length (or a chunked body) is required", "text/plain")
            if length is not None and length > limits.MAX_REQUEST_BYTES and not chunked:
                self.close_connection = True
                return self._reply(413, b"request too large", "text/plain")
            if self.headers.get_content_type() != "application/json" or "Content-Type" not in self.headers:
                # text/plain, a form or no type at all: what a page of another site posts without asking
                self.close_connection = True
                return self._reply(415, f"Content-Type {self.headers.get('Content-Type', '(none)')[:60]!r} is not "
                                        f"Zipkin v2 JSON: use application/json".encode(), "text/plain")
            bounds = self._limits()
            try:
                rows = zipkin.span_rows(http_body.read_body(self.rfile, self.connection, self.headers, bounds))
                if chunked:
                    self.close_connection = length is not None  # both sent: RFC 9112 §6.3
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
            if self._foreign():
                return
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

        def setup(self):
            super().setup()
            self.started = time.monotonic()  # the first request's headers are due from here
            self.requests = 0

        def handle_one_request(self):
            """Its line and headers within HEADER_TIMEOUT_S (of the connection's start, for its
            first request; of a kept-alive connection's next byte, waited for IDLE_TIMEOUT_S)."""
            if self.requests:
                try:
                    self.connection.settimeout(limits.IDLE_TIMEOUT_S)
                    if not self.rfile.peek(1):
                        self.close_connection = True
                        return
                except OSError:
                    self.close_connection = True
                    return
                self.started = time.monotonic()
            self.requests += 1
            deadline = self.started + limits.HEADER_TIMEOUT_S
            self.connection.settimeout(max(deadline - time.monotonic(), 0.001))
            self.server.watch(self.connection, deadline)  # a client dripping its headers is cut at the deadline
            try:
                super().handle_one_request()
            finally:
                self.server.unwatch(self.connection, done=True)

        def parse_request(self):
            ok = super().parse_request()
            self.server.unwatch(self.connection)  # the headers are in: the body has bounds of its own
            self.connection.settimeout(limits.READ_TIMEOUT_S)
            return ok

        def send_error(self, code, message=None, explain=None):  # a request that did not parse
            if self.server.was_late(self.connection):  # cut at the header deadline: noted as 408 already
                self.close_connection = True
                return
            version = (getattr(self, "raw_requestline", b"") or b"").strip()
            note = ("an HTTP/2 client (gRPC?) on the HTTP port" if b"HTTP/2" in version
                    else message or "malformed request")
            received.note("http", getattr(self, "path", ""), code, note)
            super().send_error(code, message, explain)

        def log_error(self, format, *args):
            # the socket's own timeout and the reaper fire at the same deadline: one note only
            if "timed out" in format and self.server.claim_late(self.connection):
                received.note("http", getattr(self, "path", ""), 408,
                              "the request line or headers did not arrive in time")

        def log_message(self, *args):  # quiet: no lines from a background thread in a later cell
            pass

    return Handler


class HTTPServer(ThreadingHTTPServer):
    """At most MAX_CONNECTIONS connections served at once; a request whose headers are still
    arriving after HEADER_TIMEOUT_S has its connection shut (a client dripping its headers)."""

    daemon_threads = True
    request_queue_size = 256  # the listen backlog: connections waiting to be accepted

    def __init__(self, address, received, hosts: Hosts | None = None, gate=None, routes=None):
        self.received = received
        self.gate = gate              # gate("http", path, headers) -> None to accept, else why it refuses (401)
        self.routes = dict(routes or {})  # GET path -> route(handler), which sends the whole reply
        self._watched: dict = {}   # connection → when its request's headers are due
        self._late: set = set()    # connections cut at that deadline
        self._lock = threading.Lock()
        self._active = 0
        self._closing = threading.Event()
        super().__init__(address, _handler(received, http_body.Budget(limits.BODY_BUDGET_BYTES, limits.SLOW_BODY_S),
                                           hosts or Hosts(address[0])))
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

    def watch(self, sock, deadline: float) -> None:
        with self._lock:
            self._watched[sock] = deadline

    def unwatch(self, sock, done: bool = False) -> None:
        with self._lock:
            self._watched.pop(sock, None)
            if done:
                self._late.discard(sock)

    def claim_late(self, sock) -> bool:
        """Mark ``sock`` as cut at its header deadline; True for the first to mark it (who notes the 408)."""
        with self._lock:
            if sock in self._late:
                return False
            self._late.add(sock)
            return True

    def was_late(self, sock) -> bool:
        with self._lock:
            return sock in self._late

    def _reap(self) -> None:
        while not self._closing.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [s for s, deadline in self._watched.items() if deadline < now]
            for sock in late:
                with self._lock:
                    if self._watched.pop(sock, None) is None:
                        continue  # its request ended meanwhile
                    first = sock not in self._late  # (its own timeout may have noted it first)
                    self._late.add(sock)
                if first:
                    self.received.note("http", "", 408, f"the request line and headers took more than "
                                                        f"{limits.HEADER_TIMEOUT_S:g} s")
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
