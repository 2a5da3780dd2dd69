"""Log records joined to their spans: :func:`logs_table`."""

from __future__ import annotations

import pandas as pd

from kit import capture


def logs_table(trace_id: str | None = None) -> pd.DataFrame:
    """Log records with the name of the span each was written in (joined on
    trace_id and span_id). ``trace_id`` keeps only the logs of that trace."""
    logs = capture.logs_df(trace_id)
    spans = capture.spans_df()[["trace_id", "span_id", "name"]].rename(columns={"name": "span"})
    joined = logs.merge(spans, how="left", on=["trace_id", "span_id"])
    return joined[["time", "severity", "service", "logger", "body", "span", "trace_id"]]
