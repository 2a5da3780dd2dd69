"""The trace waterfall: :func:`waterfall`.

    >>> waterfall()                                  # the latest trace captured in this kernel
    >>> waterfall(spans, trace_id=alert.trace_id)    # one trace of any spans DataFrame
    >>> waterfall(spans, trace_id=[mine, linked])    # several traces in one picture

In a notebook it is one output, one row per span, nested under its parent and in start
order. The header gives the trace id, when it started (UTC) and how long it took. Each row
shows the service (its colour on the bar), the span's name and kind, its bar on the
trace's timeline (ticks at round values), its duration and, at the end of the row,
``✗ ERROR`` for a failed span, ``◆ name`` for each span event (a ◆ on the bar at its
time) and ``↗`` for a link (a dashed arrow from the linked span when both are drawn).
**Click a row** (its name or its bar) to open that span's ids, status, attributes, events
and links under it: plain HTML ``<details>`` (:mod:`kit.views.waterfall_html`), no
JavaScript, no kernel needed.

The same output carries a PNG of the picture (:mod:`kit.views.waterfall_svg`, drawn by
:mod:`kit.views.png`), which JupyterLab shows where the HTML cannot be, and the plain-text
form (``repr``: what a terminal prints and nbval compares), with ◆ in the timeline bars,
the events' names at the end of the rows, then one line per link. It changes from run to
run only in ids, times and durations.

Any value is drawn as text (:mod:`kit.views.values`): a span with no start time is listed
with ``start time unknown`` and no bar; a name a megabyte long is cut, whole in the details.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kit import capture
from kit.views.common import fmt_ms, service_color
from kit.views.values import Span, clip, span_records, text, utc, when

TEXT_WIDTH = 32        # characters of the text timeline
TEXT_NAME = 60         # characters of a name in the text form
MAX_ROWS = 400         # spans drawn; the rest are counted
PNG_ROWS = 60          # rows in the PNG (a picture, not a listing: the HTML has them all)


def latest_trace_id() -> str | None:
    """The trace of the span that started last, or None if nothing was captured."""
    df = capture.spans_df()
    return None if df.empty else df.trace_id.iloc[-1]


@dataclass
class EventAt:
    """A span event with where it falls: ms since the picture's start and since its span's."""

    name: str
    attributes: dict
    at_ms: float | None       # None when the event's time is unknown
    in_span_ms: float | None


@dataclass
class Row:
    """One span of the picture, with what its row shows."""

    depth: int
    span: Span
    start_ms: float | None           # since the picture's start; None when the span has no start time
    events: list[EventAt] = field(default_factory=list)
    links: list[tuple] = field(default_factory=list)   # (trace_id, span_id, row index or None)

    @property
    def label(self) -> str:
        """The span's name under its parent: ``└─ name``, indented by depth in the text form."""
        return ("   " * (min(self.depth, 12) - 1) + "└─ " if self.depth else "") + clip(self.span.name, TEXT_NAME)

    @property
    def remote_parent(self) -> bool:
        return self.depth == 0 and self.span.parent_span_id is not None

    @property
    def error(self) -> bool:
        return self.span.status == "ERROR"

    @property
    def duration_ms(self) -> float | None:
        return self.span.duration_ms

    def event_names(self, most: int = 3) -> str:
        names = [clip(e.name, 40) for e in self.events]
        return ", ".join(names[:most]) + (f" +{len(names) - most} more" if len(names) > most else "")


def _tree(spans: list[Span]) -> list[tuple[int, Span]]:
    """Spans in tree order: (depth, span), children under their parent by start time.
    A span whose parent was not captured (remote or still open) is shown as a root, and so
    is a span caught in a loop of parents (a sender's bug): every span is drawn once."""
    ids = {s.span_id for s in spans}
    children: dict = {}
    roots = []
    for s in spans:
        parent = s.parent_span_id
        if parent is not None and parent in ids and parent != s.span_id:
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
            stack.extend((c, level + 1) for c in reversed(children.get(span.span_id, [])))

    for s in roots:
        walk(s, 0)
    for s in spans:  # parents that point at each other: no root leads to them
        if id(s) not in seen:
            walk(s, 0)
    return out


def _ms(t, t0) -> float | None:
    return None if t is None or t0 is None else (t - t0).total_seconds() * 1000


def _events(span: Span, t0) -> list[EventAt]:
    return [EventAt(e.name, e.attributes, _ms(e.time, t0), _ms(e.time, span.start)) for e in span.events]


class Waterfall:
    """One or several traces as bars on a timeline (see :mod:`kit.views.traces`)."""

    def __init__(self, spans: pd.DataFrame, trace_id: str | list[str] | None):
        self.trace_ids = [trace_id] if isinstance(trace_id, str) or trace_id is None else list(trace_id)
        self.trace_id = self.trace_ids[0] if len(self.trace_ids) == 1 else None
        tree = _tree(span_records(spans))
        self.hidden = max(len(tree) - MAX_ROWS, 0)
        tree = tree[:MAX_ROWS]
        self.rows: list[Row] = []
        if not tree:
            return
        starts = [s.start for _, s in tree if s.start is not None]
        self.t0 = min(starts) if starts else None
        for depth, s in tree:
            self.rows.append(Row(depth, s, _ms(s.start, self.t0), _events(s, self.t0)))
        ends = [r.start_ms + (r.duration_ms or 0) for r in self.rows if r.start_ms is not None]
        self.total_ms = max(max(ends, default=0), 1e-6)
        self.services = list(dict.fromkeys(r.span.service for r in self.rows))
        self.color = {s: service_color(s) for s in self.services}
        where = {(r.span.trace_id, r.span.span_id): i for i, r in enumerate(self.rows)}
        for r in self.rows:
            for trace, span in r.span.links:
                r.links.append((trace, span, where.get((trace, span))))

    # -- the text form -------------------------------------------------------------

    def _ids(self) -> str:
        ids = [clip(text(t), 40) for t in self.trace_ids[:6]]
        more = f" +{len(self.trace_ids) - 6} more" if len(self.trace_ids) > 6 else ""
        return f"trace {ids[0]}" if self.trace_id else f"traces {', '.join(ids)}{more}"

    def summary(self) -> str:
        """``N spans · services: … · started … · total …`` (the header without the ids)."""
        n = len(self.rows) + self.hidden
        services = ", ".join(clip(s, 40) for s in self.services[:8]) + (
            f" +{len(self.services) - 8} more" if len(self.services) > 8 else "")
        return (f"{n} span{'s' * (n != 1)} · services: {services} · "
                f"started {utc(self.t0)} · total {fmt_ms(self.total_ms)}")

    def header(self) -> str:
        if not self.rows:
            return "no spans captured yet: run the cell that makes them, then flush()"
        return f"{self._ids()} · {self.summary()}"

    def _text_bar(self, r: Row) -> str:
        if r.start_ms is None:
            return " " * TEXT_WIDTH
        a = min(int(r.start_ms / self.total_ms * TEXT_WIDTH), TEXT_WIDTH - 1)
        end = r.start_ms + (r.duration_ms or 0)
        b = min(max(a + 1, round(end / self.total_ms * TEXT_WIDTH)), TEXT_WIDTH)
        bar = list(" " * a + "█" * (b - a) + " " * (TEXT_WIDTH - b))
        for e in r.events:
            at = r.start_ms if e.at_ms is None else e.at_ms
            bar[min(max(int(at / self.total_ms * TEXT_WIDTH), a), b - 1)] = "◆"
        return "".join(bar)

    def _flags(self, r: Row) -> str:
        out = "  ✗ ERROR" if r.error else ""
        out += "  (start time unknown)" if r.start_ms is None else ""
        out += "  (parent in another process)" if r.remote_parent else ""
        out += f"  ◆ {r.event_names()}" if r.events else ""
        out += f"  ↗ {len(r.links)} link{'s' * (len(r.links) > 1)}" if r.links else ""
        return out

    def link_lines(self) -> list[str]:
        """One line per link: from the span that links, to the span it points to."""
        lines = []
        for r in self.rows:
            for trace, span, i in r.links:
                where = (f"{clip(self.rows[i].span.name, TEXT_NAME)} ({clip(self.rows[i].span.service, 40)}), "
                         f"drawn as a dashed arrow" if i is not None
                         else f"trace {clip(trace, 40)} span {clip(span, 40)}, not in this picture")
                lines.append(f"  {clip(r.span.name, TEXT_NAME)} ({clip(r.span.service, 40)}) ↗ {where}")
        return lines

    def __repr__(self) -> str:
        if not self.rows:
            return self.header()
        services = [clip(r.span.service, 30) for r in self.rows]
        svc_w = max(len("service"), *(len(s) for s in services))
        name_w = max(len("span"), *(len(r.label) for r in self.rows))
        kind_w = max(8, *(len(clip(r.span.kind, 12)) for r in self.rows))
        lines = [self.header(),
                 f"  {'service':<{svc_w}}  {'span':<{name_w}}  {'kind':<{kind_w}}  ▕{'timeline':^{TEXT_WIDTH}}▏  duration"]
        for service, r in zip(services, self.rows):
            lines.append(f"  {service:<{svc_w}}  {r.label:<{name_w}}  {clip(r.span.kind, 12):<{kind_w}}  "
                         f"▕{self._text_bar(r)}▏  {fmt_ms(r.duration_ms)}{self._flags(r)}")
        if self.hidden:
            lines.append(f"  … and {self.hidden} more spans (the first {MAX_ROWS} are drawn)")
        links = self.link_lines()
        return "\n".join(lines + (["links (↗ from the span that links to the span it points to):"] + links
                                  if links else []))

    # -- the picture, the HTML, the details ------------------------------------------

    def _repr_svg_(self) -> str | None:
        """The picture as SVG (the receiver's page draws it; the PNG is drawn from it)."""
        from kit.views.waterfall_svg import draw
        return draw(self) if self.rows else None

    def svg(self, width: float | None = None) -> str | None:
        """The picture as SVG, laid out for ``width`` px (default :data:`kit.views.svg.CANVAS`)."""
        from kit.views.waterfall_svg import draw
        return (draw(self, width) if width else draw(self)) if self.rows else None

    def _repr_html_(self) -> str | None:
        """The rows, each a ``<details>``: click one to open its span (see :mod:`kit.views.waterfall_html`)."""
        from kit.views.waterfall_html import draw
        return draw(self) if self.rows else None

    def _repr_png_(self) -> bytes | None:
        """The picture as a PNG (its first :data:`PNG_ROWS` rows), twice its size on screen."""
        from kit.views import png
        from kit.views.waterfall_svg import draw
        return png.to_png(draw(self, rows=PNG_ROWS)) if self.rows else None

    def details(self):
        """Every span's ids, attributes, events and links: a :class:`SpanDetails`."""
        from kit.views.span_details import SpanDetails
        return SpanDetails(self)

    def _ipython_display_(self):
        """One output: the rows to click (HTML), the picture (PNG) and the text form."""
        from IPython.display import display
        if not self.rows:
            display({"text/plain": repr(self)}, raw=True)
            return
        from kit.views.svg import CANVAS
        display({"text/plain": repr(self), "text/html": self._repr_html_(), "image/png": self._repr_png_()},
                metadata={"image/png": {"width": CANVAS}}, raw=True)

def waterfall(spans: pd.DataFrame | None = None, trace_id: str | list[str] | None = None) -> Waterfall:
    """Draw one trace. With no arguments: the latest trace captured in this kernel.

    ``spans`` may be any DataFrame shaped like :func:`kit.capture.spans_df`
    (for instance spans received from other processes); ``trace_id`` picks one
    trace out of it, or several (a list) to draw together, e.g. a consumer's trace and
    the producer's trace its span links to."""
    if spans is None:
        spans = capture.spans_df()
    if spans.empty:
        return Waterfall(spans, trace_id)
    ids = spans.trace_id.map(text)
    if trace_id is None:
        starts = [(t, i) for i, t in enumerate(spans.start.map(when)) if t is not None]
        trace_id = ids.iloc[max(starts)[1] if starts else -1]
    wanted = [trace_id] if isinstance(trace_id, str) or trace_id is None else list(trace_id)
    return Waterfall(spans[ids.isin([text(t) for t in wanted])], trace_id)
