"""Log records joined to their spans: :func:`logs_table`."""

from __future__ import annotations

import pandas as pd

from kit import capture
from kit.views.values import maybe_id, text, when

COLUMNS = ["time", "severity", "service", "logger", "body", "span", "trace_id"]


class LogsTable(pd.DataFrame):
    """A DataFrame (select, filter, ``len`` as usual) whose HTML MathJax leaves alone: a ``$…$``
    in a log body stays text in JupyterLab. pandas already cuts long cells (``max_colwidth``)."""

    @property
    def _constructor(self):
        return LogsTable

    def _repr_html_(self):
        table = super()._repr_html_()
        return None if table is None else f'<div class="kit-logs tex2jax_ignore mathjax_ignore">{table}</div>'


def _key(value) -> str | None:
    """An id as the join compares it (any value as its text, None and NaN as None)."""
    return maybe_id(value)


def logs_table(trace_id: str | None = None, logs: pd.DataFrame | None = None,
               spans: pd.DataFrame | None = None) -> LogsTable:
    """Log records with the name of the span each was written in (joined on
    trace_id and span_id), oldest first. ``trace_id`` keeps only the logs of that trace;
    ``logs`` and ``spans`` are other sources (e.g. ``receiver.logs_df()``, ``receiver.spans_df()``),
    this kernel's capture by default. A record with no time (or an odd one) is listed last."""
    logs = capture.logs_df() if logs is None else logs
    spans = capture.spans_df() if spans is None else spans
    col = lambda df, name: df[name] if name in df else pd.Series([None] * len(df), index=df.index)  # noqa: E731
    mine = pd.DataFrame({"trace_id": col(logs, "trace_id").map(_key), "span_id": col(logs, "span_id").map(_key),
                         "time": col(logs, "time"), "severity": col(logs, "severity"),
                         "service": col(logs, "service"), "logger": col(logs, "logger"),
                         "body": col(logs, "body")})
    if trace_id is not None:
        mine = mine[mine.trace_id == text(trace_id)]
    names = pd.DataFrame({"trace_id": col(spans, "trace_id").map(_key), "span_id": col(spans, "span_id").map(_key),
                          "span": col(spans, "name")}).drop_duplicates(["trace_id", "span_id"])
    joined = mine.merge(names, how="left", on=["trace_id", "span_id"])
    order = joined.time.map(lambda t: (when(t) is None, when(t) or pd.Timestamp(0, tz="UTC")))
    joined = joined.iloc[sorted(range(len(joined)), key=lambda i: order.iloc[i])].reset_index(drop=True)
    return LogsTable(joined[COLUMNS])
