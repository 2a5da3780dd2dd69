"""Metrics over time: :func:`metrics_chart`."""

from __future__ import annotations

import io
import warnings

import pandas as pd

from kit import capture
from kit.views.common import PALETTE, fmt_sum as _fmt_sum


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
