"""Self-check about finding one trace among many."""

from __future__ import annotations

import pandas as pd

from kit.checks._result import Result, ok, wrong


def check_first_alert(spans: pd.DataFrame, trace_id, sensor: str,
                      services: tuple = ("sensor", "processor", "alerter")) -> Result:
    """``trace_id`` is the trace of the first alert raised for ``sensor`` (the earliest
    ``publish alerts/<sensor>`` span in ``spans``), and that trace goes through ``services``."""
    alert_name = f"publish alerts/{sensor}"
    if not isinstance(trace_id, str) or len(trace_id) != 32:
        more = (" 16 characters is a span id: take the trace_id column." if isinstance(trace_id, str)
                and len(trace_id) == 16 else " Take it from the trace_id column of a span.")
        return wrong(f"trace_id should be a trace id, 32 hex characters; got {trace_id!r}.{more}")
    alerts = spans[spans.name == alert_name].sort_values("start", kind="stable")
    if alerts.empty:
        return wrong(f"There is no {alert_name!r} span in these spans: run the cell above (it starts the "
                     f"services) first.")
    trace = spans[spans.trace_id == trace_id]
    if trace.empty:
        return wrong(f"No span of trace {trace_id} is in these spans: is it from this run?")
    if alert_name not in set(trace.name):
        other = sorted(n for n in set(trace.name) if n.startswith("publish alerts/"))
        if other:
            return wrong(f"Trace {trace_id} is an alert for another sensor ({other[0]!r}): filter on "
                         f"{alert_name!r}.")
        return wrong(f"Trace {trace_id} has no alert ({', '.join(sorted(set(trace.name)))}): its reading did "
                     f"not cross the threshold. Look for the spans named {alert_name!r}.")
    first = alerts.trace_id.iloc[0]
    if trace_id != first:
        position = list(alerts.trace_id).index(trace_id) + 1 if trace_id in list(alerts.trace_id) else None
        which = "the last" if position == len(alerts) else f"number {position}"
        return wrong(f"That is {which} of the {len(alerts)} alerts for {sensor}, not the first: sort the "
                     f"{alert_name!r} spans by their start time and take the earliest.")
    missing = set(services) - set(trace.service)
    if missing:
        return wrong(f"Trace {trace_id} has no spans from {sorted(missing)}.")
    return ok(f"Trace {trace_id} is the first alert for {sensor}; it goes through {', '.join(services)}.")
