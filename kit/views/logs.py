"""Log records joined to their spans: :func:`logs_table`."""

from __future__ import annotations

import pandas as pd

from kit import capture


def logs_table(trace_id: str | None = None, logs: pd.DataFrame | None = None,
               spans: pd.DataFrame | None = None) -> pd.DataFrame:
    """Log records with the name of the span each was written in (joined on
    trace_id and span_id), oldest first. ``trace_id`` keeps only the logs of that trace;
    ``logs`` and ``spans`` are other sources (e.g. ``receiver.logs_df()``, ``receiver.spans_df()``),
    this kernel's capture by default."""
    logs = capture.logs_df() if logs is None else logs
    if trace_id is not None:
        logs = logs[logs.trace_id == trace_id]
    spans = capture.spans_df() if spans is None else spans
    spans = spans[["trace_id", "span_id", "name"]].drop_duplicates(["trace_id", "span_id"])
    joined = logs.merge(spans.rename(columns={"name": "span"}), how="left", on=["trace_id", "span_id"])
    joined = joined.sort_values("time", kind="stable", ignore_index=True)
    return joined[["time", "severity", "service", "logger", "body", "span", "trace_id"]]
