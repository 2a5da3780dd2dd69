"""The capstone's checkpoint: a reviewer's look at one run of the greenhouse (lesson 12).

    >>> run = lab.run("my_greenhouse")          # kit.capstone: the app as processes, two read requests
    >>> check_checkpoint(run)                   # eight findings, each ✓ or ✗ with the fix
    >>> check_checkpoint(zero, zero_code=True)  # what zero-code can give; the rest is shown as ·

Like grafana/intro-to-mltp's smoke test, the lab sent requests with traceparents it made
up, so the checkpoint knows which trace each story must stay in: the morning read (the
vent closes: the command works) and the afternoon read (the vent jams: the controller
raises an alert). It reads what the receiver got from the three processes and what went
over the broker (:mod:`kit.greenhouse` holds the story), and judges the whole story of
each request:

1. **services** -- spans came from sensor, controller and vent, each under its own name;
2. **one trace** -- each request's trace goes on through every message of its story:
   request → sensor → reading → controller → command → vent → report → controller (→ alert);
3. **kinds and parents** -- every message, the alert too, is a PRODUCER span *of the
   program that sends it*, inside its span for what it handled, and a CONSUMER span where
   it is handled, the consumer a child (or a link) of the producer; one PRODUCER span per
   message sent and one CONSUMER span per message handled;
4. **the failure** -- the vent's VentJammed is on a span (status ERROR and an exception
   event) in the afternoon; the morning's command, which worked, is not an error;
5. **the slow step** -- the controller's slow call has a span of its own, under the reading's;
6. **baggage** -- this run's greenhouse id travels as baggage and lands on the controller's
   and the vent's spans;
7. **metrics** -- the vent's counter ``greenhouse.commands`` {command, outcome}, once per
   command and outcome (both happen), and the controller's histogram
   ``greenhouse.decision.duration`` (s) {greenhouse.id}, once per reading;
8. **logs** -- every log record the app wrote about a request carries the trace and span
   it was written in.

Each finding is judged on its own, so a half-done app gets ✗ exactly where it is half
done; and a ✗ never asks for code the program already has: the checkpoint reads the
programs as they ran (``run.sources``), and where the call it would suggest is there, it
says what is wrong with it instead. ``Finding.suggests`` lists the code a ✗ asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kit.checks._result import Result, did_you_mean, names
from kit.checks.spans import KIND_HINTS
from kit.greenhouse import HOPS, LOGGED, LOGGED_ERRORS, SERVICES, Hop, Run

SLOW_MS = 250          # fetch_forecast() sleeps 300 ms: a span that covers it lasts at least this long
COUNTER, HISTOGRAM = "greenhouse.commands", "greenhouse.decision.duration"
FINDINGS = ("services", "one trace", "kinds and parents", "the failure", "the slow step", "baggage", "metrics",
            "logs")
INJECT = {"user properties": ("inject_user_properties(", "properties = Properties(PacketTypes.PUBLISH); "
                              "inject_user_properties(properties); client.publish(..., properties=properties)"),
          "json": ("inject_json_payload(", "payload = inject_json_payload(payload) before client.publish(topic, "
                                           "payload)")}
EXTRACT = {"user properties": ("extract_user_properties(", "ctx = extract_user_properties(msg.properties)"),
           "json": ("extract_json_payload(", "ctx = extract_json_payload(msg.payload)")}
ENDED = ("a span is exported only when it ends: start it with `with tracer.start_as_current_span(...)` (or call "
         "span.end())")


@dataclass
class Finding:
    name: str
    status: str   # "✓", "✗", or "·" (not expected: zero code cannot do it)
    text: str
    suggests: dict = field(default_factory=dict)   # {service: [code the fix asks to add]}

    def __str__(self):
        return f"{self.status} {self.name}: {self.text}"


@dataclass(repr=False)
class Checkpoint(Result):
    """A :class:`Result` whose message lists the findings, one per line; ``findings`` holds them."""

    findings: list = field(default_factory=list)

    def finding(self, name: str) -> Finding:
        return next(f for f in self.findings if f.name == name)


def check_checkpoint(run: Run, zero_code: bool = False) -> Checkpoint:
    """Judge ``run`` (what :meth:`kit.capstone.Greenhouse.run` returned) as a reviewer would; see the
    module's docstring.

    ``zero_code=True`` judges what instrumentation without code can give (services, the
    MQTT v5 part of each trace, who sends each message, the messaging metrics, logs) and
    shows the findings only code can satisfy as ``·``, saying why."""
    if not isinstance(run, Run):
        return Checkpoint(False, f"check_checkpoint takes what lab.run(...) returned, not {type(run).__name__}.")
    try:
        story = _Story(run, zero_code)
    except Exception as exc:  # a run nobody foresaw: say so, never raise
        story = exc

    def _s() -> _Story:
        if isinstance(story, Exception):
            raise story
        return story

    judges = {
        "services": lambda: _services(run, zero_code),
        "one trace": lambda: _s().one_trace(),
        "kinds and parents": lambda: _s().kinds_and_parents(),
        "the failure": lambda: _not_expected("the failure", "the app catches VentJammed itself, so no "
                                             "instrumentation sees it; only code records it on a span")
        if zero_code else _failure(_s()),
        "the slow step": lambda: _not_expected("the slow step", "zero code makes spans for messages only: "
                                               "fetch_forecast()'s 0.3 s is inside the controller's process span, "
                                               "unnamed") if zero_code else _slow_step(_s()),
        "baggage": lambda: _not_expected("baggage", "no instrumentation knows the greenhouse id: only code can put "
                                         "it in the baggage") if zero_code else _s().baggage(),
        "metrics": lambda: _messaging_metrics(run) if zero_code else _metrics(_s()),
        "logs": lambda: _logs(_s()),
    }
    findings = [_judged(name, judge) for name, judge in judges.items()]
    strangers = [s for s in dict.fromkeys(run.spans.get("service", [])) if s not in SERVICES]
    if findings[0].status == "✗" and strangers:  # every other finding looks the services up by name
        for f in findings[1:]:
            if f.status == "✗":
                f.text, f.suggests = (f"not judged: the spans came as {names(strangers)}, not as {_and(SERVICES)} "
                                      f"(see 'services')."), {}
    judged = [f for f in findings if f.status != "·"]
    passed = all(f.status == "✓" for f in judged)
    head = (f"Checkpoint of {run.app}, greenhouse {run.greenhouse}, the traces of its {len(run.requests)} read "
            f"requests ({', '.join(r.trace_id for r in run.requests)}): "
            f"{sum(f.status == '✓' for f in judged)} of {len(judged)} ✓"
            + (f", {len(findings) - len(judged)} only code can do (·)" if zero_code else ""))
    lines = [f"  ! {p}" for p in run.problems] + [f"  {f}" for f in findings]
    return Checkpoint(passed, "\n".join([head] + lines), findings)


def _judged(name: str, judge) -> Finding:
    """``judge()``'s finding; a run it did not foresee is a ✗ that says so, never an exception."""
    try:
        return judge()
    except Exception as exc:
        return _wrong(name, f"the checkpoint could not judge this run ({type(exc).__name__}: {exc}). print(run.console) "
                      f"and run.spans may show what the programs did.")


def _not_expected(name: str, why: str) -> Finding:
    return Finding(name, "·", f"not from zero code: {why}.")


def _ok(name, text):
    return Finding(name, "✓", text)


def _wrong(name, text, suggests=None):
    return Finding(name, "✗", text, dict(suggests or {}))


def _and(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _json_option_given(run: Run) -> str:
    """What the vent was given instead of OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD=true, if anything ("" if nothing)."""
    import difflib
    want = "OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD"
    env = getattr(run.processes.get("vent"), "env", None) or {}
    if want in env:
        return (f" It was given {want}={env[want]!r}: the instrumentation reads only true or false, and ignores "
                f"anything else (with a warning).")
    near = difflib.get_close_matches(want, [k for k in env if k.startswith("OTEL")], 1, 0.8)
    return f" It was given {near[0]}, which no instrumentation reads: the name is {want}." if near else ""


def _bare_set_baggage(source: str) -> bool:
    """Does ``source`` call set_baggage(key, value) with no context (so it builds on the current one)?"""
    import ast
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(n, ast.Call) and getattr(n.func, "attr", getattr(n.func, "id", None)) == "set_baggage"
               and len(n.args) < 3 and not any(k.arg == "context" for k in n.keywords) for n in ast.walk(tree))


def _has(run: Run, service: str, code: str) -> bool:
    """Does ``service``'s program (as it ran) hold ``code`` already? (Spaces do not count.)"""
    return "".join(code.split()) in "".join(run.sources.get(service, "").split())


# ---------------------------------------------------------------- 1. services

def _services(run: Run, zero_code: bool) -> Finding:
    seen = list(dict.fromkeys(run.spans.service))
    missing = [s for s in SERVICES if s not in seen]
    if not missing:
        return _ok("services", f"spans came from {_and(SERVICES)}, each under its own service.name.")
    how = ("start each script under opentelemetry-instrument, with OTEL_SERVICE_NAME set to its own name"
           if zero_code else "in each script, set up its providers with OTLP export: tele = setup('vent') "
                             "(kit.telemetry) exports where the lab's OTEL_* variables say")
    suggests = {} if zero_code else {s: ["setup("] for s in missing if not _has(run, s, "setup(")}
    if not zero_code and not suggests:
        how = (f"{_and([s + '.py' for s in missing])} call{'s' * (len(missing) == 1)} setup(...) already: start "
               f"spans with its tracer (tele.tracer.start_as_current_span) in the handlers, and flush before the "
               f"program ends (tele.flush() after serve(...))")
    if not seen and run.logs.empty and run.metrics.empty:
        under = [p for p in run.processes.values() if any("opentelemetry-instrument" in str(a) for a in p.argv)]
        changed = sorted({f"{k}={v}" for p in run.processes.values() for k, v in p.env.items()
                          if k.startswith("OTEL_EXPORTER_") or k.endswith("_EXPORTER")})
        if under and changed:
            how = (f"the programs ran under opentelemetry-instrument, but you set {', '.join(changed)}: the lab's "
                   f"receiver takes OTLP over gRPC at the OTEL_EXPORTER_OTLP_ENDPOINT it sets; leave those as "
                   f"they are")
        elif under:
            how = "the programs ran under opentelemetry-instrument but sent nothing: print(run.console) shows why"
        return _wrong("services", f"nothing arrived at the receiver from any service. Fix: {how}.", suggests)
    strangers = [s for s in seen if s not in SERVICES]
    if strangers:
        named = ("set OTEL_SERVICE_NAME to each script's own name (sensor, controller, vent)" if zero_code else
                 "give each its own: setup('sensor'), setup('controller'), setup('vent')")
        close = next((did_you_mean(m, strangers) for m in missing if did_you_mean(m, strangers)), "")
        return _wrong("services", f"spans came from {names(strangers)}, none from {names(missing)}: every "
                      f"service needs its own service.name.{close} Fix: {named}.")
    return _wrong("services", f"no span came from {names(missing)} (spans came from {names(seen)}). Fix: {how}.",
                  suggests)


# ---------------------------------------------------------------- 2, 3, 6: the story's messages

@dataclass
class _Step:
    """One hop of one request's story, as the run shows it."""

    request: int
    hop: Hop
    message: object = None
    context: tuple | None = None      # where the consumer reads it
    elsewhere: tuple | None = None    # in the other place
    consumer: dict | None = None      # the consumer's span that continues it
    broken: str = ""                  # why the story stops here
    suggests: dict = field(default_factory=dict)


class _Story:
    """The run's spans and messages, request by request, hop by hop."""

    def __init__(self, run: Run, zero_code: bool):
        self.run, self.zero_code = run, zero_code
        self.spans = run.spans
        self.records = run.spans.sort_values("start").to_dict("records") if not run.spans.empty else []
        self.by_id = {s["span_id"]: s for s in self.records}
        named = {m.context(p) for m in run.messages for p in ("json", "user properties")} - {None}
        self.remote = {c[1] for c in named} | {r.span_id for r in run.requests}
        self.steps, self.traces = [], []
        for i in range(len(run.requests)):
            steps, traces = self._walk(i)
            self.steps.append(steps)
            self.traces.append(traces)

    def name(self, i: int) -> str:
        return self.run.requests[i].name

    # -- walking one request's story -----------------------------------------------------

    def _walk(self, i: int):
        request = self.run.requests[i]
        traces, out = {request.trace_id}, []
        for k, hop in enumerate(request.read.hops):
            step = self._step(i, hop, traces, continuity=not self.zero_code or k < 2)
            if step.consumer is not None:
                traces.add(step.consumer["trace_id"])
            out.append(step)
        return out, traces

    def _step(self, i: int, hop: Hop, traces: set, continuity: bool) -> _Step:
        run, request = self.run, self.run.requests[i]
        step = _Step(i, hop, run.message(run.topic(hop), i))
        msg = step.message
        if msg is None:
            after = {"the alert": f"after the vent's failed report in {request.name}"}.get(hop.name,
                                                                                       f"in {request.name}")
            step.broken = (f"{hop.name} ({run.topic(hop)}) was never sent {after}: the {hop.producer} stopped "
                           f"before it (print(run.console) shows what it printed).")
            return step
        other = "json" if hop.placement == "user properties" else "user properties"
        if hop.producer == "lab":
            step.context = (request.trace_id, request.span_id)
        else:
            step.context, step.elsewhere = msg.context(hop.placement), msg.context(other)
        if not continuity:
            return step
        if step.context is None:
            step.broken, step.suggests = self._no_context(hop, step.elsewhere, msg)
            return step
        if step.context[0] not in traces:
            step.broken = (f"{hop.name} in {request.name} carries the context of another trace: the "
                           f"{hop.producer}'s span that sends it is not inside the span that continued the trace. "
                           f"Fix: start the publish span inside that `with` block (and inject while it is "
                           f"current).")
            return step
        if hop.consumer == "lab":
            return step
        step.consumer = self.consumer_of(hop, step.context)
        if step.consumer is None:
            step.broken, step.suggests = self._not_continued(i, hop)
        return step

    def _no_context(self, hop: Hop, elsewhere, msg=None) -> tuple[str, dict]:
        run, producer = self.run, hop.producer
        wrapper = next((k for k, v in (msg.json() if msg is not None else {}).items()
                        if isinstance(v, dict) and "traceparent" in v), None)
        if wrapper is not None and hop.placement == "json":  # the 2023 blog's envelope: {"trace_context": {...}, ...}
            call, fix = INJECT["json"]
            return (f"{hop.name} ({run.topic(hop)}) carries a traceparent inside {wrapper!r}, an envelope of the "
                    f"{producer}'s own, not at the root of the JSON object, where the W3C convention (lesson 07) "
                    f"puts it and every consumer that follows it reads it. Fix: in {hop.sends}, {fix}: it adds the "
                    f"fields beside the app's own, and the message stays the app's."), {}
        if self.zero_code:
            return (f"{hop.name} ({run.topic(hop)}) carries no traceparent. Fix: is the {producer} instrumented? "
                    f"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS must not name paho_mqtt."), {}
        call, fix = INJECT[hop.placement]
        if elsewhere is not None and hop.placement == "json":
            return (f"{hop.name} carries its context in MQTT v5 user properties, but the {hop.consumer} speaks "
                    f"MQTT 3.1.1 and never receives them. Fix: put it in the JSON payload: {fix}, inside the span "
                    f"that publishes it."), {producer: [call]}
        if elsewhere is not None:
            continued = hop.consumer != "lab" and self.consumer_of(hop, elsewhere) is not None
            reader = ("the lab, like any MQTT v5 subscriber, reads it from user properties" if hop.consumer == "lab"
                      else f"the {hop.consumer} reads it there too, so the trace goes on" if continued
                      else f"the {hop.consumer} (MQTT v5) reads it from user properties")
            read_call, read_fix = EXTRACT["user properties"]
            suggests = {s: [c] for s, c in ((producer, call), (hop.consumer, read_call))
                        if s != "lab" and not _has(run, s, c)}
            return (f"{hop.name} carries its context in its JSON payload, and {reader}: between MQTT v5 programs "
                    f"the context travels in user properties (lesson 06), and the payload stays as the app wrote "
                    f"it. Fix: in {hop.sends}, {fix}"
                    + (f"; in {hop.handles}, {read_fix}" if hop.consumer != "lab" else "") + "."), suggests
        if _has(run, producer, call):
            after = ("publish the payload it returns: payload = inject_json_payload(payload), then "
                     "client.publish(topic, payload)" if hop.placement == "json" else
                     "publish with the properties it filled: client.publish(topic, payload, qos=1, "
                     "properties=properties)")
            return (f"{hop.name} ({run.topic(hop)}) carries no traceparent, though {producer}.py calls {call}...): "
                    f"is it on the path that publishes {hop.name}? Fix: in {hop.sends}, {after}."), {}
        return (f"{hop.name} ({run.topic(hop)}) carries no traceparent: the {producer} sends no context. Fix: in "
                f"{hop.sends}, inside the span that publishes it, {fix}."), {producer: [call]}

    def _sent_any(self, service: str) -> bool:
        return "service" not in self.spans or bool((self.spans.service == service).any())

    def _not_continued(self, i: int, hop: Hop) -> tuple[str, dict]:
        run, consumer = self.run, hop.consumer
        orphans = self.unended(consumer, i)
        if orphans:
            return (f"{hop.name} carries the context, but the {consumer}'s span for it never arrived: "
                    f"{names(s['name'] for s in orphans)} name{'s' * (len(orphans) == 1)} a parent span that never "
                    f"came, so the {consumer} started its span for {hop.name} and never ended it. Fix: {ENDED}."), {}
        if self.zero_code:
            return (f"{hop.name} carries the context, but no span of the {consumer} continues it. Fix: is the "
                    f"{consumer} instrumented? OTEL_PYTHON_DISABLED_INSTRUMENTATIONS must not name paho_mqtt."), {}
        call, fix = EXTRACT[hop.placement]
        if not self._sent_any(consumer):
            return (f"{hop.name} carries the context, but no span at all came from the {consumer} to continue it. "
                    f"Fix: first what 'services' says, so that the {consumer}'s spans leave its process."), {}
        if _has(run, consumer, call) and _bare_set_baggage(run.sources.get(consumer, "")):
            return (f"{hop.name} carries the context, and {consumer}.py reads it ({call}...)), but none of the "
                    f"{consumer}'s spans continues it: {consumer}.py calls baggage.set_baggage(key, value) without "
                    f"a context, which starts from the current one (empty in a callback), so the context it "
                    f"returns has the baggage and no trace. Fix: pass the message's context as its third argument, "
                    f"ctx = baggage.set_baggage(key, value, ctx), then attach that ctx."), {}
        if _has(run, consumer, call):
            return (f"{hop.name} carries the context, and {consumer}.py reads it ({call}...)), but none of the "
                    f"{consumer}'s spans continues it: make it current before starting the span in "
                    f"{hop.handles}: token = context.attach(ctx) first (context.detach(token) after), or start the "
                    f"span with context=ctx."), {}
        return (f"{hop.name} carries the context, but the {consumer} does not continue it: none of its spans is a "
                f"child of (or linked to) the sender's. Fix: in {hop.handles}, {fix}, then token = "
                f"context.attach(ctx) before starting its span (or start it with context=ctx)."), {consumer: [call]}

    def consumer_of(self, hop: Hop, context) -> dict | None:
        """The consumer's span that continues ``context`` (its child, or linked to it): a CONSUMER if there is one."""
        found = []
        for s in self.records:
            if s["service"] != hop.consumer:
                continue
            links = [tuple(link) for link in s["links"]] if isinstance(s["links"], (list, tuple)) else []
            if s["parent_span_id"] == context[1] or tuple(context) in links:
                found.append(s)
        return next((s for s in found if s["kind"] == "CONSUMER"), found[0] if found else None)

    def unended(self, service: str, i: int) -> list[dict]:
        """``service``'s spans in request ``i`` whose parent never arrived and is no message's sender: a span
        of theirs was started and never ended."""
        mine = self.run.during(self.spans[self.spans.service == service], i)
        return [s for s in mine.to_dict("records") if s["parent_span_id"] and s["parent_span_id"] not in self.by_id
                and s["parent_span_id"] not in self.remote]

    def descends(self, span: dict, ancestor: dict) -> bool:
        seen = set()
        while span is not None and span["span_id"] not in seen:
            if span["span_id"] == ancestor["span_id"]:
                return True
            seen.add(span["span_id"])
            span = self.by_id.get(span["parent_span_id"])
        return False

    def in_story(self, i: int) -> pd.DataFrame:
        return self.spans[self.spans.trace_id.isin(self.traces[i])] if not self.spans.empty else self.spans

    # -- 2. one trace -----------------------------------------------------------------

    def one_trace(self) -> Finding:
        name = "one trace"
        if self.spans.empty:
            return _wrong(name, "no span arrived, so the read requests' traces go nowhere. Fix: " + (
                "instrument every program (see 'services'): the paho instrumentation continues and sends on the "
                "context by itself." if self.zero_code else
                "in each service, continue the context each message brings (extract → attach → span) and send it "
                "on with the messages it publishes (inject)."))
        broken = [(i, step) for i, steps in enumerate(self.steps) for step in steps if step.broken]
        if self.zero_code:
            broken = [(i, s) for i, s in broken if s.hop in HOPS[:2]]
        if broken:
            i, step = broken[0]
            after = len(broken) - 1
            more = f" ({after} more break{'s' * (after > 1)} like it.)" if after else ""
            return _wrong(name, f"{self.name(i)}: the trace stops at {step.hop.name}: {step.broken}{more}",
                          step.suggests)
        counts = [f"{self.name(i)} {len(steps)}" for i, steps in enumerate(self.steps)]
        spans = sum(len(self.in_story(i)) for i in range(len(self.steps)))
        if self.zero_code:
            text = "in each read request's trace, the sensor and the controller continue it."
            if any(s.hop not in HOPS[:2] and s.consumer is None for steps in self.steps for s in steps):
                text += (" The vent is not: the v5 controller's instrumentation puts the context in user "
                         "properties, which the 3.1.1 vent never receives, and a v5 client reads none from JSON; "
                         "only code bridges the two protocols (exercise 12.1).")
            return _ok(name, text)
        linked = " (some joined by links)" if any(len(t) > 1 for t in self.traces) else ""
        return _ok(name, f"each read request's trace goes on through every message of its story "
                         f"({', '.join(counts)}, the alert included): {spans} spans from {_and(SERVICES)}{linked}.")

    # -- 3. kinds and parents ---------------------------------------------------------

    def kinds_and_parents(self) -> Finding:
        name = "kinds and parents"
        if self.spans.empty:
            return _wrong(name, "no span arrived: no PRODUCER or CONSUMER span to judge. Fix: " + (
                "instrument every program (see 'services'): the paho instrumentation makes a PRODUCER span for "
                "each publish and a CONSUMER span for each delivery." if self.zero_code else
                "around each client.publish, a span with kind=SpanKind.PRODUCER; in each handler, a span with "
                "kind=SpanKind.CONSUMER that continues the message's context."))
        wrong = []
        for i, steps in enumerate(self.steps):
            previous = None
            for k, step in enumerate(steps):
                wrong += self._sender(i, step, previous)
                if step.hop.consumer != "lab" and (not self.zero_code or k < 2):
                    wrong += self._receiver(i, step)
                previous = step
            if not self.zero_code:
                wrong += self._contract(i, steps)
        if not self.zero_code:
            odd = next((s for s in self.records if s["kind"] == "SERVER"
                        or (s["kind"] == "CLIENT" and _carries_messages(s, self))), None)
            if odd is not None:
                want = "PRODUCER" if odd["kind"] == "CLIENT" else "CONSUMER"
                wrong.append((f"the {odd['service']}'s span {odd['name']!r} is {odd['kind']}: "
                              f"{KIND_HINTS.get((want, odd['kind']), '')}", {}))
        if wrong:
            more = f" ({len(wrong) - 1} more like it.)" if len(wrong) > 1 else ""
            return _wrong(name, wrong[0][0] + more, wrong[0][1])
        if self.zero_code:
            return _ok(name, "each message is a PRODUCER span of the program that sends it (the vent's report with "
                             "its context in the JSON, the alert in user properties), and the read request and the "
                             "reading a CONSUMER span where handled, its child.")
        total = sum(len(steps) for steps in self.steps)
        return _ok(name, f"each of the {total} messages (the alerts too) is a PRODUCER span of the program that "
                         f"sends it, inside its span for what it handled, and a CONSUMER span where it is handled, "
                         f"the consumer the producer's child (or linked); one span per message each side.")

    def _sender(self, i: int, step: _Step, previous: _Step | None) -> list:
        hop, run = step.hop, self.run
        if hop.producer == "lab" or step.message is None:
            return []
        placement = hop.placement
        context = step.context
        if self.zero_code:  # the instrumentation writes where the sender's protocol lets it
            placement = "json" if hop.producer == "vent" else "user properties"
            context = step.message.context(placement)
            if context is None:
                if hop.producer == "vent":
                    return [("the vent's report carries no traceparent in its JSON: a 3.1.1 client puts it there "
                             "only when asked. Fix: OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD=true for the vent."
                             + _json_option_given(run), {})]
                return []
        context = context or step.elsewhere   # sent where the consumer does not look: 'one trace' says so
        where = f"{hop.name} in {self.name(i)}"
        if context is None:
            wrapped = step.message is not None and any(isinstance(v, dict) and "traceparent" in v
                                                       for v in step.message.json().values())
            where_not = ("no context where the W3C convention puts it (its traceparent is wrapped in an envelope)"
                         if wrapped else "no context")
            return [(f"{where} carries {where_not}, so no span of the {hop.producer} is named as its sender: every "
                     f"message is a PRODUCER span of the program that sends it (see 'one trace').", {})]
        sender = self.by_id.get(context[1])
        if sender is None:
            return [(f"{where} names span {context[1]} as its sender, but no such span arrived from the "
                     f"{hop.producer}: inject while the publish span is current, and let it end ({ENDED}).", {})]
        if sender["service"] != hop.producer:
            kind_there = _has(run, hop.producer, "SpanKind.PRODUCER")
            fix = (f"{hop.producer}.py has a PRODUCER span: inject inside its `with` block, so the message names it"
                   if kind_there else
                   f"in {hop.sends}, publish inside a span of its own, kind=SpanKind.PRODUCER, and inject while it "
                   f"is current")
            return [(f"{where} names as its sender the {sender['service']}'s span {sender['name']!r}, not a span of "
                     f"the {hop.producer}: the {hop.producer} passed on the context it received instead of sending "
                     f"its own. Fix: {fix}.", {} if kind_there else {hop.producer: ["SpanKind.PRODUCER"]})]
        if sender["kind"] != "PRODUCER":
            hint = KIND_HINTS.get(("PRODUCER", sender["kind"]), "a publish is kind=SpanKind.PRODUCER.")
            return [(f"the {hop.producer}'s span that sends {where}, {sender['name']!r}, is {sender['kind']}, not "
                     f"PRODUCER. {hint}", {})]
        handled = previous.consumer if previous is not None else None
        if not self.zero_code and handled is not None and handled["service"] == hop.producer \
                and not self.descends(sender, handled):
            return [(f"the {hop.producer}'s PRODUCER span {sender['name']!r} for {where} is not inside its span for "
                     f"{previous.hop.name}, {handled['name']!r}: start it inside that `with` block, so the story "
                     f"reads as one.", {})]
        return []

    def _receiver(self, i: int, step: _Step) -> list:
        hop = step.hop
        if step.message is None:
            return []   # see 'one trace'
        context = step.context or step.elsewhere
        consumer = step.consumer if step.consumer is not None else \
            self.consumer_of(hop, context) if context is not None else None
        if consumer is None and step.context is None:
            return [(f"{hop.name} in {self.name(i)} carries no context the {hop.consumer} can read, so the "
                     f"{hop.consumer}'s span cannot be the child of its sender (see 'one trace').", {})]
        if consumer is None:
            if self.unended(hop.consumer, i):
                return [(f"the {hop.consumer}'s span for {hop.name} in {self.name(i)} never arrived: it was started "
                         f"and never ended (see 'one trace').", {})]
            what = f"no span of the {hop.consumer} is the child of {hop.name}'s sender (see 'one trace')"
            if "CONSUMER" not in set(self.spans[self.spans.service == hop.consumer].kind):
                what += f"; and the {hop.consumer} has no CONSUMER span at all: kind=SpanKind.CONSUMER in {hop.handles}"
            return [(what + ".", {})]
        if consumer["kind"] != "CONSUMER":
            hint = KIND_HINTS.get(("CONSUMER", consumer["kind"]), "handling a delivered message is a CONSUMER: "
                                                                  "kind=SpanKind.CONSUMER.")
            return [(f"the {hop.consumer}'s span for {hop.name}, {consumer['name']!r}, is {consumer['kind']}, not "
                     f"CONSUMER. {hint}", {})]
        return []

    def _contract(self, i: int, steps: list) -> list:
        """One PRODUCER span per message a program sent, one CONSUMER span per message it handled."""
        if any(s.broken for s in steps):
            return []
        story = self.in_story(i)
        out = []
        for service in SERVICES:
            for kind, role in (("PRODUCER", "producer"), ("CONSUMER", "consumer")):
                sent = [s for s in steps if getattr(s.hop, role) == service]
                spans = story[(story.service == service) & (story.kind == kind)]
                if len(spans) > len(sent):
                    verb = "sent" if kind == "PRODUCER" else "handled"
                    out.append((f"the {service} has {len(spans)} {kind} spans in {self.name(i)}'s trace "
                                f"({names(spans.name)}) for {len(sent)} message{'s' * (len(sent) != 1)} it {verb}: "
                                f"one message, one {kind} span (a span around it is INTERNAL, or not there).", {}))
        return out

    # -- 6. baggage -------------------------------------------------------------------

    def baggage(self) -> Finding:
        name, key, run = "baggage", "greenhouse.id", self.run
        want = f"{key}={run.greenhouse}"
        for i in range(len(run.requests)):
            reading = run.message(run.topic(HOPS[1]), i)
            command = run.message(run.topic(HOPS[2]), i)
            got = (reading.baggage("user properties") or reading.baggage("json")) if reading is not None else {}
            if got.get(key) != run.greenhouse:
                if got.get(key):
                    return _wrong(name, f"the reading carries {key}={got[key]}, but this run's greenhouse is "
                                  f"{run.greenhouse}: the lab names it anew each run. Fix: in the sensor, "
                                  f"baggage.set_baggage({key!r}, GREENHOUSE, ctx), GREENHOUSE from common.py, not a "
                                  f"value typed in.")
                extra = f" (it carries {got})" if got else ""
                other_key = next((k for k, v in got.items() if v == run.greenhouse), None)
                if other_key is not None:
                    return _wrong(name, f"the reading in {self.name(i)} carries the greenhouse as {other_key}="
                                  f"{run.greenhouse}, not {want}: the baggage travels, but under another key, and "
                                  f"the controller and the vent ask for {key!r}. Fix: in the sensor, "
                                  f"baggage.set_baggage({key!r}, GREENHOUSE, ctx).")
                has_set = _has(run, "sensor", "set_baggage(")
                fix = ("the sensor calls set_baggage, but the context it returns must be the one made current "
                       "(token = context.attach(ctx)) before its spans, so inject_user_properties sends it along"
                       if has_set else
                       f"in the sensor, ctx = baggage.set_baggage({key!r}, GREENHOUSE, ctx), then token = "
                       f"context.attach(ctx) before its spans, so inject_user_properties sends it along")
                return _wrong(name, f"the reading in {self.name(i)} carries no baggage {want}{extra}. Fix: {fix}.",
                              {} if has_set else {"sensor": ["set_baggage("]})
            if command is not None and command.baggage("json").get(key) != run.greenhouse \
                    and command.baggage("user properties").get(key) == run.greenhouse:
                return _wrong(name, f"the command to the vent in {self.name(i)} carries {want} in MQTT v5 user "
                              f"properties, which the 3.1.1 vent never receives (see 'one trace'): it travels in "
                              f"the command's JSON, with the trace context.")
            if command is None or command.baggage("json").get(key) != run.greenhouse:
                carried = command is not None and command.context("json") is not None
                attached = _has(run, "controller", "context.attach(")
                why = (" The command carries the trace context but not the baggage: start_as_current_span(context=ctx) "
                       "takes ctx's span as parent, not its baggage. Fix: token = context.attach(ctx) in on_reading, "
                       "then start the spans." if carried and not attached else
                       " The command carries the trace context but not the baggage: the context must be current "
                       "(attached) when the controller injects, inside on_reading." if carried else
                       " It is wrapped in an envelope with the trace context (see 'one trace'): at the root of the "
                       "object, inject_json_payload(...) writes both." if command is not None and any(
                           isinstance(v, dict) and "traceparent" in v for v in command.json().values()) else
                       " Fix: inject_json_payload(...) in the controller, with the reading's context current "
                       "(context.attach(ctx)).")
                return _wrong(name, f"the reading carries {want}, but the command to the vent in {self.name(i)} does "
                              f"not carry it in its JSON.{why}",
                              {"controller": ["context.attach("]} if carried and not attached else {})
            for service in ("controller", "vent"):
                mine = run.during(self.spans[self.spans.service == service], i)
                values = [s["attributes"].get(key) for s in mine.to_dict("records")]
                if run.greenhouse not in values and self.unended(service, i):
                    return _wrong(name, f"none of the {service}'s spans that arrived in {self.name(i)} has the "
                                  f"attribute {key}={run.greenhouse!r}: its span for the message was never ended, so "
                                  f"never exported (see 'one trace'). Fix: {ENDED}.")
                if run.greenhouse not in values and not self._sent_any(service):
                    return _wrong(name, f"the baggage reaches the {service} in {self.name(i)}, but no span at all "
                                  f"came from the {service} to carry {key}. Fix: first what 'services' says, so "
                                  f"that the {service}'s spans leave its process.")
                if run.greenhouse not in values:
                    seen = [v for v in values if v is not None]
                    typed = bool(seen)
                    got = (f" (it has {key}={seen[0]!r}: typed in, or a fallback? the lab names the greenhouse anew "
                           f"each run, and the baggage brings it)" if typed else "")
                    reads = _has(run, service, "get_baggage(")
                    fix = (f"{service}.py reads the baggage, but none of its spans got the attribute: set it on its span "
                           f"for the message, after the context is attached: span.set_attribute({key!r}, "
                           f"baggage.get_baggage({key!r}))" if reads and not typed else
                           f"span.set_attribute({key!r}, baggage.get_baggage({key!r})) in its span for the message")
                    return _wrong(name, f"the baggage reaches the {service} in {self.name(i)}, but none of its spans "
                                  f"has the attribute {key}={run.greenhouse!r}{got}. Fix: {fix}.",
                                  {} if reads else {service: ["get_baggage("]})
        return _ok(name, f"{want} travels as baggage (in the reading's user properties, in the command's JSON) and is "
                         f"on the controller's and the vent's spans, in both read requests.")


# ---------------------------------------------------------------- 4. the failure

def _jammed(s) -> bool:
    return any(e[0] == "exception" and str(e[1].get("exception.type", "")).endswith("VentJammed")
               for e in s["events"])


def _failure(story: _Story) -> Finding:
    name, run = "the failure", story.run
    fix = ("in vent.py's except VentJammed block, span.record_exception(exc) and "
           "span.set_status(Status(StatusCode.ERROR, str(exc))); or let the exception leave a "
           "`with tracer.start_as_current_span(...)` block inside the try, which records both")
    failed = [i for i, r in enumerate(run.requests) if r.read.outcome == "failed"]
    fine = [i for i, r in enumerate(run.requests) if r.read.outcome == "ok"]
    if run.spans[run.spans.service == "vent"].empty:
        return _wrong(name, f"no span came from the vent, so nothing records that it jammed. Fix: {fix}.")
    for i in fine:
        vent = run.during(run.spans[run.spans.service == "vent"], i).to_dict("records")
        bad = [s for s in vent if s["status"] == "ERROR" or any(e[0] == "exception" for e in s["events"])]
        if bad:
            what = "has status ERROR" if bad[0]["status"] == "ERROR" else "records an exception"
            return _wrong(name, f"in {story.name(i)} the vent's command worked ({run.requests[i].read.command}), "
                          f"yet its span {bad[0]['name']!r} {what}: only a command that fails is an error. Fix: "
                          f"record the exception and set the status in the except VentJammed block only.")
    for i in failed:
        vent = run.during(run.spans[run.spans.service == "vent"], i).to_dict("records")
        both = [s for s in vent if s["status"] == "ERROR" and _jammed(s)]
        if both:
            continue
        errors = [s for s in vent if s["status"] == "ERROR"]
        recorded = [s for s in vent if _jammed(s)]
        if recorded:
            has = _has(run, "vent", "set_status(")
            return _wrong(name, f"the vent's {recorded[0]['name']!r} records the VentJammed exception but its status "
                          f"is {recorded[0]['status']}: record_exception does not set it. Fix: "
                          + ("vent.py calls set_status, but not on this span: call it on the span that recorded the "
                             "exception, with StatusCode.ERROR." if has else
                             "span.set_status(Status(StatusCode.ERROR, str(exc)))."),
                          {} if has else {"vent": ["set_status("]})
        if errors:
            has = _has(run, "vent", "record_exception(")
            return _wrong(name, f"the vent's {errors[0]['name']!r} has status ERROR, but no exception event says what "
                          f"failed. Fix: " + ("vent.py calls record_exception, but not on this span: record it on the "
                                              "span whose status is ERROR." if has else
                                              "span.record_exception(exc) in the except block."),
                          {} if has else {"vent": ["record_exception("]})
        if _has(run, "vent", "record_exception(") and _has(run, "vent", "set_status("):
            return _wrong(name, f"none of the vent's {len(vent)} spans in {story.name(i)} records that it jammed, though "
                          f"vent.py calls record_exception and set_status: on a span that had ended already (a span "
                          f"ignores both once ended), or not on the jam's path. Fix: call them in the except "
                          f"VentJammed block on a span still open there, e.g. trace.get_current_span().")
        return _wrong(name, f"none of the vent's {len(vent)} spans in {story.name(i)} records that it jammed (the app "
                      f"catches VentJammed, so nothing else will). Fix: {fix}.", {"vent": ["record_exception("]})
    for i in failed:
        jams = [s for s in run.during(run.spans[run.spans.service == "vent"], i).to_dict("records")
                if s["status"] == "ERROR" and _jammed(s)]
        whole = not any(step.broken for step in story.steps[i])
        if whole and not any(s["trace_id"] in story.traces[i] for s in jams):
            return _wrong(name, f"the vent's {jams[0]['name']!r} records the jam, but in a trace of its own, not in "
                          f"{story.name(i)}'s: on the waterfall of the story the failure is missing. Fix: start it "
                          f"inside the `with` block of the vent's span for the command.")
    s = next(s for i in failed for s in run.during(run.spans[run.spans.service == "vent"], i).to_dict("records")
             if s["status"] == "ERROR" and _jammed(s))
    i = failed[0]
    where = ("in the read request's trace" if s["trace_id"] == run.requests[i].trace_id else
             "in a trace linked to the read request's" if s["trace_id"] in story.traces[i] else
             "in another trace (see 'one trace')")
    return _ok(name, f"the vent's {s['name']!r} has status ERROR and a VentJammed exception event in "
                     f"{story.name(i)}, {where}; the morning's command, which worked, is no error.")


# ---------------------------------------------------------------- 5. the slow step

def _slow_step(story: _Story) -> Finding:
    name, run = "the slow step", story.run
    found = []
    for i in range(len(run.requests)):
        controller = run.during(run.spans[run.spans.service == "controller"], i)
        if controller.empty:
            return _wrong(name, f"no span came from the controller in {story.name(i)}, so its slow step is nowhere "
                          f"to be seen. Fix: give fetch_forecast() a span of its own, inside the span for the reading.")
        ids = set(controller.span_id)
        inner = controller[~controller.kind.isin(["CONSUMER", "PRODUCER"])]
        slow = inner[inner.duration_ms >= SLOW_MS]
        nested = slow[slow.parent_span_id.isin(ids)]
        if not nested.empty:
            s = nested.iloc[0]
            parent = controller[controller.span_id == s.parent_span_id].iloc[0]
            found.append((s, parent))
            continue
        if not slow.empty:
            return _wrong(name, f"{slow.iloc[0]['name']!r} covers the slow call but is not inside the controller's "
                          f"span for the reading: start it inside that `with` block.")
        long_ones = controller[controller.duration_ms >= SLOW_MS]
        short = inner[inner.name.str.contains("forecast", case=False)] if not inner.empty else inner
        if not short.empty:
            s = short.iloc[0]
            return _wrong(name, f"{s['name']!r} lasts {s.duration_ms:.0f} ms: it does not wrap the slow call, which "
                          f"takes about 0.3 s. Fix: call forecast = fetch_forecast() inside its `with` block.")
        if not long_ones.empty:
            s = long_ones.iloc[0]
            return _wrong(name, f"the controller's {s['name']!r} lasts {s.duration_ms / 1000:.1f} s, but nothing "
                          f"inside it says where the time goes. Fix: wrap forecast = fetch_forecast() in a span of "
                          f"its own: with tracer.start_as_current_span('fetch forecast'):.")
        shown = f" ({names(inner.name)} are all shorter)" if not inner.empty else ""
        return _wrong(name, f"no controller span lasts {SLOW_MS} ms or more in {story.name(i)}{shown}: the slow call "
                      f"is fetch_forecast() (about 0.3 s). Fix: give it a span of its own, inside the span for the "
                      f"reading.")
    s, parent = found[-1]
    return _ok(name, f"{s['name']!r} ({s.duration_ms / 1000:.1f} s) under {parent['name']!r} shows where the "
                     f"controller's time goes, for each reading.")


# ---------------------------------------------------------------- 7. metrics

def _latest(points: pd.DataFrame) -> list[dict]:
    out = {}
    for p in points.to_dict("records"):
        out[(p["service"], p["name"], repr(sorted(p["attributes"].items())))] = p
    return list(out.values())


def _metrics(story: _Story) -> Finding:
    name, run = "metrics", story.run
    points = _latest(run.metrics)
    problems = [_counter(run, points), _histogram(run, points)]
    if all(isinstance(p, str) for p in problems):
        return _ok(name, "; ".join(problems) + ".")
    return next(p for p in problems if not isinstance(p, str))


def _named(run, points, service, metric, kind):
    mine = [p for p in points if p["service"] == service]
    match = [p for p in mine if p["name"] == metric]
    if match:
        return match, None
    others = sorted({p["name"] for p in mine if not p["name"].startswith(("messaging.", "otel."))})
    where = {"vent": "vent.py", "controller": "controller.py"}[service]
    make = "create_counter" if kind == "counter" else "create_histogram"
    if others:
        return None, _wrong("metrics", f"the {service} sent {names(others)}, no {metric!r}."
                            f"{did_you_mean(metric, others)} Fix: tele.meter.{make}({metric!r}, ...) in {where}.")
    if _has(run, service, f"{make}("):
        use = (".add(1, {'command': ..., 'outcome': ...}) for each command" if kind == "counter" else
               ".record(seconds, {'greenhouse.id': ...}) once per reading")
        return None, _wrong("metrics", f"no metric {metric!r} arrived from the {service}, though {where} calls "
                            f"{make}: is it named {metric!r}, and is {use} reached?")
    return None, _wrong("metrics", f"no metric {metric!r} arrived from the {service}. Fix: in {where}, "
                        f"tele.meter.{make}({metric!r}, ...)" + (
                            ", and .add(1, {'command': command['action'], 'outcome': 'ok' or 'failed'}) for each "
                            "command it carries out." if kind == "counter" else
                            ", and .record(seconds, {'greenhouse.id': ...}) once per reading: the time from the "
                            "reading in to the decision, forecast included."), {service: [f"{make}("]})


def _counter(run: Run, points):
    match, why = _named(run, points, "vent", COUNTER, "counter")
    if why:
        return why
    if any(p["kind"] != "counter" for p in match):
        return _wrong("metrics", f"{COUNTER!r} is a {match[0]['kind']}, not a counter: a count of commands only goes "
                      f"up (create_counter).")
    counted = {(p["attributes"].get("command"), p["attributes"].get("outcome")): p["value"] for p in match}
    wanted = {(r.read.command, r.read.outcome): 0 for r in run.requests}
    for r in run.requests:
        wanted[(r.read.command, r.read.outcome)] += 1
    if all(c == (None, None) for c in counted):
        return _wrong("metrics", f"{COUNTER!r} has the attributes "
                      f"{'; '.join(str(p['attributes']) for p in match)}, not command and outcome. Fix: give .add() the "
                      f"attributes {{'command': command['action'], 'outcome': 'ok' or 'failed'}}.")
    for (command, outcome), n in wanted.items():
        got = counted.get((command, outcome), 0)
        if got != n:
            shown = "; ".join(f"{{command: {c}, outcome: {o}}} = {v}" for (c, o), v in counted.items())
            which = "worked" if outcome == "ok" else "failed"
            hint = ("add 1 for every command the vent carries out, whether it worked or failed"
                    if got == 0 else f"add 1 per command, once (it counted {got})")
            return _wrong("metrics", f"{COUNTER!r} counts {shown}: the {command!r} command {which} "
                          f"{n} time{'s' * (n != 1)} this run, so {{'command': {command!r}, 'outcome': {outcome!r}}} "
                          f"should be {n}. Fix: {hint}, with outcome 'ok' or 'failed' as it went.")
    extra = {k: v for k, v in counted.items() if k not in wanted and v}
    if extra:
        (command, outcome), v = next(iter(extra.items()))
        return _wrong("metrics", f"{COUNTER!r} counts {{'command': {command!r}, 'outcome': {outcome!r}}} = {v}, which "
                      f"did not happen this run: the outcome is 'ok' when move_vent returns, 'failed' when it raises.")
    return f"{COUNTER} counts each command by outcome ({', '.join(f'{c} {o}' for c, o in wanted)}) from the vent"


def _histogram(run: Run, points):
    match, why = _named(run, points, "controller", HISTOGRAM, "histogram")
    if why:
        return why
    p = match[0]
    if p["kind"] != "histogram":
        return _wrong("metrics", f"{HISTOGRAM!r} is a {p['kind']}, not a histogram: a duration is recorded "
                      f"(create_histogram).")
    if p["unit"] != "s":
        return _wrong("metrics", f"{HISTOGRAM!r} has the unit {p['unit']!r}: durations are in seconds, unit='s' "
                      f"(OpenTelemetry's convention).")
    readings = len(run.requests)
    count, total = sum(m["value"]["count"] for m in match), sum(m["value"]["sum"] for m in match)
    if count != readings:
        return _wrong("metrics", f"{HISTOGRAM!r} has {count} measurement{'s' * (count != 1)}, expected {readings}: "
                      f"record once per reading, whatever the decision.")
    mean = total / count
    if mean >= SLOW_MS:
        return _wrong("metrics", f"{HISTOGRAM!r} recorded {mean:.0f} per reading: milliseconds, in a histogram whose "
                      f"unit is 's'. Fix: record time.perf_counter() differences as they are (seconds).")
    if mean < SLOW_MS / 1000:
        return _wrong("metrics", f"{HISTOGRAM!r} recorded {mean:.3f} s per reading, less than the forecast alone "
                      f"takes: start the clock when the reading comes in, before fetch_forecast().")
    values = {m["attributes"].get("greenhouse.id") for m in match}
    if values != {run.greenhouse}:
        seen = sorted(str(v) for v in values)
        typed = [v for v in values if v is not None and v != run.greenhouse]
        return _wrong("metrics", f"{HISTOGRAM!r} has greenhouse.id {', '.join(seen)}, not {run.greenhouse} (this run's "
                      f"greenhouse){': typed in?' if typed else ''}. Fix: .record(seconds, "
                      f"{{'greenhouse.id': baggage.get_baggage('greenhouse.id')}}), with the reading's context "
                      f"attached.")
    return f"{HISTOGRAM} {{greenhouse.id: {run.greenhouse}}}: {count} measurements, {mean:.1f} s each, from the controller"


def _messaging_metrics(run: Run) -> Finding:
    name, metric = "metrics", "messaging.client.sent.messages"
    points = _latest(run.metrics)
    sent = {p["service"] for p in points if p["name"] == metric and p["value"]}
    missing = [s for s in SERVICES if s not in sent]
    if missing:
        return _wrong(name, f"no {metric!r} arrived from {names(missing)}. Fix: run each program under "
                      f"opentelemetry-instrument with paho_mqtt enabled; it exports the messaging metrics with "
                      f"OTEL_METRICS_EXPORTER=otlp, which the lab sets.")
    return _ok(name, f"{metric} and the other messaging metrics came from {_and(SERVICES)} (the app's own "
                     f"{COUNTER} and {HISTOGRAM} need code).")


# ---------------------------------------------------------------- 8. logs

def _logs(story: _Story) -> Finding:
    name, run, zero_code = "logs", story.run, story.zero_code
    bridge = ("start it under opentelemetry-instrument: its logging instrumentation bridges Python logging"
              if zero_code else "kit.telemetry.setup('{service}') bridges Python logging (so does "
                                "opentelemetry-instrument)")
    logs = run.logs
    for service in SERVICES:
        if logs[logs.service == service].empty:
            return _wrong(name, f"no log record arrived from the {service}: its logging is not bridged to "
                          f"OpenTelemetry. Fix: {bridge.format(service=service)}.")
    first = run.requests[0].sent
    ours = logs[logs.service.isin(SERVICES)]
    if first is not None:   # records from before the first request (start-up) are about no request
        times = pd.to_datetime(ours.time, utc=True)
        ours = ours[times.isna() | (times >= pd.Timestamp(first))]
    for service in SERVICES:
        wrote, writes = len(ours[ours.service == service]), LOGGED[service] * len(run.requests)
        if wrote < writes:
            return _wrong(name, f"the {service} wrote {wrote} log record{'s' * (wrote != 1)} while it handled the "
                          f"{len(run.requests)} read requests; the app as given writes {writes}: keep the programs' "
                          f"own log.info and log.error calls, inside their spans.")
    whole = not zero_code and not any(s.broken for steps in story.steps for s in steps)
    stories = set().union(*story.traces) if whole else set()   # a broken story is 'one trace''s to judge
    counts = {s: 0 for s in SERVICES}
    for r in ours.to_dict("records"):
        span = story.by_id.get(r["span_id"])
        said = f"the {r['service']}'s {r['severity']} record {str(r['body'])[:60]!r}"
        if span is None:
            why = ("carries no trace: it was written outside any span" if not r["trace_id"] else
                   "names a span that never arrived (never ended?)")
            return _wrong(name, f"{said} {why}. Every record about a request carries the trace and span it was "
                          f"written in. Fix: write it inside the `with` block of the {r['service']}'s span for the "
                          f"message (an except or else branch too).")
        if span["service"] != r["service"]:
            return _wrong(name, f"{said} is tied to the {span['service']}'s span {span['name']!r}: it was written "
                          f"outside the {r['service']}'s own spans, in the context it received. Fix: write it inside "
                          f"the `with` block of the {r['service']}'s span for the message.")
        if whole and span["trace_id"] not in stories:
            return _wrong(name, f"{said} is in span {span['name']!r}, in a trace that is no read request's: it was "
                          f"written in a span that does not continue the request (see 'one trace').")
        counts[r["service"]] += 1
    failed = sum(r.read.outcome == "failed" for r in run.requests)
    for service, per_failure in LOGGED_ERRORS.items():
        records = ours[ours.service == service]
        numbers = records["severity_number"] if "severity_number" in records else [None] * len(records)
        errors = sum(_is_error(severity, number) for severity, number in zip(records.severity, numbers))
        if errors < per_failure * failed:
            return _wrong(name, f"the {service} wrote {errors} ERROR record{'s' * (errors != 1)} about the failed "
                          f"command; the app as given writes {per_failure * failed} (log.error): the failure is the "
                          f"record someone searches for, by its severity. Fix: keep the {service}'s log.error call "
                          f"for the failure.")
    shown = ", ".join(f"{s} {n}" for s, n in counts.items())
    where = ", each in its read request's trace" if whole else ""
    return _ok(name, f"every one of the app's {sum(counts.values())} log records about the requests carries the trace "
                     f"and span it was written in ({shown}{where}).")


def _is_error(severity, number) -> bool:
    """ERROR or worse, by OTLP's severity number (17-24) or, without one, by its text."""
    try:
        if number is not None and not pd.isna(number) and int(number) > 0:
            return int(number) >= 17
    except (TypeError, ValueError):
        pass
    return str(severity).upper().startswith(("ERROR", "FATAL", "CRITICAL"))


def _carries_messages(span: dict, story) -> bool:
    """A CLIENT span that wraps a publish or a delivery, or says it is messaging (the 2023 blog's
    nesting): not a call out to another service, such as fetch_forecast()'s weather service,
    for which CLIENT is the right kind."""
    attributes = span.get("attributes")
    if isinstance(attributes, dict) and any(str(k).startswith("messaging.") for k in attributes):
        return True
    if str(span.get("name", "")).split(" ")[0].lower() in ("publish", "send", "process", "receive", "deliver"):
        return True
    return any(s["kind"] in ("PRODUCER", "CONSUMER") and s is not span and story.descends(s, span)
               for s in story.records)
