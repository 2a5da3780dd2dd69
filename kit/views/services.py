"""Services and the message flows between them: :func:`service_map`."""

from __future__ import annotations

import html

import pandas as pd

from kit import capture
from kit.views.common import fmt_ms as _fmt_ms, service_color


class ServiceMap:
    """Services as nodes, message flows as edges: who sends to whom, how often, how fast.

    An edge A → B is drawn for every span of service B whose parent is a span
    of service A (over MQTT: a CONSUMER under a PRODUCER). Its label gives the
    topics, the number of messages and the mean delay from the parent's start
    to the child's start (the time in flight through the broker)."""

    def __init__(self, spans: pd.DataFrame):
        by_id = spans.set_index("span_id")
        flows: dict = {}
        for row in spans.itertuples():
            parent = row.parent_span_id
            if not isinstance(parent, str) or parent not in by_id.index:
                continue
            p = by_id.loc[parent]
            if isinstance(p, pd.DataFrame):
                p = p.iloc[0]
            if p.service == row.service:
                continue
            flow = flows.setdefault((p.service, row.service), {"count": 0, "delay_ms": 0.0, "topics": set()})
            flow["count"] += 1
            flow["delay_ms"] += (row.start - p.start).total_seconds() * 1000
            topic = p.attributes.get("messaging.destination.name") if isinstance(p.attributes, dict) else None
            if topic:
                flow["topics"].add(topic)
        self.flows = flows
        self.services = list(dict.fromkeys(spans.service))
        depth = {s: 0 for s in self.services}
        for _ in range(len(self.services)):  # longest path from a source: the column of each service
            for (a, b) in flows:
                depth[b] = max(depth[b], depth[a] + 1)
        self.depth = depth

    @staticmethod
    def _topics(flow) -> str:
        topics = sorted(flow["topics"])
        return ", ".join(topics[:2]) + (f" +{len(topics) - 2}" if len(topics) > 2 else "")

    def __repr__(self):
        if not self.services:
            return "no spans: nothing to map"
        lines = [f"service map · {len(self.services)} services · {len(self.flows)} message flows"]
        width = max(len(f"{a} → {b}") for a, b in self.flows) if self.flows else 0
        for (a, b), f in sorted(self.flows.items(), key=lambda kv: (self.depth[kv[0][0]], kv[0])):
            lines.append(f"  {a + ' → ' + b:<{width}}  {f['count']:>4} messages  {_fmt_ms(f['delay_ms'] / f['count'])} "
                         f"from publish to process (mean)  [{self._topics(f)}]")
        lonely = [s for s in self.services if not any(s in k for k in self.flows)]
        if lonely:
            lines.append(f"  (no flows: {', '.join(lonely)})")
        return "\n".join(lines)

    def _repr_svg_(self):
        if not self.services:
            return None
        columns: dict = {}
        for s in self.services:
            columns.setdefault(self.depth[s], []).append(s)
        box_w, box_h, col_w, row_h = 150, 40, 290, 90
        pos = {s: (20 + d * col_w, 30 + i * row_h) for d, col in columns.items() for i, s in enumerate(col)}
        width = 40 + max(columns) * col_w + box_w
        height = 20 + max(len(c) for c in columns.values()) * row_h
        color = {s: service_color(s) for s in self.services}
        e = html.escape
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
               f'<rect width="{width}" height="{height}" fill="white"/>',
               '<defs><marker id="arrow" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto">'
               '<path d="M0,0 L10,4 L0,8 z" fill="#666"/></marker></defs>']
        for (a, b), f in self.flows.items():
            (x1, y1), (x2, y2) = pos[a], pos[b]
            sx, sy, tx, ty = x1 + box_w, y1 + box_h / 2, x2, y2 + box_h / 2
            out.append(f'<line x1="{sx}" y1="{sy:.0f}" x2="{tx - 2}" y2="{ty:.0f}" stroke="#666" '
                       f'stroke-width="{min(1 + f["count"] / 5, 5):.1f}" marker-end="url(#arrow)"/>')
            mx, my = (sx + tx) / 2, (sy + ty) / 2
            out.append(f'<text x="{mx:.0f}" y="{my - 16:.0f}" text-anchor="middle" font-size="11">'
                       f'{f["count"]} msgs · {_fmt_ms(f["delay_ms"] / f["count"])} from publish to process (mean)</text>'
                       f'<text x="{mx:.0f}" y="{my - 4:.0f}" text-anchor="middle" font-size="10" fill="#666">'
                       f'{e(self._topics(f))}</text>')
        for s, (x, y) in pos.items():
            out.append(f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="8" fill="{color[s]}"/>'
                       f'<text x="{x + box_w / 2}" y="{y + 25}" text-anchor="middle" fill="white" '
                       f'font-weight="bold">{e(s)}</text>')
        out.append("</svg>")
        return "".join(out)


def service_map(spans: pd.DataFrame | None = None) -> ServiceMap:
    """Draw the services and the message flows between them (all captured spans by default,
    or any spans DataFrame, e.g. ``receiver.spans_df()``)."""
    return ServiceMap(capture.spans_df() if spans is None else spans)
