"""An embedded OTLP endpoint: telemetry from other processes, in the notebook's views.

    >>> from kit.receiver import start_receiver
    >>> receiver = start_receiver(grpc_port=0, http_port=0)   # 0: a free port; default 4317 / 4318
    >>> receiver.grpc_endpoint, receiver.http_endpoint
    ('http://127.0.0.1:40123', 'http://127.0.0.1:40124')
    >>> # run any program with OTEL_EXPORTER_OTLP_ENDPOINT=receiver.grpc_endpoint, then:
    >>> waterfall(receiver.spans_df())
    >>> receiver.stop()

It binds to 127.0.0.1 (and answers HTTP only to the names a request to it has, not to a
web page that points a name of its own at it: :mod:`kit.receiver.hosts`) and speaks OTLP
as the specification and the OpenTelemetry
Collector's ``otlp`` receiver do: gRPC (gzip too), and HTTP ``POST /v1/traces``,
``/v1/metrics``, ``/v1/logs`` in protobuf (``application/x-protobuf``) or JSON
(``application/json``), plain or ``Content-Encoding: gzip``, with a ``Content-Length`` or
chunked. It decodes with the official definitions (``opentelemetry-proto``): see
:mod:`kit.receiver.decode` for what becomes of each span, log record and metric point (every
metric kind: exponential histograms and summaries too). Its HTTP port also takes Zipkin
v2 JSON on ``POST /api/v2/spans``, as Zipkin and a collector's ``zipkin`` receiver do
(:mod:`kit.receiver.zipkin`).

Answers, as the Collector gives them:

    accepted                      gRPC OK, HTTP 200 with the Export…ServiceResponse (JSON for JSON)
    some items invalid            the same, with partial_success: how many were rejected, and why
    not OTLP / bad framing        INVALID_ARGUMENT, HTTP 400 (bad Content-Length, broken chunks, bad gzip)
    too large                     RESOURCE_EXHAUSTED, HTTP 413 (over MAX_REQUEST_BYTES, compressed or
                                  not, or more than wire_limits.MAX_MESSAGES messages)
    unknown Content-Type/-Encoding HTTP 415; a client that stalls: 408; too busy: 503 (retry)
    a Host not its own            HTTP 403 (a web page of another site: kit.receiver.hosts)

HTTP errors on the OTLP paths carry a ``google.rpc.Status`` in the request's encoding.

It stays small whatever it is sent, and slow clients keep no one out (every bound is in
:mod:`kit.receiver.limits`): headers are due within ``HEADER_TIMEOUT_S``, a body must keep
``MIN_BODY_RATE`` and arrive within ``REQUEST_DEADLINE_S``, bodies hold the memory of what
has arrived within ``BODY_BUDGET_BYTES`` (:mod:`kit.receiver.http_server`,
:mod:`kit.receiver.http_body`), a gRPC message is due within ``GRPC_MESSAGE_TIMEOUT_S``
(:mod:`kit.receiver.grpc_server`), decoding is bounded before it starts
(:mod:`kit.receiver.wire_limits`), and what it keeps is bounded twice: the newest
``MAX_ITEMS`` of each signal, and the newest ``MAX_BYTES`` (estimated) of each. ``requests_df()`` lists every request, refused ones too,
and ``spans_df()`` says how each span came (``transport``: ``"grpc"`` or ``"http"``).
``serve_page()`` shows it all in a browser (:mod:`kit.receiver.page`); a notebook in
another process reads it with :func:`kit.remote.connect`. ``start_receiver(gate=...,
routes=...)`` lets what is built on it (:mod:`kit.classroom`) refuse requests and add pages
(:mod:`kit.receiver.http_server`); ``grpc_port=None`` serves OTLP/HTTP alone.

The package, one job per module; the arrows point down this list, never up:

    __init__       Receiver and start_receiver: the parts put together
    page           the web page's server: its routes, and its /api/ (what kit.remote reads)
    page_parts     the page's parts as HTML (a search's traces, a trace, a span, two traces, the map)
    page_assets    the page's shell: HTML, style, script, icon
    page_values    values cut for display, the whole a click away
    trace_compare  two traces' spans matched side by side
    trace_index    the page's index of the traces kept, fed by the store as spans arrive
    grpc_server    OTLP/gRPC: the three Export methods
    http_server    OTLP/HTTP and Zipkin on one port: routes, answers, connection limits
    http_body      an HTTP body read within bounds of size, memory and time
    hosts          the names it answers to (the Host header), against DNS rebinding
    store          what is kept: rows of each signal, bounded, and the log of requests
    zipkin         Zipkin v2 JSON → span rows
    decode         OTLP requests (protobuf or JSON) → rows, and the responses
    wire_limits    what decoding a protobuf will cost, read before decoding it
    limits         every bound, in one place

The rows' columns, their DataFrames and their JSON are :mod:`kit.rows`, shared with
:mod:`kit.capture` and :mod:`kit.remote`.
"""

from __future__ import annotations

import threading

import pandas as pd

from kit.receiver import grpc_server, http_server, limits  # noqa: F401  (limits: kit.receiver.limits)
from kit.receiver.decode import value_of  # noqa: F401  (kept: part of this module's interface)
from kit.receiver.hosts import Hosts
from kit.receiver.store import Received
from kit.rows import SPAN_COLUMNS, ReceivedFrames, frame_of

__all__ = ["start_receiver", "Receiver", "Received", "frame_of"]


class Receiver(ReceivedFrames):
    """A running OTLP endpoint (see the module's docstring): ``spans_df()``, ``logs_df()``,
    ``metric_points_df()``, ``requests_df()`` read what it received."""

    def __init__(self, host, grpc_port, http_port, allowed_hosts=(), gate=None, routes=None):
        self.received = Received()
        self.host = host
        self.allowed_hosts = tuple(allowed_hosts)
        self.page = None
        self._grpc, self.grpc_port = (None, None) if grpc_port is None else \
            grpc_server.bind(self.received, host, grpc_port, gate)
        self._http = http_server.HTTPServer((host, http_port), self.received, Hosts(host, self.allowed_hosts),
                                            gate, routes)
        self.http_port = self._http.server_port
        if self._grpc is not None:
            self._grpc.start()
        threading.Thread(target=self._http.serve_forever, args=(limits.SERVE_POLL_S,), name="otlp-http",
                         daemon=True).start()

    @property
    def grpc_endpoint(self) -> str | None:
        return None if self.grpc_port is None else f"http://{self.host}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    def frame(self, signal: str, since: int | None = None) -> pd.DataFrame:
        """``signal``'s rows received after the watermark ``since`` (see :mod:`kit.attempts`)."""
        return frame_of(signal, self.received.since(signal, since))

    def wait_for_spans(self, predicate, timeout_s: float = 10.0) -> bool:
        """Wait until ``predicate(spans_df)`` is true (re-checked at each request), at most ``timeout_s``."""
        with self.received.changed:
            return self.received.changed.wait_for(
                lambda: predicate(pd.DataFrame(list(self.received.spans), columns=SPAN_COLUMNS)),
                timeout=timeout_s)

    def serve_page(self, port: int = 16686):
        """Show what it received in a browser (:mod:`kit.receiver.page`); the ``PageServer``
        (``.url``). Port 0: a free one."""
        from kit.receiver.page import PageServer
        if self.page is None:
            self.page = PageServer(self, self.host, port)
        return self.page

    def stop(self) -> None:
        if self.page is not None:
            self.page.stop()
        if self._grpc is not None:
            self._grpc.stop(grace=None)
        self._http.shutdown()
        self._http.server_close()


def start_receiver(grpc_port: int | None = 4317, http_port: int = 4318, host: str = "127.0.0.1",
                   allowed_hosts=(), gate=None, routes=None) -> Receiver:
    """Start OTLP/gRPC and OTLP/HTTP endpoints in background threads (port 0: a free one;
    ``grpc_port=None``: no gRPC). Its HTTP servers answer only loopback names and ``host``
    (:mod:`kit.receiver.hosts`): ``allowed_hosts`` adds names, e.g. ``["otel.lan"]`` with
    ``host="0.0.0.0"``. ``gate`` and ``routes``: see :mod:`kit.receiver.http_server`."""
    return Receiver(host, grpc_port, http_port, allowed_hosts, gate, routes)
