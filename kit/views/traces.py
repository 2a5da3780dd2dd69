"""The trace waterfall: :func:`waterfall`."""

from __future__ import annotations

import html

import pandas as pd

from kit import capture
from kit.views.common import ERROR_RED, PALETTE, fmt_ms as _fmt_ms


def latest_trace_id() -> str | None:
    """The trace of the span that started last, or None if nothing was captured."""
    df = capture.spans_df()
    return None if df.empty else df.trace_id.iloc[-1]


def _trace_rows(spans: pd.DataFrame) -> list[tuple[int, dict]]:
    """Spans in tree order: (depth, row), children under their parent by start time.
    A span whose parent was not captured (remote or still open) is shown as a root."""
    rows = spans.sort_values("start", kind="stable").to_dict("records")
    ids = {r["span_id"] for r in rows}
    children: dict = {}
    roots = []
    for r in rows:
        parent = r["parent_span_id"]
        if isinstance(parent, str) and parent in ids:
            children.setdefault(parent, []).append(r)
        else:
            roots.append(r)
    out = []

    def walk(r, depth):
        out.append((depth, r))
        for c in children.get(r["span_id"], []):
            walk(c, depth + 1)

    for r in roots:
        walk(r, 0)
    return out


class Waterfall:
    """A trace drawn as bars on a timeline: one row per span, nested by parent,
    coloured by service; kind written beside the name; errors in red."""

    def __init__(self, spans: pd.DataFrame, trace_id: str):
        self.trace_id = trace_id
        self.rows = _trace_rows(spans)
        self.services = list(dict.fromkeys(r["service"] for _, r in self.rows))
        if self.rows:
            self.t0 = min(r["start"] for _, r in self.rows)
            self.total_ms = max(max(self._offset_ms(r) + r["duration_ms"] for _, r in self.rows), 1e-6)

    def _offset_ms(self, r) -> float:
        return (r["start"] - self.t0).total_seconds() * 1000

    def _label(self, depth, r) -> str:
        return ("   " * (depth - 1) + "└─ " if depth else "") + r["name"]

    def _remote(self, depth, r) -> bool:
        return depth == 0 and isinstance(r["parent_span_id"], str)

    def header(self) -> str:
        if not self.rows:
            return "no spans captured yet: run the cell that makes them, then flush()"
        n = len(self.rows)
        return (f"trace {self.trace_id} · {n} span{'s' * (n != 1)} · "
                f"services: {', '.join(self.services)} · {_fmt_ms(self.total_ms)}")

    def __repr__(self) -> str:
        lines = [self.header()]
        if not self.rows:
            return lines[0]
        width = 32
        svc_w = max(len("service"), *(len(s) for s in self.services))
        name_w = max(len("span"), *(len(self._label(d, r)) for d, r in self.rows))
        lines.append(f"  {'service':<{svc_w}}  {'span':<{name_w}}  {'kind':<8}  ▕{'timeline':^{width}}▏  duration")
        for depth, r in self.rows:
            a = int(self._offset_ms(r) / self.total_ms * width)
            b = max(a + 1, round((self._offset_ms(r) + r["duration_ms"]) / self.total_ms * width))
            bar = " " * a + "█" * (min(b, width) - a)
            flags = ("  ✗ ERROR" if r["status"] == "ERROR" else "") + \
                    ("  (parent in another process)" if self._remote(depth, r) else "")
            lines.append(f"  {r['service']:<{svc_w}}  {self._label(depth, r):<{name_w}}  {r['kind']:<8}  "
                         f"▕{bar:<{width}}▏  {_fmt_ms(r['duration_ms'])}{flags}")
        return "\n".join(lines)

    def _repr_svg_(self) -> str:
        if not self.rows:
            return None
        row_h, top, label_w, bar_w, right_w = 24, 52, 380, 440, 150
        width = label_w + bar_w + right_w
        height = top + row_h * len(self.rows) + 34
        color = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(self.services)}
        e = html.escape
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
               f'<rect width="{width}" height="{height}" fill="white"/>',
               f'<text x="8" y="18" font-size="13" font-weight="bold">{e(self.header())}</text>']
        # legend: one swatch per service
        x = 8
        for s in self.services:
            out.append(f'<rect x="{x}" y="28" width="12" height="12" fill="{color[s]}"/>'
                       f'<text x="{x + 16}" y="38">{e(s)}</text>')
            x += 28 + 7 * len(s)
        # time axis
        for i in range(5):
            gx = label_w + bar_w * i / 4
            out.append(f'<line x1="{gx:.1f}" y1="{top - 4}" x2="{gx:.1f}" y2="{height - 28}" stroke="#ddd"/>'
                       f'<text x="{gx:.1f}" y="{height - 12}" text-anchor="middle" fill="#666">'
                       f'{_fmt_ms(self.total_ms * i / 4)}</text>')
        for i, (depth, r) in enumerate(self.rows):
            y = top + i * row_h
            bx = label_w + self._offset_ms(r) / self.total_ms * bar_w
            bw = max(r["duration_ms"] / self.total_ms * bar_w, 2)
            err = r["status"] == "ERROR"
            tip = f"{r['name']} ({r['kind']}, {r['service']}) {_fmt_ms(r['duration_ms'])}; span {r['span_id']}"
            out.append(f'<g><title>{e(tip)}</title>'
                       f'<text x="{8 + 14 * depth}" y="{y + 16}">{e(self._label(depth, r))}'
                       f'<tspan fill="#888" font-size="10"> {r["kind"]}</tspan></text>'
                       f'<rect x="{bx:.1f}" y="{y + 4}" width="{bw:.1f}" height="{row_h - 8}" rx="3" '
                       f'fill="{color[r["service"]]}"'
                       + (f' stroke="{ERROR_RED}" stroke-width="2"' if err else "") + '/>'
                       f'<text x="{label_w + bar_w + 8}" y="{y + 16}">{_fmt_ms(r["duration_ms"])}</text>'
                       + (f'<text x="{label_w + bar_w + 78}" y="{y + 16}" fill="{ERROR_RED}" '
                          f'font-weight="bold">✗ ERROR</text>' if err else "") + '</g>')
        out.append("</svg>")
        return "".join(out)


def waterfall(spans: pd.DataFrame | None = None, trace_id: str | None = None) -> Waterfall:
    """Draw one trace. With no arguments: the latest trace captured in this kernel.

    ``spans`` may be any DataFrame shaped like :func:`kit.capture.spans_df`
    (for instance spans received from other processes); ``trace_id`` picks one
    trace out of it."""
    if spans is None:
        spans = capture.spans_df()
    if trace_id is None and not spans.empty:
        trace_id = spans.sort_values("start").trace_id.iloc[-1]
    return Waterfall(spans[spans.trace_id == trace_id], trace_id)
