"""The receiver's web page: its traces in a browser, as Jaeger shows them, with no Docker.

    >>> page = receiver.serve_page(port=16686)    # python -m kit receiver does this
    >>> page.url
    'http://127.0.0.1:16686'

The page (``GET /``) shows, drawn by the notebooks' own views (:mod:`kit.views`):

* the traces received, newest first: start, root span, services, spans, duration, errors
  (:func:`kit.views.trace_list.trace_list`); click one to open it;
* the open trace's waterfall and span details (:func:`kit.views.waterfall`; click a row of
  the waterfall (its name or bar), or a span under it, to open its attributes and events), its service map
  and its logs, each joined to the span it was written in (:func:`kit.views.logs_table`);
* the service map of every trace received (:func:`kit.views.service_map`).

It refreshes itself as telemetry arrives: a few lines of JavaScript ask ``/api/changes``,
which answers as soon as the receiver gets a request (or after 10 s), then fetch the parts
again. The open trace is kept in the address (``#trace=<id>``), so a reload or a link opens it.

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
from urllib.parse import parse_qs, urlsplit

from kit.receiver import limits
from kit.receiver.hosts import Hosts
from kit.rows import encode

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kit receiver · traces</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; }
header { background: #2c3e50; color: white; padding: 8px 16px; font-size: 14px; }
header b { font-size: 16px; margin-right: 12px; }
main { display: flex; gap: 16px; padding: 12px 16px; align-items: flex-start; }
#left { flex: 0 0 540px; } #right { flex: 1; min-width: 0; overflow-x: auto; }
h2 { font-size: 14px; margin: 14px 0 6px; color: #444; }
table.kit-traces td, table.kit-traces th, table.kit-logs td, table.kit-logs th {
  padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
table.kit-traces tr.selected { background: #e8f0fb; }
table.kit-traces a { color: #1a5fb4; text-decoration: none; } table.kit-traces a:hover { text-decoration: underline; }
.kit-empty, .kit-more { color: #777; font-size: 12px; }
table.kit-logs { border-collapse: collapse; font-size: 12px; }
#trace g.span { cursor: pointer; }
</style></head>
<body><header><b>kit receiver</b><span id="summary">__SUMMARY__</span></header>
<main><section id="left"><h2>Traces, newest first</h2><div id="traces">__TRACES__</div>
<h2>Service map (every trace)</h2><div id="map">__MAP__</div></section>
<section id="right"><div id="trace"><p class="kit-empty">Click a trace to open it.</p></div></section></main>
<script>
let seen = -1, openId = null, openHtml = null;
function selected() { const m = location.hash.match(/trace=([0-9a-f]+)/); return m ? m[1] : null; }
async function part(path) { const r = await fetch(path); return r.ok ? r.text() : ""; }
async function refresh() {
  document.getElementById("summary").innerHTML = await part("/part/summary");
  document.getElementById("traces").innerHTML = await part("/part/traces" + (selected() ? "?open=" + selected() : ""));
  document.getElementById("map").innerHTML = await part("/part/map");
  let id = selected();
  if (!id) { const first = document.querySelector("table.kit-traces tr[data-trace-id]");
             if (first && openId === null) { id = first.dataset.traceId; history.replaceState(null, "", "#trace=" + id); } }
  if (id) {
    const html = await part("/part/trace/" + id);
    if (id !== openId || html !== openHtml) {  // new spans or logs in it: drawn again, open details kept
      const box = document.getElementById("trace");
      const key = d => d.querySelector("summary").textContent;  // service · name · kind · duration
      const open = new Set([...box.querySelectorAll("details[open]")].map(key));
      box.innerHTML = html;
      if (id === openId) for (const d of box.querySelectorAll("details")) d.open = open.has(key(d));
      openId = id; openHtml = html;
    }
    for (const r of document.querySelectorAll("table.kit-traces tr")) r.classList.toggle("selected", r.dataset.traceId === id);
  }
}
async function follow() {
  while (true) {
    try {
      const r = await fetch("/api/changes?after=" + seen + "&timeout_s=10");
      const totals = await r.json();
      if (totals.requests !== seen) { seen = totals.requests; await refresh(); }
    } catch (e) { await new Promise(ok => setTimeout(ok, 2000)); }  // the receiver stopped: try again
  }
}
window.addEventListener("hashchange", () => { openId = null; refresh(); });
document.getElementById("trace").addEventListener("click", e => {  // a row of the waterfall: open its details
  const g = e.target.closest("g.span"); if (!g) return;
  const box = document.getElementById("trace");
  const d = box.querySelectorAll("details")[[...box.querySelectorAll("g.span")].indexOf(g)];
  if (d) { d.open = true; d.scrollIntoView({block: "nearest"}); }
});
follow();
</script></body></html>
"""


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
    """What the page shows, from a receiver's DataFrames, each part drawn by kit.views."""

    def __init__(self, receiver):
        self.receiver = receiver

    def summary(self) -> str:
        t = self.receiver.received.totals()
        return (f"{t['spans']} spans · {t['metrics']} metric points · {t['logs']} log records · "
                f"{t['requests']} requests &#160;·&#160; OTLP gRPC {html.escape(self.receiver.grpc_endpoint)}, "
                f"HTTP {html.escape(self.receiver.http_endpoint)}")

    def traces(self, open_id: str | None) -> str:
        from kit.views.trace_list import trace_list
        return trace_list(self.receiver.spans_df()).html(href=lambda t: f"#trace={t}", selected=open_id)

    def service_map(self) -> str:
        from kit.views import service_map
        spans = self.receiver.spans_df()
        return (service_map(spans)._repr_svg_() or "") if not spans.empty else \
            '<p class="kit-empty">No spans yet.</p>'

    def trace(self, trace_id: str) -> str:
        from kit.views import logs_table, service_map, waterfall
        spans = self.receiver.spans_df()
        mine = spans[spans.trace_id == trace_id]
        if mine.empty:
            return f'<p class="kit-empty">No spans of trace {html.escape(trace_id)} (any more).</p>'
        w = waterfall(mine, trace_id=trace_id)
        logs = logs_table(trace_id, logs=self.receiver.logs_df(), spans=spans)
        logs_html = (logs.drop(columns="trace_id").to_html(index=False, classes="kit-logs", border=0)
                     if not logs.empty else '<p class="kit-empty">No log records in this trace.</p>')
        return (f'<h2>Trace {html.escape(trace_id)}</h2><div class="kit-waterfall">{w._repr_svg_()}</div>'
                f"{w.details()._repr_html_()}<h2>Services in this trace</h2>{service_map(mine)._repr_svg_() or ''}"
                f"<h2>Logs of this trace ({len(logs)})</h2>{logs_html}")

    def page(self) -> str:
        return (PAGE.replace("__SUMMARY__", self.summary()).replace("__TRACES__", self.traces(None))
                .replace("__MAP__", self.service_map()))


def _handler(page: _Page, hosts: Hosts):
    receiver = page.receiver

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 30  # a client that stops sending its request is let go

        def _send(self, status: int, body: str, content_type: str) -> None:
            data = body.encode("utf-8")
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
                if path == "/part/summary":
                    return self._send(200, page.summary(), "text/html; charset=utf-8")
                if path == "/part/traces":
                    return self._send(200, page.traces(query.get("open")), "text/html; charset=utf-8")
                if path == "/part/map":
                    return self._send(200, page.service_map(), "text/html; charset=utf-8")
                if path.startswith("/part/trace/"):
                    return self._send(200, page.trace(path.rsplit("/", 1)[1]), "text/html; charset=utf-8")
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
        self._http = _PageHTTPServer((host, port), _handler(_Page(receiver),
                                                            Hosts(host, getattr(receiver, "allowed_hosts", ()))))
        self.host, self.port = host, self._http.server_port
        threading.Thread(target=self._http.serve_forever, name="receiver-page", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
