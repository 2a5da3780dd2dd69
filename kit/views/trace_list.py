"""The traces in a spans DataFrame, newest first: :func:`trace_list`, as Jaeger's search lists them.

    >>> trace_list(receiver.spans_df())        # one row per trace
    >>> trace_list(spans).rows[0].trace_id     # the newest

Each row: when the trace started (UTC), its root span's name (the first span whose parent is
not in the trace, ``(no root yet)`` while it is still arriving), the services it crosses in
the order they joined, its number of spans, its duration (first start to last end) and its
failed spans (``✗ 2``). In a notebook it is an HTML table; its text form lists the same.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from kit import capture
from kit.views.common import ERROR_RED, PALETTE, fmt_ms, fmt_utc

MAX_ROWS = 200  # the newest traces shown; the text form says how many more there are


@dataclass
class TraceRow:
    trace_id: str
    started: object           # datetime of the first span's start
    root: str
    services: list
    spans: int
    duration_ms: float
    errors: int


def _rows(spans: pd.DataFrame) -> list[TraceRow]:
    out = []
    for trace_id, df in spans.groupby("trace_id", sort=False):
        df = df.sort_values("start", kind="stable")
        ids = set(df.span_id)
        roots = df[~df.parent_span_id.map(lambda p: isinstance(p, str) and p in ids)]
        root = roots.iloc[0] if len(roots) else df.iloc[0]
        starts = df.start
        ends = starts + pd.to_timedelta(df.duration_ms, unit="ms")
        out.append(TraceRow(trace_id, starts.min(),
                            root["name"] if root["parent_span_id"] is None else f"{root['name']} (parent not here)",
                            list(dict.fromkeys(df.service)), len(df),
                            (ends.max() - starts.min()).total_seconds() * 1000, int((df.status == "ERROR").sum())))
    return sorted(out, key=lambda r: r.started, reverse=True)


class TraceList:
    """Traces, newest first (see :mod:`kit.views.trace_list`)."""

    def __init__(self, spans: pd.DataFrame):
        self.all = _rows(spans) if not spans.empty else []
        self.rows = self.all[:MAX_ROWS]
        services = list(dict.fromkeys(spans.service)) if not spans.empty else []
        self.color = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(services)}

    def __repr__(self) -> str:
        if not self.rows:
            return "no traces yet"
        lines = [f"{len(self.all)} trace{'s' * (len(self.all) != 1)}, newest first"]
        for r in self.rows:
            errors = f"  ✗ {r.errors}" if r.errors else ""
            lines.append(f"  {fmt_utc(r.started)}  {r.root}  [{' → '.join(r.services)}]  "
                         f"{r.spans} span{'s' * (r.spans != 1)}  {fmt_ms(r.duration_ms)}{errors}  {r.trace_id}")
        if len(self.all) > len(self.rows):
            lines.append(f"  … and {len(self.all) - len(self.rows)} older")
        return "\n".join(lines)

    def html(self, href=None, selected: str | None = None) -> str:
        """The table; ``href(trace_id)`` makes each row a link (the receiver's page)."""
        e = html.escape
        if not self.rows:
            return '<p class="kit-empty">No traces yet: run something that sends spans here.</p>'
        head = "".join(f"<th>{h}</th>" for h in ("started (UTC)", "root span", "services", "spans", "duration",
                                                 "errors"))
        body = []
        for r in self.rows:
            name = e(r.root)
            if href is not None:
                name = f'<a href="{e(href(r.trace_id))}">{name}</a>'
            dots = " ".join(f'<span style="color:{self.color.get(s, "#888")}">●</span>{e(s)}' for s in r.services)
            errors = f'<b style="color:{ERROR_RED}">✗ {r.errors}</b>' if r.errors else ""
            cls = ' class="selected"' if r.trace_id == selected else ""
            body.append(f'<tr data-trace-id="{e(r.trace_id)}" data-spans="{r.spans}"{cls}>'
                        f"<td>{e(fmt_utc(r.started)[11:23])}</td><td>{name}</td><td>{dots}</td>"
                        f'<td style="text-align:right">{r.spans}</td><td style="text-align:right">'
                        f"{fmt_ms(r.duration_ms)}</td><td>{errors}</td></tr>")
        more = (f'<p class="kit-more">… and {len(self.all) - len(self.rows)} older traces</p>'
                if len(self.all) > len(self.rows) else "")
        return (f'<table class="kit-traces" style="border-collapse:collapse;font-size:12px">'
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}")

    def _repr_html_(self) -> str:
        return self.html()


def trace_list(spans: pd.DataFrame | None = None) -> TraceList:
    """The traces of ``spans`` (all captured spans by default), newest first."""
    return TraceList(capture.spans_df() if spans is None else spans)
