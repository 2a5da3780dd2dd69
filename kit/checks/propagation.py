"""Self-checks about context that travels: baggage, and the Getter/Setter or JSON
helpers a learner writes. Each calls the learner's code with many messages, the
awkward ones included, and says which one went wrong."""

from __future__ import annotations

from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from kit.checks._result import Result, names, ok, wrong
from kit.checks.spans import made

TP1 = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TP2 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def check_baggage(carrier, key: str, value: str, span_name: str, service: str | None = None,
                  producer: str | None = None) -> Result:
    """``carrier`` (the dict the producer injected into) carries baggage ``key=value``, and
    the span ``span_name`` this cell made has the attribute ``key`` = ``value``. With
    ``producer``: the carrier's ``traceparent`` names the span ``producer`` this cell made,
    and ``span_name`` is its child (the consumer used that very carrier)."""
    if not isinstance(carrier, dict):
        return wrong(f"carrier should be the dict you injected into, got {type(carrier).__name__}.")
    sent = baggage.get_all(propagate.extract(carrier))
    if key not in sent:
        if sent:
            return wrong(f"The carrier's baggage is {dict(sent)}, with no {key!r}: the key must be exactly {key!r}.")
        return wrong(f"The carrier has no baggage (it holds {names(carrier)}): put it in the context you inject, "
                     f"propagate.inject(carrier, context=baggage.set_baggage({key!r}, {value!r})). Setting "
                     f"the attribute by hand on the consumer does not make it travel.")
    if sent[key] != value:
        return wrong(f"The carrier's baggage has {key}={sent[key]!r}, expected {value!r}.")
    span, missing = made(span_name)
    if missing is not None:
        return missing
    if service and span.service != service:
        return wrong(f"The span {span_name!r} comes from {span.service!r}, not {service!r}.")
    if span.attributes.get(key) is None:
        return wrong(f"The baggage travelled, but {span_name!r} has no value for {key!r}: read it from the "
                     f"extracted context, span.set_attribute({key!r}, baggage.get_baggage({key!r}, ctx)). "
                     f"Without ctx, get_baggage reads the current context, which has none.")
    if span.attributes[key] != value:
        return wrong(f"{span_name!r} has {key}={span.attributes[key]!r}, expected {value!r}.")
    if producer:
        sender, missing = made(producer)
        if missing is not None:
            return missing
        parent = (carrier.get("traceparent") or "").split("-")
        if len(parent) < 3 or parent[2] != sender.span_id:
            return wrong(f"The carrier's traceparent does not name the {producer!r} this cell made: inject into a new "
                         f"carrier inside its `with` block (an old carrier, or one injected outside the span, "
                         f"carries another context).")
        if span.parent_span_id != sender.span_id:
            return wrong(f"{span_name!r} is not a child of {producer!r}: start it with context=ctx, the context "
                         f"extracted from that carrier.")
    return ok(f"{key}={value!r} travelled as baggage and is on {span_name!r}.")


# ---------------------------------------------------------------- MQTT v5 user properties

def _props(pairs=None):
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.PUBLISH)
    for pair in pairs or []:
        props.UserProperty = [pair]  # assigning appends: one pair at a time, in order
    return props


def _call(what, *args):
    try:
        return what(*args), None
    except Exception as exc:  # the learner's code: say what it raised, never raise into the cell
        return None, f"{type(exc).__name__}: {exc}"


def _method(obj, name: str, kind: str):
    """The learner's ``obj.name`` or a message saying why it is not usable."""
    if isinstance(obj, type):
        return None, (f"you passed the class {obj.__name__}, not an instance: call "
                      f"check_getter_setter({'PropertiesGetter()' if kind == 'Getter' else 'getter'}, "
                      f"{'PropertiesSetter()' if kind == 'Setter' else 'setter'}).")
    method = getattr(obj, name, None)
    if not callable(method):
        return None, f"the {kind} has no method {name}(...): subclass {kind} (from opentelemetry.propagators.textmap)."
    return method, None


def _random_span():
    import random
    rng = random.Random()
    return NonRecordingSpan(SpanContext(rng.getrandbits(128) | 1, rng.getrandbits(64) | 1, is_remote=False,
                                        trace_flags=TraceFlags(TraceFlags.SAMPLED)))


def check_getter_setter(getter, setter) -> Result:
    """A ``Getter`` and a ``Setter`` for paho ``Properties`` (MQTT v5 user properties)
    that survive what real messages do: a key sent twice, no user properties at all,
    ``None`` (what paho gives on MQTT 3.1.1), the application's own properties, every key
    (``traceparent``, ``tracestate``, ``baggage``), a fresh ``Properties`` and a context
    injected twice into the same ``Properties``."""
    get, why = _method(getter, "get", "Getter")
    keys, why_keys = _method(getter, "keys", "Getter")
    put, why_set = _method(setter, "set", "Setter")
    for problem in (why, why_keys, why_set):
        if problem:
            return wrong(problem[0].upper() + problem[1:])
    got, error = _call(get, _props([("traceparent", TP1)]), "traceparent")
    if error:
        return wrong(f"getter.get(properties, 'traceparent') raised {error}.")
    if isinstance(got, str):
        return wrong(f"getter.get(...) returned the string {got[:20]!r}…: a Getter returns a *list* of values "
                     f"(or None). The propagator reads the first item, here the character {got[:1]!r}.")
    if list(got or []) != [TP1]:
        return wrong(f"For one traceparent, getter.get(...) returned {got!r}, expected [{TP1!r}].")
    got, error = _call(get, _props([("traceparent", TP1), ("traceparent", TP2)]), "traceparent")
    if error:
        return wrong(f"With traceparent sent twice, getter.get(...) raised {error}.")
    if not got or got[0] != TP1:
        return wrong(f"With traceparent sent twice, getter.get(...) returned {got!r}: the first value sent must "
                     f"come first (OpenTelemetry Python's propagator takes the first). dict(props.UserProperty) "
                     f"keeps the last; collect every value in order: [v for k, v in props.UserProperty if k == key].")
    mixed = _props([("app", "1"), ("traceparent", TP1), ("baggage", "tenant=a")])
    for key, want in (("app", ["1"]), ("baggage", ["tenant=a"]), ("tracestate", None)):
        got, error = _call(get, mixed, key)
        if error or list(got or []) != list(want or []):
            return wrong(f"getter.get(properties, {key!r}) gave {error or got!r}, expected {want!r}: read the key "
                         f"you are asked for (the propagator asks for traceparent, tracestate and baggage).")
    got, error = _call(get, _props(), "traceparent")
    if error:
        return wrong(f"For a message with no user properties, getter.get(...) raised {error}: reading "
                     f"props.UserProperty before it is set raises AttributeError. Use "
                     f"getattr(carrier, 'UserProperty', []).")
    if got:
        return wrong(f"For a message with no user properties, getter.get(...) returned {got!r}, expected None.")
    got, error = _call(get, None, "traceparent")
    if error:
        return wrong(f"getter.get(None, 'traceparent') raised {error}: on MQTT 3.1.1 paho gives "
                     f"msg.properties = None; return None for it.")
    if got:
        return wrong(f"getter.get(None, 'traceparent') returned {got!r}: a message with no properties carries no "
                     f"context; return None.")
    for carrier, what in ((None, "None (MQTT 3.1.1)"), (_props(), "a message with no user properties")):
        got, error = _call(keys, carrier)
        if error or got:
            return wrong(f"getter.keys(...) for {what} gave {error or got!r}, expected []: guard it as get() does.")
    got, error = _call(keys, mixed)
    if error or not got or set(got) != {"app", "traceparent", "baggage"}:
        return wrong(f"getter.keys(properties) gave {error or got!r}, expected the keys ['app', 'traceparent', "
                     f"'baggage'].")

    fresh = _props()
    for key, value in (("traceparent", TP1), ("tracestate", "congo=t61rcWkgMzE"), ("baggage", "tenant=a")):
        _, error = _call(put, fresh, key, value)
        if error:
            return wrong(f"setter.set(properties, {key!r}, ...) on a fresh Properties(PacketTypes.PUBLISH) raised "
                         f"{error}: a new Properties has no UserProperty yet; create the list.")
    pairs = list(getattr(fresh, "UserProperty", None) or [])
    if sorted(k for k, _ in pairs) != ["baggage", "traceparent", "tracestate"]:
        return wrong(f"Setting traceparent, tracestate and baggage on a fresh Properties left {pairs!r}: each key "
                     f"must be there once (replace the key you are given, keep the others; assign the list "
                     f"when UserProperty is not set yet).")
    props = _props([("app", "1")])
    for value in (TP1, TP2):
        _, error = _call(put, props, "traceparent", value)
        if error:
            return wrong(f"setter.set(properties, 'traceparent', ...) raised {error}.")
    pairs = list(getattr(props, "UserProperty", []) or [])
    sent = [v for k, v in pairs if k == "traceparent"]
    if len(sent) > 1:
        return wrong(f"After setting traceparent twice, the properties hold it {len(sent)} times: "
                     f"`props.UserProperty = [...]` APPENDS in paho. Replace the key: build the new list and "
                     f"store it, e.g. object.__setattr__(carrier, 'UserProperty', pairs).")
    if sent != [TP2]:
        return wrong(f"After setting traceparent, the properties hold {pairs!r}: expected the last value set.")
    if ("app", "1") not in pairs:
        return wrong(f"The application's own user property ('app', '1') is gone ({pairs!r}): replace only the "
                     f"key you set, keep the others.")
    return _round_trip(get, setter)


def _round_trip(get, setter) -> Result:
    """Inject a context (with tracestate and baggage) with the setter into a fresh
    Properties, through paho's own packing, and extract it with the getter."""
    from opentelemetry.trace import TraceState
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    base = _random_span().get_span_context()
    span = NonRecordingSpan(SpanContext(base.trace_id, base.span_id, is_remote=False, trace_flags=base.trace_flags,
                                        trace_state=TraceState([("congo", "t61rcWkgMzE")])))
    ctx = baggage.set_baggage("tenant.id", "acme", context=trace.set_span_in_context(span))
    props = Properties(PacketTypes.PUBLISH)
    _, error = _call(propagate.inject, props, ctx, setter)
    if error:
        return wrong(f"propagate.inject(properties, setter=setter) raised {error}.")
    wire = Properties(PacketTypes.PUBLISH)
    wire.unpack(props.pack())  # what the subscriber's paho reads off the socket

    class Getter:  # the learner's get, as a Getter object
        def get(self, carrier, key):
            return get(carrier, key)

        def keys(self, carrier):
            return []

    back, error = _call(propagate.extract, wire, None, Getter())
    if error:
        return wrong(f"propagate.extract(msg.properties, getter=getter) raised {error}.")
    received = trace.get_current_span(back).get_span_context()
    if (received.trace_id, received.span_id) != (base.trace_id, base.span_id):
        return wrong("A context injected with your setter and read back with your getter (through paho's own "
                     "packing) is not the one that was sent.")
    if received.trace_state.get("congo") != "t61rcWkgMzE" or baggage.get_baggage("tenant.id", back) != "acme":
        return wrong("The traceparent made the round trip, but its tracestate or baggage did not: every key the "
                     "propagator sets must be written and read back.")
    return ok("Your Getter and Setter handle repeated keys, no properties, None (3.1.1), every key, a fresh "
              "Properties, the app's own properties and a second inject; a context with its tracestate and "
              "baggage survives paho's wire format.")


# ---------------------------------------------------------------- MQTT 3.1.1 JSON payloads

NOT_OBJECTS = [b"21.5", b"[21.5, 21.7]", b"\x89PNG\r\n\x1a\n", b"", b"not json", b'"a string"', b"\xff\xfe{",
               b'{"t": 1', b"{broken"]


def check_json_propagation(inject, extract) -> Result:
    """``inject(payload) -> bytes`` adds ``traceparent`` (and ``tracestate``) as fields of a
    JSON object payload's outermost object, keeping its own fields, and returns every
    other payload byte for byte; ``extract(payload) -> Context`` reads them back and
    gives an empty context for anything else. Neither may raise. The context is a new
    random one at every run, so a traceparent typed in cannot pass."""
    import json

    spans = [_random_span(), _random_span()]
    outs = []
    for payload, fields in ((b'{"t": 21.5, "unit": "C"}', {"t": 21.5, "unit": "C"}), (b'{"id": 7}', {"id": 7}),
                            (b"{}", {}), (b' {"t": 1}', {"t": 1})):
        span = spans[len(outs) % 2]
        expected = f"00-{span.get_span_context().trace_id:032x}-{span.get_span_context().span_id:016x}-01"
        with trace.use_span(span):
            out, error = _call(inject, payload)
        if error:
            return wrong(f"inject({payload!r}) raised {error}.")
        text = out.decode("utf-8", "replace") if isinstance(out, (bytes, bytearray)) else out
        try:
            obj = json.loads(text)
        except (TypeError, ValueError):
            return wrong(f"inject({payload!r}) returned {out!r}, which is not JSON any more.")
        if not isinstance(obj, dict):
            return wrong(f"inject({payload!r}) returned {out!r}: expected the same JSON object with two more fields.")
        if "traceparent" not in obj:
            nested = [k for k, v in obj.items() if isinstance(v, dict) and "traceparent" in v]
            if nested:
                return wrong(f"The traceparent is inside {nested[0]!r}, not at the root of the object: the W3C "
                             f"way puts it beside the application's own fields, {{'traceparent': …, 't': 21.5}}.")
            return wrong(f"inject({payload!r}) returned {out!r}, with no traceparent field: call "
                         f"propagate.inject(obj) on the parsed object and serialize it again.")
        if obj["traceparent"] != expected:
            return wrong(f"The traceparent written into {payload!r} is {obj['traceparent']!r}, not the current span's "
                         f"{expected!r}: inject while the span is current, with propagate.inject(obj).")
        kept = {k: v for k, v in obj.items() if k not in ("traceparent", "tracestate", "baggage")}
        if kept != fields:
            return wrong(f"The application's own fields changed: {payload!r} became {out!r}. Keep them as they are, "
                         f"add only the context fields.")
        if not isinstance(out, (bytes, bytearray)):
            return wrong(f"inject(...) returned a {type(out).__name__}: return bytes, as MQTT payloads are "
                         f"(json.dumps(obj).encode()).")
        outs.append((out, span))
    with trace.use_span(spans[0]):
        for payload in NOT_OBJECTS:
            same, error = _call(inject, payload)
            if error and error.startswith(("TypeError", "AttributeError")):
                return wrong(f"inject({payload!r}) raised {error}: that payload is JSON, but not an object (a "
                             f"number, a string, an array), so it has no root to add fields to. Check "
                             f"isinstance(obj, dict) and return the payload as it is.")
            if error:
                return wrong(f"inject({payload!r}) raised {error}: a payload that is not a JSON object must go "
                             f"out exactly as it came. Catch the error (ValueError covers JSON and UTF-8 "
                             f"errors) and return the payload.")
            if same != payload:
                return wrong(f"inject({payload!r}) returned {same!r}: only a JSON *object* gets the fields; "
                             f"leave every other payload byte for byte.")
    for out, span in outs[:2]:
        ctx, error = _call(extract, out)
        if error:
            return wrong(f"extract(...) of an injected payload raised {error}.")
        if not isinstance(ctx, Context):
            return wrong(f"extract(...) returned a {type(ctx).__name__}: return the Context that "
                         f"propagate.extract(obj) gives, to start the consumer span with context=ctx.")
        if trace.get_current_span(ctx).get_span_context().trace_id != span.get_span_context().trace_id:
            return wrong("extract(...) of an injected payload did not give back its context: call "
                         "propagate.extract(obj) on the parsed JSON object.")
    for payload in NOT_OBJECTS + [b'{"t": 1}', b'{"traceparent": 5}', b'{"traceparent": null}']:
        ctx, error = _call(extract, payload)
        if error:
            return wrong(f"extract({payload!r}) raised {error}: a message without a usable context must still be "
                         f"processed; return an empty context (propagate.extract({{}})), and pass the propagator "
                         f"only text fields (a field can be any JSON value).")
        if not isinstance(ctx, Context) or trace.get_current_span(ctx).get_span_context().is_valid:
            return wrong(f"extract({payload!r}) gave {ctx!r}, expected an empty Context.")
    return ok("inject adds traceparent at the root of JSON objects and leaves every other payload as it was; "
              "extract reads it back, and never raises.")


def check_round_trip(send, receive, *, key: str, values: tuple, producer: str, consumer: str) -> Result:
    """``send(value)`` makes the PRODUCER span ``producer`` and returns the carrier (a dict)
    it injected into, with baggage ``key=value``; ``receive(carrier)`` makes the CONSUMER span
    ``consumer``, a child of that producer, with the attribute ``key`` read from the
    baggage. Tried with each of ``values``, so typing the value in cannot pass."""
    from kit import attempts

    for value in values:
        before = attempts.spans().span_id.tolist()
        carrier, error = _call(send, value)
        if error:
            return wrong(f"send({value!r}) raised {error}.")
        if not isinstance(carrier, dict):
            return wrong(f"send({value!r}) returned {type(carrier).__name__}: return the dict you injected into.")
        if "traceparent" not in carrier:
            return wrong(f"The carrier send({value!r}) returned has no traceparent (it has {names(carrier)}): call "
                         f"propagate.inject(carrier, ...) inside the {producer!r} span.")
        sent = baggage.get_all(propagate.extract(carrier)).get(key)
        if sent != value:
            return wrong(f"The carrier send({value!r}) returned carries {key}={sent!r}, expected {value!r}: inject "
                         f"with context=baggage.set_baggage({key!r}, value).")
        _, error = _call(receive, carrier)
        if error:
            return wrong(f"receive(carrier) raised {error}.")
        new = attempts.spans()
        new = new[~new.span_id.isin(before)]
        prod, cons = new[new.name == producer], new[new.name == consumer]
        if prod.empty or cons.empty:
            missing = producer if prod.empty else consumer
            return wrong(f"Calling send and receive once made no span {missing!r} (they made {names(new.name)}).")
        prod, cons = prod.iloc[-1], cons.iloc[-1]
        if prod.kind != "PRODUCER" or cons.kind != "CONSUMER":
            return wrong(f"{producer!r} is {prod.kind} and {consumer!r} is {cons.kind}: the sending side is a PRODUCER, "
                         f"the receiving side a CONSUMER.")
        if cons.parent_span_id != prod.span_id:
            return wrong(f"{consumer!r} is not a child of {producer!r}: in receive, extract the carrier and start the "
                         f"span with context=ctx.")
        if cons.attributes.get(key) != value:
            got = cons.attributes.get(key)
            return wrong(f"For {value!r}, {consumer!r} has {key}={got!r}: read it from the extracted context, "
                         f"baggage.get_baggage({key!r}, ctx)" + (" (a value typed in passes only once)." if got else "."))
    return ok(f"{key} travelled as baggage for {names(values)}: {consumer!r} is the child of {producer!r} each time.")


def check_edge_extract(extract, *, allowed: tuple) -> Result:
    """``extract(carrier) -> Context`` keeps the trace context of a message from outside
    your trust boundary, keeps only the baggage keys in ``allowed``, and never raises."""
    outside = {"traceparent": TP1, "baggage": "user.role=admin,tenant.id=acme,user.email=a%40b.example"}
    ctx, error = _call(extract, dict(outside))
    if error:
        return wrong(f"extract(carrier) raised {error}.")
    if not isinstance(ctx, Context):
        return wrong(f"extract(carrier) returned {type(ctx).__name__}, expected a Context (to start a span with "
                     f"context=ctx).")
    parent = trace.get_current_span(ctx).get_span_context()
    if not parent.is_valid or f"{parent.trace_id:032x}" != TP1.split("-")[1]:
        return wrong("The context lost the trace: the consumer would start a new trace. Extract the trace context "
                     "too (TraceContextTextMapPropagator().extract(carrier)).")
    kept = dict(baggage.get_all(ctx))
    refused = sorted(k for k in kept if k not in allowed)
    if refused:
        return wrong(f"The context keeps baggage the sender had no right to set: {refused} (it has {kept}). Keep "
                     f"only {list(allowed)}: baggage is plain text anyone upstream can write.")
    offered = {pair.split("=")[0] for pair in outside["baggage"].split(",")}
    lost = sorted(k for k in allowed if k in offered and k not in kept)
    if lost:
        return wrong(f"The allowed key {lost[0]!r} was dropped too: keep the keys in the allow-list, "
                     f"baggage.set_baggage(key, value, context=ctx).")
    import logging
    quiet = logging.getLogger("opentelemetry.baggage.propagation")  # it warns about each malformed entry sent here
    level, quiet.level = quiet.level, logging.ERROR
    try:
        for odd in ({"traceparent": TP1, "baggage": "%%%,=,tenant.id"}, {"baggage": "tenant.id=acme"}, {}):
            _, error = _call(extract, odd)
            if error:
                return wrong(f"extract({odd!r}) raised {error}: a malformed message must still be processed.")
    finally:
        quiet.setLevel(level)
    return ok(f"The trace context is kept and only {list(allowed)} of the sender's baggage gets through.")
