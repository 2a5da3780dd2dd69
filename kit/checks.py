"""Self-checks for the exercises: each looks at what was really captured and
says what is right, or exactly what is missing and how to fix it.

    >>> from kit.checks import check_span
    >>> check_span("read sensor", attributes={"sensor.id": "s-1"})
    ✗ The span 'read sensor' has no attribute 'sensor.id'. Try span.set_attribute("sensor.id", "s-1").

Every check flushes first, looks at the *newest* matching span (so re-running
your cell is fine), and returns a :class:`Result` that is printed as ✓ or ✗.
Use ``result.passed`` in code.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kit import capture, telemetry


@dataclass
class Result:
    passed: bool
    message: str

    def __repr__(self):
        return ("✓ " if self.passed else "✗ ") + self.message

    def __bool__(self):
        return self.passed


def _newest_span(name: str):
    telemetry.flush()
    df = capture.spans_df()
    match = df[df.name == name]
    if match.empty:
        seen = ", ".join(repr(n) for n in dict.fromkeys(df.name.tolist()[-8:])) or "none yet"
        return None, Result(False, f"No span named {name!r} was captured. Spans seen lately: {seen}. "
                                   f"Check the name you gave start_as_current_span(...) and run the cell.")
    return match.iloc[-1], None


def check_span(name: str, *, kind: str | None = None, attributes: dict | None = None,
               events: list[str] | None = None, status: str | None = None,
               exception: str | None = None, service: str | None = None) -> Result:
    """The newest span called ``name`` has this kind, these attributes (and
    values), these event names, this status (``"ERROR"``/``"OK"``), a recorded
    exception of this type, and comes from this service."""
    span, missing = _newest_span(name)
    if missing is not None:
        return missing
    if service and span.service != service:
        return Result(False, f"The span {name!r} comes from service {span.service!r}, not {service!r}: "
                             f"make it with that service's tracer.")
    if kind and span.kind != kind:
        return Result(False, f"The span {name!r} has kind {span.kind}, expected {kind}. "
                             f"Pass kind=SpanKind.{kind} when you start it.")
    for key, value in (attributes or {}).items():
        if key not in span.attributes:
            return Result(False, f"The span {name!r} has no attribute {key!r}. "
                                 f"Try span.set_attribute({key!r}, {value!r}).")
        if span.attributes[key] != value:
            return Result(False, f"The span {name!r} has {key}={span.attributes[key]!r}, expected {value!r}.")
    event_names = [e[0] for e in span.events]
    for event in events or []:
        if event not in event_names:
            return Result(False, f"The span {name!r} has no event {event!r} (it has {event_names or 'none'}). "
                                 f"Try span.add_event({event!r}).")
    if status and span.status != status:
        return Result(False, f"The span {name!r} has status {span.status}, expected {status}. "
                             f"Try span.set_status(Status(StatusCode.{status})).")
    if exception:
        types = [e[1].get("exception.type") for e in span.events if e[0] == "exception"]
        if exception not in types:
            return Result(False, f"The span {name!r} has no recorded {exception}. "
                                 f"Call span.record_exception(exc) in the except block.")
    return Result(True, f"The span {name!r} is as expected.")


def check_parent(child: str, parent: str) -> Result:
    """The newest span ``child`` is a child of a span called ``parent``, in the same trace."""
    span, missing = _newest_span(child)
    if missing is not None:
        return missing
    df = capture.spans_df(trace_id=span.trace_id)
    if pd.isna(span.parent_span_id):
        return Result(False, f"The span {child!r} has no parent: it started a trace of its own. "
                             f"Start it inside the {parent!r} span, or pass the context you extracted "
                             f"(context=ctx).")
    parents = df[df.span_id == span.parent_span_id]
    if parents.empty:
        return Result(False, f"The span {child!r} has a parent ({span.parent_span_id}) that was not "
                             f"captured: did the context come from another trace?")
    if parents.name.iloc[0] != parent:
        return Result(False, f"The span {child!r} is a child of {parents.name.iloc[0]!r}, not {parent!r}.")
    return Result(True, f"{child!r} is a child of {parent!r} in trace {span.trace_id}.")


def check_metric(name: str, expected, attributes: dict | None = None) -> Result:
    """The metric ``name`` has the value ``expected`` for the given attributes
    (a counter's total, a gauge's value, a histogram's count)."""
    telemetry.flush()
    df = capture.metrics_df(name)
    if df.empty:
        return Result(False, f"No metric named {name!r} has recorded anything. Did you create it with "
                             f"that name and call .add()/.record() on it?")
    want = attributes or {}
    rows = df[df.attributes.map(lambda a: a == want)]
    if rows.empty:
        sets = [a for a in df.attributes]
        return Result(False, f"{name!r} has no stream with attributes {want}; it has {sets}. "
                             f"Pass the attributes as the second argument of add()/record().")
    value = rows.value.iloc[0]
    value = value["count"] if isinstance(value, dict) else value
    if value != expected:
        again = (" Counters add up: did the cell run more than once? Re-run the notebook from the top."
                 if expected and value > expected and value % expected == 0 else "")
        return Result(False, f"{name!r} {want} is {value}, expected {expected}.{again}")
    return Result(True, f"{name!r} {want} = {value}.")


def check_log_in_span(text: str, span_name: str, severity: str | None = None) -> Result:
    """A log record containing ``text`` was written inside the newest ``span_name``
    span (same trace_id and span_id), with this severity (e.g. ``"WARN"``)."""
    span, missing = _newest_span(span_name)
    if missing is not None:
        return missing
    logs = capture.logs_df()
    logs = logs[logs.body.astype(str).str.contains(text, regex=False)]
    if logs.empty:
        return Result(False, f"No log record contains {text!r}. Log it with a logger, e.g. "
                             f"logging.getLogger('myapp').warning({text!r}).")
    last = logs.iloc[-1]
    if last.trace_id != span.trace_id or last.span_id != span.span_id:
        return Result(False, f"The log {text!r} was written outside the span {span_name!r}. "
                             f"Write it inside the `with ... as span:` block.")
    if severity and last.severity != severity:
        return Result(False, f"The log {text!r} has severity {last.severity}, expected {severity}.")
    return Result(True, f"The log {text!r} carries the trace and span id of {span_name!r}.")


def check_received(messages, topics: list[str]) -> Result:
    """The paho messages in ``messages`` came in on exactly these topics (any order)."""
    got = sorted(m.topic for m in messages)
    want = sorted(topics)
    if not got:
        return Result(False, "No message arrived. Is the client subscribed (in on_connect) to a filter "
                             "that matches, and did you wait for the messages before checking?")
    missing = [t for t in want if t not in got]
    extra = [t for t in got if t not in want]
    if missing:
        return Result(False, f"Nothing arrived on {missing}; got {got}. Does your topic filter match them? "
                             f"'+' matches one level, '#' any number of levels at the end.")
    if extra:
        return Result(False, f"Also received {extra}, which you did not ask for: narrow the filter.")
    return Result(True, f"Received {len(got)} messages on {sorted(set(got))}.")


def check_trace(spans, trace_id, span_name: str, services: set[str]) -> Result:
    """``trace_id`` names a trace (in the spans DataFrame ``spans``) that has a span
    called ``span_name`` and spans from all of ``services``."""
    if not isinstance(trace_id, str) or len(trace_id) != 32:
        return Result(False, f"trace_id should be a trace id: 32 hex characters, got {trace_id!r}. "
                             f"Take it from the trace_id column of a span.")
    trace = spans[spans.trace_id == trace_id]
    if trace.empty:
        return Result(False, f"No span of trace {trace_id} was received. Is it from this run?")
    if span_name not in set(trace.name):
        return Result(False, f"Trace {trace_id} has no span {span_name!r}; it has {sorted(set(trace.name))}.")
    missing = set(services) - set(trace.service)
    if missing:
        return Result(False, f"Trace {trace_id} has no spans from {sorted(missing)}.")
    return Result(True, f"Trace {trace_id} goes through {', '.join(sorted(services))}.")


def check_collector_config(text: str) -> Result:
    """The collector config ``text`` passes :func:`kit.collector_config.check_config` with no error."""
    from kit.collector_config import check_config
    report = check_config(text)
    if report.ok:
        return Result(True, "The config has no errors" + (f" ({len(report)} warnings)" if len(report) else "") + ".")
    first = report.errors()[0]
    more = len(report.errors()) - 1
    return Result(False, f"{first.where}: {first.message}" + (f" (and {more} more error(s))" if more else ""))


def check_sampler(provider, ratio: float) -> Result:
    """``provider`` samples new traces at ``ratio`` and lets every other span follow its parent."""
    sampler = getattr(provider, "sampler", None)
    description = sampler.get_description() if sampler is not None else "none"
    want = f"ParentBased{{root:TraceIdRatioBased{{{ratio}}}"
    if description.startswith(want):
        return Result(True, f"{description.split(',')[0]}…: {ratio:.0%} of new traces, children follow their parent.")
    if description.startswith("TraceIdRatioBased"):
        return Result(False, f"The sampler is {description}: it ignores the parent's decision, so a trace can "
                             f"lose its middle. Wrap it: ParentBased(TraceIdRatioBased({ratio})).")
    return Result(False, f"The sampler is {description}; expected ParentBased(TraceIdRatioBased({ratio})).")
