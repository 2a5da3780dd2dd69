"""The waterfall in a notebook: rows you click to open a span, in plain HTML.

Each span is a ``<details>`` whose ``<summary>`` is its row: the service, the span's name
and kind, its bar on the timeline, its duration and notes. Clicking the row (its name or
its bar) opens the span's details under it (:meth:`kit.views.span_details.SpanDetails.table`).
No JavaScript and no ``<style>``: only the tags and inline styles JupyterLab keeps in an
untrusted notebook, so the rows look and open the same before the lesson is run.

The columns are fractions of the output's width (the name and service columns sized to
their longest text, cut with ``…`` beyond a share), so the picture fits any notebook
column; its text stays at 12 px however narrow the column. The root has the classes
``tex2jax_ignore mathjax_ignore``: a ``$…$`` in a span name stays text (MathJax would
otherwise typeset it, links included).

nbval compares this HTML: positions are written ``left:12.34%`` and the ticks as runs of
``kit-t`` / ``kit-tl`` elements, which ``notebooks/nbval_sanitize.cfg`` blanks.
"""

from __future__ import annotations

import html

from kit.views.common import DIM, ERROR_RED, GRID, INK, STRIPE, fmt_ms
from kit.views.svg import CANVAS, width as measure
from kit.views.waterfall_svg import LINK_GREY, _indent, _name, _ticks

ROW_H = 22
NARROWEST = 700   # px: the ticks are spaced for a notebook column this wide (wider ones have more room)
GUTTER = 18   # px left of the timeline's zero: where link arrows turn
FONT = "font-family:Helvetica, Arial, sans-serif"
CELL = "overflow:hidden;text-overflow:ellipsis;white-space:nowrap"


def _e(s: str) -> str:
    return html.escape(s, quote=True)


def _pct(ms: float, total: float) -> str:
    return f"{min(max(ms / total * 100, 0), 100):.2f}%"


def _grid(w) -> tuple[str, float]:
    """The columns (marker, service, span, timeline, notes: fractions of the width; the service
    and span columns from their longest text, so the same from run to run), and the timeline's
    share of the width."""
    service = min(max(max(measure(s[:60], 12) for s in w.services) + 20, 70), 150)
    name = min(max(max(_indent(r.depth) + measure(_name(r)[:80] + " " + r.span.kind[:12], 12) for r in w.rows),
                   110), 230)
    least = _notes_room(w)
    notes = max(least, 150 if any(r.events for r in w.rows) else 0)
    timeline = max(CANVAS - 14 - service - name - notes, 0.42 * CANVAS)
    style = (f"display:grid;grid-template-columns:14px minmax({service:.0f}px,{service:.0f}fr) minmax(80px,{name:.0f}fr) "
             f"minmax(120px,{timeline:.0f}fr) minmax({least:.0f}px,{notes:.0f}fr);column-gap:6px;align-items:center")
    return style, timeline / (service + name + timeline + notes)


def _ticks_html(w, share: float) -> tuple[str, str]:
    """The tick labels (header) and the grid lines (each row), at round values: as many as
    fit without touching in the narrowest column the notebook shows (:data:`NARROWEST` px)."""
    room = share * (NARROWEST - 14 - 4 * 6) - GUTTER   # about right: the service column may take a little more
    placed = _ticks(w.total_ms, 0, room, room)
    labels, lines = [], []
    for x_px, text, anchor in placed:
        x = x_px / room * 100
        where = (f"left:{x:.2f}%" if anchor == "start" else f"right:{100 - x:.2f}%" if anchor == "end"
                 else f"left:{x:.2f}%;margin-left:-40px;width:80px;text-align:center")
        labels.append(f'<span class="kit-tl" style="position:absolute;{where};top:0;color:{DIM}">{_e(text)}</span>')
        lines.append(f'<i class="kit-t" style="position:absolute;left:{x:.2f}%;top:0;bottom:0;'
                     f'border-left:1px solid {GRID}"></i>')
    return "".join(labels), "".join(lines)


def _link_pieces(w) -> dict[int, list[str]]:
    """For each row, the pieces of the dashed link arrows that cross it."""
    pieces: dict[int, list[str]] = {}
    dash = f"1px dashed {LINK_GREY}"
    k = 0
    for i, r in enumerate(w.rows):
        for _, _, j in r.links:
            if j is None or j == i or r.start_ms is None or w.rows[j].start_ms is None:
                continue
            elbow = 4 + 4 * (k % 4)
            k += 1
            down = j < i   # the linked span is above: the arrow goes down to this row
            for row, ms, end in ((j, w.rows[j].start_ms, False), (i, r.start_ms, True)):
                half = "top:50%;bottom:0" if (row == j) == down else "top:0;height:50%"
                out = pieces.setdefault(row, [])
                out.append(f'<i style="position:absolute;left:-{elbow}px;{half};border-left:{dash}"></i>')
                out.append(f'<i style="position:absolute;left:-{elbow}px;top:50%;width:{elbow}px;'
                           f'border-top:{dash}"></i>')
                out.append(f'<i style="position:absolute;left:0;top:50%;width:{_pct(ms, w.total_ms)};'
                           f'border-top:{dash}"></i>')
                if end:
                    out.append(f'<i style="position:absolute;left:{_pct(ms, w.total_ms)};top:50%;margin-top:-4px;'
                               f'margin-left:-7px;width:0;height:0;border-top:4px solid transparent;'
                               f'border-bottom:4px solid transparent;border-left:7px solid {LINK_GREY}"></i>')
            for row in range(min(i, j) + 1, max(i, j)):
                pieces.setdefault(row, []).append(
                    f'<i style="position:absolute;left:-{elbow}px;top:0;bottom:0;border-left:{dash}"></i>')
    return pieces


def _bar(w, r) -> str:
    if r.start_ms is None:
        return ""
    s = r.span
    width = f"{min((r.duration_ms or 0) / w.total_ms * 100, 100):.2f}%"
    outline = f"box-shadow:0 0 0 2px {ERROR_RED};" if r.error else ""
    out = [f'<i class="kit-bar" style="position:absolute;left:{_pct(r.start_ms, w.total_ms)};width:{width};min-width:2px;top:4px;'
           f'bottom:4px;border-radius:2px;{outline}background:{w.color[s.service]}"></i>']
    for ev in r.events:
        at = r.start_ms if ev.at_ms is None else ev.at_ms
        x = _pct(min(max(at, r.start_ms), r.start_ms + (r.duration_ms or 0)), w.total_ms)
        tip = _e("◆ " + ev.name[:200])
        out.append(f'<i title="{tip}" style="position:absolute;left:{x};top:50%;margin-left:-5px;margin-top:-6px;'
                   f'width:0;height:0;border-left:5px solid transparent;border-right:5px solid transparent;'
                   f'border-bottom:6px solid #222222"></i><i title="{tip}" style="position:absolute;left:{x};top:50%;'
                   f'margin-left:-5px;width:0;height:0;border-left:5px solid transparent;border-right:5px solid '
                   f'transparent;border-top:6px solid #222222"></i>')
    return "".join(out)


def _notes(r) -> str:
    """Duration, ✗ ERROR, ↗ links: always whole; then the events' names, cut when the column is narrow."""
    out = [f'<span style="color:{INK}">{fmt_ms(r.duration_ms)}</span>']
    if r.start_ms is None:
        out.append(f' <span style="color:{DIM}">start unknown</span>')
    if r.error:
        out.append(f' <b style="color:{ERROR_RED}">✗ ERROR</b>')
    if r.links:
        out.append(f' <span style="color:{LINK_GREY}">↗ {len(r.links)}</span>')
    if r.events:
        out.append(f' <span style="color:{DIM}">◆ {_e(r.event_names())}</span>')
    return "".join(out)


def _notes_room(w) -> float:
    """The notes column's least width: the duration, ✗ ERROR and ↗ of the widest row, whole."""
    def need(r):
        return measure("888.88 ms" + (" start unknown" if r.start_ms is None else "") + (" ✗ ERROR" if r.error else "")
                       + (f" ↗ {len(r.links)}" if r.links else "") + (" ◆ x" if r.events else ""), 12)
    return min(max(need(r) for r in w.rows) + 8, 200)


def draw(w) -> str:
    from kit.views.span_details import SpanDetails
    details = SpanDetails(w)
    grid, share = _grid(w)
    tick_labels, tick_lines = _ticks_html(w, share)
    links = _link_pieces(w)
    timeline = f"position:relative;height:{ROW_H}px;padding-left:{GUTTER}px"
    inner = f"position:absolute;left:{GUTTER}px;right:0;top:0;bottom:0"
    n = len(w.rows) + w.hidden
    head = (f'<div style="font-weight:bold;font-size:13px;{CELL}">{_e(w._ids())}</div>'
            f'<div style="color:{DIM};overflow-wrap:anywhere">{_e(w.summary())} · click a row to open its span</div>'
            f'<div style="{grid};margin-top:6px;color:{DIM}"><span></span><span style="{CELL}">service</span>'
            f'<span style="{CELL}">span</span><span style="{timeline};height:16px"><span style="{inner}">'
            f'{tick_labels}</span></span><span style="{CELL}">duration</span></div>')
    rows = []
    for i, r in enumerate(w.rows):
        s = r.span
        stripe = f"background:{STRIPE};" if i % 2 else ""
        name = _e(_name(r)[:200])
        tip = _e(f"{s.service[:200]} · {s.name[:300]} ({s.kind[:40]}) · {fmt_ms(r.duration_ms)} · status {s.status[:40]}")
        rows.append(
            f'<details data-span-id="{_e(s.span_id[:64])}"><summary title="{tip}" style="{grid};{stripe}'
            f'cursor:pointer;list-style:none;min-height:{ROW_H}px">'
            f'<span style="color:{DIM}">▸</span>'
            f'<span style="{CELL}"><i style="display:inline-block;width:8px;height:8px;border-radius:4px;'
            f'margin-right:5px;background:{w.color[s.service]}"></i>{_e(s.service[:200])}</span>'
            f'<span style="{CELL};padding-left:{_indent(r.depth)}px">{name} '
            f'<span style="color:{DIM}">{_e(s.kind[:20])}</span></span>'
            f'<span style="{timeline}"><span style="{inner}">{tick_lines}{"".join(links.get(i, []))}'
            f'{_bar(w, r)}</span></span>'
            f'<span style="{CELL}">{_notes(r)}</span></summary>'
            f'<div style="border-left:3px solid {w.color[s.service]};margin:0 0 6px 6px;background:#ffffff">'
            f'{details.table(r)}</div></details>')
    more = (f'<div style="color:{DIM}">… and {w.hidden} more spans (the first {len(w.rows)} of {n} are drawn)</div>'
            if w.hidden else "")
    return (f'<div class="kit-waterfall tex2jax_ignore mathjax_ignore" style="{FONT};font-size:12px;line-height:1.35;'
            f'color:{INK};background:#ffffff;padding:4px 0;max-width:100%;overflow:hidden">'
            f'{head}{"".join(rows)}{more}</div>')
