"""See telemetry inside the notebook: a trace waterfall, metrics over time, logs joined to spans.

    >>> from kit.views import waterfall, metrics_chart, logs_table
    >>> waterfall()                    # the latest trace
    >>> waterfall(trace_id="4bf9…")    # or a DataFrame of spans
    >>> metrics_chart("message_count")
    >>> logs_table(trace_id)           # each log line with the span it was written in

Each view is an object Jupyter displays as a picture (SVG or PNG) and that
also has a plain-text form, so a notebook read on GitHub, in a terminal or
compared by nbval still shows what it holds. No JavaScript, no network.
"""

from __future__ import annotations

import html
import io
import warnings
import pandas as pd

from kit import capture

PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#72B7B2", "#EECA3B", "#9D755D", "#BAB0AC"]
ERROR_RED = "#D62728"


def _fmt_ms(ms: float) -> str:
    return f"{ms:.2f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def _fmt_sum(value, unit: str) -> str:
    if unit == "s":  # durations read better in ms
        return _fmt_ms(value * 1000)
    return f"{value:g}" + (f" {unit}" if unit else "")


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


class MetricsChart:
    """Metric values over time, one panel per metric, one line per attribute set."""

    def __init__(self, points: pd.DataFrame, names: list[str]):
        self.points = points
        self.names = names

    @staticmethod
    def _y(value):
        return value["count"] if isinstance(value, dict) else value

    def _labeller(self, df, short=False):
        """Label each stream by the service and the attributes that tell its streams apart
        (the ones equal for all would only make the legend long). ``short``: values only,
        and the service only when there are several."""
        keys = sorted({k for a in df.attributes for k in a})
        varying = [k for k in keys if len({repr(a.get(k)) for a in df.attributes}) > 1] or keys
        one_service = df.service.nunique() == 1

        def label(row) -> str:
            if short:
                values = ", ".join(str(row["attributes"].get(k)) for k in varying)
                return values if one_service and values else f"{row['service']} {values}".strip()
            attrs = ", ".join(f"{k}={row['attributes'].get(k)}" for k in varying)
            return f"{row['service']}" + (f" {{{attrs}}}" if attrs else "")
        return label

    def __repr__(self) -> str:
        if self.points.empty:
            return "no metric points yet: record something, then flush()"
        lines = []
        for name in self.names:
            df = self.points[self.points.name == name]
            first = df.iloc[0]
            lines.append(f"{name} ({first['kind']}{', ' + first['unit'] if first['unit'] else ''})")
            for label, stream in df.groupby(df.apply(self._labeller(df), axis=1), sort=True):
                last = stream.iloc[-1]["value"]
                value = (f"count={last['count']} sum={_fmt_sum(last['sum'], first['unit'])}"
                         if isinstance(last, dict) else f"{last:g}")
                lines.append(f"  {label}: {value}")
        return "\n".join(lines)

    def _repr_png_(self):
        if self.points.empty:
            return None
        import matplotlib
        matplotlib.use("Agg", force=False)
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 2.4 * len(self.names)), dpi=90, layout="constrained")
        axes = fig.subplots(len(self.names), 1, squeeze=False)[:, 0]
        t0 = self.points.time.min()
        for ax, name in zip(axes, self.names):
            df = self.points[self.points.name == name]
            kind, unit = df.kind.iloc[0], df.unit.iloc[0]
            streams = list(df.groupby(df.apply(self._labeller(df, short=True), axis=1), sort=True))
            ax.set_title(f"{name} ({kind}{', ' + unit if unit else ''})", fontsize=10, loc="left")
            value_label = "values recorded" if kind == "histogram" else (unit or "value")
            if df.time.nunique() == 1:  # one collection so far: a bar per stream says more than dots
                ax.barh([label for label, _ in streams], [self._y(st.value.iloc[-1]) for _, st in streams],
                        color=PALETTE[:len(streams)])
                ax.set_xlabel(value_label)
                ax.tick_params(axis="y", labelsize=8)
            else:
                for label, stream in streams:
                    secs = (stream.time - t0).dt.total_seconds()
                    ax.plot(secs, stream.value.map(self._y), marker="o", markersize=3, label=label)
                ax.set_ylabel(value_label)
                ax.set_xlabel("seconds")
                ax.legend(fontsize=8, loc="upper left")
            ax.grid(alpha=0.3)
        buf = io.BytesIO()
        with warnings.catch_warnings():  # a layout hint must not print into the notebook
            warnings.simplefilter("ignore")
            fig.savefig(buf, format="png")
        return buf.getvalue()


def metrics_chart(*names: str, points: pd.DataFrame | None = None) -> MetricsChart:
    """Chart the named metrics (all of them if none is named) over the points
    collected so far. The kit collects a point every second and at each flush().
    ``points``: another source of points, e.g. ``receiver.metric_points_df()``."""
    points = capture.metric_points_df() if points is None else points
    names = list(names) or sorted(points.name.unique())
    return MetricsChart(points[points.name.isin(names)].reset_index(drop=True), names)


def logs_table(trace_id: str | None = None) -> pd.DataFrame:
    """Log records with the name of the span each was written in (joined on
    trace_id and span_id). ``trace_id`` keeps only the logs of that trace."""
    logs = capture.logs_df(trace_id)
    spans = capture.spans_df()[["trace_id", "span_id", "name"]].rename(columns={"name": "span"})
    joined = logs.merge(spans, how="left", on=["trace_id", "span_id"])
    return joined[["time", "severity", "service", "logger", "body", "span", "trace_id"]]


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
                         f"in flight  [{self._topics(f)}]")
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
        color = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(self.services)}
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
                       f'{f["count"]} msgs · {_fmt_ms(f["delay_ms"] / f["count"])}</text>'
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
