"""Self-check about finding one trace among many."""

from __future__ import annotations

import pandas as pd

from kit.checks._result import Result, ok, wrong
from kit.checks.exercises import judged


def _frame(spans) -> pd.DataFrame | None:
    """The spans to judge by: a DataFrame, or what a kit.receiver Receiver holds."""
    if hasattr(spans, "spans_df"):
        spans = spans.spans_df()
    if not isinstance(spans, pd.DataFrame) or not {"trace_id", "name", "start"} <= set(spans.columns):
        return None
    return spans


@judged
def check_first_alert(spans, trace_id, sensor: str,
                      services: tuple = ("sensor", "processor", "alerter")) -> Result:
    """``trace_id`` is the trace of the first alert raised for ``sensor`` (the earliest
    ``publish alerts/<sensor>`` span), and that trace goes through ``services``. Give the
    check the receiver (or all the spans it received), not a frame you filtered."""
    alert_name = f"publish alerts/{sensor}"
    spans = _frame(spans)
    if spans is None:
        return wrong("Give the check the receiver, or the DataFrame of every span it received (receiver.spans_df()).",
                     "not-spans")
    if isinstance(trace_id, str) and len(trace_id) == 32 and trace_id != trace_id.lower():
        return wrong(f"{trace_id!r} is in capitals: trace ids are written in lower-case hex, as the trace_id column "
                     f"has them.", "trace-id-capitals")
    if isinstance(trace_id, pd.Series):
        return wrong("alert_trace is a pandas Series: take one value from it, e.g. .iloc[0].", "trace-id-series")
    if not isinstance(trace_id, str) or len(trace_id) != 32:
        more = (" 16 characters is a span id: take the trace_id column." if isinstance(trace_id, str)
                and len(trace_id) == 16 else " Take it from the trace_id column of a span.")
        return wrong(f"trace_id should be a trace id, 32 hex characters; got {trace_id!r}.{more}", "trace-id-shape")
    alerts = spans[spans.name == alert_name].sort_values("start", kind="stable")
    if alerts.empty:
        return wrong(f"There is no {alert_name!r} span in these spans: run the cell above (it starts the "
                     f"services) first.", "no-alerts")
    trace = spans[spans.trace_id == trace_id]
    if trace.empty:
        return wrong(f"No span of trace {trace_id} is in these spans: is it from this run?", "trace-unknown")
    if alert_name not in set(trace.name):
        other = sorted(n for n in set(trace.name) if n.startswith("publish alerts/"))
        if other:
            return wrong(f"Trace {trace_id} is an alert for another sensor ({other[0]!r}): filter on "
                         f"{alert_name!r}.", "alert-other-sensor")
        return wrong(f"Trace {trace_id} has no alert ({', '.join(sorted(set(trace.name)))}): its reading did "
                     f"not cross the threshold. Look for the spans named {alert_name!r}.", "trace-no-alert")
    first = alerts.trace_id.iloc[0]
    if trace_id != first:
        position = list(alerts.trace_id).index(trace_id) + 1 if trace_id in list(alerts.trace_id) else None
        which = "the last" if position == len(alerts) else f"number {position}"
        return wrong(f"That is {which} of the {len(alerts)} alerts for {sensor}, not the first: sort the "
                     f"{alert_name!r} spans by their start time and take the earliest.", "alert-not-first")
    missing = set(services) - set(trace.service)
    if missing:
        return wrong(f"Trace {trace_id} has no spans from {sorted(missing)}.", "trace-incomplete")
    return ok(f"Trace {trace_id} is the first alert for {sensor}; it goes through {', '.join(services)}.")


def _end_to_end(trace: pd.DataFrame) -> float:
    ends = trace.start + pd.to_timedelta(trace.duration_ms, unit="ms")
    return (ends.max() - trace.start.min()).total_seconds() * 1000


@judged
def check_end_to_end(spans, answer_ms, sensor: str, tolerance_ms: float = 0.05) -> Result:
    """``answer_ms`` is how long the first alert for ``sensor`` took end to end: from the
    start of its trace's first span (the sensor reading) to the end of its last span (the
    alerter's processing), in milliseconds, within ``tolerance_ms`` (half the 0.1 ms the
    check prints: the value as printed is accepted)."""
    import numbers
    spans = _frame(spans)
    if spans is None:
        return wrong("Give the check the receiver, or the DataFrame of every span it received (receiver.spans_df()).",
                     "not-spans")
    alerts = spans[spans.name == f"publish alerts/{sensor}"].sort_values("start", kind="stable")
    if alerts.empty:
        return wrong(f"There is no 'publish alerts/{sensor}' span in these spans: run the cell that starts the services.",
                     "no-alerts")
    trace = spans[spans.trace_id == alerts.trace_id.iloc[0]]
    expected = _end_to_end(trace)
    if isinstance(answer_ms, pd.Timedelta):
        return wrong(f"end_to_end_ms is a Timedelta ({answer_ms}): give the number of milliseconds, "
                     f"(end - start).total_seconds() * 1000.", "answer-not-a-number")
    if not isinstance(answer_ms, numbers.Real) or isinstance(answer_ms, bool):
        return wrong(f"end_to_end_ms should be a number of milliseconds, got {type(answer_ms).__name__} "
                     f"{str(answer_ms)[:40]!r}.", "answer-not-a-number")
    answer_ms = float(answer_ms)
    exact = 0.001  # the usual wrong answers are computed, not typed: name one only when it is that number
    same = 1e-5    # a computed time is one alert's to the nanosecond; alerts can be within the tolerance of each other
    others = [_end_to_end(spans[spans.trace_id == other]) for other in alerts.trace_id.iloc[1:]]

    def another_alert(within: float) -> Result | None:
        for number, other in enumerate(others, start=2):
            if abs(answer_ms - other) <= within:
                return wrong(f"{answer_ms:.4f} ms is the end-to-end time of alert number {number} of {len(alerts)}, not "
                             f"of the first: sort the 'publish alerts/{sensor}' spans by start and take the earliest's "
                             f"trace.", "answer-not-first")
        return None

    if abs(answer_ms - expected) > same and (taken := another_alert(same)) is not None:
        return taken
    if abs(answer_ms - expected) <= tolerance_ms:
        return ok(f"The first alert for {sensor} took {expected:.1f} ms from the reading to the alert's processing.")
    if (taken := another_alert(exact)) is not None:
        return taken
    if abs(answer_ms * 1000 - expected) <= tolerance_ms:  # (in seconds, the printed digits are too few to be exact)
        return wrong(f"{answer_ms!r} looks like seconds: give milliseconds (× 1000).", "answer-seconds")
    if abs(answer_ms - trace.duration_ms.sum()) <= exact:
        return wrong(f"{answer_ms:.1f} is the sum of every span's duration, but spans overlap (a child runs inside its "
                     f"parent) and there are gaps between processes: take the last end minus the first start.",
                     "answer-sum")
    root = trace[trace.parent_span_id.isna()]
    if not root.empty and abs(answer_ms - root.duration_ms.iloc[0]) <= exact:
        return wrong(f"{answer_ms:.1f} ms is the duration of the root span {root.name.iloc[0]!r} alone: it ends when "
                     f"the reading is published, long before the alert is processed. Take the end of the trace's "
                     f"last span.", "answer-root")
    return wrong(f"{answer_ms:.1f} ms is not the time from the first span's start to the last span's end in the "
                 f"first alert's trace: start = spans.start.min(), end = (spans.start + duration).max().",
                 "answer-wrong")
