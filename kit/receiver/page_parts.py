"""The parts of the receiver's page, as HTML, each read from the index (:mod:`kit.receiver.trace_index`).

    results(index, query)        the search's traces: a duration scatter and a list (paged)
    trace(index, trace_id)       its header (root, services, depth, spans, duration, errors), the
                                 waterfall (:func:`kit.views.waterfall`: rows to click, each
                                 opening its span), the tree the page folds, its service map
                                 (:func:`kit.views.service_map`) and its logs
    span(index, serial)          what the waterfall's details lack: the Process (the resource's
                                 attributes), the scope's version, the trace state, the links
                                 with their attributes, dropped counts, the values cut for
                                 display, a permalink (the status message is beside the status)
    compare(index, a, b)         two traces' spans matched side by side (:mod:`kit.receiver.trace_compare`)
    service_map(index)           the service map of every trace kept, from the index's flows
    summary(receiver)            the totals and the endpoints, for the page's header

Each part's cost follows what it shows (a page of traces, one trace), never the number of
traces kept. Each is drawn from display copies of the rows (:mod:`kit.receiver.page_values`):
any value as text, long ones cut with the whole a click away. A part that fails anyway is
replaced by one line saying so (:func:`guarded`), and a trace of the list that cannot be
drawn is listed as such: one bad row never takes the page down.
"""

from __future__ import annotations

import html
import json
import re
import sys
from functools import wraps

import pandas as pd

from kit.receiver import page_values, trace_compare
from kit.receiver.trace_index import Query, duration_ms
from kit.rows import RECEIVED_COLUMNS
from kit.views.common import DIM, ERROR_RED, GRID, PALETTE, fmt_ms, service_color, tick_label, ticks
from kit.views.svg import fit
from kit.views.values import clip, text, utc, when

LOOKBACK = {"5m": 300, "15m": 900, "1h": 3600, "2h": 7200, "6h": 21600, "12h": 43200, "24h": 86400,
            "2d": 172800, "7d": 604800, "all": None}
MAX_LIMIT = 1500            # traces one search lists (Jaeger's largest)
NAME = 120                  # characters of a name in the list and the headers (the CSS cuts it to the width)
LOG_BODY = 300              # characters of a log body shown before "more"


def e(value) -> str:
    """Any value as escaped text for HTML."""
    return html.escape(text(value), quote=True)


def guarded(part):
    """The part, or one line saying it could not be drawn (and why) instead of no answer."""
    @wraps(part)
    def safe(*args, **kwargs):
        try:
            return part(*args, **kwargs)
        except Exception as err:   # a bug of the page: said where the part would be, and on stderr
            print(f"kit: the receiver's page could not draw {part.__name__}: {type(err).__name__}: "
                  f"{clip(str(err), 300)}", file=sys.stderr)
            return (f'<p class="kit-error">This part could not be drawn ({e(type(err).__name__)}: '
                    f'{e(clip(str(err), 200))}); the rest of the page goes on.</p>')
    return safe


# -- the header ----------------------------------------------------------------------

@guarded
def summary(receiver) -> str:
    t = receiver.received.totals()
    return (f"{t['spans']:,} spans · {t['logs']:,} log records · {t['metrics']:,} metric points · "
            f"{t['requests']:,} requests · OTLP gRPC <code>{e(receiver.grpc_endpoint)}</code> "
            f"HTTP <code>{e(receiver.http_endpoint)}</code>")


def options(index, service: str) -> dict:
    """The search form's lists: the services, and the operations (span names) of ``service``
    (none until a service is chosen, as in Jaeger), each with its number of spans, the first
    2,000 by name."""
    return {"services": [[s, n] for s, n in index.services()[:2000]],
            "operations": [[o, n] for o, n in index.operations(service)[:2000]] if service else [],
            "version": index.version}


# -- the search -------------------------------------------------------------------------

def parse_query(query: dict) -> tuple[Query, list[str]]:
    """A search from the page's query string, and what in it could not be read."""
    problems = []

    def whole(name, default, low, high):
        value = query.get(name, "")
        if not value.strip():
            return default
        try:
            return min(max(int(value), low), high)
        except ValueError:
            problems.append(f"{name} {value[:40]!r} is not a whole number")
            return default

    def duration(name):
        try:
            return duration_ms(query.get(name, ""))
        except ValueError as err:
            problems.append(f"{name.replace('Duration', ' duration')}: {err}")
            return None

    tags = {}
    for word in _words(query.get("tags", "")):
        key, sep, value = word.partition("=")
        if key:
            tags[key] = value if sep else None
    lookback = query.get("lookback", "all")
    if lookback not in LOOKBACK:
        problems.append(f"lookback {lookback[:20]!r} is not one of {', '.join(LOOKBACK)}")
        lookback = "all"
    q = Query(service=query.get("service", ""), operation=query.get("operation", ""), tags=tags,
              min_ms=duration("minDuration"), max_ms=duration("maxDuration"), lookback_s=LOOKBACK[lookback],
              limit=whole("limit", 20, 1, MAX_LIMIT), offset=whole("offset", 0, 0, 10**9),
              trace_id=query.get("traceID", "").strip().lower())
    return q, problems


def _words(s: str) -> list[str]:
    """``key=value`` words, a value in double quotes may hold spaces (as Jaeger's tags box)."""
    out, word, quoted = [], "", False
    for ch in s[:2000]:
        if ch == '"':
            quoted = not quoted
        elif ch.isspace() and not quoted:
            if word:
                out.append(word)
            word = ""
        else:
            word += ch
    return out + ([word] if word else [])


def results(index, query: dict, width: int = 320, open_id: str = "") -> str:
    """The traces a search finds: how many, a duration scatter, the list, newer / older."""
    q, problems = parse_query(query)
    found = index.search(q)
    head = [f'<div class="results" data-version="{index.version}" data-offset="{q.offset}" data-limit="{q.limit}">']
    for p in problems:
        head.append(f'<p class="kit-error">{e(p)}</p>')
    filtered = any((q.service, q.operation, q.tags, q.min_ms, q.max_ms, q.lookback_s, q.trace_id))
    first, last = q.offset + 1, q.offset + len(found.traces)
    if not found.traces:
        head.append('<p class="kit-empty">' + ("No trace matches this search." if filtered or q.offset else
                                                "No traces yet: run something that sends spans here.") + "</p>")
    else:
        n = len(found.traces)
        if not filtered:
            which = (f"{n:,} newest trace{'s' * (n != 1)}" if not q.offset else f"traces {first:,}–{last:,}") + \
                f" of {found.total:,} kept"
        else:
            which = (f"{n:,} trace{'s' * (n != 1)} found" if not q.offset else f"traces {first:,}–{last:,} found") + \
                (", more older" if found.more else "")
        head.append(f'<div class="results-head"><b>{which}</b> <span class="dim">· newest first</span></div>')
        head.append(scatter(found.traces, width, open_id))
    items = []
    for s in found.traces:
        try:
            items.append(_item(s, open_id))
        except Exception as err:   # one trace that cannot be drawn: said in its place
            items.append(f'<li class="trace-item" data-trace-id="{e(clip(s.trace_id, 64))}"><span class="kit-error">'
                         f'trace {e(clip(s.trace_id, 64))} could not be listed ({e(type(err).__name__)})</span></li>')
    pager = ""
    if q.offset or found.more:
        newer = (f'<button type="button" class="pager" data-offset="{max(q.offset - q.limit, 0)}">← newer</button>'
                 if q.offset else "")
        older = (f'<button type="button" class="pager" data-offset="{q.offset + q.limit}">older →</button>'
                 if found.more else "")
        pager = f'<div class="pagers">{newer}{older}</div>'
    return "".join(head) + f'<ol class="trace-list">{"".join(items)}</ol>{pager}</div>'


def _dots(services: list, most: int = 8) -> str:
    dots = "".join(f'<span class="svc"><i class="dot" style="background:{service_color(s)}"></i>{e(clip(s, 60))}</span>'
                   for s in services[:most])
    return dots + (f'<span class="svc">+{len(services) - most} more</span>' if len(services) > most else "")


def _when(ns: int | None) -> tuple[str, str]:
    """(short, whole) texts of a start time."""
    if ns is None:
        return "time unknown", "the spans have no start time"
    t = when(pd.Timestamp(ns, unit="ns", tz="UTC")) if abs(ns) < 9.2e18 else None
    whole = utc(t)
    return whole[11:23], whole


def _item(s, open_id: str) -> str:
    trace_id = clip(s.trace_id, 64)
    short, whole = _when(s.start_ns)
    cls = "trace-item" + (" selected" if s.trace_id == open_id else "") + (" failed" if s.errors else "")
    errors = f' · <b class="err">✗ {s.errors} error{"s" * (s.errors != 1)}</b>' if s.errors else ""
    return (f'<li class="{cls}" data-trace-id="{e(trace_id)}">'
            f'<label class="pick" title="pick two traces to compare them"><input type="checkbox" '
            f'value="{e(trace_id)}" aria-label="pick trace {e(trace_id[:8])} to compare"></label>'
            f'<a class="open" href="#trace={e(trace_id)}" data-open="{e(trace_id)}" title="{e(clip(s.root, 500))}">'
            f'<span class="line1"><span class="root"><span class="root-svc">{e(clip(s.root_service, 60))}:</span> '
            f'{e(clip(s.root, NAME))}</span><span class="dur">{fmt_ms(s.duration_ms)}</span></span>'
            f'<span class="line2">{s.spans:,} span{"s" * (s.spans != 1)} · depth {s.depth}{errors} · '
            f'<span title="{e(whole)}">{e(short)}</span></span>'
            f'<span class="line3">{_dots(s.services)}</span></a></li>')


CLOCK_SET_NS = 946_684_800 * 10**9   # 2000-01-01: a start before it is a clock never set, or OTLP's 0 ("unknown")


def scatter(traces: list, width: int = 320, open_id: str = "") -> str:
    """Each trace a dot: when it started (x) and how long it took (y); red when it failed. Click one to open it.

    The axes are laid out for the traces whose clocks were set (a start from 2000 on): a trace
    that starts in 1970 (a span sent with no start time, OTLP's 0, or a device whose clock was
    never set) would stretch the time axis over 56 years and its duration (to a real end) the
    other axis, squashing every other dot into one. Such traces are drawn at the left edge,
    behind a dashed line, their dot kept inside the plot, and a note under the axis counts them
    (their tooltips say when they started and how long they took). When no trace has a set
    clock the axes cover them all."""
    dots = [t for t in traces if t.start_ns is not None and t.duration_ms is not None]
    width = min(max(int(width), 220), 2000)
    if not dots:
        return ""
    bulk = [t for t in dots if t.start_ns >= CLOCK_SET_NS]
    edge = [t for t in dots if t.start_ns < CLOCK_SET_NS] if bulk else []
    bulk = bulk or dots
    height, left, right, top, bottom = 150 + 16 * bool(edge), 60, 12, 10, 36 + 16 * bool(edge)
    inner = left + 16 if edge else left          # where the time axis starts: the edge's dots before it
    slowest = max(t.duration_ms for t in bulk)
    scale, unit, values = ticks(slowest if slowest > 0 else 1.0, most=4)
    step = values[1] - values[0] if len(values) > 1 else values[0] or 1.0
    while values[-1] * scale < slowest and len(values) < 8:   # an axis that reaches past the slowest
        values.append(round(values[-1] + step, 10))
    y_max = max(values[-1] * scale, 1e-9)
    t0, t1 = min(t.start_ns for t in bulk), max(t.start_ns for t in bulk)
    if t1 - t0 < 1e9:
        t0, t1 = t0 - 5e8, t1 + 5e8
    plot_w, plot_h = width - inner - right, height - top - bottom

    def x(t):
        return left + 6 if t.start_ns < t0 else inner + (t.start_ns - t0) / (t1 - t0) * plot_w

    def y(ms):
        return max(top + plot_h - min(ms, y_max) / y_max * plot_h, top)

    out = [f'<svg class="scatter" xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="durations of the traces listed" font-family="Helvetica, Arial, sans-serif" '
           f'font-size="12"><rect width="{width}" height="{height}" fill="#ffffff"/>']
    for v in values:
        yy = y(v * scale)
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{width - right}" y2="{yy:.1f}" stroke="{GRID}"/>'
                   f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" fill="{DIM}">'
                   f'{html.escape(tick_label(v, unit))}</text>')
    first, last = _when(int(t0)), _when(int(t1))
    axis = height - 20 - 16 * bool(edge)
    out.append(f'<text x="{inner}" y="{axis}" fill="{DIM}">{e(first[0][:8])}</text>'
               f'<text x="{width - right}" y="{axis}" text-anchor="end" fill="{DIM}">{e(last[0][:8])}</text>'
               f'<text x="{width / 2:.1f}" y="{axis + 16}" text-anchor="middle" fill="{DIM}">'
               f'{e(fit("started (UTC) · click a dot to open its trace", 12, width - 8))}</text>')
    if edge:
        n = len(edge)
        note = f"◂ {n} trace{'s' * (n != 1)}: no start time (1970)"
        out.append(f'<line class="edge" x1="{left + 12}" y1="{top}" x2="{left + 12}" y2="{top + plot_h}" '
                   f'stroke="{DIM}" stroke-dasharray="3 3"/>'
                   f'<text class="edge-note" x="{width / 2:.1f}" y="{height - 4}" text-anchor="middle" fill="{DIM}">'
                   f'{e(fit(note, 12, width - 8))}</text>')
    for t in sorted(dots, key=lambda t: t.trace_id == open_id):
        r = 3.5 + min(t.spans, 60) / 12
        fill = ERROR_RED if t.errors else PALETTE[0]
        ring = ' stroke="#111111" stroke-width="2.5"' if t.trace_id == open_id else ' stroke="#ffffff" stroke-width="1"'
        tip = f"{clip(t.root, 120)} · {fmt_ms(t.duration_ms)} · {t.spans} spans" + (f" · ✗ {t.errors}" if t.errors else "")
        if t.start_ns < t0:
            tip += f" · started {_when(t.start_ns)[1]}: off the time axis"
        cy = min(max(y(t.duration_ms), top + r), top + plot_h - r) if t.start_ns < t0 else y(t.duration_ms)
        out.append(f'<g class="dot{" edge" * (t.start_ns < t0)}" data-trace-id="{e(clip(t.trace_id, 64))}" '
                   f'style="cursor:pointer"><title>{e(tip)}</title>'
                   f'<circle cx="{x(t):.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{fill}"{ring}/></g>')
    return "".join(out) + "</svg>"


# -- one trace ------------------------------------------------------------------------------

def _frame(pairs: list) -> tuple[pd.DataFrame, dict]:
    """A spans DataFrame of display copies, each with its ``_serial`` (what the views draw)."""
    rows = []
    for serial, row in pairs:
        d = page_values.display_row(row)
        d["_serial"] = serial
        rows.append(d)
    return pd.DataFrame(rows, columns=RECEIVED_COLUMNS["spans"] + ["_serial"]), {r["_serial"]: r for r in rows}


def _tree(w) -> list:
    """For each row of the waterfall: [serial, depth, parent's row or -1]: what the page folds."""
    out, stack = [], []
    for i, r in enumerate(w.rows):
        while stack and stack[-1][1] >= r.depth:
            stack.pop()
        parent = stack[-1][0] if stack and r.depth > 0 else -1
        out.append([r.span.raw.get("_serial"), r.depth, parent])
        stack.append((i, r.depth))
    return out


def picture(svg: str | None) -> str:
    """An SVG of the views at most as wide as it was laid out for (its text stays 12 px), narrower when
    its column is."""
    if not svg:
        return ""
    m = re.search(r'viewBox="0 0 ([0-9.]+) ', svg[:400])
    most = f' style="max-width:{float(m.group(1)):.0f}px"' if m else ""
    return f'<div class="picture"{most}>{svg}</div>'


def _json_for_html(value) -> str:
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@guarded
def trace(index, trace_id: str) -> str:
    from kit.views import service_map, waterfall
    s = index.summary(trace_id)
    if s is None:
        return (f'<p class="kit-empty">No spans of trace <code>{e(clip(trace_id, 64))}</code> '
                f'(not received, or no longer kept).</p>')
    frame, _ = _frame(index.span_rows(trace_id))
    w = waterfall(frame, trace_id=text(frame.trace_id.iloc[0]) if len(frame) else trace_id)
    short, whole = _when(s.start_ns)
    errors = (f'<b class="err">✗ {s.errors}</b>' if s.errors else "none")
    facts = [("trace start", e(whole)), ("duration", fmt_ms(s.duration_ms)), ("services", str(len(s.services))),
             ("depth", str(s.depth)), ("total spans", f"{s.spans:,}"), ("errors", errors)]
    tid = clip(s.trace_id, 64)
    head = (f'<div class="trace-head" data-trace-id="{e(tid)}" data-version="{s.version}" '
            f'data-total-ms="{w.total_ms if w.rows else 0:.6f}">'
            f'<h1 title="{e(clip(s.root, 500))}"><span class="root-svc">{e(clip(s.root_service, 60))}:</span> '
            f'{e(clip(s.root, NAME))}</h1>'
            f'<div class="trace-id">trace <code>{e(tid)}</code> · <a class="permalink" href="#trace={e(tid)}">'
            f'permalink</a> · <button type="button" class="compare-with" data-trace-id="{e(tid)}">'
            f'compare with another trace</button></div>'
            f'<dl class="facts">{"".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts)}</dl>'
            f'<div class="trace-services">{_dots(s.services, 12)}</div></div>')
    tools = ('<div class="tools"><span class="fold-tools"><button type="button" class="fold-all">collapse all</button>'
             '<button type="button" class="unfold-all">expand all</button></span>'
             '<span class="zoom-tools"><label>from <input class="zoom-from" type="number" min="0" step="any" '
             'aria-label="zoom from (ms)"> to <input class="zoom-to" type="number" min="0" step="any" '
             'aria-label="zoom to (ms)"> ms</label><button type="button" class="zoom-apply">zoom</button>'
             '<button type="button" class="zoom-reset">whole trace</button></span>'
             '<span class="zoom-note dim">drag across the strip below (or the time axis) to zoom</span>'
             '<span class="dim">click a row to open its span</span></div>'
             '<div class="minimap" title="the whole trace: drag across it to zoom into a time range"></div>')
    drawn = w._repr_html_() or '<p class="kit-empty">No spans to draw.</p>'
    tree = f'<script type="application/json" class="kit-tree">{_json_for_html(_tree(w))}</script>'
    try:
        services = picture(service_map(frame)._repr_svg_())
    except Exception as err:
        services = f'<p class="kit-error">The service map could not be drawn ({e(type(err).__name__)}).</p>'
    return (f'<article class="trace">{head}{tools}<div class="waterfall-box">{drawn}</div>{tree}'
            f'<h2>Services in this trace</h2>{services}{logs(index, trace_id, frame)}</article>')


_SEVERITY_OF_NUMBER = dict(enumerate(("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")))  # OTLP's 1-24 in fours


def logs(index, trace_id: str, frame: pd.DataFrame) -> str:
    """The log records written in the trace, oldest first: time (UTC, ms), severity (its text,
    else its number's name; the number in its tooltip), service, span, event name and body."""
    pairs = index.logs(trace_id)
    names = {}
    for span_id, name in zip(frame.span_id, frame.name):
        names.setdefault(text(span_id), text(name))
    far = pd.Timestamp.max.tz_localize("UTC")
    rows = sorted(((when(r.get("time")), serial, r) for serial, r in pairs),
                  key=lambda x: (x[0] is None, x[0] or far, x[1]))
    if not rows:
        return '<h2>Logs of this trace (0)</h2><p class="kit-empty">No log records in this trace.</p>'
    body = []
    for t, serial, r in rows[:1000]:
        sev, number = text(r.get("severity")), r.get("severity_number")
        number = number if isinstance(number, int) and not isinstance(number, bool) else 0
        sev = sev or _SEVERITY_OF_NUMBER.get((number - 1) // 4, "")  # no text sent: the number's range
        sev_title = f"severity number {number}" if number else "no severity number"
        cls = "sev-err" if sev.upper() in ("ERROR", "FATAL", "CRITICAL") else "sev-warn" if sev.upper().startswith("WARN") else ""
        raw = r.get("body")
        shown = text(raw)
        more = ""
        if len(shown) > LOG_BODY or (isinstance(raw, str) and len(raw) > len(shown)):
            more = (f' <a class="whole" href="/part/value/{serial}?path=%5B%22body%22%5D" target="_blank" '
                    f'rel="noopener">all {len(page_values.whole(raw)) if isinstance(raw, str) else len(shown):,} '
                    f'characters</a>')
        service = text(r.get("service")) or "(no service.name)"
        span = names.get(text(r.get("span_id")), "") if r.get("span_id") is not None else ""
        event = text(r.get("event_name"))
        event = f'<b class="event" title="event.name">{e(clip(event, 80))}</b> ' if event else ""
        body.append(f'<tr><td class="t" title="{e(utc(t))}">{e(utc(t)[11:23] if t is not None else "?")}</td>'
                    f'<td class="{cls}" title="{e(sev_title)}">{e(clip(sev, 20))}</td><td class="service" title="{e(clip(service, 300))}"><i class="dot" '
                    f'style="background:{service_color(service)}"></i>{e(clip(service, 60))}</td>'
                    f'<td title="{e(clip(span, 300))}">{e(clip(span, 80))}</td><td class="body">{event}{e(clip(shown, LOG_BODY))}{more}</td></tr>')
    more_rows = f'<p class="kit-more">… and {len(rows) - 1000:,} more</p>' if len(rows) > 1000 else ""
    return (f'<h2>Logs of this trace ({len(rows):,})</h2><table class="kit-logs tex2jax_ignore mathjax_ignore">'
            f'<colgroup><col class="t"><col class="sev"><col class="service"><col class="span"><col></colgroup>'
            f'<thead><tr><th>time (UTC)</th><th>severity</th><th>service</th><th>span</th><th>body</th></tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>{more_rows}')


# -- one span: what the waterfall's details lack ---------------------------------------------

def _kv(key, value, serial=None, path=None) -> str:
    shown = page_values.shrink(value)
    out = f"<code>{e(clip(text(key), 200))} = {e(clip(_py(shown), 400))}</code>"
    if serial is not None and page_values._long(value) is not None:
        out += _whole_link(serial, path, value)
    return out


def _py(value) -> str:
    try:
        return repr(value)
    except Exception as err:
        return f"<{type(value).__name__}: {type(err).__name__}>"


def _whole_link(serial, path, value) -> str:
    from urllib.parse import quote
    n = page_values._long(value)
    return (f' <a class="whole" href="/part/value/{serial}?path={quote(json.dumps(path))}" target="_blank" '
            f'rel="noopener">whole value ({n:,} characters)</a>')


@guarded
def span(index, serial: int) -> str:
    row = index.row(serial)
    if row is None:
        return '<p class="kit-empty">This span is no longer kept.</p>'
    x = page_values.extras(row)
    trace_id, span_id = clip(text(row.get("trace_id")), 64), clip(text(row.get("span_id")), 64)
    service = row.get("service")
    process = [_kv("service.name", service, serial, ["service"])]
    for k, v in list(x["resource"].items())[:page_values.ATTRIBUTES]:
        if k != "service.name":
            process.append(_kv(k, v, serial, [next(key for key in page_values.RESOURCE_KEYS if key in row), k]))
    if not any(k != "service.name" for k in x["resource"]):
        process.append('<span class="dim">(no other resource attribute sent)</span>' if any(
            key in row for key in page_values.RESOURCE_KEYS) else
            '<span class="dim">(no other resource attribute in this row)</span>')
    scope = text(row.get("scope"), missing="(none)")
    if x["scope_version"]:
        scope += f" {text(x['scope_version'])}"
    sections = [("Process", "<br>".join(process)), ("scope", e(clip(scope, 200)))]
    status = text(row.get("status"))
    message = x["status_message"]
    shown_status = f'<b class="err">ERROR</b>' if status == "ERROR" else e(clip(status, 40))
    if message is not None and not isinstance(message, str):   # (the views show a text message beside the status)
        sections.append(("status", f'{shown_status}: <span class="status-message">{e(clip(text(message), 400))}'
                                   f'</span>'))
    elif message is None and status == "ERROR":
        why = ("no status message sent" if any(k in row for k in page_values.STATUS_MESSAGE_KEYS)
               else "no status message in this row")
        sections.append(("status", f'{shown_status} <span class="dim">({why})</span>'))
    if x["trace_state"] is not None:
        sections.append(("trace state", f"<code>{e(clip(text(x['trace_state']), 400))}</code>"))
    if x["links"]:
        lines = []
        for t, sp, attrs in x["links"][:page_values.LINKS]:
            target = f"#trace={text(t)[:64]}" + (f"&span={text(sp)[:64]}" if sp is not None else "")
            attr = "".join(f"<br>&#160;&#160;&#160;{_kv(k, v)}" for k, v in list(attrs.items())[:page_values.ATTRIBUTES])
            lines.append(f'↗ <a href="{e(target)}">trace <code>{e(clip(text(t), 64))}</code> span '
                         f'<code>{e(clip(text(sp), 64))}</code></a>{attr}')
        sections.append((f"links ({len(x['links'])})", "<br>".join(lines)))
    if x["dropped"]:
        counts = list(x["dropped"].items())[:10]   # "attributes: 1, events: 1, links: 1"
        sections.append(("dropped", e(", ".join(f"{k.removeprefix('dropped_').removesuffix('_count').replace('_', ' ')}: "
                                                 f"{text(v)}" for k, v in counts))))
    if row.get("transport") is not None:
        sections.append(("received", e(f"over {text(row.get('transport'))}")))
    cut = page_values.cuts(row)
    if cut:
        sections.append(("whole values", "<br>".join(
            f"{e(label)}: {_whole_link(serial, path, page_values.value_at(row, path))}" for label, path, _ in cut)))
    link = f"#trace={trace_id}&span={span_id}"
    sections.append(("permalink", f'<a class="permalink" href="{e(link)}">{e(link)}</a>'))
    mark = {True: ' class="extra-links"', False: ""}   # the page script drops the waterfall's own links row for it
    cells = "".join(f'<tr{mark[k.startswith("links (")]}><th>{e(k)}</th><td>{v}</td></tr>' for k, v in sections)
    return f'<table class="span-extra tex2jax_ignore mathjax_ignore" data-serial="{serial}">{cells}</table>'


def value(index, serial: int, path: list) -> str | None:
    """The whole of one value of a row, as text (None when the row or the value is not there)."""
    row = index.row(serial)
    if row is None:
        return None
    try:
        return page_values.whole(page_values.value_at(row, path))
    except KeyError:
        return None


# -- two traces ----------------------------------------------------------------------------------

@guarded
def compare(index, a: str, b: str) -> str:
    from kit.views import waterfall
    sa, sb = (index.summary(a) if a else None), (index.summary(b) if b else None)
    missing = [f"trace <code>{e(clip(t, 64))}</code> is not kept" for t, s in ((a, sa), (b, sb)) if t and s is None]
    if sa is None or sb is None:
        ask = "Pick two traces in the list (☐ beside each), or paste their ids above."
        return "".join(f'<p class="kit-error">{m}</p>' for m in missing) + f'<p class="kit-empty">{ask}</p>'
    rows = trace_compare.compare(index.rows(a), index.rows(b))
    counts = {side: sum(1 for r in rows if r.side == side) for side in ("both", "count differs", "only A", "only B")}

    def head(label, s):
        return (f'<div class="cmp-head cmp-{label.lower()}"><b>{label}</b> <a href="#trace={e(clip(s.trace_id, 64))}">'
                f'{e(clip(s.root_service, 40))}: {e(clip(s.root, NAME))}</a><br><span class="dim">'
                f'{s.spans:,} spans · depth {s.depth} · {fmt_ms(s.duration_ms)} · trace '
                f'<code>{e(clip(s.trace_id, 64))}</code></span></div>')

    body = []
    for r in rows[:2000]:
        cls = {"only A": "only-a", "only B": "only-b", "count differs": "differs"}.get(r.side, "")
        delta = r.delta_ms
        dtext = "" if delta is None else (("+" if delta >= 0 else "−") + fmt_ms(abs(delta)))
        body.append(f'<tr class="{cls}"><td class="path" style="padding-left:{6 + 14 * min(r.depth, 12)}px">'
                    f'<i class="dot" style="background:{service_color(r.path[-1][0])}"></i>{e(clip(r.label, 160))}</td>'
                    f'<td class="side">{r.side}</td><td class="n">{r.a_count or ""}</td>'
                    f'<td class="n">{fmt_ms(r.a_ms) if r.a_ms is not None else ""}</td><td class="n">{r.b_count or ""}</td>'
                    f'<td class="n">{fmt_ms(r.b_ms) if r.b_ms is not None else ""}</td><td class="n">{dtext}</td></tr>')
    table = ('<table class="compare-table"><thead><tr><th>span (service · name), under its parent</th><th>in</th>'
             '<th class="n">A spans</th><th class="n">A mean</th><th class="n">B spans</th><th class="n">B mean</th>'
             f'<th class="n">B − A</th></tr></thead><tbody>{"".join(body)}</tbody></table>')
    legend = (f'<p class="cmp-legend"><span class="chip only-a">only in A: {counts["only A"]}</span> '
              f'<span class="chip only-b">only in B: {counts["only B"]}</span> '
              f'<span class="chip differs">in both, not as many: {counts["count differs"]}</span> '
              f'<span class="chip">in both: {counts["both"]}</span></p>')
    sides = []
    for label, t in (("A", a), ("B", b)):
        frame, _ = _frame(index.span_rows(t))
        sides.append(f'<div class="cmp-side"><h2>{label}</h2>{waterfall(frame, trace_id=t)._repr_html_() or ""}</div>')
    return (f'<article class="compare"><div class="cmp-heads">{head("A", sa)}{head("B", sb)}</div>{legend}'
            f'<div class="picture">{table}</div><div class="cmp-sides">{"".join(sides)}</div></article>')


# -- every trace ------------------------------------------------------------------------------------

def _map_of(services: list, flows: dict):
    """A :class:`kit.views.services.ServiceMap` of the index's flows (what its constructor makes of spans)."""
    from kit.views.services import ServiceMap
    m = ServiceMap.__new__(ServiceMap)
    m.flows, m.services = flows, services
    depth = {s: 0 for s in services}
    for _ in range(min(len(services), 50)):
        for (a, b) in flows:
            depth[b] = min(max(depth[b], depth[a] + 1), 50)
    m.depth = depth
    return m


@guarded
def service_map(index) -> str:
    services, flows = index.flows()
    if not services:
        return '<p class="kit-empty">No spans yet.</p>'
    m = _map_of(services, flows)
    return (f'<article class="all-map" data-version="{index.flows_version}"><h1>Service map of every trace kept</h1>'
            f'<p class="dim">{len(services)} service{"s" * (len(services) != 1)} · {len(flows)} message '
            f'flow{"s" * (len(flows) != 1)} · {index.count():,} traces</p>'
            f'{picture(m._repr_svg_())}</article>')


def lookback_options() -> str:
    return "".join(f'<option value="{k}">{"every trace kept" if k == "all" else "last " + k}</option>' for k in LOOKBACK)


__all__ = ["results", "trace", "span", "value", "compare", "service_map", "summary", "options", "parse_query",
           "scatter", "guarded"]
