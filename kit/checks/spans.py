"""Self-checks about spans: their name, kind, attributes, events, status and parent.

Each looks only at the spans the cell being run made (see :mod:`kit.attempts`),
so re-running a cell, or running the solution and then the blank, is judged right.
"""

from __future__ import annotations

from opentelemetry import trace

from kit import attempts, capture
from kit.checks._result import Result, did_you_mean, names, ok, wrong
from kit.checks.contract import KIND_HINTS  # noqa: F401  (the capstone's checkpoint reads them here too)
from kit.checks.contract import Recorded
from kit.checks.exercises import call_learner, judged


def leaked_context() -> Result | None:
    """A span still current while a check runs at the top of a cell: a ``context.attach``
    without its ``detach`` (or a check called inside a ``with`` block). Every span started
    afterwards, in every later cell, would join that one trace."""
    current = trace.get_current_span()
    if not current.get_span_context().is_valid:
        return None
    name = getattr(current, "name", "a span")
    return wrong(f"{name!r} is still the current span while the check runs: a context.attach(...) without its "
                 f"context.detach(token)? Every span started from now on, in later cells too, would join that "
                 f"trace. Detach it (or restart the kernel), and run the check outside any `with` block.",
                 "context-leaked")


def made(name: str):
    """The newest span called ``name`` that the cell being run made, or (None, why not)."""
    leaked = leaked_context()
    if leaked is not None:
        return None, leaked
    spans = attempts.spans()
    match = spans[spans.name == name]
    if not match.empty:
        return match.iloc[-1], None
    if name in attempts.unfinished_spans():
        return None, wrong(f"The span {name!r} was started in this cell but never ended, so it was not "
                           f"recorded. Start it with `with tracer.start_as_current_span({name!r}):`, which "
                           f"ends it at the end of the block (or call span.end()).", "span-not-ended")
    made_here = spans.name.tolist()
    if not made_here:
        return None, wrong(f"This cell made no span at all, so there is no {name!r}. The check judges only "
                           f"the cell it is in: put your code in this cell and run it.", "span-missing")
    earlier = "" if capture.spans_df()[lambda df: df.name == name].empty else \
        " (an earlier cell made one, but the check judges only this cell)"
    return None, wrong(f"This cell made no span named {name!r}{earlier}. It made: {names(made_here)}."
                       + (did_you_mean(name, made_here) or " Check the name you gave start_as_current_span(...)."),
                       "span-missing")


@judged
def check_span(name: str, *, kind: str | None = None, attributes: dict | None = None,
               events: list[str] | None = None, status: str | None = None,
               exception: str | None = None, service: str | None = None, how: str | None = None,
               made_by: str | None = None) -> Result:
    """The span ``name`` made by this cell has this kind, these attributes (and
    values), these event names, this status (``"ERROR"``/``"OK"``), a recorded
    exception of this type, and comes from this service. ``how``: the fix to suggest
    when an attribute is missing (default: ``span.set_attribute(...)``). ``made_by``: the
    instrumentation library (tracer name) that must have made it, e.g.
    ``"opentelemetry.instrumentation.paho_mqtt"``; every span of that name this cell made is judged."""
    from kit.checks import _paho, cleanup
    if made_by in _paho.MODULES:
        made_by = _paho.scope()
        before = cleanup.instrumented_before()
        if before is not None:
            return before
    span, missing = made(name)
    if missing is not None:
        return missing
    if made_by:
        spans = attempts.spans()
        mine = spans[spans.name == name]
        strangers = mine[~mine.scope.fillna("").str.startswith(made_by)]
        if not strangers.empty:
            return wrong(f"A {name!r} span of this cell was made by the tracer {strangers.scope.iloc[0]!r}, not by "
                         f"{made_by}: let the instrumentation make it, and add to it with a hook.", "span-scope")
        for _, other in mine.iterrows():
            missing_keys = [k for k in (attributes or {}) if k not in other.attributes]
            if missing_keys and len(mine) > 1:
                return wrong(f"One of the {len(mine)} {name!r} spans of this cell has no {missing_keys[0]!r}: every "
                             f"span must carry it. " + (how or ""), "span-attribute")
    if service and span.service != service:
        return wrong(f"The span {name!r} comes from service {span.service!r}, not {service!r}: make it "
                     f"with that service's tracer.", "span-service")
    if kind and span.kind != kind:
        from opentelemetry.trace import SpanKind
        if span.kind not in SpanKind.__members__:
            return wrong(f"The span {name!r} was given kind={span.kind!r}, which is not a SpanKind: pass the enum, "
                         f"kind=SpanKind.{kind} (from opentelemetry.trace import SpanKind).", "span-kind")
        hint = KIND_HINTS.get((kind, span.kind), f"Pass kind=SpanKind.{kind} when you start it.")
        return wrong(f"The span {name!r} has kind {span.kind}, expected {kind}. {hint}", "span-kind")
    event_names = [e[0] for e in span.events]
    for key, value in (attributes or {}).items():
        if key not in span.attributes:
            close = did_you_mean(key, span.attributes)
            count = len(span.attributes)
            instead = (" It has no attributes." if not count else f" It has {names(span.attributes)}." if count <= 4
                       else f" It has {count} others.")
            return wrong(f"The span {name!r} has no attribute {key!r}.{instead}"
                         + (close or " " + (how or f"Try span.set_attribute({key!r}, {value!r}) inside the `with` "
                                                   f"block (one set after the span ended is dropped).")),
                         "span-attribute")
        if span.attributes[key] != value:
            return wrong(f"The span {name!r} has {key}={span.attributes[key]!r}, expected {value!r}.",
                         "span-attribute-value")
    for event in events or []:
        if event not in event_names:
            also = (f" {event!r} is an attribute of the span, not an event: an event is a moment, added "
                    f"with span.add_event({event!r})." if event in span.attributes else
                    did_you_mean(event, event_names) or f" Try span.add_event({event!r}) inside the block.")
            return wrong(f"The span {name!r} has no event {event!r} (it has {names(event_names)}).{also}", "span-event")
    if status and span.status != status:
        how = "Status(StatusCode.ERROR, 'why')" if status == "ERROR" else f"Status(StatusCode.{status})"
        return wrong(f"The span {name!r} has status {span.status}, expected {status}. "
                     f"Call span.set_status({how}).", "span-status")
    if exception:
        types = [e[1].get("exception.type") for e in span.events if e[0] == "exception"]
        if exception not in types:
            return wrong(f"The span {name!r} has no recorded {exception}: call span.record_exception(exc) "
                         f"in the except block.", "span-exception")
    return ok(f"The span {name!r} is as expected.")


@judged
def check_parent(child: str, parent: str, *, sibling: str | None = None, remote: bool | None = None) -> Result:
    """The span ``child`` made by this cell is a child of the span ``parent`` this cell made.

    ``sibling``: a span that must be in the same ``parent`` too, and end before ``child``
    starts (e.g. "add a span after this one"). ``remote=True``: the parent must come from
    an extracted context (a carrier or a message), not from a span current in this thread."""
    span, missing = made(child)
    if missing is not None:
        return missing
    here = attempts.spans()
    by_id = Recorded(here, capture.spans_df)   # the session's spans read only for a parent not made here
    if span.parent_span_id is None:
        linked = [by_id[s]["name"] for _, s in span.links if s in by_id]
        if parent in linked:
            return wrong(f"{child!r} is linked to {parent!r} but is not its child: the task asks for a "
                         f"parent. Start it with context=ctx instead of links=[...].", "span-linked")
        same_service = not here[(here.name == parent) & (here.service == span.service)].empty
        fix = (f"Start it inside the `with ... {parent!r}` block (indent it under that line)." if same_service
               else f"Start it with context=ctx, where ctx is what propagate.extract(...) read from the "
                    f"carrier that {parent!r} injected.")
        return wrong(f"The span {child!r} has no parent: it started a trace of its own. {fix}", "span-no-parent")
    found = by_id.get(span.parent_span_id)
    if found is None:
        return wrong(f"The span {child!r} has a parent ({span.parent_span_id}) that this kernel never "
                     f"recorded: the context it was started in came from elsewhere. Extract it from the "
                     f"carrier that {parent!r} injected.", "span-parent-unknown")
    if found["name"] != parent:
        ancestors = _ancestors(found, by_id)
        if parent in ancestors:
            return wrong(f"{child!r} is a child of {found['name']!r}, which is inside {parent!r}: it is nested "
                         f"one level too deep. Start it after the `with ... {found['name']!r}` block ends, "
                         f"still inside {parent!r}.", "span-too-deep")
        old = "" if not here[here.span_id == found["span_id"]].empty else \
            " That span was made by an earlier cell: the context came from an old message or variable."
        return wrong(f"{child!r} is a child of {found['name']!r}, not {parent!r}.{old}", "span-parent-wrong")
    if here[here.span_id == found["span_id"]].empty:
        return wrong(f"{child!r} is a child of a {parent!r} made by an earlier cell, not the one this cell "
                     f"made: it was started with an old context. Use the context of this cell's message.",
                     "span-old-parent")
    if remote and span.parent_remote is False:
        return wrong(f"{child!r} is a child of {parent!r}, but not through the carrier or message: its parent was a "
                     f"span current in this process (nested in the producer's `with`, a shared variable, or "
                     f"set_span_in_context). Start it from what was extracted, context=propagate.extract(...).",
                     "span-not-remote")
    if sibling:
        twins = here[(here.name == sibling) & (here.trace_id == span.trace_id)]
        if twins.empty:
            also = here[here.name == sibling]
            return wrong(f"{sibling!r} is not in the same trace as {child!r}" if not also.empty else
                         f"This cell made no {sibling!r}: keep it, and add {child!r} as a third span.", "span-missing")
        twin = twins.iloc[-1]
        if twin.parent_span_id != span.parent_span_id:
            return wrong(f"{child!r} and {sibling!r} are not in the same {parent!r}: put {child!r} in the same "
                         f"`with ... {parent!r}` block as {sibling!r}.", "span-parent-wrong")
        twin_end = twin.start + _ms(twin.duration_ms)
        if span.start < twin_end:
            return wrong(f"{child!r} starts before {sibling!r} ends: the task asks for it after {sibling!r}. Move its "
                         f"`with` block below the one of {sibling!r}.", "span-order")
    return ok(f"{child!r} is a child of {parent!r} in trace {span.trace_id}.")


def _ms(value):
    import pandas as pd
    return pd.to_timedelta(value, unit="ms")


def _ancestors(row, by_id) -> list[str]:
    out, seen = [], set()
    while row is not None and row["parent_span_id"] and row["span_id"] not in seen:
        seen.add(row["span_id"])
        row = by_id.get(row["parent_span_id"])
        if row is not None:
            out.append(row["name"])
    return out


@judged
def check_handled_error(function, bad: str, good: str, span_name: str, exception: str = "ValueError") -> Result:
    """``function(bad)`` records ``exception`` on its span ``span_name``, marks it ERROR and
    returns None without raising; ``function(good)`` works and its span is not an error."""
    if not callable(function):
        return wrong(f"Give the check your function itself, not {type(function).__name__} (no parentheses: "
                     f"check_handled_error(parse_reading, ...)).", "not-callable")
    called = getattr(function, "__name__", "your function")
    before = set(attempts.spans().span_id)
    result, error = call_learner(function, bad)
    if error:
        if error.split(":")[0] != exception:
            return wrong(f"{called}({bad!r}) raised {error}. Fix that first.", "function-raised")
        return wrong(f"{called}({bad!r}) let the {exception} escape: the task is to handle it. "
                     f"Record it on the span and return None; do not re-raise.", "error-escaped")
    bad_span = attempts.spans()
    bad_span = bad_span[(bad_span.name == span_name) & ~bad_span.span_id.isin(before)]
    if bad_span.empty:
        return wrong(f"{called}({bad!r}) made no span {span_name!r}: start it inside the function, "
                     f"around the try.", "span-missing")
    bad_span = bad_span.iloc[-1]
    if result is not None:
        return wrong(f"{called}({bad!r}) returned {_short(result)}; a reading that does not parse "
                     f"should give None.", "wrong-return")
    types = [e[1].get("exception.type") for e in bad_span.events if e[0] == "exception"]
    if exception not in types:
        return wrong(f"The span {span_name!r} for {bad!r} has no recorded {exception}: call "
                     f"span.record_exception(exc) in the except block.", "span-exception")
    if types.count(exception) > 1:
        return wrong(f"The span {span_name!r} for {bad!r} has the {exception} recorded {types.count(exception)} "
                     f"times: record it once. An exception that escapes the span's `with` block is recorded by the "
                     f"span itself, so record_exception(exc) followed by a raise records it twice, as the 2023 blog's "
                     f"snippet did.", "span-exception-twice")
    if bad_span.status != "ERROR":
        return wrong(f"The span {span_name!r} for {bad!r} has status {bad_span.status}, expected ERROR: call "
                     f"span.set_status(Status(StatusCode.ERROR, 'not a number')) in the except block "
                     f"(recording an exception does not set the status).", "span-status")
    value, error = call_learner(function, good)
    if error:
        return wrong(f"{called}({good!r}) raised {error}: a good reading must still parse.", "function-raised")
    good_span = attempts.spans()
    good_span = good_span[(good_span.name == span_name) & ~good_span.span_id.isin(before | {bad_span.span_id})]
    if good_span.empty:
        return wrong(f"{called}({good!r}) made no span {span_name!r}: start the span before the try, "
                     f"so every reading has one, not only the bad ones.", "span-missing")
    good_span = good_span.iloc[-1]
    if type(value) is bool or not isinstance(value, (int, float)) or value != float(good):
        return wrong(f"{called}({good!r}) returned {_short(value)}, expected {float(good)!r}.", "wrong-return")
    if good_span.status == "ERROR":
        return wrong(f"The span for the good reading {good!r} is marked ERROR too: set the status inside "
                     f"the except block only.", "span-status")
    errors = [e for e in good_span.events if e[0] == "exception"]
    if errors:
        return wrong(f"The span for the good reading {good!r} has a recorded exception too: record it in the except "
                     f"block only.", "span-exception")
    return ok(f"{called}({bad!r}) recorded the {exception}, ended ERROR and returned None; "
              f"{called}({good!r}) returned {value!r} with a clean span.")


def _short(value) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


@judged
def check_tree(tree: dict) -> Result:
    """The spans this cell made form exactly this tree, in one trace: ``tree`` maps a span
    name to the tree of its children, e.g. ``{"deliver": {"load": {}, "drive": {"jam": {}}}}``."""
    (root_name, children), = tree.items()
    root, missing = made(root_name)
    if missing is not None:
        return missing
    if root.parent_span_id is not None:
        return wrong(f"{root_name!r} should be the root of the trace, but it has a parent: start it outside "
                     f"any other span.", "span-not-root")
    here = attempts.spans(trace_id=root.trace_id)
    expected = {}

    def walk(parent, kids):
        for name, grandkids in kids.items():
            expected[name] = parent
            walk(name, grandkids)

    walk(root_name, children)
    for name, parent in expected.items():
        rows = here[here.name == name]
        if rows.empty:
            elsewhere = attempts.spans()
            if not elsewhere[elsewhere.name == name].empty:
                return wrong(f"{name!r} is in a trace of its own, not in {root_name!r}'s: start it inside the "
                             f"`with ... {parent!r}` block, so that {parent!r} is its parent.", "span-no-parent")
            return made(name)[1]
        row = rows.iloc[-1]
        got = here[here.span_id == row.parent_span_id]
        got_name = got.name.iloc[0] if not got.empty else None
        if got_name == parent:
            continue
        if got_name is not None and got_name == expected.get(parent):
            return wrong(f"{name!r} is a child of {got_name!r}, but belongs inside {parent!r}: indent it under "
                         f"the `with ... {parent!r}` line.", "span-parent-wrong")
        if got_name is not None and expected.get(got_name) == parent:
            return wrong(f"{name!r} is inside {got_name!r}, one level too deep: it belongs directly inside "
                         f"{parent!r}, after the `with ... {got_name!r}` block ends.", "span-too-deep")
        return wrong(f"{name!r} is a child of {got_name!r}, expected {parent!r}.", "span-parent-wrong")
    extra = sorted(set(here.name) - set(expected) - {root_name})
    if extra:
        return wrong(f"The trace also has {names(extra)}, which the tree does not: leave them out.", "span-extra")
    return ok(f"The trace {root.trace_id} has the shape asked for: {len(expected) + 1} spans under {root_name!r}.")


@judged
def check_each(name: str, count: int, *, kind: str | None = None, attribute: str | None = None,
               values: list | None = None, parent: str | None = None, how: str | None = None) -> Result:
    """This cell made ``count`` spans called ``name``, each of this kind, each with the
    attribute ``attribute`` (if ``values`` is given, these values, in the order the spans
    started), each a child of a span called ``parent``."""
    spans = attempts.spans()
    mine = spans[spans.name == name]
    if mine.empty and parent and (spans.name == parent).any():
        return wrong(f"This cell made {int((spans.name == parent).sum())} {parent!r} spans but no {name!r}: the "
                     f"messages were sent, and none was processed before the cell ended. Wait for them "
                     f"(inbox.wait({count})) before disconnecting and checking.", "span-missing")
    if mine.empty:
        return made(name)[1]
    if len(mine) != count:
        return wrong(f"This cell made {len(mine)} spans called {name!r}, expected {count}: one per message. "
                     f"Did every message arrive before the cell ended (inbox.wait({count}))?", "span-count")
    by_id = Recorded(spans, capture.spans_df)
    for i, row in enumerate(mine.to_dict("records")):
        if kind and row["kind"] != kind:
            return wrong(f"{name!r} has kind {row['kind']}, expected {kind}.", "span-kind")
        if attribute and row["attributes"].get(attribute) is None:
            return wrong(f"{name!r} has no attribute {attribute!r}. " + (how or ""), "span-attribute")
        if values is not None and row["attributes"].get(attribute) != values[i]:
            return wrong(f"{name!r} number {i + 1} has {attribute}={row['attributes'].get(attribute)!r}, expected "
                         f"{values[i]!r}. " + (how or ""), "span-attribute-value")
        if parent and (by_id.get(row["parent_span_id"]) or {}).get("name") != parent:
            return wrong(f"{name!r} is not a child of a {parent!r} span: the context did not travel.", "span-no-parent")
    return ok(f"{count} spans {name!r}" + (f" ({kind})" if kind else "") + (f" with {attribute}" if attribute else "")
              + (f", each a child of {parent!r}" if parent else "") + ".")
