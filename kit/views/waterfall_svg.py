"""The waterfall as an SVG picture: the receiver's page shows it, the notebook's PNG is drawn from it.

Laid out for a width (:data:`kit.views.svg.CANVAS` by default) with every label measured
first: the service, name and notes columns take the width their longest text needs, up to
a share of the picture, and a text that does not fit is cut with ``…`` (its whole value is
in the row's tooltip and in the span details). The timeline keeps at least a third of
the width; its ticks are round values in one unit, as many as fit without touching.

Each row is a ``<g class="span" data-span-id="…">``: its service dot and name, the span's
name and kind, its bar (outlined red when it failed), a ◆ per event on the bar, its notes.
Dashed arrows (``<g class="link">``) run from a linked span to the span that links to it,
their vertical part in a gutter left of the timeline, where no text is.
"""

from __future__ import annotations

from kit.views.common import DIM, ERROR_RED, GRID, INK, STRIPE, fmt_ms, tick_label, ticks
from kit.views.svg import CANVAS, document, esc, fit, label, title, width as measure

ROW_H, SIZE = 24, 12
HEAD = 66                 # the rows' top: two header lines, then the column captions and ticks
GUTTER = 18               # left of the timeline: where link arrows turn
LINK_GREY = "#444444"


def _notes(w, r) -> list[tuple[str, str, bool, str]]:
    """The pieces of a row's notes: (text, colour, bold, the short form when the text does not fit)."""
    out = [(fmt_ms(r.duration_ms), INK, False, "?")]
    if r.start_ms is None:
        out.append(("  start time unknown", DIM, False, "  start ?"))
    if r.error:
        out.append(("  ✗ ERROR", ERROR_RED, True, "  ✗"))
    if r.events:
        out.append((f"  ◆ {r.event_names()}", DIM, False, f"  ◆ {len(r.events)}"))
    outside = [(t, s) for t, s, i in r.links if i is None]
    if outside:
        out.append((f"  ↗ link to {outside[0][0][:8]}…/{outside[0][1][:8]}…"
                    + (f" +{len(outside) - 1}" if len(outside) > 1 else ""), LINK_GREY, False, f"  ↗ {len(outside)}"))
    return out


def _notes_width(pieces) -> float:
    return sum(measure(s, SIZE, bold) for s, _, bold, _ in pieces)


def _gutter(w) -> float:
    """Room left of the timeline: where link arrows turn (a little when there is none)."""
    return GUTTER if any(i is not None for r in w.rows for _, _, i in r.links) else 4


def _indent(depth: int) -> float:
    return 12 * min(depth, 8)


def _name(r) -> str:
    return ("└ " if r.depth else "") + r.span.name


def columns(w, view_w: float):
    """x of the service text, the name, the timeline and the notes, and the widths of the
    service, name, timeline and notes columns: the texts' widths, shrunk to fit ``view_w``."""
    want = {
        "service": max(measure("service", SIZE), *(measure(s[:200], SIZE) for s in w.services)),
        "name": max(measure("span", SIZE), *(_indent(r.depth) + measure(_name(r)[:200], SIZE)
                                             + measure(" " + r.span.kind[:20], SIZE) for r in w.rows)),
        "notes": max(measure("duration", SIZE), *(_notes_width(_notes(w, r)) for r in w.rows)),
    }
    least = {"service": 60, "name": 110,
             "notes": max(70, *(_notes_width([(p[0] if i == 0 else p[3], *p[1:3], "") for i, p in enumerate(_notes(w, r))])
                               for r in w.rows)) + 4}
    most = {"service": 0.2 * view_w, "name": 0.3 * view_w, "notes": 0.25 * view_w}
    cols = {k: max(least[k], min(want[k], most[k])) for k in want}
    gutter = _gutter(w)
    fixed = 24 + 8 + 8 + gutter + 8 + 8
    room = view_w - fixed - 0.34 * view_w
    for k in ("notes", "name", "service"):   # too wide: the notes give first (they are in the details too)
        cols[k] = max(least[k], cols[k] - max(sum(cols.values()) - room, 0))
    service_x = 24
    name_x = service_x + cols["service"] + 8
    timeline_x = name_x + cols["name"] + 8 + gutter
    timeline_w = view_w - fixed - sum(cols.values())
    notes_x = timeline_x + timeline_w + 8
    return service_x, name_x, timeline_x, notes_x, cols["service"], cols["name"], timeline_w, cols["notes"]


def _ticks(total_ms: float, timeline_x: float, timeline_w: float, right: float) -> list[tuple[float, str, str]]:
    """(x, label, anchor) of each tick: as many round values as fit without touching."""
    for most in (6, 5, 4, 3, 2):
        scale, unit, values = ticks(total_ms, most)
        placed, last_end, ok = [], -1e9, True
        for v in values:
            x = timeline_x + v * scale / total_ms * timeline_w
            text = tick_label(v, unit)
            tw = measure(text, SIZE)
            anchor, left = ("start", x) if v == 0 else ("middle", x - tw / 2)
            if left + tw > right:
                anchor, left = "end", x - tw
                if left < last_end + 8:   # the last tick's label has no room: the axis stops before it
                    break
            if left < last_end + 8:
                ok = False
                break
            placed.append((x, text, anchor))
            last_end = left + tw
        if ok:
            return placed
    return placed[:1]


def draw(w, view_w: float = CANVAS, rows: int | None = None) -> str:
    """The SVG of the waterfall ``w`` (its first ``rows`` rows, all by default)."""
    shown = w.rows[:rows] if rows else w.rows
    hidden = len(w.rows) - len(shown) + w.hidden
    service_x, name_x, timeline_x, notes_x, service_w, name_w, timeline_w, notes_w = columns(w, view_w)
    body_bottom = HEAD + ROW_H * len(shown)
    footer = _footer(w, hidden)
    view_h = body_bottom + (22 * len(footer)) + 8

    def x_of(ms: float) -> float:
        return timeline_x + ms / w.total_ms * timeline_w

    out = [label(8, 18, fit(w._ids(), 13, view_w - 16, bold=True), size=13, bold=True),
           label(8, 37, fit(w.summary(), SIZE, view_w - 16), fill=DIM)]
    for i in range(1, len(shown), 2):  # a stripe on every other row, to follow a row across
        out.append(f'<rect x="0" y="{HEAD + i * ROW_H}" width="{view_w:.0f}" height="{ROW_H}" fill="{STRIPE}"/>')
    caption_y = HEAD - 8
    out += [label(service_x, caption_y, "service", fill=DIM), label(name_x, caption_y, "span", fill=DIM),
            label(notes_x, caption_y, fit("duration", SIZE, notes_w), fill=DIM)]
    for x, text, anchor in _ticks(w.total_ms, timeline_x, timeline_w, notes_x - 6):
        out.append(f'<line x1="{x:.1f}" y1="{HEAD - 2}" x2="{x:.1f}" y2="{body_bottom}" stroke="{GRID}"/>')
        out.append(label(x, caption_y, text, fill=DIM, anchor=anchor))
    for i, r in enumerate(shown):
        out.append(_row(w, i, r, x_of, service_x, name_x, notes_x, service_w, name_w, notes_w))
    out += _links(w, shown, x_of, timeline_x)
    for k, line in enumerate(footer):
        out.append(label(8, body_bottom + 18 + 22 * k, fit(line, SIZE, view_w - 16), fill=DIM))
    return document(view_w, view_h, out, label=w.header())


def _footer(w, hidden: int) -> list[str]:
    keys = []
    if any(r.events for r in w.rows):
        keys.append("◆ a span event")
    if any(r.links for r in w.rows):
        keys.append("↗ a link (dashed: from the linked span)")
    if any(r.error for r in w.rows):
        keys.append("red outline: status ERROR")
    lines = [" · ".join(keys)] if keys else []
    if hidden:
        lines.append(f"… and {hidden} more span{'s' * (hidden != 1)}: run the cell to list them all")
    return lines


def _row(w, i, r, x_of, service_x, name_x, notes_x, service_w, name_w, notes_w) -> str:
    s = r.span
    y = HEAD + i * ROW_H
    base = y + 16
    mid = y + ROW_H / 2
    color = w.color[s.service]
    tip = (f"{s.service[:200]} · {s.name[:200]} ({s.kind[:20]}) · {fmt_ms(r.duration_ms)} · status {s.status[:20]}\n"
           f"span {s.span_id[:64]}" + "".join(f"\n↗ link to trace {t[:64]} span {sp[:64]}" for t, sp, i in r.links[:5]
                                               if i is None))
    out = [f'<g class="span" data-span-id="{esc(s.span_id[:64])}">{title(tip)}',
           f'<circle cx="14" cy="{mid:.1f}" r="4" fill="{color}"/>',
           label(service_x, base, fit(s.service, SIZE, service_w), fill=INK)]
    indent = _indent(r.depth)
    name = _name(r)
    kind = " " + s.kind[:20]
    room = name_w - indent
    if measure(name, SIZE) + measure(kind, SIZE) <= room:
        out.append(f'<text x="{name_x + indent:.1f}" y="{base}" fill="{INK}">{esc(name)}'
                   f'<tspan fill="{DIM}">{esc(kind)}</tspan></text>')
    else:
        out.append(label(name_x + indent, base, fit(name, SIZE, room), fill=INK))
    if r.start_ms is not None:
        bx = x_of(r.start_ms)
        bw = max((r.duration_ms or 0) / w.total_ms * (x_of(w.total_ms) - x_of(0)), 2)
        stroke = f' stroke="{ERROR_RED}" stroke-width="2"' if r.error else ""
        out.append(f'<rect x="{bx:.1f}" y="{y + 5}" width="{bw:.1f}" height="{ROW_H - 10}" rx="2" '
                   f'fill="{color}"{stroke}/>')
        for ev in r.events:
            x = min(max(x_of(r.start_ms if ev.at_ms is None else ev.at_ms), bx), bx + bw)
            out.append(f'<g class="event">{title("◆ " + ev.name)}<path d="M{x:.1f},{mid - 6:.1f} L{x + 5:.1f},{mid:.1f} '
                       f'L{x:.1f},{mid + 6:.1f} L{x - 5:.1f},{mid:.1f} Z" fill="#222222" stroke="#ffffff" '
                       f'stroke-width="1"/></g>')
    pieces, used, tspans = _notes(w, r), 0.0, []
    for text, fill, bold, short in pieces:
        room = notes_w - used
        shown = text if measure(text, SIZE, bold) <= room else short if measure(short, SIZE, bold) <= room else ""
        if not shown:
            break
        weight = ' font-weight="bold"' if bold else ""
        tspans.append(f'<tspan fill="{fill}"{weight}>{esc(shown)}</tspan>')
        used += measure(shown, SIZE, bold)
    out.append(f'<text x="{notes_x:.1f}" y="{base}" xml:space="preserve">{"".join(tspans)}</text></g>')
    return "".join(out)


def _links(w, shown, x_of, timeline_x) -> list[str]:
    """Dashed arrows from each linked span in the picture to the span that links to it."""
    out, k = [], 0
    for i, r in enumerate(shown):
        for _, _, j in r.links:
            if j is None or j == i or j >= len(shown) or r.start_ms is None or shown[j].start_ms is None:
                continue
            target = shown[j]
            x_from, x_to = x_of(target.start_ms), x_of(r.start_ms)
            y_from, y_to = HEAD + j * ROW_H + ROW_H / 2, HEAD + i * ROW_H + ROW_H / 2
            elbow = timeline_x - 4 - 4 * (k % 4)
            k += 1
            dash = f'stroke="{LINK_GREY}" stroke-width="1.2" stroke-dasharray="4 3"'
            tip = f"link: {r.span.name} ({r.span.service}) ↗ {target.span.name} ({target.span.service})"
            out.append(f'<g class="link" data-from="{esc(target.span.span_id[:64])}" '
                       f'data-to="{esc(r.span.span_id[:64])}">{title(tip)}'
                       f'<line x1="{x_from:.1f}" y1="{y_from:.1f}" x2="{elbow:.1f}" y2="{y_from:.1f}" {dash}/>'
                       f'<line x1="{elbow:.1f}" y1="{y_from:.1f}" x2="{elbow:.1f}" y2="{y_to:.1f}" {dash}/>'
                       f'<line x1="{elbow:.1f}" y1="{y_to:.1f}" x2="{x_to - 7:.1f}" y2="{y_to:.1f}" {dash}/>'
                       f'<path d="M{x_to - 8:.1f},{y_to - 4:.1f} L{x_to:.1f},{y_to:.1f} L{x_to - 8:.1f},{y_to + 4:.1f} Z" '
                       f'fill="{LINK_GREY}"/></g>')
    return out
