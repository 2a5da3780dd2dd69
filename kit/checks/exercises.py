"""Every exercise of lessons 00-09 and 11, in one place: the trace its cell must make (a
:class:`~kit.checks.contract.Trace`), the data drawn for each run, and what it must leave
behind.

In a lesson, a setup cell shows the exercise (and draws its data)::

    >>> lab = exercise("4.2")
    >>> lab.tenant               # drawn for this run: the check expects it
    >>> lab                      # the trace to aim for, and this run's data

and the check of the exercise's cell names it: ``check_trace("0.1")``, or
``check_baggage(..., exercise="4.2")``. Every check given ``exercise=`` judges, around
the lesson's own point, what holds for every exercise (see :func:`judged`).

A new exercise declares itself here: ``EXERCISES["N.M"] = Exercise(trace=..., draw=...)``.
"""

from __future__ import annotations

import functools
import random
import time
from dataclasses import dataclass
from typing import Callable

from kit import attempts, capture
from kit.checks import _paho, cleanup, drawn, verdicts
from kit.checks._result import Result, ok, wrong
from kit.checks.contract import ANY, MESSAGE, Span, Trace, judge


@dataclass
class Exercise:
    """``trace``: the spans the cell must make (or a function of the drawn data giving them);
    ``draw``: this run's data, from a random source; ``uninstrument``: the cell must end with
    paho uninstrumented; ``spans_from``: ``"kit"`` (the kit's services) or ``"receiver"``."""

    trace: Trace | Callable[[dict], Trace] | None = None
    draw: Callable[[random.Random], dict] | None = None
    uninstrument: bool = False
    spans_from: str = "kit"  # "receiver": the check passes what its receiver got (exercise 1.4)


class Drawn(dict):
    """This run's data for an exercise: ``lab.tenant`` or ``lab["tenant"]``; shown with the trace to aim for."""

    def __init__(self, number: str, values: dict):
        super().__init__(values)
        self.number = number

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __repr__(self):
        lines = [f"Exercise {self.number}"]
        if self:
            lines.append("Drawn for this run (the check expects these; the next run draws others):")
            lines += [f"  {key} = {value!r}" for key, value in self.items() if not key.startswith("_")]
        contract = trace_of(self.number)
        if contract is not None:
            lines += ["The trace to aim for:", *("  " + line for line in repr(contract).splitlines())]
        return "\n".join(lines)


_drawn: dict[str, Drawn] = {}


def exercise(number: str) -> Drawn:
    """Draw exercise ``number``'s data for this run (if it has any) and show the trace to aim for."""
    ex = EXERCISES[number]
    values = ex.draw(drawn.rng(number)) if ex.draw else {}
    _drawn[number] = Drawn(number, values)
    return _drawn[number]


def data_of(number: str) -> Drawn:
    """The data drawn for ``number`` in this kernel (drawn now if the setup cell was not run)."""
    return _drawn[number] if number in _drawn else exercise(number)


def trace_of(number: str | None, values: dict | None = None) -> Trace | None:
    ex = EXERCISES.get(number) if number else None
    if ex is None or ex.trace is None:
        return None
    if callable(ex.trace) and not isinstance(ex.trace, Trace):
        return ex.trace(values if values is not None else data_of(number))
    return ex.trace


# ---------------------------------------------------------------- judging an exercise

@dataclass
class _Judging:
    number: str | None
    trace_judged: bool = False


_judging: list[_Judging] = []


class Verdict(Exception):
    """Raised inside a check to end it with ``result`` (e.g. the learner's function left a context attached)."""

    def __init__(self, result: Result):
        super().__init__(result.message)
        self.result = result


def call_learner(what, *args, label: str | None = None):
    """Call the learner's ``what(*args)``: ``(value, None)``, or ``(None, "TypeError: …")`` when it
    raised (anything but KeyboardInterrupt). When it returns with a context still attached, the
    check ends there with that ✗ (:class:`Verdict`)."""
    from opentelemetry import context
    before = context.get_current()
    try:
        value, error = what(*args), None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001  the learner's code: say what it raised, never raise
        value, error = None, f"{type(exc).__name__}: {_text(exc)}"
    leaked = cleanup.leaked_by_call(before, label or f"{getattr(what, '__name__', 'your function')}(...)")
    if leaked is not None:
        raise Verdict(leaked)
    return value, error


def _text(value) -> str:
    try:
        return str(value)
    except Exception:  # an exception whose __str__ raises
        return type(value).__name__


def current_data() -> Drawn | None:
    """The drawn data of the exercise being judged (None outside a judged check, or if it draws none)."""
    state = _judging[-1] if _judging else None
    if state is None or state.number not in EXERCISES or EXERCISES[state.number].draw is None:
        return None
    return data_of(state.number)


def trace_verdict(received=None) -> Result | None:
    """The exercise's trace contract against the spans of this attempt (or, for an exercise whose
    spans go to a receiver, ``received``: what it got in this attempt). A check calls it the
    moment the spans are complete (before it makes spans of its own)."""
    state = _judging[-1] if _judging else None
    if state is None:
        return None
    state.trace_judged = True
    contract = trace_of(state.number)
    if contract is None:
        return None
    if received is not None:
        return judge(contract, received, what="This cell (at the receiver)")
    return judge(contract, attempts.spans(), unfinished=attempts.unfinished_spans(), everything=capture.spans_df)


def judged(check):
    """Wrap a self-check: it gets ``exercise="N.M"`` and then judges, in this order, what holds
    for every exercise around the lesson's own point:

    1. no context left attached by an earlier cell; paho not left instrumented by an earlier
       cell when the exercise's spans must come from the instrumentation;
    2. no context attached in this cell and left; no paho network thread stopped by a callback;
    3. the check itself (the lesson's point), which judges the trace contract when its spans
       are complete, or else the contract right after it;
    4. nothing left behind: clients connected, callbacks paho cannot call, logging handlers
       added twice, the instrumentation (where the exercise says so).

    The verdict is then published (:mod:`kit.checks.verdicts`: exercise, ✓/✗, reason code).
    And it never raises: a check that fails on an odd answer says so as a ✗."""

    @functools.wraps(check)
    def run(*args, exercise: str | None = None, **kwargs):
        if _judging:  # a check called by another check: the outer one judges the exercise
            return check(*args, **kwargs)
        if exercise is None and getattr(check, "names_its_exercise", False) and args:
            exercise = args[0]
        state = _Judging(exercise if isinstance(exercise, str) else None)
        _judging.append(state)
        started = time.time_ns()
        try:
            result = _run(check, state, args, kwargs)
        except Verdict as verdict:
            result = verdict.result
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001  a check must never raise into the learner's cell
            result = wrong(f"The check could not judge this attempt: {type(exc).__name__}: {exc}. Something in it "
                           f"has a shape the check did not expect; look at what you pass to the check (and what your "
                           f"functions return).", "check-failed")
        finally:
            _judging.remove(state)
        verdicts.publish(state.number, result, started, time.time_ns())  # to kit.classroom, if it listens
        return result

    run.__wrapped_check__ = check
    return run


SAYS_MORE_THAN_A_CRASH = {"filter-invalid", "filter-misses", "filter-too-wide", "getter-setter-shape", "not-callable"}


def _run(check, state: _Judging, args, kwargs) -> Result:
    ex = EXERCISES.get(state.number) if state.number else None
    contract = trace_of(state.number) if ex is not None else None
    needs_paho = contract is not None and any(s.scope for s in contract.spans)
    for verdict in (cleanup.left_attached_earlier,
                    cleanup.instrumented_before if needs_paho else None,
                    cleanup.left_attached_here):
        result = verdict() if verdict else None
        if result is not None:
            return result
    result = check(*args, **kwargs)
    if not isinstance(result, Result) or not result.passed:
        crashed = cleanup.callbacks_crashed()  # a stopped network thread explains "nothing arrived" best
        if crashed is not None and getattr(result, "reason", "") not in SAYS_MORE_THAN_A_CRASH:
            return crashed
        return result
    if ex is not None and not state.trace_judged:
        verdict = trace_verdict()
        if verdict is not None:
            return verdict
    if ex is None:
        return result
    after = [cleanup.left_attached_here, cleanup.callbacks_crashed, cleanup.callbacks_misshapen,
             cleanup.clients_left, cleanup.handlers_doubled]
    if ex.uninstrument:
        after.append(cleanup.instrumentation_left)
    for verdict in after:
        found = verdict()
        if found is not None:
            return found
    return result


def check_trace(number: str) -> Result:
    """This cell made exactly the trace exercise ``number`` asks for (shown by ``exercise(number)``):
    every span, of its kind, under its parent, as many as asked, ended, carrying what it
    must, made by whom it must, and no other span."""
    if number not in EXERCISES or EXERCISES[number].trace is None:
        return wrong(f"There is no trace to aim for in exercise {number!r}.", "no-such-exercise")
    verdict = trace_verdict()
    if verdict is not None:
        return verdict
    contract = trace_of(number)
    roots = [s.name for s in contract.spans if s.parent is None]
    return ok(f"Exactly the trace to aim for: {contract.total()} span{'s' * (contract.total() != 1)}, "
              + ", ".join(repr(r) for r in roots) + (" and what is under it" if contract.total() > len(roots) else "")
              + ", each of its kind and in its place, and nothing else.")


check_trace.names_its_exercise = True
check_trace = judged(check_trace)


# ---------------------------------------------------------------- the exercises

def _paho_span(operation: str, topic: str, kind: str, parent: tuple[str, str] | None = None, **more) -> Span:
    """A span the paho instrumentation makes, named as it names them (asked, not copied)."""
    return Span(_paho.span_name(operation, topic), kind=kind, scope=_paho.scope, scope_label=_paho.LABEL,
                parent=_paho.span_name(*parent) if parent else None, **more)


def _misspelt_option(*options: str) -> str:
    """A keyword of the cell's instrument(...) call that looks like one of ``options`` and is not (instrument()
    takes any keyword and ignores those it does not know, without a word): "" if none."""
    import difflib
    import re
    mark = attempts.current()
    for call in re.findall(r"instrument\(([^()]*)\)", getattr(mark, "source", None) or ""):
        for given in re.findall(r"(\w+)\s*=(?!=)", call):
            near = difflib.get_close_matches(given, options, 1, 0.75)
            if near and given != near[0]:
                return (f"instrument() was given {given}=, which it does not know, so it ignored it without a word: "
                        f"the option is {near[0]}=.")
    return ""


def _hook_hint() -> str:
    misspelt = _misspelt_option("publish_hook", "process_hook")
    if misspelt:
        return misspelt
    if attempts.cell_has("process_hook=") and not attempts.cell_has("publish_hook="):
        return ("A process_hook is called with the spans of delivered messages (the receiving side); the publish "
                "span's hook is the publish_hook: instrument(publish_hook=...).")
    if attempts.cell_has("publish_hook="):
        return ("The publish_hook given to instrument(...) did not set it. Does it take (span, client, topic, payload) "
                "(a hook that raises is logged, never raised)? And was paho not instrumented already when that "
                "instrument(...) ran? A second instrument() does nothing: uninstrument() first.")
    return ("Give instrument() a publish_hook(span, client, topic, payload) that calls "
            "span.set_attribute('app.sensor.id', 's-1').")


def _body_size_hint() -> str:
    misspelt = _misspelt_option("message_body_size", "process_hook", "publish_hook")
    if misspelt:
        return misspelt
    if attempts.cell_has("message_body_size=True") or attempts.cell_has("process_hook="):
        return ("The option (or hook) given to instrument(...) did not set it: was paho not instrumented already when "
                "that instrument(...) ran? A second instrument() does nothing: uninstrument() first. A process_hook "
                "takes (span, client, message).")
    return ("PahoMqttInstrumentor().instrument(message_body_size=True), or a process_hook(span, client, message) "
            "that sets it to len(message.payload).")


def _topics(rng: random.Random) -> dict:
    topics = ["sensors/temp", "sensors/humidity", "sensors/pressure"]
    while True:
        chosen = [rng.choice(topics) for _ in range(rng.randint(5, 9))]
        counts = {t: chosen.count(t) for t in dict.fromkeys(chosen)}
        if len(counts) >= 2 and counts != {"sensors/temp": 3, "sensors/humidity": 1}:
            return {"topics": chosen, "_counts": counts}  # _: the answer, not shown


def _payloads(rng: random.Random) -> dict:
    notes = ["window open", "door closed", "fan on", "heater off", "rain", "sunny", "calibrating"]
    payloads = []
    for i in range(rng.randint(3, 6)):
        reading = round(rng.uniform(15, 30), rng.choice([0, 1, 2]))
        extra = f', "note": "{rng.choice(notes)}"' if rng.random() < 0.5 else ""
        payloads.append(f'{{"t": {reading}{extra}}}'.encode())
    celsius = rng.randrange(len(payloads))  # one in UTF-8 with a 2-byte character: its size in bytes is not len(text)
    payloads[celsius] = payloads[celsius][:-1] + ', "unit": "°C"}'.encode()
    return {"payloads": payloads}


def _greenhouse(rng: random.Random) -> dict:
    readings = []
    for i in range(rng.randint(3, 5)):
        fields = {"t": round(rng.uniform(15, 30), 1), "unit": '"°C"'}  # UTF-8: '°' is two bytes
        for key in rng.sample(["rh", "co2", "lux", "soil"], rng.randint(0, 3)):
            fields[key] = rng.randint(10, 900)
        readings.append(("{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}").encode())
    return {"readings": readings}


EXERCISES: dict[str, Exercise] = {
    "0.1": Exercise(Trace(Span("hello"), Span("say hello to MQTT", parent="hello"),
                          Span("say goodbye", parent="hello", after="say hello to MQTT"))),
    "0.2": Exercise(Trace(Span("deliver parcel"), Span("load van", parent="deliver parcel"),
                          Span("drive", parent="deliver parcel", after="load van"),
                          Span("traffic jam", parent="drive"))),
    "1.1": Exercise(Trace(Span("read sensor", attributes={"sensor.id": "s-1"}, events=("reading taken",)))),
    "1.2": Exercise(Trace(Span("parse reading", count=2, status=ANY, hints={
        "duplicate": "The check calls parse_reading itself, twice (a bad reading and a good one), and each call makes "
                     "one span: leave your own calls out of this cell, and start one span per call."}))),
    "1.3": Exercise(Trace(Span("publish sensors/temp", kind="PRODUCER", attributes={"messaging.system": "mqtt"}))),
    "1.4": Exercise(Trace(Span("sent over gRPC"), Span("sent over HTTP")), spans_from="receiver"),
    "2.1": Exercise(draw=_topics),
    "2.2": Exercise(draw=_payloads),
    "2.3": Exercise(),
    "3.1": Exercise(Trace(Span("check temperature"))),
    "3.2": Exercise(),
    "4.1": Exercise(Trace(Span("place order", kind="PRODUCER", service="order-service"),
                          Span("ship order", kind="CONSUMER", service="shipping-service", parent="place order",
                               via=MESSAGE))),
    "4.2": Exercise(lambda d: Trace(
        Span("place order", kind="PRODUCER", service="order-service"),
        Span("bill order", kind="CONSUMER", service="billing-service", parent="place order", via=MESSAGE,
             attributes={"tenant.id": d["tenant"]},
             hints={"attribute": "Read it from the extracted context: span.set_attribute('tenant.id', "
                                 "baggage.get_baggage('tenant.id', ctx))."})),
        draw=lambda rng: {"tenant": drawn.tenant(rng)}),
    "4.3": Exercise(lambda d: Trace(
        Span("send order", kind="PRODUCER", service="order-service", count=len(d["orders"])),
        Span("receive order", kind="CONSUMER", service="shipping-service", parent="send order", via=MESSAGE,
             count=len(d["orders"]), each={"order.id": list(d["orders"])})),
        draw=lambda rng: {"orders": tuple(f"o-{drawn.token(rng)}" for _ in range(rng.randint(2, 3)))}),
    "5.1": Exercise(),
    "5.2": Exercise(),
    "6.1": Exercise(),
    "6.2": Exercise(Trace(Span("publish orders/new", kind="PRODUCER", service="sensor"),
                          Span("process orders/new", kind="CONSUMER", service="processor", parent="publish orders/new",
                               via=MESSAGE))),
    "6.3": Exercise(Trace(Span("publish alerts/high", kind="PRODUCER", service="sensor"),
                          Span("process alerts/high", kind="CONSUMER", service="processor",
                               parent="publish alerts/high", via=MESSAGE))),
    "7.1": Exercise(),
    "7.2": Exercise(Trace(Span("publish orders/new", kind="PRODUCER", service="sensor"),
                          Span("process orders/new", kind="CONSUMER", service="processor", parent="publish orders/new",
                               via=MESSAGE))),
    "8.1": Exercise(lambda d: Trace(_paho_span("publish", "lab/temp", "PRODUCER", service="sensor-app",
                                     attributes={"app.sensor.id": "s-1"}, hints={"attribute": _hook_hint})),
                    uninstrument=True),
    "8.2": Exercise(lambda d: Trace(
        _paho_span("publish", "greenhouse/temp", "PRODUCER", service="greenhouse", count=len(d["readings"]),
                   hints={"count": "One per reading of `readings`, this run's (drawn in the cell above): a list typed "
                                   "in has other readings."}),
        _paho_span("process", "greenhouse/temp", "CONSUMER", service="greenhouse", parent=("publish", "greenhouse/temp"),
                   via=MESSAGE, count=len(d["readings"]),
                   each={"messaging.message.body.size": [len(r) for r in d["readings"]]},
                   hints={"attribute": _body_size_hint,
                          "value": "The size is in bytes, len(message.payload): the payload's own bytes, not the "
                                   "decoded text (its '°' is one character but two bytes in UTF-8).",
                          "count": "One per message: did every message arrive before the cell ended "
                                   f"(wait for them: inbox.wait({len(d['readings'])}))?",
                          "missing": "The messages were sent, and none was processed before the cell ended: wait "
                                     f"for them (inbox.wait({len(d['readings'])})) before disconnecting and "
                                     "checking; and subscribe before you publish."})),
        draw=_greenhouse, uninstrument=True),
    "9.1": Exercise(),
    "9.2": Exercise(),
    "11.1": Exercise(),
    "11.2": Exercise(),
}
