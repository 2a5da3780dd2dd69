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

Each stream is labelled by what tells it apart from the others, and nothing more: its
service when several services send the metric, then the fewest attributes whose values
differ between the streams (``alerter``, not ``alerter · publish, mqtt, 127.0.0.1, 46943``).
The unit is written out on the axis (``{message}`` → ``messages``, ``By`` → ``bytes``).
Ticks are round values; an axis that shows counts has integer ticks.

The picture is a PNG at twice its size (sharp on HiDPI screens), 720 px wide with 12 px
text; a trusted or untrusted notebook and GitHub all show it. Any value is drawn as text
(:mod:`kit.views.values`): a name or unit like ``$\\frac{$`` is not read as maths, a point
whose value is not a number is left out (and counted under the panel), and a metric that
cannot be drawn says so in its panel without taking the others down.

The text form lists each stream's latest value, and a histogram's bucket counts, with no
number that changes from run to run unless the data does (sums of durations are written
as durations, which nbval's sanitizer blanks).
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kit import capture
from kit.views.common import PALETTE, fmt_sum, service_color, unit_words
from kit.views.values import clip, mapping, number, text, when

MIN_COLLECTIONS = 3  # a line needs at least this many points in one of its streams ...
MIN_SPAN_S = 0.5     # ... spread over at least this many seconds; otherwise: bars of the latest values
COUNTING_KINDS = ("counter", "up_down_counter", "histogram", "exponential_histogram")
DISTRIBUTION_KINDS = ("histogram", "exponential_histogram")
WIDTH_PX = 720       # the picture's width on screen (the PNG has twice as many pixels)
FONT_PX = 12
STYLE = {"text.parse_math": False, "text.usetex": False, "font.size": FONT_PX, "axes.titlesize": 13,
         "axes.labelsize": FONT_PX, "xtick.labelsize": FONT_PX, "ytick.labelsize": FONT_PX,
         "legend.fontsize": FONT_PX, "legend.title_fontsize": FONT_PX, "font.family": "DejaVu Sans",
         "axes.formatter.useoffset": False}


@dataclass
class Stream:
    """The points of one stream (a service and one attribute set), and how to label it."""

    service: str
    values: str   # the attribute values that tell this metric's streams apart, comma-separated
    pairs: str    # the same as key=value
    several_services: bool
    points: pd.DataFrame
    short_label: str = ""   # the fewest words that tell this stream from the others

    @property
    def label(self) -> str:
        """``service {key=value}``: the text form."""
        return self.service + (f" {{{self.pairs}}}" if self.pairs else "")

    @property
    def short(self) -> str:
        """What tells this stream apart (a legend or a bar's label)."""
        return self.short_label or self.service or "(all)"

    @property
    def last(self):
        return self.points.value.iloc[-1]


def clean(points: pd.DataFrame) -> pd.DataFrame:
    """Metric points with every cell the views read of a safe type: text names, services,
    kinds and units, dict attributes, UTC times (None when unknown)."""
    if points is None or len(points) == 0:
        return pd.DataFrame(columns=capture.METRIC_COLUMNS)
    df = pd.DataFrame({
        "time": [when(t) for t in points.get("time", [None] * len(points))],
        "service": [text(s) for s in points.get("service", [""] * len(points))],
        "name": [text(n) for n in points.get("name", [""] * len(points))],
        "kind": [text(k) for k in points.get("kind", [""] * len(points))],
        "unit": [text(u) for u in points.get("unit", [""] * len(points))],
        "attributes": [mapping(a) for a in points.get("attributes", [{}] * len(points))],
        "value": list(points.get("value", [None] * len(points))),
    })
    return df


def _distinguishing(streams_attrs: list[dict], keys: list[str]) -> list[str]:
    """The fewest keys whose values tell the streams apart (greedy: the key that splits most first)."""
    chosen: list[str] = []

    def groups(ks):
        return len({tuple(text(a.get(k)) for k in ks) for a in streams_attrs})

    target = groups(keys)
    while groups(chosen) < target:
        best = max((k for k in keys if k not in chosen), key=lambda k: (groups(chosen + [k]), -keys.index(k)))
        chosen.append(best)
    return chosen


def streams_of(df: pd.DataFrame) -> tuple[list[Stream], list[str]]:
    """The streams of one metric, sorted by label, and the attribute keys that vary
    between them (all keys when only one stream)."""
    keys = sorted({k for a in df.attributes for k in a})
    varying = [k for k in keys if len({text(a.get(k)) for a in df.attributes}) > 1] or keys
    several = df.service.nunique() > 1
    key = df.service + "\x00" + df.attributes.map(lambda a: text(sorted((k, text(v)) for k, v in a.items())))
    streams = []
    for _, points in df.groupby(key, sort=False):
        attrs, service = points.attributes.iloc[0], points.service.iloc[0]
        streams.append(Stream(service, ", ".join(text(attrs.get(k)) for k in varying),
                              ", ".join(f"{k}={text(attrs.get(k))}" for k in varying), several, points))
    streams.sort(key=lambda s: s.label)
    _label(streams, varying)
    return streams, varying


def _label(streams: list[Stream], varying: list[str]) -> None:
    """Each stream's short label: its service if several services send the metric, then the
    values of the fewest attributes that tell the streams of one service apart."""
    several = len({s.service for s in streams}) > 1
    by_service: dict = {}
    for s in streams:
        by_service.setdefault(s.service if several else "", []).append(s)
    for service, group in by_service.items():
        attrs = [s.points.attributes.iloc[0] for s in group]
        keys = _distinguishing(attrs, varying) if len(group) > 1 else []
        for s, a in zip(group, attrs):
            words = ([s.service] if several else []) + [clip(text(a.get(k)), 40) for k in keys]
            s.short_label = clip(" · ".join(w for w in words if w), 60)


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
    times = [t for s in streams for t in s.points.time if t is not None]
    most = max(len({t for t in s.points.time if t is not None}) for s in streams)
    span_s = (max(times) - min(times)).total_seconds() if times else 0
    return "lines" if most >= MIN_COLLECTIONS and span_s >= MIN_SPAN_S else "bars"


def counts(kind: str, unit: str, values) -> bool:
    """Whether an axis of these values shows counts (then its ticks are integers)."""
    whole = all(isinstance(v, numbers.Real) and float(v).is_integer() for v in values)
    return whole and (kind in COUNTING_KINDS or unit.startswith("{"))


def _fmt_value(v) -> str:
    return f"{v:g}" if isinstance(v, numbers.Real) else text(v)


def _is_histogram(v) -> bool:
    return (isinstance(v, dict) and isinstance(v.get("bounds"), (list, tuple)) and isinstance(v.get("buckets"), (list, tuple))
            and all(number(b) is not None for b in v["bounds"]) and all(number(c) is not None for c in v["buckets"])
            and len(v["buckets"]) == len(v["bounds"]) + 1)


def _is_summary(v) -> bool:
    return isinstance(v, dict) and isinstance(v.get("quantiles"), dict) and all(
        number(q) is not None and number(x) is not None for q, x in v["quantiles"].items())


LARGEST = 1e300   # beyond this, an axis' span overflows a float (matplotlib's ticks then raise)


def _in_range(value) -> bool:
    v = number(value)
    return v is not None and abs(v) <= LARGEST


def drawable(kind: str, value) -> bool:
    """Whether a point's value can be drawn for its kind (numbers finite and within ±LARGEST)."""
    if kind in DISTRIBUTION_KINDS:
        return _is_histogram(value) and all(_in_range(b) for b in value["bounds"]) and all(
            _in_range(c) for c in value["buckets"])
    if kind == "summary":
        return _is_summary(value) and all(_in_range(q) and _in_range(x) for q, x in value["quantiles"].items())
    return _in_range(value)


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
            lines.append(f"{clip(name, 120)} ({clip(kind, 40)}{', ' + clip(unit, 40) if unit else ''})")
            try:
                for s in streams_of(df)[0]:
                    lines += _text_of(s, unit)
            except Exception as err:  # one odd metric never hides the others
                lines.append(f"  (could not list its points: {type(err).__name__})")
        return "\n".join(lines)

    def figure(self):
        """The matplotlib ``Figure`` the PNG is drawn from (None without points)."""
        if self.points.empty:
            return None
        import matplotlib
        from matplotlib.figure import Figure

        with matplotlib.rc_context(STYLE), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)   # numpy's overflow notes: never in a learner's cell
            panels = []
            for name in self.names:
                df, kind, unit = self._metric(name)
                good = df[[drawable(kind, v) for v in df.value]]
                skipped = len(df) - len(good)
                streams, varying = streams_of(good) if len(good) else ([], [])
                mode = mode_of(kind, streams) if streams else "none"
                panels.append((name, kind, unit, streams, varying, mode, skipped))
            heights = [_height(m, s) for *_, s, _v, m, _sk in panels]
            fig = Figure(figsize=(WIDTH_PX / 72, sum(heights) / 72), dpi=72, layout="constrained")
            axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
            t0 = min((t for t in self.points.time if t is not None), default=None)
            for ax, (name, kind, unit, streams, varying, mode, skipped) in zip(axes, panels):
                words = unit_words(unit)
                left_out = f" · {skipped} point{'s' * (skipped != 1)} left out (not a value it can draw)" if skipped else ""
                ax.set_title(clip(f"{name}  ({kind}{', ' + words if words else ''}){left_out}", 100), loc="left")
                try:
                    if mode == "none":
                        raise ValueError("no point with a value that can be drawn")
                    draw = {"distribution": _distribution, "bars": _bars, "lines": _lines,
                            "quantiles": _quantiles}[mode]
                    draw(ax, kind, unit, streams, varying, t0)
                    ax.grid(alpha=0.35)
                    ax.set_axisbelow(True)
                except Exception as err:   # this metric cannot be drawn: say so, draw the others
                    ax.cla()
                    ax.set_axis_off()
                    ax.set_title(clip(f"{name}  ({kind})", 90), loc="left")
                    ax.text(0, 0.5, clip(f"not drawn: {err}", 100), transform=ax.transAxes, color="#595959")
            return fig

    def _repr_png_(self) -> bytes | None:
        """The chart as a PNG, twice its size on screen (:data:`WIDTH_PX` px wide)."""
        import matplotlib

        from kit.views import png
        fig = self.figure()
        if fig is None:
            return None
        with matplotlib.rc_context(STYLE), np.errstate(all="ignore"):   # (a layout hint is not printed into the notebook)
            try:
                return png.save(fig, dpi=144)
            except Exception as err:  # noqa: BLE001  a value matplotlib cannot lay out: say so, in the picture
                from matplotlib.figure import Figure
                note = Figure(figsize=(WIDTH_PX / 72, 0.6), dpi=72)
                note.text(0.01, 0.5, clip(f"The chart could not be drawn ({type(err).__name__}: {err}); "
                                          f"its values are in repr(chart).", 140), va="center", color="#595959")
                return png.save(note, dpi=144)

    def _repr_mimebundle_(self, include=None, exclude=None):
        png = self._repr_png_()
        if png is None:
            return None
        return {"image/png": png}, {"image/png": {"width": WIDTH_PX}}


def _height(mode: str, streams: list) -> float:
    """A panel's height in px."""
    if mode == "distribution":
        return 270
    if mode == "lines":
        return 230
    if mode == "none":
        return 70
    rows = len(streams) if mode == "bars" else sum(len(s.last["quantiles"]) for s in streams)
    return max(120, 86 + 26 * rows)


def _text_of(s: Stream, unit: str) -> list[str]:
    last = s.last
    if _is_summary(last):
        return [f"  {s.label}: count={text(last.get('count'))} sum={fmt_sum(last.get('sum'), unit)}",
                "    " + " · ".join(f"p{q * 100:g}: {fmt_sum(v, unit)}" for q, v in last["quantiles"].items())]
    if _is_histogram(last):
        pairs = [f"{b}: {c}" for b, c in zip(bucket_labels(last["bounds"], unit), last["buckets"])]
        return ([f"  {s.label}: count={text(last.get('count'))} sum={fmt_sum(last.get('sum'), unit)}"]
                + ["    " + " · ".join(pairs[i:i + 8]) for i in range(0, len(pairs), 8)])
    return [f"  {s.label}: {clip(_fmt_value(last), 200)}"]


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
                      color=PALETTE[i % len(PALETTE)], label=f"{s.short} (n={text(s.last.get('count'))})")
        if len(labels) * len(drawn) <= 24:
            ax.bar_label(bars, labels=[str(c) if c else "" for c in buckets], padding=1)
    rotate = len(labels) > 6
    ax.set_xticks(range(len(labels)), labels, rotation=35 if rotate else 0, ha="right" if rotate else "center")
    _integer_ticks(ax.yaxis)
    ax.margins(y=0.2)
    ax.set_ylabel("count")
    skipped = len(streams) - len(drawn)
    ax.set_xlabel("bucket (values recorded so far, latest point)"
                  + (f"; {skipped} stream{'s' * (skipped > 1)} with other buckets: see the text form" if skipped else ""))
    if len(drawn) > 1 or drawn[0].short_label:
        ax.legend(loc="upper right")


def _bars(ax, kind, unit, streams, varying, t0) -> None:
    """The latest value of each stream, one horizontal bar each, the value at its end."""
    values = [number(s.last) for s in streams]
    rows = range(len(streams))
    by_service = len({s.service for s in streams}) > 1  # several services: each in its colour, as in the waterfall
    colors = [service_color(s.service) if by_service else PALETTE[i % len(PALETTE)] for i, s in enumerate(streams)]
    bars = ax.barh(rows, values, color=colors, height=0.6)
    ax.bar_label(bars, labels=[_fmt_value(s.last) for s in streams], padding=3)
    ax.set_yticks(rows, [s.short for s in streams])
    ax.invert_yaxis()  # the first stream on top, as in the text form
    ax.margins(x=0.15)
    if counts(kind, unit, values):
        _integer_ticks(ax.xaxis)
    collections = max(len({t for t in s.points.time if t is not None}) for s in streams)
    times = [t for s in streams for t in s.points.time if t is not None]
    span_ms = (max(times) - min(times)).total_seconds() * 1000 if times else 0
    history = (f"{collections} collections within {span_ms:.0f} ms" if collections > 1
               else "1 collection so far")
    ax.set_xlabel(f"{unit_words(unit) or 'value'}, latest ({history}: too few for a line)")


def _quantiles(ax, kind, unit, streams, varying, t0) -> None:
    """A summary: the latest quantiles of each stream, as horizontal bars."""
    labels, values, colors = [], [], []
    for i, s in enumerate(streams):
        for q, v in s.last["quantiles"].items():
            labels.append(f"{s.short} p{number(q) * 100:g}".strip())
            values.append(number(v))
            colors.append(PALETTE[i % len(PALETTE)])
    bars = ax.barh(range(len(values)), values, color=colors, height=0.6)
    ax.bar_label(bars, labels=[_fmt_value(v) for v in values], padding=3)
    ax.set_yticks(range(len(values)), labels)
    ax.invert_yaxis()
    ax.margins(x=0.15)
    ax.set_xlabel(f"{unit_words(unit) or 'value'}: the quantiles the sender computed (latest point)")


def _lines(ax, kind, unit, streams, varying, t0) -> None:
    """Each stream's values over time."""
    from matplotlib.ticker import FuncFormatter
    values = []
    for i, s in enumerate(streams):
        timed = [(t, number(v)) for t, v in zip(s.points.time, s.points.value) if t is not None]
        secs = [(t - t0).total_seconds() for t, _ in timed]
        ax.plot(secs, [v for _, v in timed], marker="o", markersize=3, color=PALETTE[i % len(PALETTE)],
                label=s.short)
        values += [v for _, v in timed]
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g} s"))
    ax.set_xlabel("time since the chart's first point")
    ax.set_ylabel(unit_words(unit) or "value")
    if counts(kind, unit, values):
        _integer_ticks(ax.yaxis)
    if len(streams) > 1 or streams[0].short_label:
        ax.legend(loc="best")


def metrics_chart(*names: str, points: pd.DataFrame | None = None, since=None) -> MetricsChart:
    """Chart the named metrics (all of them if none is named) over the points
    collected so far. The kit collects a point every second and at each flush().
    ``points``: another source of points, e.g. ``receiver.metric_points_df()``.
    ``since``: only the points collected from this time on (a timestamp)."""
    points = clean(capture.metric_points_df() if points is None else points)
    if since is not None:
        start = when(pd.Timestamp(since))
        points = points[[t is not None and start is not None and t >= start for t in points.time]]
    points = points[points.value.map(lambda v: v is not None)]  # a metric with no point yet: nothing to draw
    present = set(points.name)
    names = [text(n) for n in names if text(n) in present] if names else sorted(present)
    return MetricsChart(points[points.name.isin(names)].reset_index(drop=True), names)
