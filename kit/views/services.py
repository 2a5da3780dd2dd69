"""Services and the message flows between them: :func:`service_map`.

    >>> service_map(spans)           # a picture (SVG, with a PNG beside it) and a text form

An edge A → B is drawn for every span of service B whose parent is a span of service A
(over MQTT: a CONSUMER under a PRODUCER). Its label gives the number of messages and the
mean delay from the parent's start to the child's start (the time in flight through the
broker), then the topics (``messaging.destination.name`` of the parents), one a line,
each with its count when there are several.

The layout is measured, not guessed: services stand in columns by their distance from a
source; the gap between two columns is as wide as its widest label; each label sits on its
arrow, on a white card, at the first place along the arrow where it touches no other
label (two topics between the same two services are two lines of one card). A flow that
skips a column runs above the boxes. Arrowheads have one size whatever the line's width.
"""

from __future__ import annotations

import pandas as pd

from kit import capture
from kit.views.common import DIM, INK, fmt_ms, service_color, text_on
from kit.views.svg import CANVAS, document, esc, fit, label, title, width as measure
from kit.views.values import clip, span_records, text

BOX_H, ROW_GAP, SIZE = 34, 30, 12
LINE_H = 16              # a label's line
MARGIN = 20              # between a card and the boxes either side: room for the arrow and its head
ARROW = "#555555"
MAX_SERVICES = 60


class ServiceMap:
    """Services as nodes, message flows as edges: who sends to whom, how often, how fast."""

    def __init__(self, spans: pd.DataFrame):
        records = span_records(spans)
        by_id: dict = {}
        for s in records:
            by_id.setdefault(s.span_id, s)
        flows: dict = {}
        for s in records:
            p = by_id.get(s.parent_span_id) if s.parent_span_id is not None else None
            if p is None or p.service == s.service:
                continue
            flow = flows.setdefault((p.service, s.service), {"count": 0, "delay_ms": 0.0, "timed": 0, "topics": {}})
            flow["count"] += 1
            if s.start is not None and p.start is not None:
                flow["delay_ms"] += (s.start - p.start).total_seconds() * 1000
                flow["timed"] += 1
            topic = p.attributes.get("messaging.destination.name")
            if topic is not None and topic != "":
                key = text(topic)
                flow["topics"][key] = flow["topics"].get(key, 0) + 1
        self.flows = flows
        self.services = list(dict.fromkeys(s.service for s in records))
        depth = {s: 0 for s in self.services}
        for _ in range(min(len(self.services), 50)):  # longest path from a source: the column of each service
            for (a, b) in flows:
                depth[b] = min(max(depth[b], depth[a] + 1), 50)
        self.depth = depth

    @staticmethod
    def mean(flow) -> str:
        return fmt_ms(flow["delay_ms"] / flow["timed"]) if flow["timed"] else "?"

    @staticmethod
    def _topics(flow) -> str:
        topics = sorted(flow["topics"])
        return ", ".join(clip(t, 60) for t in topics[:2]) + (f" +{len(topics) - 2}" if len(topics) > 2 else "")

    def __repr__(self):
        if not self.services:
            return "no spans: nothing to map"
        lines = [f"service map · {len(self.services)} services · {len(self.flows)} message flows"]
        names = {k: f"{clip(k[0], 40)} → {clip(k[1], 40)}" for k in self.flows}
        width = max((len(n) for n in names.values()), default=0)
        for (a, b), f in sorted(self.flows.items(), key=lambda kv: (self.depth[kv[0][0]], kv[0])):
            lines.append(f"  {names[(a, b)]:<{width}}  {f['count']:>4} message{'s' * (f['count'] != 1)}  {self.mean(f)} "
                         f"from publish to process (mean)  [{self._topics(f)}]")
        lonely = [clip(s, 40) for s in self.services if not any(s in k for k in self.flows)]
        if lonely:
            lines.append(f"  (no flows: {', '.join(lonely[:20])}{' …' if len(lonely) > 20 else ''})")
        return "\n".join(lines)

    # -- the picture ---------------------------------------------------------------

    def label_lines(self, flow) -> list[tuple[str, str]]:
        """A flow's card: (text, colour) per line."""
        n = flow["count"]
        lines = [(f"{n} message{'s' * (n != 1)} · {self.mean(flow)}", INK)]
        topics = sorted(flow["topics"].items(), key=lambda kv: (-kv[1], kv[0]))
        several = len(topics) > 1
        for topic, count in topics[:3]:
            lines.append((topic + (f" ({count})" if several else ""), DIM))
        if len(topics) > 3:
            lines.append((f"+{len(topics) - 3} more topics", DIM))
        return lines

    def _repr_svg_(self):
        if not self.services:
            return None
        return _Layout(self).svg()

    def _repr_png_(self) -> bytes | None:
        svg = self._repr_svg_()
        if svg is None:
            return None
        from kit.views import png
        return png.to_png(svg)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The SVG (a trusted notebook), the PNG beside it (an untrusted one, GitHub), shown at the SVG's width."""
        svg = self._repr_svg_()
        if svg is None:
            return None
        from kit.views import png
        return {"image/svg+xml": svg, "image/png": png.to_png(svg)}, {"image/png": {"width": int(png.view_width(svg))}}


def _overlaps(a, b, margin: float = 4) -> bool:
    return a[0] < b[2] + margin and b[0] < a[2] + margin and a[1] < b[3] + margin and b[1] < a[3] + margin


class _Layout:
    """Where every box, arrow and card of a :class:`ServiceMap` goes."""

    def __init__(self, m: ServiceMap):
        self.m = m
        shown = m.services[:MAX_SERVICES]
        self.hidden = len(m.services) - len(shown)
        columns: dict[int, list[str]] = {}
        for s in shown:
            columns.setdefault(m.depth[s], []).append(s)
        self.order = sorted(columns)
        self.columns = columns
        self.box_w = {s: min(max(measure(s[:80], 13, True) + 24, 90), 180) for s in shown}
        col_w = {d: max(self.box_w[s] for s in columns[d]) for d in self.order}
        flows = [(k, f) for k, f in m.flows.items() if k[0] in self.box_w and k[1] in self.box_w]
        self.flows = flows
        cards = {k: m.label_lines(f) for k, f in flows}
        gap_need = {d: 70.0 for d in self.order[:-1]}
        for (a, b), lines in cards.items():
            d = self._gap_of(a)
            if d in gap_need:
                gap_need[d] = max(gap_need[d], max(measure(t[:120], SIZE) for t, _ in lines) + 12 + 2 * MARGIN)
        room = CANVAS - 16 - sum(col_w.values())
        need = sum(gap_need.values())
        if need > room and need:   # too wide: every gap gives in proportion, cards are cut to fit
            for d in gap_need:
                gap_need[d] = max(70.0, gap_need[d] * room / need)
        self.card_room = {d: gap_need[d] - 2 * MARGIN for d in gap_need}
        self.cards = {k: [(part, c) for t, c in lines
                          for part in _split(t, self.card_room.get(self._gap_of(k[0]), 60) - 12)]
                      for k, lines in cards.items()}
        x, self.col_x = 8.0, {}
        for d in self.order:
            self.col_x[d] = x
            x += col_w[d] + gap_need.get(d, 0)
        self.col_w = col_w
        self.gap_w = gap_need
        self.view_w = max(CANVAS, x + 8)
        skips = [k for k, _ in flows if self._next_col(k[0]) != self.m.depth[k[1]] or self.m.depth[k[1]] <= self.m.depth[k[0]]]
        self.lanes = {k: i for i, k in enumerate(skips)}
        lane_room = 0 if not skips else 16 + 24 * len(skips)
        tallest = max(len(c) for c in columns.values())
        self.tallest = tallest
        self._place_boxes(12 + lane_room)

    def _place_boxes(self, top: float) -> None:
        self.top, self.pos = top, {}
        for d, col in self.columns.items():
            y0 = top + (self.tallest - len(col)) * (BOX_H + ROW_GAP) / 2
            for i, s in enumerate(col):
                self.pos[s] = (self.col_x[d] + (self.col_w[d] - self.box_w[s]) / 2, y0 + i * (BOX_H + ROW_GAP))
        self.body_bottom = top + self.tallest * (BOX_H + ROW_GAP) - ROW_GAP

    def _gap_of(self, service) -> int:
        return self.m.depth[service]

    def _next_col(self, service):
        later = [d for d in self.order if d > self.m.depth[service]]
        return later[0] if later else None

    def _ports(self) -> dict:
        """Where each direct arrow leaves its source and meets its target: spread along the
        boxes' sides, in the order of the boxes at the other end (arrows never cross at a box)."""
        ends: dict = {}
        direct = [k for k, _ in self.flows if k not in self.lanes]
        for side, own, other in (("out", 0, 1), ("in", 1, 0)):
            by_box: dict = {}
            for k in direct:
                by_box.setdefault(k[own], []).append(k)
            for box, keys in by_box.items():
                keys.sort(key=lambda k: self.pos[k[other]][1])
                for i, k in enumerate(keys):
                    ends[(side, k)] = self.pos[box][1] + BOX_H * (i + 1) / (len(keys) + 1)
        return ends

    def _route(self, a, b, ports) -> list[tuple[float, float]]:
        (xa, ya), (xb, yb) = self.pos[a], self.pos[b]
        if (a, b) not in self.lanes:
            return [(xa + self.box_w[a], ports[("out", (a, b))]), (xb, ports[("in", (a, b))])]
        lane = self.lanes[(a, b)]
        lane_y = 20 + 24 * lane + getattr(self, "lane_shift", 0)
        x_out = xa + self.box_w[a] / 2 + 10 * lane
        x_in = xb + self.box_w[b] / 2 - 10 * lane
        return [(x_out, ya), (x_out, lane_y), (x_in, lane_y), (x_in, yb)]

    def _place_card(self, key, route, placed) -> tuple[float, float, float, float]:
        """The card's box: on its arrow, in its gap, clear of the cards already placed."""
        lines = self.cards[key]
        w = max(measure(t, SIZE) for t, _ in lines) + 12
        h = LINE_H * len(lines) + 6
        d = self._gap_of(key[0])
        (x1, y1), (x2, y2) = route[0], route[1]
        gx0 = self.col_x[d] + self.col_w[d] + MARGIN
        gx1 = gx0 + self.gap_w.get(d, 70) - 2 * MARGIN
        if len(route) > 2:     # a flow that skips a column: its card on the stretch above the boxes
            (x1, y1), (x2, y2) = route[1], route[2]
            gx0, gx1 = min(x1, x2) + 8, max(x1, x2) - 8
        for t in (0.5, 0.65, 0.35, 0.8, 0.2, 0.95, 0.05):
            cx = gx0 + w / 2 + t * max(gx1 - gx0 - w, 0)
            cy = y1 + (y2 - y1) * ((cx - x1) / (x2 - x1) if x2 != x1 else 0.5)
            box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if not any(_overlaps(box, other) for other in placed) and not self._on_a_box(box) \
                    and not self._on_another_arrow(box, key):
                return box
        cx = gx0 + w / 2
        y = max((p[3] for p in placed if p[0] < cx + w / 2 and cx - w / 2 < p[2]), default=y1 - h / 2) + 8
        while self._on_a_box((cx - w / 2, y, cx + w / 2, y + h)):
            y += 8
        return (cx - w / 2, y, cx + w / 2, y + h)

    def _on_another_arrow(self, box, key) -> bool:
        """Whether the card would hide part of another flow's arrow."""
        for k, (x1, y1), (x2, y2) in self.segments:
            if k == key:
                continue
            for i in range(21):
                x, y = x1 + (x2 - x1) * i / 20, y1 + (y2 - y1) * i / 20
                if box[0] - 3 <= x <= box[2] + 3 and box[1] - 3 <= y <= box[3] + 3:
                    return True
        return False

    def _on_a_box(self, box) -> bool:
        return any(_overlaps(box, (x, y, x + self.box_w[s], y + BOX_H), 2) for s, (x, y) in self.pos.items())

    def _arrange(self):
        """The arrows' routes and the cards' boxes; the boxes move down until every card is in the picture."""
        for _ in range(3):
            ports = self._ports()
            routes = {k: self._route(*k, ports) for k, _ in self.flows}
            self.segments = [(k, p, q) for k, r in routes.items() for p, q in zip(r, r[1:])]
            placed = []
            for key, _ in self.flows:
                placed.append(self._place_card(key, routes[key], placed))
            highest = min([p[1] for p in placed], default=4)
            if highest >= 4:
                break
            self.lane_shift = getattr(self, "lane_shift", 0) + 4 - highest
            self._place_boxes(self.top + 4 - highest)
        return routes, placed

    def svg(self) -> str:
        out = []
        routes, placed = self._arrange()
        for (a, b), f in self.flows:
            route = routes[(a, b)]
            lw = 1.5 + min(f["count"], 50) / 25
            (x1, y1), (x2, y2) = route[-2], route[-1]
            length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1e-9)
            pts = route[:-1] + [(x2 - (x2 - x1) * 8 / length, y2 - (y2 - y1) * 8 / length)]  # the line stops in the head
            d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(pts))
            tip = f"{a} → {b}: {f['count']} messages, {self.m.mean(f)} from publish to process (mean)"
            out.append(f'<g class="flow" data-from="{esc(a[:80])}" data-to="{esc(b[:80])}">{title(tip)}'
                       f'<path d="{d}" fill="none" stroke="{ARROW}" stroke-width="{lw:.1f}"/>'
                       + _arrowhead(x1, y1, x2, y2) + "</g>")
        for key, box in zip([k for k, _ in self.flows], placed):
            out.append(self._card(key, box))
        for s, (x, y) in self.pos.items():
            fill = service_color(s)
            name = fit(s, 13, self.box_w[s] - 16, bold=True)
            out.append(f'<g class="service">{title(s)}<rect x="{x:.1f}" y="{y:.1f}" width="{self.box_w[s]:.1f}" '
                       f'height="{BOX_H}" rx="6" fill="{fill}"/>'
                       + label(x + self.box_w[s] / 2, y + BOX_H / 2 + 4.5, name, size=13, fill=text_on(fill),
                               anchor="middle", bold=True) + "</g>")
        bottom = max([self.body_bottom] + [p[3] for p in placed])
        notes = ["An arrow A → B: spans of B whose parent is a span of A (a message). Its card: "
                 "messages · mean time from publish to process, then the topics."]
        if self.hidden:
            notes.append(f"… and {self.hidden} more services (see the text form)")
        lines = _wrap(" ".join(notes), SIZE, self.view_w - 16)
        for i, line in enumerate(lines):
            out.append(label(8, bottom + 24 + LINE_H * i, line, fill=DIM))
        height = bottom + 24 + LINE_H * len(lines)
        return document(self.view_w, height, out, label=repr(self.m).splitlines()[0])

    def _card(self, key, box) -> str:
        x0, y0, x1, y1 = box
        out = [f'<g class="card"><rect x="{x0:.1f}" y="{y0:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" rx="4" '
               f'fill="#ffffff" stroke="#C9CDD3"/>']
        for i, (t, color) in enumerate(self.cards[key]):
            out.append(label(x0 + 6, y0 + 3 + LINE_H * i + 12.5, t, fill=color))
        return "".join(out) + "</g>"


def _arrowhead(x1, y1, x2, y2) -> str:
    """A 9 px arrowhead with its tip at (x2, y2), pointing along the last segment."""
    length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1e-9)
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    bx, by = x2 - 9 * ux, y2 - 9 * uy
    return (f'<path d="M{x2:.1f},{y2:.1f} L{bx - 4.5 * uy:.1f},{by + 4.5 * ux:.1f} '
            f'L{bx + 4.5 * uy:.1f},{by - 4.5 * ux:.1f} Z" fill="{ARROW}"/>')


def _split(s: str, room: float) -> list[str]:
    """A card's line in at most two lines of ``room`` px: a topic breaks after a ``/``, then is cut."""
    if measure(s, SIZE) <= room:
        return [s]
    cut = [i + 1 for i, ch in enumerate(s[:200]) if ch in "/-._" and measure(s[:i + 1], SIZE) <= room]
    if not cut:
        return [fit(s, SIZE, room)]
    return [s[:cut[-1]], fit(s[cut[-1]:], SIZE, room)]


def _wrap(s: str, size: float, room: float) -> list[str]:
    lines, line = [], ""
    for word in s.split(" "):
        candidate = f"{line} {word}".strip()
        if line and measure(candidate, size) > room:
            lines.append(line)
            line = word
        else:
            line = candidate
    return lines + ([line] if line else [])


def service_map(spans: pd.DataFrame | None = None) -> ServiceMap:
    """Draw the services and the message flows between them (all captured spans by default,
    or any spans DataFrame, e.g. ``receiver.spans_df()``)."""
    return ServiceMap(capture.spans_df() if spans is None else spans)
