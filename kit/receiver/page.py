"""The receiver's web page: its traces in a browser, as Jaeger shows them, with no Docker.

    >>> page = receiver.serve_page(port=16686)    # python -m kit receiver does this
    >>> page.url
    'http://127.0.0.1:16686'

``GET /`` is the page (:mod:`kit.receiver.page_assets`: its HTML, style and script); its
parts come from ``/part/…`` (:mod:`kit.receiver.page_parts`), drawn with the notebooks' own
views (:mod:`kit.views`):

* a search, as Jaeger's: service, operation, tags ``key=value``, lookback, min/max duration,
  limit, a trace id; the traces it finds, newest first, with a duration scatter (click a
  dot or a trace to open it), a page at a time;
* the open trace: a header (root, services, depth, spans, duration, errors), its waterfall
  (click a row to open its span: attributes, events, links, then the Process (resource
  attributes), status message, trace state, link attributes, whole values and a
  permalink), subtrees that fold, a time range to zoom into, its service map, its logs;
* two traces compared (the spans one has and the other lacks, durations side by side);
* the service map of every trace kept.

What it shows is kept in the address (``#trace=<id>&span=<id>``, ``#compare=<a>,<b>``,
``#map=1`` and the search's fields): a reload or a link opens the same. It follows new
telemetry: ``/api/changes`` answers as soon as the receiver gets a request, and the parts
are asked again at most once a second; each answers 204 when nothing it shows changed.

Its cost follows what it shows, never how many traces are kept: the parts read an index
kept as spans arrive (:mod:`kit.receiver.trace_index`), which the store only hands each
batch to, under its lock; the indexing is done by the page's own requests. ``/favicon.ico``
is an icon, not a 404.

The same server answers a notebook (:mod:`kit.remote`): ``/api/info`` (the endpoints),
``/api/totals``, ``/api/spans`` (and ``logs``, ``metrics``, ``requests``; ``?since=N`` for a
watermark) and ``/api/changes?after=N&timeout_s=S``, in strict JSON (:func:`kit.rows.encode`).
Its numbers are decimal text held to a finite range (``timeout_s`` to 0 ..
``limits.CHANGES_MAX_WAIT_S``, a watermark to 0 .. 2**63 - 1); anything else (``nan``,
``inf``, ``1e3`` for a count) is a 400. It binds to 127.0.0.1 only, takes only GET, and
answers only requests to its own names (:mod:`kit.receiver.hosts`): not a page of another
site that points its name at 127.0.0.1 to read the traces.
"""

from __future__ import annotations

import html
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from kit.receiver import limits, page_assets, page_parts
from kit.receiver.hosts import Hosts
from kit.receiver.trace_index import TraceIndex
from kit.rows import encode


class BadQuery(ValueError):
    """A query parameter that is not the number the API takes (the page answers 400)."""


_WHOLE = re.compile(r"-?[0-9]{1,30}")
_DECIMAL = re.compile(r"[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,4})?")
_LARGEST = 2**63 - 1


def whole(query: dict, name: str, default):
    """``name`` as a whole number in decimal digits, held to ±(2**63 - 1); BadQuery otherwise."""
    text = query.get(name)
    if text is None:
        return default
    if not _WHOLE.fullmatch(text):
        raise BadQuery(f"{name} must be a whole number, not {text[:40]!r}")
    return min(max(int(text), -_LARGEST), _LARGEST)


def seconds(query: dict, name: str, default: float, longest: float) -> float:
    """``name`` as a decimal number of seconds held to 0..``longest``: always finite (a
    ``nan`` or ``inf`` is no number of seconds to wait, and ``min(nan, 30)`` is nan)."""
    text = query.get(name)
    if text is None:
        return min(default, longest)
    if not _DECIMAL.fullmatch(text):
        raise BadQuery(f"{name} must be a number of seconds (0 to {longest:g}), not {text[:40]!r}")
    return min(max(float(text), 0.0), longest)  # 1e309 is inf as a float: held to longest too


class _Page:
    """What the page shows: its parts (:mod:`kit.receiver.page_parts`), read from an index of
    the receiver's traces (:mod:`kit.receiver.trace_index`) kept as spans arrive."""

    def __init__(self, receiver):
        self.receiver = receiver
        self.index = TraceIndex(receiver.received)

    def page(self) -> str:
        return page_assets.shell(page_parts.summary(self.receiver), page_parts.lookback_options())

    def part(self, path: str, query: dict) -> tuple[int, str, str]:
        """(status, body, content type) of ``/part/…``; 204 when the version asked for is still
        current; a 500 saying why (and one line on stderr) should a part fail after all."""
        try:
            return self._part(path, query)
        except Exception as err:
            print(f"kit: the receiver's page failed on {path[:80]}: {type(err).__name__}: {str(err)[:300]}",
                  file=sys.stderr)
            return 500, f"the page could not make this part: {type(err).__name__}", "text/plain; charset=utf-8"

    def _part(self, path: str, query: dict) -> tuple[int, str, str]:
        index, html_type = self.index, "text/html; charset=utf-8"
        version = query.get("v")
        name, _, rest = path.removeprefix("/part/").partition("/")
        if name == "summary":
            return 200, page_parts.summary(self.receiver), html_type
        if name == "options":
            index.update()
            if version is not None and version == str(index.version):
                return 204, "", "application/json"
            return 200, json.dumps(page_parts.options(index, query.get("service", ""))), "application/json"
        if name in ("results", "traces"):   # /part/traces: the list's name before the search came
            index.update()
            if version is not None and version == str(index.version):
                return 204, "", html_type
            return 200, page_parts.guarded(page_parts.results)(index, query, _number(query.get("w"), 320),
                                                               query.get("open", "")), html_type
        if name == "trace":
            trace_id = unquote(rest)
            index.update()
            if version is not None and version == str(index.version_of(trace_id)):
                return 204, "", html_type
            return 200, page_parts.trace(index, trace_id), html_type
        if name == "span":
            return 200, page_parts.span(index, _number(rest, -1)), html_type
        if name == "value":
            try:
                path_of = json.loads(query.get("path", "[]"))
            except (ValueError, RecursionError):
                path_of = None
            whole = page_parts.value(index, _number(rest, -1), path_of) if isinstance(path_of, list) else None
            if whole is None:
                return 404, "no such value: the span or log record is no longer kept", "text/plain; charset=utf-8"
            return 200, whole, "text/plain; charset=utf-8"
        if name == "compare":
            a, b = query.get("a", "").strip(), query.get("b", "").strip()
            index.update()
            now = f"{index.version_of(a)}.{index.version_of(b)}"
            if version is not None and version == now:
                return 204, "", html_type
            return 200, f'<div data-version="{html.escape(now)}">{page_parts.compare(index, a, b)}</div>', html_type
        if name == "map":
            index.update()
            if version is not None and version == str(index.version):
                return 204, "", html_type
            return 200, f'<div data-version="{index.version}">{page_parts.service_map(index)}</div>', html_type
        return 404, "not a part of the kit's receiver page", "text/plain; charset=utf-8"


def _number(text, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def _handler(page: _Page, hosts: Hosts):
    receiver = page.receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30  # a client that stops sending its request is let go

        def _send(self, status: int, body: str | bytes, content_type: str) -> None:
            data = body if isinstance(body, bytes) else body.encode("utf-8", "replace")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _json(self, value) -> None:
            self._send(200, json.dumps(value, allow_nan=False), "application/json")

        def do_GET(self):
            why = hosts.refuse_request(self.headers)  # a page of another site, by DNS rebinding
            if why is not None:
                self.close_connection = True
                return self._send(403, why, "text/plain; charset=utf-8")
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            path = url.path
            try:
                if path == "/":
                    return self._send(200, page.page(), "text/html; charset=utf-8")
                if path == "/favicon.ico":
                    return self._send(200, page_assets.FAVICON, "image/x-icon")
                if path.startswith("/part/"):
                    return self._send(*page.part(path, query))
                if path == "/api/info":
                    return self._json({"grpc_endpoint": receiver.grpc_endpoint,
                                       "http_endpoint": receiver.http_endpoint})
                if path == "/api/totals":
                    return self._json(receiver.received.totals())
                if path == "/api/changes":
                    return self._json(self._changes(whole(query, "after", -1),
                                                     seconds(query, "timeout_s", 10.0, limits.CHANGES_MAX_WAIT_S)))
                if path.removeprefix("/api/") in ("spans", "logs", "metrics", "requests"):
                    signal = path.removeprefix("/api/")
                    since = max(whole(query, "since", None), 0) if "since" in query else None
                    return self._json(encode(signal, receiver.received.since(signal, since)))
            except BadQuery as err:
                return self._send(400, f"bad query: {err}", "text/plain; charset=utf-8")
            self._send(404, "not a page of the kit's receiver", "text/plain; charset=utf-8")

        @staticmethod
        def _changes(after: int, timeout_s: float) -> dict:
            """The totals, as soon as more than ``after`` requests were received (or at the timeout)."""
            r = receiver.received
            with r.changed:
                r.changed.wait_for(lambda: r._totals["requests"] != after, timeout=timeout_s)
            return r.totals()

        def log_message(self, *args):
            pass

    return Handler


class _PageHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A browser that closed the tab mid-reply: nothing to print. Anything else is a
        bug of the page, said in one line (not a traceback in a later cell)."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            print(f"kit: the receiver's page failed: {type(error).__name__}: {error}", file=sys.stderr)


class PageServer:
    """The page, served in a background thread (see the module)."""

    def __init__(self, receiver, host: str = "127.0.0.1", port: int = 16686):
        self._page = _Page(receiver)
        try:
            self._http = _PageHTTPServer((host, port), _handler(self._page, Hosts(
                host, getattr(receiver, "allowed_hosts", ()))))
        except OSError:
            self._page.index.close()
            raise
        self.host, self.port = host, self._http.server_port
        threading.Thread(target=self._http.serve_forever, args=(limits.SERVE_POLL_S,), name="receiver-page",
                         daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def index(self) -> TraceIndex:
        return self._page.index

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._page.index.close()
