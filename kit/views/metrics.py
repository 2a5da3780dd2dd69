"""Metrics in the notebook: :func:`metrics_chart`.

One panel per metric, drawn the way that says the most about what was collected:

* a **histogram** (explicit or exponential buckets) as its *distribution*: one bar per bucket (``≤16 By``, ``≤64 By``, …,
  ``>1024 By``), from the latest point of each stream. Points are cumulative, so that is
  every value recorded so far. Several streams stand *side by side* in each bucket, each
  on its own baseline: the shape of every stream stays readable (stacked bars would only
  show the shape of the bottom one), and its legend gives its count ``n``.
* a counter, up-down counter or gauge as **lines over time**, one per stream, x in
  seconds since the chart's first point;
* the same as **bars of the latest value** per stream, the value written at the bar's end,
  when the history is too short for a line to say anything: fewer than
  ``MIN_COLLECTIONS`` collections in every stream, or all of them within ``MIN_SPAN_S``
  seconds (points from several processes, each sending at its exit, for instance).

A summary (quantiles computed by the sender) is drawn as bars of its latest quantiles;
a metric that has no point yet (declared, nothing recorded) is left out.

Each stream is labelled by its service and the attribute values that tell the streams
apart, so one metric name sent by several services shows every service on its own. An
axis that shows counts has integer ticks.

The text form lists each stream's latest value, and a histogram's bucket counts, with no
number that changes from run to run unless the data does (sums of durations are written
as durations, which nbval's sanitizer blanks).
"""

from __future__ import annotations

import io
import numbers
import warnings
from dataclasses import dataclass

import pandas as pd

from kit import capture
from kit.views.common import PALETTE, fmt_sum, service_color

MIN_COLLECTIONS = 3  # a line needs at least this many points in one of its streams ...
MIN_SPAN_S = 0.5     # ... spread over at least this many seconds; otherwise: bars of the latest values
COUNTING_KINDS = ("counter", "up_down_counter", "histogram", "exponential_histogram")
DISTRIBUTION_KINDS = ("histogram", "exponential_histogram")


@dataclass
class Stream:
    """The points of one stream (a service and one attribute set), and how to label it."""

    service: str
    values: str   # the attribute values that tell this metric's streams apart, comma-separated
    pairs: str    # the same as key=value
    several_services: bool
    points: pd.DataFrame

    @property
    def label(self) -> str:
        """``service {key=value}``: the text form."""
        return self.service + (f" {{{self.pairs}}}" if self.pairs else "")

    @property
    def short(self) -> str:
        """Values only, the service only when several services send this metric: a legend."""
        return f"{self.service} {self.values}".strip() if self.several_services or not self.values else self.values

    @property
    def with_service(self) -> str:
        """``service · values``: a bar's label."""
        return self.service + (f" · {self.values}" if self.values else "")

    @property
    def last(self):
        return self.points.value.iloc[-1]


def streams_of(df: pd.DataFrame) -> tuple[list[Stream], list[str]]:
    """The streams of one metric, sorted by label, and the attribute keys that vary
    between them (all keys when only one stream)."""
    keys = sorted({k for a in df.attributes for k in a})
    varying = [k for k in keys if len({repr(a.get(k)) for a in df.attributes}) > 1] or keys
    several = df.service.nunique() > 1
    key = df.service + "\x00" + df.attributes.map(lambda a: repr(sorted(a.items(), key=str)))
    streams = []
    for _, points in df.groupby(key, sort=False):
        attrs, service = points.attributes.iloc[0], points.service.iloc[0]
        streams.append(Stream(service, ", ".join(str(attrs.get(k)) for k in varying),
                              ", ".join(f"{k}={attrs.get(k)}" for k in varying), several, points))
    return sorted(streams, key=lambda s: s.label), varying


def bucket_labels(bounds: list, unit: str) -> list[str]:
    """``≤b`` for each bound and ``>last``, with the unit (seconds below 1 written in ms)."""
    shown = "" if unit in ("", "1") or unit.startswith("{") else unit

    def bound(b):
        if unit == "s" and b < 1:
            return f"{b * 1000:g} ms"
        return f"{b:g}" + (f" {shown}" if shown else "")
    return [f"≤{bound(b)}" for b in bounds] + ([f">{bound(bounds[-1])}"] if bounds else ["all values"])


def mode_of(kind: str, streams: list[Stream]) -> str:
    """``distribution`` for a histogram; ``lines`` when the history is long enough; else ``bars``."""
    if kind in DISTRIBUTION_KINDS:
        return "distribution"
    if kind == "summary":
        return "quantiles"
    times = pd.concat([s.points.time for s in streams])
    most = max(s.points.time.nunique() for s in streams)
    span_s = (times.max() - times.min()).total_seconds()
    return "lines" if most >= MIN_COLLECTIONS and span_s >= MIN_SPAN_S else "bars"


def counts(kind: str, unit: str, values) -> bool:
    """Whether an axis of these values shows counts (then its ticks are integers)."""
    whole = all(isinstance(v, numbers.Real) and float(v).is_integer() for v in values)
    return whole and (kind in COUNTING_KINDS or unit.startswith("{"))


def _fmt_value(v) -> str:
    return f"{v:g}" if isinstance(v, numbers.Real) else str(v)


def _legend_title(streams: list[Stream], varying: list[str]) -> str | None:
    return ", ".join((["service"] if streams[0].several_services else []) + varying) or None


class MetricsChart:
    """One panel per metric (see :mod:`kit.views.metrics` for what each panel shows)."""

    def __init__(self, points: pd.DataFrame, names: list[str]):
        self.points = points
        self.names = names

    def _metric(self, name):
        df = self.points[self.points.name == name]
        return df, df.kind.iloc[0], df.unit.iloc[0]

    def __repr__(self) -> str:
        if self.points.empty:
            return "no metric points yet: record something, then flush()"
        lines = []
        for name in self.names:
            df, kind, unit = self._metric(name)
            lines.append(f"{name} ({kind}{', ' + unit if unit else ''})")
            for s in streams_of(df)[0]:
                last = s.last
                if isinstance(last, dict) and "quantiles" in last:
                    lines.append(f"  {s.label}: count={last['count']} sum={fmt_sum(last['sum'], unit)}")
                    lines.append("    " + " · ".join(f"p{q * 100:g}: {fmt_sum(v, unit)}"
                                                     for q, v in last["quantiles"].items()))
                elif isinstance(last, dict):
                    lines.append(f"  {s.label}: count={last['count']} sum={fmt_sum(last['sum'], unit)}")
                    pairs = [f"{b}: {c}" for b, c in zip(bucket_labels(last["bounds"], unit), last["buckets"])]
                    lines += ["    " + " · ".join(pairs[i:i + 8]) for i in range(0, len(pairs), 8)]
                else:
                    lines.append(f"  {s.label}: {_fmt_value(last)}")
        return "\n".join(lines)

    def figure(self):
        """The matplotlib ``Figure`` the PNG is drawn from (None without points)."""
        if self.points.empty:
            return None
        from matplotlib.figure import Figure

        panels = []
        for name in self.names:
            df, kind, unit = self._metric(name)
            streams, varying = streams_of(df)
            panels.append((name, kind, unit, streams, varying, mode_of(kind, streams)))
        heights = [2.9 if m == "distribution" else 2.4 if m == "lines" else max(1.5, 0.9 + 0.32 * len(s))
                   for *_, s, _v, m in panels]
        fig = Figure(figsize=(7, sum(heights)), dpi=90, layout="constrained")
        axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
        t0 = self.points.time.min()
        for ax, (name, kind, unit, streams, varying, mode) in zip(axes, panels):
            ax.set_title(f"{name} ({kind}{', ' + unit if unit else ''})", fontsize=10, loc="left")
            draw = {"distribution": _distribution, "bars": _bars, "lines": _lines, "quantiles": _quantiles}[mode]
            draw(ax, kind, unit, streams, varying, t0)
            ax.grid(alpha=0.3)
            ax.set_axisbelow(True)
        return fig

    def _repr_png_(self):
        fig = self.figure()
        if fig is None:
            return None
        buf = io.BytesIO()
        with warnings.catch_warnings():  # a layout hint must not print into the notebook
            warnings.simplefilter("ignore")
            fig.savefig(buf, format="png")
        return buf.getvalue()


def _integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator
    axis.set_major_locator(MaxNLocator(integer=True))


def _distribution(ax, kind, unit, streams, varying, t0) -> None:
    """Bars per bucket, the streams side by side."""
    bounds = streams[0].last["bounds"]
    drawn = [s for s in streams if s.last["bounds"] == bounds]
    labels = bucket_labels(bounds, unit)
    width = 0.8 / len(drawn)
    for i, s in enumerate(drawn):
        offset = (i - (len(drawn) - 1) / 2) * width
        buckets = s.last["buckets"]
        bars = ax.bar([j + offset for j in range(len(labels))], buckets, width,
                      color=PALETTE[i % len(PALETTE)], label=f"{s.short} (n={s.last['count']})")
        if len(labels) * len(drawn) <= 32:
            ax.bar_label(bars, labels=[str(c) if c else "" for c in buckets], fontsize=7, padding=1)
    rotate = len(labels) > 6
    ax.set_xticks(range(len(labels)), labels, rotation=40 if rotate else 0, ha="right" if rotate else "center",
                  fontsize=8)
    _integer_ticks(ax.yaxis)
    ax.margins(y=0.18)
    ax.set_ylabel("count")
    skipped = len(streams) - len(drawn)
    ax.set_xlabel("bucket (values recorded so far, latest point)"
                  + (f"; {skipped} stream{'s' * (skipped > 1)} with other buckets: see the text form" if skipped else ""))
    ax.legend(fontsize=8, loc="upper right", title=_legend_title(drawn, varying), title_fontsize=8)


def _bars(ax, kind, unit, streams, varying, t0) -> None:
    """The latest value of each stream, one horizontal bar each, the value at its end."""
    values = [s.last for s in streams]
    rows = range(len(streams))
    by_service = len({s.service for s in streams}) > 1  # several services: each in its colour, as in the waterfall
    colors = [service_color(s.service) if by_service else PALETTE[i % len(PALETTE)] for i, s in enumerate(streams)]
    bars = ax.barh(rows, values, color=colors, height=0.6)
    ax.bar_label(bars, labels=[_fmt_value(v) for v in values], padding=3, fontsize=8)
    ax.set_yticks(rows, [s.with_service for s in streams], fontsize=8)
    ax.invert_yaxis()  # the first stream on top, as in the text form
    ax.margins(x=0.12)
    if counts(kind, unit, values):
        _integer_ticks(ax.xaxis)
    collections = max(s.points.time.nunique() for s in streams)
    times = pd.concat([s.points.time for s in streams])
    span_ms = (times.max() - times.min()).total_seconds() * 1000
    history = (f"at most {collections} collections per stream, within {span_ms:.0f} ms" if collections > 1
               else "1 collection per stream so far")
    ax.set_xlabel(f"{unit or 'value'}: the latest value of each stream\n({history}: too few for a line over time)",
                  fontsize=8)


def _quantiles(ax, kind, unit, streams, varying, t0) -> None:
    """A summary: the latest quantiles of each stream, as horizontal bars."""
    labels, values, colors = [], [], []
    for i, s in enumerate(streams):
        for q, v in s.last["quantiles"].items():
            labels.append(f"{s.with_service} p{q * 100:g}".strip())
            values.append(v)
            colors.append(PALETTE[i % len(PALETTE)])
    bars = ax.barh(range(len(values)), values, color=colors, height=0.6)
    ax.bar_label(bars, labels=[_fmt_value(v) for v in values], padding=3, fontsize=8)
    ax.set_yticks(range(len(values)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.margins(x=0.12)
    ax.set_xlabel(f"{unit or 'value'}: the quantiles the sender computed (latest point)", fontsize=8)


def _lines(ax, kind, unit, streams, varying, t0) -> None:
    """Each stream's values over time."""
    from matplotlib.ticker import FuncFormatter
    values = []
    for i, s in enumerate(streams):
        secs = (s.points.time - t0).dt.total_seconds()
        ax.plot(secs, s.points.value, marker="o", markersize=3, color=PALETTE[i % len(PALETTE)], label=s.short)
        values += list(s.points.value)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g} s"))
    ax.set_xlabel("time since the chart's first point")
    ax.set_ylabel(unit or "value")
    if counts(kind, unit, values):
        _integer_ticks(ax.yaxis)
    ax.legend(fontsize=8, loc="best", title=_legend_title(streams, varying), title_fontsize=8)


def metrics_chart(*names: str, points: pd.DataFrame | None = None, since=None) -> MetricsChart:
    """Chart the named metrics (all of them if none is named) over the points
    collected so far. The kit collects a point every second and at each flush().
    ``points``: another source of points, e.g. ``receiver.metric_points_df()``.
    ``since``: only the points collected from this time on (a timestamp)."""
    points = capture.metric_points_df() if points is None else points
    if since is not None:
        points = points[points.time >= pd.Timestamp(since)]
    points = points[points.value.map(lambda v: v is not None)]  # a metric with no point yet: nothing to draw
    names = [n for n in names if n in set(points.name)] if names else sorted(points.name.unique())
    return MetricsChart(points[points.name.isin(names)].reset_index(drop=True), names)
