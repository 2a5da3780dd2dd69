"""The traces in a spans DataFrame, newest first: :func:`trace_list`, as Jaeger's search lists them.

    >>> trace_list(receiver.spans_df())        # one row per trace
    >>> trace_list(spans).rows[0].trace_id     # the newest

Each row: when the trace started (UTC), its root span's name (the first span whose parent is
not in the trace, ``(no root yet)`` while it is still arriving), the services it crosses in
the order they joined, its number of spans, its duration (first start to last end) and its
failed spans (``✗ 2``). In a notebook it is an HTML table (MathJax kept off it: a ``$…$``
in a span name stays text); its text form lists the same. Any value is shown as text
(:mod:`kit.views.values`); a trace whose spans have no start time is listed last, its time
``time unknown``; a name a megabyte long is cut (the whole of it in the cell's tooltip,
up to 500 characters, and in the DataFrame).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from kit import capture
from kit.views.common import DIM, ERROR_RED, PALETTE, fmt_ms
from kit.views.values import clip, span_records, utc

MAX_ROWS = 200  # the newest traces shown; the text form says how many more there are
SHOWN = 80      # characters of a name or a service in a cell


@dataclass
class TraceRow:
    trace_id: str
    started: object           # the first span's start (a UTC Timestamp), None when no span has one
    root: str
    services: list
    spans: int
    duration_ms: float | None
    errors: int


def _rows(spans: pd.DataFrame) -> list[TraceRow]:
    by_trace: dict = {}
    for s in span_records(spans):   # in start order
        by_trace.setdefault(s.trace_id, []).append(s)
    out = []
    for trace_id, group in by_trace.items():
        ids = {s.span_id for s in group}
        roots = [s for s in group if s.parent_span_id is None or s.parent_span_id not in ids]
        root = roots[0] if roots else group[0]
        name = root.name if root.parent_span_id is None else f"{root.name} (parent not here)"
        starts = [s.start for s in group if s.start is not None]
        first = min(starts) if starts else None
        duration = max((s.start - first).total_seconds() * 1000 + (s.duration_ms or 0)
                       for s in group if s.start is not None) if starts else None
        out.append(TraceRow(trace_id, first, name,
                            list(dict.fromkeys(s.service for s in group)), len(group), duration,
                            sum(s.status == "ERROR" for s in group)))
    far = pd.Timestamp.min.tz_localize("UTC")
    return sorted(out, key=lambda r: r.started if r.started is not None else far, reverse=True)


class TraceList:
    """Traces, newest first (see :mod:`kit.views.trace_list`)."""

    def __init__(self, spans: pd.DataFrame):
        self.all = _rows(spans) if spans is not None and len(spans) else []
        self.rows = self.all[:MAX_ROWS]
        services = list(dict.fromkeys(s for r in self.all for s in r.services))
        self.color = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(services)}

    def __repr__(self) -> str:
        if not self.rows:
            return "no traces yet"
        lines = [f"{len(self.all)} trace{'s' * (len(self.all) != 1)}, newest first"]
        for r in self.rows:
            errors = f"  ✗ {r.errors}" if r.errors else ""
            lines.append(f"  {utc(r.started)}  {clip(r.root, SHOWN)}  [{' → '.join(clip(s, 40) for s in r.services)}]  "
                         f"{r.spans} span{'s' * (r.spans != 1)}  {fmt_ms(r.duration_ms)}{errors}  {clip(r.trace_id, 64)}")
        if len(self.all) > len(self.rows):
            lines.append(f"  … and {len(self.all) - len(self.rows)} older")
        return "\n".join(lines)

    def html(self, href=None, selected: str | None = None) -> str:
        """The table; ``href(trace_id)`` makes each row a link (the receiver's page)."""
        e = html.escape
        if not self.rows:
            return '<p class="kit-empty">No traces yet: run something that sends spans here.</p>'
        head = "".join(f'<th style="color:{DIM};font-weight:normal;white-space:nowrap">{h}</th>' for h in
                       ("started (UTC)", "root span", "services", "spans", "duration", "errors"))
        body = []
        for r in self.rows:
            name = f'<span title="{e(r.root[:500])}">{e(clip(r.root, SHOWN))}</span>'
            if href is not None:
                name = f'<a href="{e(href(r.trace_id))}">{name}</a>'
            dots = " ".join(f'<span style="white-space:nowrap"><span style="display:inline-block;width:8px;height:8px;'
                            f'border-radius:4px;margin-right:3px;background:{self.color.get(s, PALETTE[-1])}"></span>'
                            f'{e(clip(s, 40))}</span>' for s in r.services[:12])
            dots += f" +{len(r.services) - 12}" if len(r.services) > 12 else ""
            errors = f'<b style="color:{ERROR_RED}">✗ {r.errors}</b>' if r.errors else ""
            cls = ' class="selected"' if r.trace_id == selected else ""
            started = utc(r.started)[11:23] if r.started is not None else "time unknown"
            body.append(f'<tr data-trace-id="{e(r.trace_id[:64])}" data-spans="{r.spans}"{cls}>'
                        f'<td style="white-space:nowrap">{e(started)}</td><td style="overflow-wrap:anywhere;'
                        f'min-width:8em">{name}</td><td style="min-width:8em">{dots}</td>'
                        f'<td style="text-align:right">{r.spans}</td><td style="text-align:right;white-space:nowrap">'
                        f'{fmt_ms(r.duration_ms)}</td><td style="white-space:nowrap">{errors}</td></tr>')
        more = (f'<p class="kit-more">… and {len(self.all) - len(self.rows)} older traces</p>'
                if len(self.all) > len(self.rows) else "")
        return (f'<table class="kit-traces tex2jax_ignore mathjax_ignore" style="border-collapse:collapse;'
                f'font-size:12px;color:#222222">'
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}")

    def _repr_html_(self) -> str:
        return self.html()


def trace_list(spans: pd.DataFrame | None = None) -> TraceList:
    """The traces of ``spans`` (all captured spans by default), newest first."""
    return TraceList(capture.spans_df() if spans is None else spans)
