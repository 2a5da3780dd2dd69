"""A trace contract: the spans an exercise's cell must make, all of them, and nothing else.

A contract is data: the spans expected, each with its name, kind, parent (or none),
how it reaches its parent, how many, its status, attributes and events, and, for
instrumentation, who must make it. :func:`judge` compares it with the spans the cell
made (see :mod:`kit.attempts`) and names the *first* difference in the learner's terms;
``repr(contract)`` draws it as the tree to aim for, which the lesson shows:

    >>> hello = Trace(Span("hello"), Span("say hello to MQTT", parent="hello"),
    ...               Span("say goodbye", parent="hello", after="say hello to MQTT"))
    >>> hello
    hello
    ├── say hello to MQTT
    └── say goodbye          after 'say hello to MQTT'
    >>> judge(hello, attempts.spans())    # None when the cell made exactly that, else a ✗

Every exercise's contract is written once, in :mod:`kit.checks.exercises`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kit.checks._result import Result, did_you_mean, names, wrong

ANY = "any"          # an attribute that must be there, whatever its value; a status that may be anything
MESSAGE = "message"  # a span continues its parent through a carrier or a message (an extracted context)
HERE = "here"        # a span is started while its parent is the current span (a nested `with`)

KIND_HINTS = {
    ("PRODUCER", "CLIENT"): "CLIENT is what the 2023 blog used; today a publish whose context travels "
                            "with the message is a PRODUCER: kind=SpanKind.PRODUCER.",
    ("PRODUCER", "SERVER"): "SERVER answers a request; a publish is a PRODUCER: kind=SpanKind.PRODUCER.",
    ("PRODUCER", "CONSUMER"): "CONSUMER is the receiving side (on_message); the publish is the "
                              "PRODUCER: kind=SpanKind.PRODUCER.",
    ("PRODUCER", "INTERNAL"): "INTERNAL is the default: pass kind=SpanKind.PRODUCER when you start it.",
    ("CONSUMER", "SERVER"): "SERVER is what the 2023 blog used; handling a pushed message is a CONSUMER: "
                            "kind=SpanKind.CONSUMER.",
    ("CONSUMER", "CLIENT"): "CLIENT sends a request and waits for its answer; handling a pushed message is a "
                            "CONSUMER: kind=SpanKind.CONSUMER.",
    ("CONSUMER", "PRODUCER"): "PRODUCER is the sending side; the receiving side's span is a CONSUMER.",
    ("CONSUMER", "INTERNAL"): "INTERNAL is the default: pass kind=SpanKind.CONSUMER when you start it.",
}


@dataclass
class Span:
    """One span the cell must make (``count`` of them, each as described).

    ``parent``: the name of the span it is a child of (None: it starts a trace);
    ``via``: how it reaches that parent, :data:`HERE` (nested in its ``with``) or
    :data:`MESSAGE` (started with ``context=`` what was extracted from a carrier);
    ``status``: ``"ERROR"``, ``"OK"``, :data:`ANY`, or None (anything but ERROR);
    ``attributes``: key -> value (:data:`ANY`: any value); ``each``: key -> one value per
    span, in the order they started; ``exception``: the type of a recorded exception;
    ``scope``: the instrumentation (tracer name) that must make it; ``after``: a span
    under the same parent that must have ended before this one starts; ``hints``:
    the fix to suggest, by reason (``"attribute"``, ``"count"``, …), a text or a function giving one."""

    name: str
    kind: str = "INTERNAL"
    parent: str | None = None
    via: str = HERE
    service: str | None = None
    count: int = 1
    status: str | None = None
    attributes: dict = field(default_factory=dict)
    each: dict = field(default_factory=dict)
    events: tuple = ()
    exception: str | None = None
    scope: str | None = None
    scope_label: str | None = None
    after: str | None = None
    hints: dict = field(default_factory=dict)


class Trace:
    """The spans a cell must make, and no other. Parents come before their children."""

    def __init__(self, *spans: Span, title: str = ""):
        self.spans = list(spans)
        self.title = title
        known = set()
        for span in self.spans:
            if span.parent is not None and span.parent not in known:
                raise ValueError(f"{span.name!r}: its parent {span.parent!r} must come first")
            if span.name in known:
                raise ValueError(f"{span.name!r} twice: give it count= instead")
            known.add(span.name)

    def __getitem__(self, name: str) -> Span:
        return next(s for s in self.spans if s.name == name)

    def names(self) -> list[str]:
        return [s.name for s in self.spans]

    def total(self) -> int:
        return sum(s.count for s in self.spans)

    def __repr__(self):
        lines = [self.title] if self.title else []
        width = max(len(_label(s)) + 4 * _depth(self, s) for s in self.spans) + 4

        def walk(span, prefix, last, depth):
            branch = "" if depth == 0 else prefix + ("└── " if last else "├── ")
            text = branch + _label(span)
            notes = _notes(span)
            lines.append(text.ljust(width) + notes if notes else text)
            kids = [s for s in self.spans if s.parent == span.name]
            for i, kid in enumerate(kids):
                walk(kid, "" if depth == 0 else prefix + ("    " if last else "│   "), i == len(kids) - 1, depth + 1)

        for root in (s for s in self.spans if s.parent is None):
            walk(root, "", True, 0)
        return "\n".join(line.rstrip() for line in lines)


def _depth(trace: Trace, span: Span) -> int:
    depth = 0
    while span.parent is not None:
        span, depth = trace[span.parent], depth + 1
    return depth


def _label(span: Span) -> str:
    return span.name + (f"  ×{span.count}" if span.count != 1 else "")


def _notes(span: Span) -> str:
    notes = []
    if span.kind != "INTERNAL":
        notes.append(span.kind)
    if span.service:
        notes.append(f"service {span.service}")
    if span.parent is not None and span.via == MESSAGE:
        notes.append("child through the message" + (" (each of its own)" if span.count > 1 else ""))
    if span.after:
        notes.append(f"after {span.after!r}")
    for key, value in span.attributes.items():
        notes.append(f"{key}" if value == ANY else f"{key}={value!r}")
    for key in span.each:
        notes.append(f"{key}=one value each")
    notes += [f"event {e!r}" for e in span.events]
    if span.status not in (None, ANY):
        notes.append(f"status {span.status}")
    if span.exception:
        notes.append(f"recorded {span.exception}")
    if span.scope:
        notes.append(f"made by {span.scope_label or span.scope}")
    return " · ".join(notes)


# ---------------------------------------------------------------- judging

class Recorded:
    """Span rows by id: the cell's own at once; every span recorded so far (``everything``, a
    frame or a function returning one) read only when an id is not among the cell's own — a
    parent or link from an earlier cell — so a right answer never reads a long session's spans."""

    def __init__(self, here: pd.DataFrame, everything):
        self._mine = {r["span_id"]: r for r in here.to_dict("records")}
        self._here, self._everything, self._all = here, everything, None

    def frame(self) -> pd.DataFrame:
        if self._everything is None:
            return self._here
        if callable(self._everything):
            self._everything = self._everything()
        return self._everything

    def get(self, span_id, default=None):
        if span_id in self._mine or span_id is None:
            return self._mine.get(span_id, default)
        if self._all is None:
            self._all = {r["span_id"]: r for r in self.frame().to_dict("records")}
            self._all.update(self._mine)
        return self._all.get(span_id, default)

    def __contains__(self, span_id) -> bool:
        return self.get(span_id) is not None

    def __getitem__(self, span_id):
        row = self.get(span_id)
        if row is None:
            raise KeyError(span_id)
        return row


def judge(contract: Trace, here: pd.DataFrame, *, unfinished=(), everything=None,
          what: str = "This cell") -> Result | None:
    """None when ``here`` (the spans the cell made) is exactly ``contract``; otherwise the
    first difference, as a ✗ in the learner's terms. ``unfinished``: names of spans the
    cell started and never ended; ``everything``: every span recorded so far, or a function
    that returns them, called only if needed (to tell a parent made by an earlier cell from
    one made elsewhere)."""
    here = here.reset_index(drop=True)
    by_id = Recorded(here, everything)
    mine = set(here.span_id)
    expected = {s.name: s for s in contract.spans}

    for name in unfinished:
        if name in expected or name not in set(here.name):
            return wrong(f"The span {name!r} was started in this cell but never ended, so it was not recorded. "
                         f"Start it with `with tracer.start_as_current_span({name!r}):`, which ends it at the end "
                         f"of the block (or call span.end()).", "span-not-ended")
    for span in contract.spans:
        found = _missing_or_counted(span, contract, here, by_id.frame, what)
        if found is not None:
            return found
    extra = _extra(contract, here, by_id, what)
    if extra is not None:
        return extra
    for span in contract.spans:
        rows = here[here.name == span.name].to_dict("records")
        for number, row in enumerate(rows):
            problem = _place(span, contract, row, here, by_id, mine)
            if problem is None:  # (a Result is falsy when it fails: never chain them with `or`)
                problem = _looks(span, row, number, len(rows))
            if problem is not None:
                return problem
    return None


def _missing_or_counted(span: Span, contract: Trace, here, recorded, what) -> Result | None:
    rows = here[here.name == span.name]
    if rows.empty:
        unexpected = [n for n in dict.fromkeys(here.name) if n not in contract.names()]
        typo = did_you_mean(span.name, unexpected)
        if typo:
            return wrong(f"{what} made no span {span.name!r}.{typo}", "span-name")
        if here.empty:
            return wrong(f"{what} made no span at all, so there is no {span.name!r}. The check judges only the cell "
                         f"it is in: put your code in this cell and run it.", "span-missing")
        everything = recorded()
        earlier = "" if everything[everything.name == span.name].empty or len(everything) == len(here) else \
            " (an earlier cell made one, but the check judges only this cell)"
        hint = _hint(span, "missing")
        return wrong(f"{what} made no span named {span.name!r}{earlier}: the trace to aim for has it {_where(span)}. "
                     f"It made: {names(here.name)}. {hint}".rstrip(), "span-missing")
    if len(rows) == span.count:
        return None
    if len(rows) < span.count:
        hint = _hint(span, "count")
        return wrong(f"{what} made {len(rows)} span{'s' * (len(rows) != 1)} called {span.name!r}, expected "
                     f"{span.count}. {hint}".rstrip(), "span-count")
    return _duplicate(span, rows, here)


def _hint(span: Span, key: str, default: str = "") -> str:
    hint = span.hints.get(key)
    if callable(hint):
        try:
            hint = hint()
        except Exception:
            hint = None
    return hint or default


def _where(span: Span) -> str:
    if span.parent is None:
        return "as the start (root) of a trace"
    where = (f"inside {span.parent!r}" if span.via != MESSAGE else
             f"as the child of {span.parent!r}, through the message")
    return where + (f", after {span.after!r}" if span.after else "")


def _duplicate(span: Span, rows, here) -> Result:
    times = {1: "once", 2: "twice"}.get(span.count, f"{span.count} times")
    seen = {2: "twice", 3: "three times"}.get(len(rows), f"{len(rows)} times")
    ids = set(rows.span_id)
    nested = rows[rows.parent_span_id.isin(ids)]
    if not nested.empty:
        return wrong(f"{span.name!r} appears {seen}, one inside the other: the cell started a second "
                     f"{span.name!r} within the first. Add to the span you were given (kind= and attributes= in its own "
                     f"`with` line, the rest through its `as span`) instead of starting another; the trace to aim for has it {times}.", "span-duplicate")
    scope = span.scope() if callable(span.scope) else span.scope
    strangers = rows[~rows.scope.fillna("").astype(str).str.startswith(scope)] if scope else rows.iloc[0:0]
    if not strangers.empty:
        return wrong(f"{span.name!r} appears {seen} in this cell, and one was made by the tracer "
                     f"{strangers.scope.iloc[0]!r}, not by {span.scope_label or scope}: let the instrumentation make "
                     f"it, and add to it with a hook or an option, instead of writing it by hand.", "span-scope")
    if _hint(span, "duplicate"):
        return wrong(f"{span.name!r} appears {seen} in this cell, expected {times}. {_hint(span, 'duplicate')}",
                     "span-duplicate")
    if span.count > 1 and _hint(span, "count"):  # one per message: too many is about the messages, not a block
        return wrong(f"This cell made {len(rows)} spans called {span.name!r}, expected {span.count}. "
                     f"{_hint(span, 'count')}", "span-count")
    traces = rows.trace_id.nunique()
    where = (f", in {traces} different traces: was its `with` block written (or run) more than once?"
             if traces > 1 and span.parent is None else ": leave out the others.")
    return wrong(f"{span.name!r} appears {seen} in this cell; the trace to aim for has it {times}{where}",
                 "span-duplicate")


def _extra(contract: Trace, here, by_id, what: str) -> Result | None:
    unexpected = here[~here.name.isin(contract.names())]
    if unexpected.empty:
        return None
    row = unexpected.iloc[0]
    parent = by_id.get(row.parent_span_id)
    inner = here[here.parent_span_id == row.span_id]
    around = (f", around {inner.name.iloc[0]!r}" if not inner.empty else
              f", inside {parent['name']!r}" if parent is not None else "")
    hint = ""
    if row.kind == "CLIENT" and (inner.kind == "PRODUCER").any():
        hint = (" The 2023 blog wrapped its PRODUCER span in a CLIENT span; today one PRODUCER span stands for "
                "the publish: leave the CLIENT span out.")
    others = [n for n in dict.fromkeys(unexpected.name) if n != row["name"]]
    more = f" (and {names(others)})" if others else (" (more than once)" if len(unexpected) > 1 else "")
    return wrong(f"{what} also made {row['name']!r} ({row.kind}{around}){more}, which the trace to aim for "
                 f"does not have: leave it out.{hint}", "span-extra")


def _place(span: Span, contract: Trace, row: dict, here, by_id, mine) -> Result | None:
    """Where the span sits: its parent (or none), how it got there, its siblings' order."""
    name, parent_id = span.name, row["parent_span_id"]
    found = by_id.get(parent_id) if parent_id else None
    if span.parent is None:
        if parent_id is None:
            return None
        if found is not None and parent_id in mine:
            return wrong(f"{name!r} should start its own trace, but it is inside {found['name']!r}: start it "
                         f"outside any other span (dedent its `with`).", "span-not-root")
        if found is not None:
            return wrong(f"{name!r} is a child of {found['name']!r}, a span an earlier cell made: a context was left "
                         f"attached (context.attach(...) without context.detach(token)), or the span was started "
                         f"with an old context. Start it outside any span, with no context=.", "span-old-parent")
        return wrong(f"{name!r} should start its own trace, but it has a parent this kernel never recorded: it was "
                     f"started with a context from elsewhere (context=...). Start it with no context=.",
                     "span-not-root")
    want = span.parent
    if parent_id is None:
        linked = [by_id[s]["name"] for _, s in row["links"] if s in by_id]
        if want in linked:
            return wrong(f"{name!r} is linked to {want!r} but is not its child: the trace to aim for has it as a "
                         f"child. Start it with context=ctx instead of links=[...].", "span-linked")
        if span.via == MESSAGE and _cell_has("context=ctx"):
            fix = _hint(span, "parent") or (
                f"It is started with context=ctx, but that ctx holds no trace context: extract it from the very "
                f"carrier {want!r} injected into (after the inject), and pass that.")
        elif span.via == MESSAGE:
            fix = _hint(span, "parent") or (
                f"Start it with context=ctx, where ctx is what propagate.extract(...) read from the carrier that "
                f"{want!r} injected.")
        else:
            fix = f"Start it inside the `with ... {want!r}` block (indent it under that line)."
        return wrong(f"The span {name!r} has no parent: it started a trace of its own. {fix}", "span-no-parent")
    if found is None:
        return wrong(f"The span {name!r} has a parent ({parent_id}) that this kernel never recorded: the context it "
                     f"was started in came from elsewhere. Extract it from the carrier that {want!r} injected.",
                     "span-parent-unknown")
    if found["name"] != want:
        ancestors = _ancestors(found, by_id)
        if want in ancestors:
            return wrong(f"{name!r} is a child of {found['name']!r}, which is inside {want!r}: it is nested one level "
                         f"too deep. Start it after the `with ... {found['name']!r}` block ends, still inside "
                         f"{want!r}.", "span-too-deep")
        expected_of_found = contract[found["name"]].parent if found["name"] in contract.names() else None
        if found["name"] == contract[want].parent:
            return wrong(f"{name!r} is a child of {found['name']!r}, but belongs inside {want!r}: indent it under "
                         f"the `with ... {want!r}` line.", "span-parent-wrong")
        if expected_of_found == want:
            return wrong(f"{name!r} is inside {found['name']!r}, but belongs directly inside {want!r}, beside it.",
                         "span-parent-wrong")
        old = "" if parent_id in mine else \
            " That span was made by an earlier cell: the context came from an old message or variable."
        return wrong(f"{name!r} is a child of {found['name']!r}, not {want!r}.{old}", "span-parent-wrong")
    if parent_id not in mine:
        return wrong(f"{name!r} is a child of a {want!r} made by an earlier cell, not the one this cell made: it was "
                     f"started with an old context (an old message, carrier or variable). Use the context of this "
                     f"cell's message.", "span-old-parent")
    remote = row["parent_remote"]
    if span.via == MESSAGE and remote is False:
        return wrong(f"{name!r} is a child of {want!r}, but not through the carrier or message: its parent was a span "
                     f"current in this process (nested in the producer's `with`, a shared variable, or "
                     f"set_span_in_context). Start it from what was extracted, context=propagate.extract(...).",
                     "span-not-remote")
    if span.via == HERE and remote is True:
        return wrong(f"{name!r} is a child of {want!r} through an extracted context; the trace to aim for has it "
                     f"started inside the `with ... {want!r}` block, in the same process.", "span-remote")
    if span.via == HERE and _end(row) > _end(found):
        return wrong(f"{name!r} ends after {want!r}, its parent, has ended: a span started inside a `with` block "
                     f"ends inside it too. End it before the block of {want!r} ends (a `with` block of its own "
                     f"does it).", "span-outlives-parent")
    parents = here[here.name == want]
    if span.count > 1 and len(parents) > 1:
        siblings = here[(here.name == name) & (here.parent_span_id == parent_id)]
        if len(siblings) > span.count // len(parents):
            return wrong(f"{len(siblings)} {name!r} spans continue the same {want!r}, and another {want!r} has "
                         f"none: each must continue the context of its own message.", "span-same-parent")
    if span.after:
        twins = here[(here.name == span.after) & (here.parent_span_id == parent_id)]
        if twins.empty:
            return wrong(f"{name!r} and {span.after!r} are not in the same {want!r}: put {name!r} in the same "
                         f"`with ... {want!r}` block as {span.after!r}.", "span-parent-wrong")
        twin = twins.iloc[-1]
        if row["start"] < twin.start + pd.to_timedelta(twin.duration_ms, unit="ms"):
            return wrong(f"{name!r} starts before {span.after!r} ends: the trace to aim for has it after "
                         f"{span.after!r}. Move its `with` block below the one of {span.after!r}.", "span-order")
    return None


def _end(row) -> pd.Timestamp:
    return row["start"] + pd.to_timedelta(row["duration_ms"], unit="ms")


def _cell_has(code: str) -> bool:
    from kit import attempts
    return attempts.cell_has(code)


def _ancestors(row, by_id) -> list[str]:
    out, seen = [], set()
    while row is not None and row["parent_span_id"] and row["span_id"] not in seen:
        seen.add(row["span_id"])
        row = by_id.get(row["parent_span_id"])
        if row is not None:
            out.append(row["name"])
    return out


def _looks(span: Span, row: dict, number: int, of: int) -> Result | None:
    """What the span carries: kind, service, maker, attributes, events, status."""
    name = span.name
    which = f"{name!r}" if of == 1 else f"{name!r} number {number + 1} of {of}"
    scope = span.scope() if callable(span.scope) else span.scope
    if scope is not None and not str(row["scope"] or "").startswith(scope):
        return wrong(f"The span {which} was made by the tracer {row['scope']!r}, not by "
                     f"{span.scope_label or scope}: let the instrumentation make it (written by hand, it "
                     f"proves nothing about the instrumentation), and add to it with a hook or an option.",
                     "span-scope")
    if span.service and row["service"] != span.service:
        return wrong(f"The span {which} comes from service {row['service']!r}, not {span.service!r}: make it with "
                     f"that service's tracer.", "span-service")
    if row["kind"] != span.kind:
        from opentelemetry.trace import SpanKind
        if row["kind"] not in SpanKind.__members__:
            return wrong(f"The span {which} was given kind={row['kind']}, which is not a SpanKind: pass the enum, "
                         f"kind=SpanKind.{span.kind} (from opentelemetry.trace import SpanKind).", "span-kind")
        hint = KIND_HINTS.get((span.kind, row["kind"]), f"Pass kind=SpanKind.{span.kind} when you start it."
                              if span.kind != "INTERNAL" else "INTERNAL is the default: leave kind= out.")
        return wrong(f"The span {which} has kind {row['kind']}, expected {span.kind}. {hint}", "span-kind")
    attributes = row["attributes"] or {}
    wanted = dict(span.attributes)
    wanted.update({key: values[number] for key, values in span.each.items() if number < len(values)})
    for key, value in wanted.items():
        if key not in attributes:
            close = did_you_mean(key, attributes)
            count = len(attributes)
            has = (" It has no attributes." if not count else f" It has {names(attributes)}." if count <= 4
                   else f" It has {count} others.")
            how = _hint(span, "attribute") or (
                f"span.set_attribute({key!r}, ...) must run inside the `with` block, while the span is open: one set "
                f"after the span ended is dropped." if _cell_has(f"set_attribute({key!r}") else
                f"Try span.set_attribute({key!r}, {'...' if value == ANY else repr(value)}) inside the `with` block "
                f"(one set after the span ended is dropped).")
            return wrong(f"The span {which} has no attribute {key!r}.{has}" + (close or " " + how), "span-attribute")
        if value != ANY and attributes[key] != value:
            more = _hint(span, "value")
            return wrong(f"The span {which} has {key}={attributes[key]!r}, expected {value!r}. {more}".rstrip(),
                         "span-attribute-value")
    event_names = [e[0] for e in row["events"]]
    for event in span.events:
        if event not in event_names:
            also = (f" {event!r} is an attribute of the span, not an event: an event is a moment, added with "
                    f"span.add_event({event!r})." if event in attributes else
                    did_you_mean(event, event_names) or (
                        " span.add_event(...) must run inside the `with` block, while the span is open: one added "
                        "after it ended is dropped." if _cell_has(f"add_event({event!r}") else
                        f" Try span.add_event({event!r}) inside the block."))
            return wrong(f"The span {which} has no event {event!r} (it has {names(event_names)}).{also}", "span-event")
        if event_names.count(event) > span.events.count(event):
            return wrong(f"The span {which} has the event {event!r} {event_names.count(event)} times; the trace to aim "
                         f"for has it {'once' if span.events.count(event) == 1 else span.events.count(event)}: add it "
                         f"once.", "span-event-twice")
    if span.exception:
        types = [e[1].get("exception.type") for e in row["events"] if e[0] == "exception"]
        if span.exception not in types:
            return wrong(f"The span {which} has no recorded {span.exception}: call span.record_exception(exc) in the "
                         f"except block.", "span-exception")
    status = row["status"]
    if span.status is None and status == "ERROR":
        return wrong(f"The span {which} has status ERROR, but nothing failed in it: set an ERROR status only where "
                     f"the operation failed.", "span-status")
    if span.status not in (None, ANY) and status != span.status:
        how = "Status(StatusCode.ERROR, 'why')" if span.status == "ERROR" else f"Status(StatusCode.{span.status})"
        return wrong(f"The span {which} has status {status}, expected {span.status}. Call span.set_status({how}).",
                     "span-status")
    return None
