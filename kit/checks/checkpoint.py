"""The capstone's checkpoint: a reviewer's look at one run of the greenhouse (lesson 12).

    >>> run = lab.run("my_greenhouse")          # kit.capstone: the app as processes, one read request
    >>> check_checkpoint(run)                   # eight findings, each ✓ or ✗ with the fix
    >>> check_checkpoint(zero, zero_code=True)  # what zero-code can give; the rest is shown as ·

Like grafana/intro-to-mltp's smoke test, the lab sent one request with a traceparent it
made up, so the checkpoint knows which trace to look for (``run.trace_id``). It reads
what the receiver got from the three processes and what went over the broker, and judges:

1. **services** -- spans came from sensor, controller and vent, each under its own name;
2. **one trace** -- the request's trace goes on through every message of the story:
   request → sensor → reading → controller → command → vent → report → controller;
3. **kinds and parents** -- each message is a PRODUCER span where it is sent and a
   CONSUMER span where it is handled, the consumer a child (or a link) of the producer;
4. **the failure** -- the vent's VentJammed is on a span: status ERROR and an exception event;
5. **the slow step** -- the controller's slow call has a span of its own, under the reading's;
6. **baggage** -- greenhouse.id=gh-1 travels as baggage and lands on the controller's and
   the vent's spans;
7. **metrics** -- the vent's counter ``greenhouse.commands`` {command, outcome} and the
   controller's histogram ``greenhouse.decision.duration`` (s) {greenhouse.id};
8. **logs** -- each service's log records carry the trace and span they were written in.

Each finding is judged on its own, so a half-done app gets ✗ exactly where it is half done.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from kit.capstone import GREENHOUSE, HOPS, SERVICES, Hop, Run
from kit.checks._result import Result, did_you_mean, names
from kit.checks.spans import KIND_HINTS

SLOW_MS = 250          # fetch_forecast() sleeps 300 ms: a span that covers it lasts at least this long
COUNTER, HISTOGRAM = "greenhouse.commands", "greenhouse.decision.duration"
COUNTER_ATTRIBUTES = {"command": "open", "outcome": "failed"}
FINDINGS = ("services", "one trace", "kinds and parents", "the failure", "the slow step", "baggage", "metrics",
            "logs")
INJECT = {"user properties": "properties = Properties(PacketTypes.PUBLISH); inject_user_properties(properties); "
                             "client.publish(..., properties=properties)",
          "json": "payload = inject_json_payload(payload) before client.publish(topic, payload)"}
EXTRACT = {"user properties": "ctx = extract_user_properties(msg.properties)",
           "json": "ctx = extract_json_payload(msg.payload)"}


@dataclass
class Finding:
    name: str
    status: str   # "✓", "✗", or "·" (not expected: zero code cannot do it)
    text: str

    def __str__(self):
        return f"{self.status} {self.name}: {self.text}"


@dataclass(repr=False)
class Checkpoint(Result):
    """A :class:`Result` whose message lists the findings, one per line; ``findings`` holds them."""

    findings: list = field(default_factory=list)

    def finding(self, name: str) -> Finding:
        return next(f for f in self.findings if f.name == name)


def check_checkpoint(run: Run, zero_code: bool = False) -> Checkpoint:
    """Judge ``run`` (a :class:`kit.capstone.Run`) as a reviewer would; see the module's docstring.

    ``zero_code=True`` judges what instrumentation without code can give (services, the
    MQTT v5 part of the trace, the messaging metrics, logs) and shows the findings only
    code can satisfy as ``·``, saying why."""
    if not isinstance(run, Run):
        return Checkpoint(False, f"check_checkpoint takes what lab.run(...) returned, not {type(run).__name__}.")
    story = _Story(run)
    traces = story.walk(HOPS)[1]  # the read request's trace, and those its links lead to
    findings = [
        _services(run, zero_code),
        story.one_trace(zero_code),
        story.kinds_and_parents(zero_code),
        _not_expected("the failure", "the app catches VentJammed itself, so no instrumentation sees it; "
                      "only code records it on a span") if zero_code else _failure(run, traces),
        _not_expected("the slow step", "zero code makes spans for messages only: fetch_forecast()'s 0.3 s is "
                      "inside the controller's process span, unnamed") if zero_code else _slow_step(run),
        _not_expected("baggage", "no instrumentation knows the greenhouse id: only code can put it in the "
                      "baggage") if zero_code else story.baggage(),
        _messaging_metrics(run) if zero_code else _metrics(run),
        _logs(run, traces, zero_code),
    ]
    strangers = [s for s in dict.fromkeys(run.spans.service) if s not in SERVICES]
    if findings[0].status == "✗" and strangers:  # every other finding looks the services up by name
        for f in findings[1:]:
            if f.status == "✗":
                f.text = (f"not judged: the spans came as {names(strangers)}, not as {_and(SERVICES)} "
                          f"(see 'services').")
    judged = [f for f in findings if f.status != "·"]
    passed = all(f.status == "✓" for f in judged)
    head = (f"Checkpoint of {run.app}, the trace of the read request ({run.trace_id}): "
            f"{sum(f.status == '✓' for f in judged)} of {len(judged)} ✓"
            + (f", {len(findings) - len(judged)} only code can do (·)" if zero_code else ""))
    lines = [f"  ! {p}" for p in run.problems] + [f"  {f}" for f in findings]
    return Checkpoint(passed, "\n".join([head] + lines), findings)


def _not_expected(name: str, why: str) -> Finding:
    return Finding(name, "·", f"not from zero code: {why}.")


def _ok(name, text):
    return Finding(name, "✓", text)


def _wrong(name, text):
    return Finding(name, "✗", text)


def _and(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------- 1. services

def _services(run: Run, zero_code: bool) -> Finding:
    seen = list(dict.fromkeys(run.spans.service))
    missing = [s for s in SERVICES if s not in seen]
    if not missing:
        return _ok("services", f"spans came from {_and(SERVICES)}, each under its own service.name.")
    how = ("start each script under opentelemetry-instrument, with OTEL_SERVICE_NAME set to its own name"
           if zero_code else "in each script, set up its providers with OTLP export: tele = setup('vent') "
                             "(kit.telemetry) exports where the lab's OTEL_* variables say")
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
        return _wrong("services", f"nothing arrived at the receiver from any service. Fix: {how}.")
    strangers = [s for s in seen if s not in SERVICES]
    if strangers:
        named = ("set OTEL_SERVICE_NAME to each script's own name (sensor, controller, vent)" if zero_code else
                 "give each its own: setup('sensor'), setup('controller'), setup('vent')")
        close = next((did_you_mean(m, strangers) for m in missing if did_you_mean(m, strangers)), "")
        return _wrong("services", f"spans came from {names(strangers)}, none from {names(missing)}: every "
                      f"service needs its own service.name.{close} Fix: {named}.")
    return _wrong("services", f"no span came from {names(missing)} (spans came from {names(seen)}). Fix: {how}.")


# ---------------------------------------------------------------- 2, 3, 6: the story's messages

class _Story:
    """The run's spans and messages, hop by hop."""

    def __init__(self, run: Run):
        self.run = run
        self.spans = run.spans
        self.by_id = {s["span_id"]: s for s in run.spans.to_dict("records")}

    def consumer_of(self, hop: Hop, context) -> dict | None:
        """The consumer's span that continues ``context`` (its child, or linked to it)."""
        if context is None:
            return None
        for s in self.spans[self.spans.service == hop.consumer].sort_values("start").to_dict("records"):
            links = [tuple(link) for link in s["links"]] if isinstance(s["links"], (list, tuple)) else []
            if s["parent_span_id"] == context[1] or tuple(context) in links:
                return s
        return None

    def context_of(self, hop: Hop):
        """(message, the context where the consumer can read it, the context elsewhere)."""
        msg = self.run.message(hop.topic)
        if msg is None:
            return None, None, None
        if hop.producer == "lab":
            return msg, (self.run.trace_id, self.run.request_span_id), None
        other = "json" if hop.placement == "user properties" else "user properties"
        return msg, msg.context(hop.placement), msg.context(other)

    # -- 2. one trace -----------------------------------------------------------------

    def hop_break(self, hop: Hop, story: set, zero_code: bool = False) -> tuple[str | None, dict | None]:
        """Why the trace stops at ``hop`` (None if it goes on), and the consumer's span."""
        msg, ctx, elsewhere = self.context_of(hop)
        if msg is None:
            return (f"{hop.name} ({hop.topic}) was never sent: the {hop.producer} stopped before it "
                    f"(print(run.console) shows what it printed)."), None
        if ctx is None and zero_code:
            return (f"{hop.name} ({hop.topic}) carries no traceparent. Fix: is the {hop.producer} instrumented? "
                    f"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS must not name paho_mqtt."), None
        if ctx is None:
            if elsewhere is not None and hop.placement == "json":
                return (f"{hop.name} carries its context in MQTT v5 user properties, but the {hop.consumer} speaks "
                        f"MQTT 3.1.1 and never receives them. Fix: put it in the JSON payload: {INJECT['json']}, "
                        f"inside the span that publishes it."), None
            return (f"{hop.name} ({hop.topic}) carries no traceparent: the {hop.producer} sends no context. Fix: "
                    f"inside the span that publishes it, {INJECT[hop.placement]}."), None
        if ctx[0] not in story:
            return (f"{hop.name} carries the context of another trace: the {hop.producer}'s span that sends it is "
                    f"not inside the span that continued the trace. Fix: start the publish span inside that "
                    f"`with` block (and inject while it is current)."), None
        consumer = self.consumer_of(hop, ctx)
        if consumer is None and zero_code:
            return (f"{hop.name} carries the context, but no span of the {hop.consumer} continues it. Fix: is the "
                    f"{hop.consumer} instrumented? OTEL_PYTHON_DISABLED_INSTRUMENTATIONS must not name "
                    f"paho_mqtt."), None
        if consumer is None:
            return (f"{hop.name} carries the context, but the {hop.consumer} does not continue it: none of its "
                    f"spans is a child of (or linked to) the sender's. Fix: in {hop.handler}, "
                    f"{EXTRACT[hop.placement]}, "
                    f"then token = context.attach(ctx) before starting its span (or start it with "
                    f"context=ctx)."), None
        return None, consumer

    def walk(self, hops, zero_code: bool = False) -> tuple[list, set]:
        """[(hop, why it breaks or None, consumer span)], and the traces of the story (links followed)."""
        story, out = {self.run.trace_id}, []
        for i, hop in enumerate(hops):
            why, consumer = self.hop_break(hop, story, zero_code and i < 2)
            if consumer is not None:
                story.add(consumer["trace_id"])
            out.append((hop, why, consumer))
        return out, story

    def one_trace(self, zero_code: bool) -> Finding:
        name = "one trace"
        if self.spans.empty:
            return _wrong(name, "no span arrived, so the read request's trace goes nowhere. Fix: " + (
                "instrument every program (see 'services'): the paho instrumentation continues and sends on the "
                "context by itself." if zero_code else
                "in each service, continue the context each message brings (extract → attach → span) and send it "
                "on with the messages it publishes (inject)."))
        expected = HOPS[:2] if zero_code else HOPS
        walked, story = self.walk(HOPS, zero_code)
        broken = [(hop, why) for hop, why, _ in walked[:len(expected)] if why]
        in_story = self.spans[self.spans.trace_id.isin(story)]
        linked = f" ({len(story)} traces, joined by links)" if len(story) > 1 else ""
        if broken:
            hop, why = broken[0]
            after = len(broken) - 1
            more = f" ({after} more hop{'s' * (after > 1)} after it break{'s' * (after == 1)} too.)" if after else ""
            return _wrong(name, f"the trace stops at {hop.name}: {why}{more}")
        services = [s for s in SERVICES if s in set(in_story.service)]
        if zero_code:
            text = f"the sensor and the controller are in the read request's trace ({len(in_story)} spans)."
            if any(why for _, why, _ in walked[2:]):
                text += (" The vent is not: the v5 controller's instrumentation puts the context in user "
                         "properties, which the 3.1.1 vent never receives, and a v5 client reads none from JSON; "
                         "only code bridges the two protocols (exercise 12.1).")
            return _ok(name, text)
        return _ok(name, f"the read request's trace goes on through all {len(HOPS)} messages: {len(in_story)} spans "
                         f"from {_and(services)}{linked}.")

    # -- 3. kinds and parents ---------------------------------------------------------

    def kinds_and_parents(self, zero_code: bool) -> Finding:
        name = "kinds and parents"
        if self.spans.empty:
            return _wrong(name, "no span arrived: no PRODUCER or CONSUMER span to judge. Fix: " + (
                "instrument every program (see 'services'): the paho instrumentation makes a PRODUCER span for "
                "each publish and a CONSUMER span for each delivery." if zero_code else
                "around each client.publish, a span with kind=SpanKind.PRODUCER; in each on_message, a span with "
                "kind=SpanKind.CONSUMER that continues the message's context."))
        hops = HOPS[:2] if zero_code else HOPS
        wrong = []
        for hop in hops:
            msg, ctx, _ = self.context_of(hop)
            if ctx is not None and hop.producer != "lab":
                sender = self.by_id.get(ctx[1])
                if sender is None:
                    wrong.append(f"{hop.name} names span {ctx[1]} as its sender, but no such span arrived from the "
                                 f"{hop.producer}: inject while the publish span is current, and let it end.")
                elif sender["kind"] != "PRODUCER":
                    hint = KIND_HINTS.get(("PRODUCER", sender["kind"]), "a publish is kind=SpanKind.PRODUCER.")
                    wrong.append(f"the {hop.producer}'s span that sends {hop.name}, {sender['name']!r}, is "
                                 f"{sender['kind']}, not PRODUCER. {hint}")
            consumer = self.consumer_of(hop, ctx) if msg is not None else None
            if consumer is None:
                kinds = set(self.spans[self.spans.service == hop.consumer].kind)
                if ctx is None or msg is None:
                    what = (f"{hop.name} carries no context the {hop.consumer} can read, so the {hop.consumer}'s "
                            f"span cannot be the child of its sender (see 'one trace')")
                else:
                    what = f"no span of the {hop.consumer} is the child of {hop.name}'s sender (see 'one trace')"
                if "CONSUMER" not in kinds:
                    what += (f"; and the {hop.consumer} has no CONSUMER span at all: kind=SpanKind.CONSUMER in "
                             f"{hop.handler}")
                wrong.append(what + ".")
            elif consumer["kind"] != "CONSUMER":
                hint = KIND_HINTS.get(("CONSUMER", consumer["kind"]), "handling a delivered message is a CONSUMER: "
                                                                       "kind=SpanKind.CONSUMER.")
                wrong.append(f"the {hop.consumer}'s span for {hop.name}, {consumer['name']!r}, is {consumer['kind']}, "
                             f"not CONSUMER. {hint}")
        if zero_code:
            state = self.run.message(HOPS[3].topic)
            if state is not None and state.context("json") is None:
                wrong.append("the vent's report carries no traceparent in its JSON: a 3.1.1 client puts it there only "
                             "when asked. Fix: OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD=true for the vent.")
        if wrong:
            more = f" ({len(wrong) - 1} more like it.)" if len(wrong) > 1 else ""
            return _wrong(name, wrong[0] + more)
        if zero_code:
            return _ok(name, "the read request and the reading: a PRODUCER span where sent, a CONSUMER span where "
                             "handled, its child; the vent's report carries its context in the JSON.")
        return _ok(name, f"each of the {len(HOPS)} messages is a PRODUCER span where it is sent and a CONSUMER span "
                         f"where it is handled, the consumer the producer's child (or linked).")

    # -- 6. baggage -------------------------------------------------------------------

    def baggage(self) -> Finding:
        name, key = "baggage", "greenhouse.id"
        want = f"{key}={GREENHOUSE}"
        reading, command = self.run.message(HOPS[1].topic), self.run.message(HOPS[2].topic)
        if reading is None or reading.baggage("user properties").get(key) != GREENHOUSE:
            got = reading.baggage("user properties") if reading is not None else {}
            extra = f" (it carries {got})" if got else ""
            return _wrong(name, f"the reading carries no baggage {want}{extra}. Fix: in the sensor, "
                          f"ctx = baggage.set_baggage({key!r}, {GREENHOUSE!r}, ctx), then token = context.attach(ctx) "
                          f"before its spans, so inject_user_properties sends it along.")
        if command is None or command.baggage("json").get(key) != GREENHOUSE:
            carried = command is not None and command.context("json") is not None
            why = (" The command carries the trace context but not the baggage: start_as_current_span(context=ctx) "
                   "takes ctx's span as parent, not its baggage. Fix: token = context.attach(ctx) in on_reading, "
                   "then start the spans." if carried else
                   " Fix: inject_json_payload(...) in the controller, with the reading's context current "
                   "(context.attach(ctx)).")
            return _wrong(name, f"the reading carries {want}, but the command to the vent does not carry it in its "
                          f"JSON.{why}")
        for service in ("controller", "vent"):
            values = [s["attributes"].get(key) for s in self.spans[self.spans.service == service].to_dict("records")]
            if GREENHOUSE not in values:
                seen = [v for v in values if v is not None]
                got = f" (it has {key}={seen[0]!r}: read outside the attached context?)" if seen else ""
                return _wrong(name, f"the baggage reaches the {service}, but none of its spans has the attribute "
                              f"{key}={GREENHOUSE!r}{got}. Fix: span.set_attribute({key!r}, "
                              f"baggage.get_baggage({key!r})) in its span for the message.")
        return _ok(name, f"{want} travels as baggage (in the reading's user properties, in the command's JSON) and is "
                         f"on the controller's and the vent's spans.")


# ---------------------------------------------------------------- 4. the failure

def _failure(run: Run, traces: set) -> Finding:
    name = "the failure"
    vent = run.spans[run.spans.service == "vent"].to_dict("records")
    fix = ("in vent.py's except VentJammed block, span.record_exception(exc) and "
           "span.set_status(Status(StatusCode.ERROR, str(exc))); or let the exception leave a "
           "`with tracer.start_as_current_span(...)` block inside the try, which records both")
    if not vent:
        return _wrong(name, f"no span came from the vent, so nothing records that it jammed. Fix: {fix}.")

    def jammed(s):
        return any(e[0] == "exception" and str(e[1].get("exception.type", "")).endswith("VentJammed")
                   for e in s["events"])

    both = [s for s in vent if s["status"] == "ERROR" and jammed(s)]
    if both:
        s = both[0]
        where = ("in the read request's trace" if s["trace_id"] == run.trace_id else
                 "in a trace linked to the read request's" if s["trace_id"] in traces else
                 "in another trace (see 'one trace')")
        return _ok(name, f"the vent's {s['name']!r} has status ERROR and a VentJammed exception event, {where}.")
    errors = [s for s in vent if s["status"] == "ERROR"]
    recorded = [s for s in vent if jammed(s)]
    if recorded:
        return _wrong(name, f"the vent's {recorded[0]['name']!r} records the VentJammed exception but its status is "
                      f"{recorded[0]['status']}: record_exception does not set it. Fix: "
                      f"span.set_status(Status(StatusCode.ERROR, str(exc))).")
    if errors:
        return _wrong(name, f"the vent's {errors[0]['name']!r} has status ERROR, but no exception event says what "
                      f"failed. Fix: span.record_exception(exc) in the except block.")
    return _wrong(name, f"none of the vent's {len(vent)} spans records that it jammed (the app catches VentJammed, "
                  f"so nothing else will). Fix: {fix}.")


# ---------------------------------------------------------------- 5. the slow step

def _slow_step(run: Run) -> Finding:
    name = "the slow step"
    controller = run.spans[run.spans.service == "controller"]
    if controller.empty:
        return _wrong(name, "no span came from the controller, so its slow step is nowhere to be seen. Fix: give "
                      "fetch_forecast() a span of its own, inside the span for the reading.")
    ids = set(controller.span_id)
    inner = controller[~controller.kind.isin(["CONSUMER", "PRODUCER"])]
    slow = inner[inner.duration_ms >= SLOW_MS]
    nested = slow[slow.parent_span_id.isin(ids)]
    if not nested.empty:
        s = nested.iloc[0]
        parent = controller[controller.span_id == s.parent_span_id].iloc[0]
        return _ok(name, f"{s['name']!r} ({s.duration_ms / 1000:.1f} s) under {parent['name']!r} shows where the "
                         f"controller's time goes.")
    if not slow.empty:
        return _wrong(name, f"{slow.iloc[0]['name']!r} covers the slow call but is not inside the controller's span "
                      f"for the reading: start it inside that `with` block.")
    long_ones = controller[controller.duration_ms >= SLOW_MS]
    if not long_ones.empty:
        s = long_ones.iloc[0]
        return _wrong(name, f"the controller's {s['name']!r} lasts {s.duration_ms / 1000:.1f} s, but nothing inside "
                      f"it says where the time goes. Fix: wrap forecast = fetch_forecast() in a span of its own: "
                      f"with tracer.start_as_current_span('fetch forecast'):.")
    shown = f" ({names(inner.name)} are all shorter)" if not inner.empty else ""
    return _wrong(name, f"no controller span lasts {SLOW_MS} ms or more{shown}: the slow call is fetch_forecast() "
                  f"(about 0.3 s). Fix: give it a span of its own, inside the span for the reading.")


# ---------------------------------------------------------------- 7. metrics

def _latest(points: pd.DataFrame) -> list[dict]:
    out = {}
    for p in points.to_dict("records"):
        out[(p["service"], p["name"], repr(sorted(p["attributes"].items())))] = p
    return list(out.values())


def _metrics(run: Run) -> Finding:
    name = "metrics"
    points = _latest(run.metrics)
    problems = [_counter(points), _histogram(points)]
    found = [p for p in problems if p.startswith("✓")]
    if len(found) == 2:
        return _ok(name, "; ".join(p[2:] for p in problems) + ".")
    return _wrong(name, next(p for p in problems if not p.startswith("✓")))


def _named(points, service, metric, kind):
    mine = [p for p in points if p["service"] == service]
    match = [p for p in mine if p["name"] == metric]
    if match:
        return match, None
    others = sorted({p["name"] for p in mine if not p["name"].startswith(("messaging.", "otel."))})
    where = {"vent": "vent.py", "controller": "controller.py"}[service]
    make = ("tele.meter.create_counter" if kind == "counter" else "tele.meter.create_histogram")
    if others:
        return None, (f"the {service} sent {names(others)}, no {metric!r}.{did_you_mean(metric, others)} "
                      f"Fix: {make}({metric!r}, ...) in {where}.")
    return None, f"no metric {metric!r} arrived from the {service}. Fix: in {where}, {make}({metric!r}, ...)" + (
        ", and .add(1, {'command': command['action'], 'outcome': 'ok' or 'failed'}) for each command it carries out."
        if kind == "counter" else
        ", and .record(seconds, {'greenhouse.id': ...}) once per reading: the time from the reading in to the "
        "decision, forecast included.")


def _counter(points) -> str:
    match, why = _named(points, "vent", COUNTER, "counter")
    if why:
        return why
    if any(p["kind"] != "counter" for p in match):
        return f"{COUNTER!r} is a {match[0]['kind']}, not a counter: a count of commands only goes up (create_counter)."
    right = [p for p in match if all(p["attributes"].get(k) == v for k, v in COUNTER_ATTRIBUTES.items())]
    if not right:
        seen = "; ".join(str(p["attributes"]) for p in match)
        missing = [k for k in COUNTER_ATTRIBUTES if all(k not in p["attributes"] for p in match)]
        fix = (f"give .add() the attributes {{'command': ..., 'outcome': ...}}" if missing else
               "the failed 'open' must count as outcome 'failed'")
        return f"{COUNTER!r} has the attributes {seen}, not {COUNTER_ATTRIBUTES}. Fix: {fix}."
    if right[0]["value"] != 1:
        return (f"{COUNTER!r} {COUNTER_ATTRIBUTES} counts {right[0]['value']}, expected 1 (one command was carried "
                f"out): add 1 per command, once.")
    return f"✓ {COUNTER} {COUNTER_ATTRIBUTES} = 1 from the vent"


def _histogram(points) -> str:
    match, why = _named(points, "controller", HISTOGRAM, "histogram")
    if why:
        return why
    p = match[0]
    if p["kind"] != "histogram":
        return f"{HISTOGRAM!r} is a {p['kind']}, not a histogram: a duration is recorded (create_histogram)."
    if p["unit"] != "s":
        return (f"{HISTOGRAM!r} has the unit {p['unit']!r}: durations are in seconds, unit='s' (OpenTelemetry's "
                f"convention).")
    count, total = sum(m["value"]["count"] for m in match), sum(m["value"]["sum"] for m in match)
    if count != 1:
        return f"{HISTOGRAM!r} has {count} measurements, expected 1: record once per reading."
    if total >= SLOW_MS:
        return (f"{HISTOGRAM!r} recorded {total:.0f}: milliseconds, in a histogram whose unit is 's'. Fix: record "
                f"time.perf_counter() differences as they are (seconds).")
    if total < SLOW_MS / 1000:
        return (f"{HISTOGRAM!r} recorded {total:.3f} s, less than the forecast alone takes: start the clock when the "
                f"reading comes in, before fetch_forecast().")
    wanted = {"greenhouse.id": GREENHOUSE}
    if not any(m["attributes"].get("greenhouse.id") == GREENHOUSE for m in match):
        seen = match[0]["attributes"]
        return (f"{HISTOGRAM!r} has the attributes {seen}, not {wanted}. Fix: .record(seconds, "
                f"{{'greenhouse.id': baggage.get_baggage('greenhouse.id')}}).")
    return f"✓ {HISTOGRAM} {wanted}: 1 measurement of {total:.1f} s from the controller"


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

def _logs(run: Run, traces: set, zero_code: bool = False) -> Finding:
    name = "logs"
    bridge = ("start it under opentelemetry-instrument: its logging instrumentation bridges Python logging"
              if zero_code else "kit.telemetry.setup('{service}') bridges Python logging (so does "
                                "opentelemetry-instrument)")
    logs = run.logs
    span_ids = set(run.spans.span_id)
    counts = []
    for service in SERVICES:
        mine = logs[logs.service == service]
        if mine.empty:
            return _wrong(name, f"no log record arrived from the {service}: its logging is not bridged to "
                          f"OpenTelemetry. Fix: {bridge.format(service=service)}.")
        correlated = mine[mine.span_id.isin(span_ids)]
        if correlated.empty:
            stray = "carry no trace id" if mine.trace_id.isna().all() else "name spans that never arrived"
            many = len(mine) > 1
            stray = stray if many else stray.replace("carry", "carries").replace("name ", "names ")
            return _wrong(name, f"the {service}'s {len(mine)} log record{'s' * many} {stray}: "
                          f"{'they were' if many else 'it was'} written outside any span. Fix: log inside the "
                          f"`with` block of its span for the message.")
        counts.append(f"{service} {len(correlated)}")
    in_trace = logs[logs.trace_id.isin(traces)]
    linked = " and the traces linked to it" if len(traces) > 1 else ""
    return _ok(name, f"each service's log records carry the trace and span they were written in ({', '.join(counts)}; "
                     f"{len(in_trace)} in the read request's trace{linked}).")
