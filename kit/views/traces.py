"""The trace waterfall: :func:`waterfall`.

    >>> waterfall()                                  # the latest trace captured in this kernel
    >>> waterfall(spans, trace_id=alert.trace_id)    # one trace of any spans DataFrame
    >>> waterfall(spans, trace_id=[mine, linked])    # several traces in one picture

In a notebook it shows two outputs, one under the other:

* **the picture** (SVG), one row per span, nested under its parent and in start order.
  The header gives the trace id, when it started (UTC) and how long it took. Each row
  shows the service (written, and its colour on the bar), the span's name and kind, its
  bar on the trace's timeline, its duration and, at the end of the row, ``✗ ERROR`` for a
  failed span, ``◆ name`` for each span event and ``↗ link to <trace>/<span>`` for a link
  to a span that is not in the picture. On the bar, a ◆ marks each event at its time
  (its name and attributes in a tooltip). A dashed arrow goes from a linked span to the
  span that links to it when both are in the picture.
* **the span details** (HTML): one closed ``<details>`` per span; click one to read its
  ids, status, attributes, events and links. Plain HTML, no JavaScript.

The plain-text form (``repr``: what a terminal prints and nbval compares) has the same
rows, with ◆ in the timeline bars, the events' names at the end of the rows, then one
line per link. It changes from run to run only in ids, times and durations.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from kit import capture
from kit.views.common import ERROR_RED, fmt_attrs, fmt_ms, fmt_utc, service_color

TEXT_WIDTH = 32                    # characters of the text timeline
ROW_H, TOP, BAR_W = 24, 58, 440    # picture: row height, rows' top, timeline width (px)
CHAR, SMALL = 6.8, 6.0             # estimated width of a character at 12 px and at 10-11 px
LINK_GREY = "#444"


def latest_trace_id() -> str | None:
    """The trace of the span that started last, or None if nothing was captured."""
    df = capture.spans_df()
    return None if df.empty else df.trace_id.iloc[-1]


@dataclass
class Event:
    name: str
    attributes: dict
    at_ms: float | None   # since the picture's start; None when the event's time is unknown
    in_span_ms: float | None


@dataclass
class Row:
    """One span of the picture, with what its row shows."""

    depth: int
    span: dict
    start_ms: float                  # since the picture's start
    events: list[Event] = field(default_factory=list)
    links: list[tuple] = field(default_factory=list)   # (trace_id, span_id, row index or None)

    @property
    def label(self) -> str:
        """The span's name under its parent: ``└─ name``, indented by depth in the text form."""
        return ("   " * (self.depth - 1) + "└─ " if self.depth else "") + self.span["name"]

    @property
    def remote_parent(self) -> bool:
        return self.depth == 0 and isinstance(self.span["parent_span_id"], str)

    @property
    def error(self) -> bool:
        return self.span["status"] == "ERROR"

    def event_names(self, most: int = 3) -> str:
        names = [e.name for e in self.events]
        return ", ".join(names[:most]) + (f" +{len(names) - most} more" if len(names) > most else "")


def _tree(spans: pd.DataFrame) -> list[tuple[int, dict]]:
    """Spans in tree order: (depth, span), children under their parent by start time.
    A span whose parent was not captured (remote or still open) is shown as a root, and so
    is a span caught in a loop of parents (a sender's bug): every span is drawn once."""
    spans = spans.sort_values("start", kind="stable").to_dict("records")
    ids = {s["span_id"] for s in spans}
    children: dict = {}
    roots = []
    for s in spans:
        parent = s["parent_span_id"]
        if isinstance(parent, str) and parent in ids and parent != s["span_id"]:
            children.setdefault(parent, []).append(s)
        else:
            roots.append(s)
    out, seen = [], set()

    def walk(s, depth):
        stack = [(s, depth)]
        while stack:
            span, level = stack.pop()
            if id(span) in seen:
                continue
            seen.add(id(span))
            out.append((level, span))
            stack.extend((c, level + 1) for c in reversed(children.get(span["span_id"], [])))

    for s in roots:
        walk(s, 0)
    for s in spans:  # parents that point at each other: no root leads to them
        if id(s) not in seen:
            walk(s, 0)
    return out


def _items(value) -> list:
    """A span's events or links as a list (empty when missing)."""
    return list(value) if isinstance(value, (list, tuple)) or hasattr(value, "__array__") else []


def _events(span: dict, t0) -> list[Event]:
    out = []
    for event in _items(span["events"]):
        name, attrs = event
        when = getattr(event, "time", None)
        at = None if when is None else (when - t0).total_seconds() * 1000
        out.append(Event(name, dict(attrs or {}), at,
                         None if when is None else (when - span["start"]).total_seconds() * 1000))
    return out


class Waterfall:
    """One or several traces as bars on a timeline (see :mod:`kit.views.traces`)."""

    def __init__(self, spans: pd.DataFrame, trace_id: str | list[str] | None):
        self.trace_ids = [trace_id] if isinstance(trace_id, str) or trace_id is None else list(trace_id)
        self.trace_id = self.trace_ids[0] if len(self.trace_ids) == 1 else None
        tree = _tree(spans)
        self.rows: list[Row] = []
        if not tree:
            return
        self.t0 = min(s["start"] for _, s in tree)
        for depth, s in tree:
            self.rows.append(Row(depth, s, (s["start"] - self.t0).total_seconds() * 1000, _events(s, self.t0)))
        self.total_ms = max(max(r.start_ms + r.span["duration_ms"] for r in self.rows), 1e-6)
        self.services = list(dict.fromkeys(r.span["service"] for r in self.rows))
        self.color = {s: service_color(s) for s in self.services}
        where = {(r.span["trace_id"], r.span["span_id"]): i for i, r in enumerate(self.rows)}
        for r in self.rows:
            for trace, span in _items(r.span["links"]):
                r.links.append((trace, span, where.get((trace, span))))

    # -- the text form -------------------------------------------------------------

    def _ids(self) -> str:
        return f"trace {self.trace_id}" if self.trace_id else f"traces {', '.join(self.trace_ids)}"

    def header(self) -> str:
        if not self.rows:
            return "no spans captured yet: run the cell that makes them, then flush()"
        n = len(self.rows)
        return (f"{self._ids()} · {n} span{'s' * (n != 1)} · services: {', '.join(self.services)} · "
                f"started {fmt_utc(self.t0)} · total {fmt_ms(self.total_ms)}")

    def _text_bar(self, r: Row) -> str:
        a = int(r.start_ms / self.total_ms * TEXT_WIDTH)
        b = min(max(a + 1, round((r.start_ms + r.span["duration_ms"]) / self.total_ms * TEXT_WIDTH)), TEXT_WIDTH)
        bar = list(" " * a + "█" * (b - a) + " " * (TEXT_WIDTH - b))
        for e in r.events:
            at = r.start_ms if e.at_ms is None else e.at_ms
            bar[min(max(int(at / self.total_ms * TEXT_WIDTH), a), b - 1)] = "◆"
        return "".join(bar)

    def _flags(self, r: Row) -> str:
        out = "  ✗ ERROR" if r.error else ""
        out += "  (parent in another process)" if r.remote_parent else ""
        out += f"  ◆ {r.event_names()}" if r.events else ""
        out += f"  ↗ {len(r.links)} link{'s' * (len(r.links) > 1)}" if r.links else ""
        return out

    def link_lines(self) -> list[str]:
        """One line per link: from the span that links, to the span it points to."""
        lines = []
        for r in self.rows:
            for trace, span, i in r.links:
                where = (f"{self.rows[i].span['name']} ({self.rows[i].span['service']}), drawn as a dashed arrow"
                         if i is not None else f"trace {trace} span {span}, not in this picture")
                lines.append(f"  {r.span['name']} ({r.span['service']}) ↗ {where}")
        return lines

    def __repr__(self) -> str:
        if not self.rows:
            return self.header()
        svc_w = max(len("service"), *(len(s) for s in self.services))
        name_w = max(len("span"), *(len(r.label) for r in self.rows))
        lines = [self.header(),
                 f"  {'service':<{svc_w}}  {'span':<{name_w}}  {'kind':<8}  ▕{'timeline':^{TEXT_WIDTH}}▏  duration"]
        for r in self.rows:
            lines.append(f"  {r.span['service']:<{svc_w}}  {r.label:<{name_w}}  {r.span['kind']:<8}  "
                         f"▕{self._text_bar(r)}▏  {fmt_ms(r.span['duration_ms'])}{self._flags(r)}")
        links = self.link_lines()
        return "\n".join(lines + (["links (↗ from the span that links to the span it points to):"] + links
                                  if links else []))

    # -- the picture ---------------------------------------------------------------

    def _columns(self):
        """x of the service, span name, timeline and notes columns, and the picture's width."""
        name_x = 26 + CHAR * max(len(s) for s in self.services) + 14
        name_w = max(14 * r.depth + CHAR * len(r.span["name"]) + (CHAR * 3 if r.depth else 0)
                     + SMALL * (len(r.span["kind"]) + 1) for r in self.rows) + 20
        timeline_x = name_x + max(name_w, 150)
        notes_x = timeline_x + BAR_W + 12
        notes_w = max(self._notes_width(r) for r in self.rows) + 16
        return name_x, timeline_x, notes_x, notes_x + max(notes_w, 120)

    def _x(self, ms: float, timeline_x: float) -> float:
        return timeline_x + ms / self.total_ms * BAR_W

    def _outside_links(self, r: Row) -> list[tuple]:
        return [(t, s) for t, s, i in r.links if i is None]

    def _notes_width(self, r: Row) -> float:
        main = fmt_ms(r.span["duration_ms"]) + ("  ✗ ERROR" if r.error else "") + \
               (f"  ◆ {r.event_names()}" if r.events else "")
        links = "".join(f"  ↗ link to {t}/{s}" for t, s in self._outside_links(r))
        return CHAR * len(main) + SMALL * len(links)

    def _row_tip(self, r: Row) -> str:
        s = r.span
        attrs = fmt_attrs(dict(list(s["attributes"].items())[:12]), "\n") if isinstance(s["attributes"], dict) else ""
        return (f"{s['service']} · {s['name']} ({s['kind']}) · {fmt_ms(s['duration_ms'])}, "
                f"starts at +{fmt_ms(r.start_ms)} · status {s['status']}\nspan {s['span_id']}"
                + (f"\n{attrs}" if attrs else ""))

    def _svg_row(self, i: int, r: Row, cols) -> str:
        e = html.escape
        name_x, timeline_x, notes_x, _ = cols
        y = TOP + i * ROW_H
        mid = y + ROW_H / 2
        bx = self._x(r.start_ms, timeline_x)
        bw = max(r.span["duration_ms"] / self.total_ms * BAR_W, 2)
        service, kind = r.span["service"], r.span["kind"]
        out = [f'<g class="span" data-span-id="{e(r.span["span_id"])}"><title>{e(self._row_tip(r))}</title>',
               f'<circle cx="14" cy="{mid:.1f}" r="4" fill="{self.color[service]}"/>',
               f'<text x="24" y="{y + 16}" fill="#333">{e(service)}</text>',
               f'<text x="{name_x + 14 * r.depth:.1f}" y="{y + 16}">{e(("└─ " if r.depth else "") + r.span["name"])}'
               f'<tspan fill="#888" font-size="10"> {e(kind)}</tspan></text>',
               f'<rect x="{bx:.1f}" y="{y + 5}" width="{bw:.1f}" height="{ROW_H - 10}" rx="3" '
               f'fill="{self.color[service]}"' + (f' stroke="{ERROR_RED}" stroke-width="2"' if r.error else "") + '/>']
        for ev in r.events:
            x = min(max(self._x(r.start_ms if ev.at_ms is None else ev.at_ms, timeline_x), bx), bx + bw)
            when = "time unknown" if ev.in_span_ms is None else f"at +{fmt_ms(ev.in_span_ms)} into the span"
            tip = f"◆ {ev.name} ({when})" + (f"\n{fmt_attrs(ev.attributes, chr(10))}" if ev.attributes else "")
            out.append(f'<g class="event"><title>{e(tip)}</title>'
                       f'<svg x="{x - 5:.1f}" y="{mid - 5:.1f}" width="10" height="10" viewBox="0 0 10 10">'
                       f'<path d="M5,0.5 L9.5,5 L5,9.5 L0.5,5 z" fill="#222" stroke="white" stroke-width="1"/>'
                       f'</svg></g>')
        notes = [f'<tspan>{fmt_ms(r.span["duration_ms"])}</tspan>']
        if r.error:
            notes.append(f'<tspan fill="{ERROR_RED}" font-weight="bold">  ✗ ERROR</tspan>')
        if r.events:
            notes.append(f'<tspan fill="#555">  ◆ {e(r.event_names())}</tspan>')
        for t, s in self._outside_links(r):
            notes.append(f'<tspan fill="{LINK_GREY}" font-size="11">  ↗ link to {t}/{s}</tspan>')
        out.append(f'<text x="{notes_x:.1f}" y="{y + 16}" xml:space="preserve">{"".join(notes)}</text></g>')
        return "".join(out)

    def _svg_links(self, cols) -> list[str]:
        """Dashed arrows from each linked span in the picture to the span that links to it."""
        _, timeline_x, _, _ = cols
        out, k = [], 0
        for i, r in enumerate(self.rows):
            for _, _, j in r.links:
                if j is None or j == i:
                    continue
                target = self.rows[j]
                x_from, x_to = self._x(target.start_ms, timeline_x), self._x(r.start_ms, timeline_x)
                y_from, y_to = TOP + j * ROW_H + ROW_H / 2, TOP + i * ROW_H + ROW_H / 2
                elbow = max(min(x_from, x_to) - 10 - 5 * (k % 4), timeline_x - 24)
                k += 1
                dash = f'stroke="{LINK_GREY}" stroke-width="1.2" stroke-dasharray="4 3"'
                tip = f"link: {r.span['name']} ({r.span['service']}) ↗ {target.span['name']} ({target.span['service']})"
                out.append(f'<g class="link" data-from="{target.span["span_id"]}" data-to="{r.span["span_id"]}">'
                           f'<title>{html.escape(tip)}</title>'
                           f'<line x1="{x_from:.1f}" y1="{y_from:.1f}" x2="{elbow:.1f}" y2="{y_from:.1f}" {dash}/>'
                           f'<line x1="{elbow:.1f}" y1="{y_from:.1f}" x2="{elbow:.1f}" y2="{y_to:.1f}" {dash}/>'
                           f'<line x1="{elbow:.1f}" y1="{y_to:.1f}" x2="{x_to - 7:.1f}" y2="{y_to:.1f}" {dash}/>'
                           f'<svg x="{x_to - 8:.1f}" y="{y_to - 4:.1f}" width="8" height="8" viewBox="0 0 8 8">'
                           f'<path d="M0,0 L8,4 L0,8 z" fill="{LINK_GREY}"/></svg></g>')
        return out

    def _repr_svg_(self) -> str | None:
        if not self.rows:
            return None
        e = html.escape
        cols = name_x, timeline_x, notes_x, width = self._columns()
        height = TOP + ROW_H * len(self.rows) + 8
        n = len(self.rows)
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
               f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
               f'<rect width="{width:.0f}" height="{height}" fill="white"/>',
               f'<text x="8" y="18" font-size="13" font-weight="bold">{e(self._ids())}</text>',
               f'<text x="8" y="35" fill="#333">{n} span{"s" * (n != 1)} · {len(self.services)} '
               f'service{"s" * (len(self.services) != 1)} · started {fmt_utc(self.t0)} · '
               f'total {fmt_ms(self.total_ms)}</text>']
        for i in range(1, n, 2):  # a stripe on every other row, to follow a row across
            out.append(f'<rect x="0" y="{TOP + i * ROW_H}" width="{width:.0f}" height="{ROW_H}" fill="#f5f6f8"/>')
        for caption, x in (("service", 8), ("span", name_x), ("duration · notes", notes_x)):
            out.append(f'<text x="{x:.1f}" y="{TOP - 6}" fill="#888" font-size="10">{caption}</text>')
        for q in range(5):
            gx = timeline_x + BAR_W * q / 4
            anchor = "start" if q == 0 else "end" if q == 4 else "middle"
            out.append(f'<line x1="{gx:.1f}" y1="{TOP - 2}" x2="{gx:.1f}" y2="{height - 6}" stroke="#ddd"/>'
                       f'<text x="{gx:.1f}" y="{TOP - 6}" text-anchor="{anchor}" fill="#888" font-size="10">'
                       f'{fmt_ms(self.total_ms * q / 4)}</text>')
        out += [self._svg_row(i, r, cols) for i, r in enumerate(self.rows)]
        out += self._svg_links(cols)
        out.append("</svg>")
        return "".join(out)

    # -- in a notebook: the picture, then the span details ---------------------------

    def details(self):
        """Every span's ids, attributes, events and links: a :class:`SpanDetails`."""
        from kit.views.span_details import SpanDetails
        return SpanDetails(self)

    def _ipython_display_(self):
        from IPython.display import display
        svg = self._repr_svg_()
        display({"text/plain": repr(self), **({"image/svg+xml": svg} if svg else {})}, raw=True)
        if self.rows:
            display(self.details())


def waterfall(spans: pd.DataFrame | None = None, trace_id: str | list[str] | None = None) -> Waterfall:
    """Draw one trace. With no arguments: the latest trace captured in this kernel.

    ``spans`` may be any DataFrame shaped like :func:`kit.capture.spans_df`
    (for instance spans received from other processes); ``trace_id`` picks one
    trace out of it, or several (a list) to draw together, e.g. a consumer's trace and
    the producer's trace its span links to."""
    if spans is None:
        spans = capture.spans_df()
    if trace_id is None and not spans.empty:
        trace_id = spans.sort_values("start").trace_id.iloc[-1]
    ids = [trace_id] if isinstance(trace_id, str) or trace_id is None else list(trace_id)
    return Waterfall(spans[spans.trace_id.isin(ids)], trace_id)
