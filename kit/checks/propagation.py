"""Self-checks about context that travels: baggage, and the Getter/Setter or JSON
helpers a learner writes. Each calls the learner's code with many messages, the
awkward ones included, and says which one went wrong."""

from __future__ import annotations

import re

from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from kit.checks import drawn
from kit.checks._result import Result, names, ok, wrong
from kit.checks.exercises import call_learner, current_data, judged
from kit.checks.spans import made

TP1 = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TP2 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@judged
def check_baggage(carrier, key: str, value: str | None, span_name: str, service: str | None = None,
                  producer: str | None = None) -> Result:
    """``carrier`` (the dict the producer injected into) carries baggage ``key=value``, and
    the span ``span_name`` this cell made has the attribute ``key`` = ``value``. With
    ``producer``: the carrier's ``traceparent`` names the span ``producer`` this cell made,
    and ``span_name`` is its child (the consumer used that very carrier). ``value`` None:
    the value the exercise drew for this run."""
    if value is None:
        data = current_data() or {}
        value = data.get("tenant") if key == "tenant.id" else data.get(key)
    if not isinstance(carrier, dict):
        return wrong(f"carrier should be the dict you injected into, got {type(carrier).__name__}.", "not-a-carrier")
    sent = baggage.get_all(propagate.extract(carrier))
    if key not in sent:
        if sent:
            return wrong(f"The carrier's baggage is {dict(sent)}, with no {key!r}: the key must be exactly {key!r}.",
                         "baggage-key")
        return wrong(f"The carrier has no baggage (it holds {names(carrier)}): put it in the context you inject, "
                     f"propagate.inject(carrier, context=baggage.set_baggage({key!r}, ...)). Setting the attribute "
                     f"by hand on the consumer does not make it travel.", "baggage-missing")
    if sent[key] != value:
        return wrong(f"The carrier's baggage has {key}={sent[key]!r}, expected {value!r} (this run's value, drawn "
                     f"in the cell above: use the variable, not a value typed in).", "baggage-value")
    span, missing = made(span_name)
    if missing is not None:
        return missing
    if service and span.service != service:
        return wrong(f"The span {span_name!r} comes from {span.service!r}, not {service!r}.", "span-service")
    if span.attributes.get(key) is None:
        other = _under_other_key(span.attributes, key, value)
        if other is not None:
            return wrong(_other_key_message(span_name, key, value, other), "span-attribute")
        return wrong(f"The baggage travelled, but {span_name!r} has no value for {key!r}: read it from the "
                     f"extracted context, span.set_attribute({key!r}, baggage.get_baggage({key!r}, ctx)). "
                     f"Without ctx, get_baggage reads the current context, which has none.", "span-attribute")
    if span.attributes[key] != value:
        return wrong(f"{span_name!r} has {key}={span.attributes[key]!r}, but the carrier's baggage says {value!r}: "
                     f"read it from the extracted context, baggage.get_baggage({key!r}, ctx), not a value typed "
                     f"in.", "span-attribute-value")
    if producer:
        sender, missing = made(producer)
        if missing is not None:
            return missing
        parent = (carrier.get("traceparent") or "").split("-") if isinstance(carrier.get("traceparent"), str) else []
        if not carrier.get("traceparent"):
            return wrong(f"The carrier holds the baggage but no traceparent: the context you injected holds no span. "
                         f"One built by baggage.set_baggage(...) before {producer!r} started, or on a context of your "
                         f"own, has no span in it; inside the `with` block, set_baggage without context= adds to "
                         f"the current context, span included: "
                         f"propagate.inject(carrier, context=baggage.set_baggage({key!r}, ...)).",
                         "carrier-no-context")
        if len(parent) < 3 or parent[2] != sender.span_id:
            return wrong(f"The carrier's traceparent does not name the {producer!r} this cell made: inject into a new "
                         f"carrier inside its `with` block (an old carrier, or one injected outside the span, "
                         f"carries another context).", "carrier-stale")
        if span.parent_span_id != sender.span_id:
            return wrong(f"{span_name!r} is not a child of {producer!r}: start it with context=ctx, the context "
                         f"extracted from that carrier.", "span-no-parent")
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
    """The learner's ``what(*args)``: (value, None) or (None, "what it raised"); see call_learner."""
    return call_learner(what, *args)


def _method(obj, name: str, kind: str):
    """The learner's ``obj.name`` or a message saying why it is not usable."""
    if isinstance(obj, type):
        return None, (f"you passed the class {obj.__name__}, not an instance: call "
                      f"check_getter_setter({'PropertiesGetter()' if kind == 'Getter' else 'getter'}, "
                      f"{'PropertiesSetter()' if kind == 'Setter' else 'setter'}).")
    try:
        method = getattr(obj, name, None)
    except Exception:  # a __getattr__ of the learner's that raises
        method = None
    if not callable(method):
        return None, f"the {kind} has no method {name}(...): subclass {kind} (from opentelemetry.propagators.textmap)."
    return method, None


def _values(got):
    """What a Getter returned, as the propagator uses it: (list of values, None) or (None, why not)."""
    if got is None:
        return [], None
    if isinstance(got, (str, bytes)):
        return None, (f"getter.get(...) returned the {type(got).__name__} {_short(got[:20])}…: a Getter returns a "
                      f"*list* of values (or None). The propagator reads the first item, here "
                      f"{_short(got[:1])}.")
    if not isinstance(got, (list, tuple)):
        return None, (f"getter.get(...) returned a {type(got).__name__}: return a list of the values (or None); the "
                      f"propagator takes its first item with values[0], which a {type(got).__name__} does not "
                      f"have. Build the list: [v for k, v in pairs if k == key].")
    return list(got), None


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except Exception:  # a value of the learner's whose == raises
        return False


def _short(value, limit: int = 80) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _random_span():
    import random
    rng = random.Random()
    return NonRecordingSpan(SpanContext(rng.getrandbits(128) | 1, rng.getrandbits(64) | 1, is_remote=False,
                                        trace_flags=TraceFlags(TraceFlags.SAMPLED)))


@judged
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
            return wrong(problem[0].upper() + problem[1:], "getter-setter-shape")
    raw, error = _call(get, _props([("traceparent", TP1)]), "traceparent")
    if error:
        return wrong(f"getter.get(properties, 'traceparent') raised {error}.", "getter-raised")
    got, shape = _values(raw)
    if shape:
        return wrong(shape, "getter-not-a-list")
    if not _same(got, [TP1]):
        return wrong(f"For one traceparent, getter.get(...) returned {_short(raw)}, expected [{TP1!r}].",
                     "getter-value")
    raw, error = _call(get, _props([("traceparent", TP1), ("traceparent", TP2)]), "traceparent")
    if error:
        return wrong(f"With traceparent sent twice, getter.get(...) raised {error}.", "getter-raised")
    got, shape = _values(raw)
    if shape or not got or not _same(got[0], TP1):
        return wrong(shape or f"With traceparent sent twice, getter.get(...) returned {_short(raw)}: the first value "
                     f"sent must come first (OpenTelemetry Python's propagator takes the first). "
                     f"dict(props.UserProperty) keeps the last; collect every value in order: "
                     f"[v for k, v in props.UserProperty if k == key].", "getter-first-value")
    mixed = _props([("app", "1"), ("traceparent", TP1), ("baggage", "tenant=a")])
    for key, want in (("app", ["1"]), ("baggage", ["tenant=a"]), ("tracestate", [])):
        raw, error = _call(get, mixed, key)
        got, shape = _values(raw) if not error else (None, None)
        if error or shape or not _same(got, want):
            return wrong(f"getter.get(properties, {key!r}) gave {error or shape or _short(raw)}, expected "
                         f"{want or None!r}: read the key you are asked for (the propagator asks for traceparent, "
                         f"tracestate and baggage).", "getter-value")
    raw, error = _call(get, _props(), "traceparent")
    if error:
        return wrong(f"For a message with no user properties, getter.get(...) raised {error}: reading "
                     f"props.UserProperty before it is set raises AttributeError. Use "
                     f"getattr(carrier, 'UserProperty', []).", "getter-no-properties")
    got, shape = _values(raw)
    if shape or got:
        return wrong(shape or f"For a message with no user properties, getter.get(...) returned {_short(raw)}, "
                     f"expected None.", "getter-no-properties")
    raw, error = _call(get, None, "traceparent")
    if error:
        return wrong(f"getter.get(None, 'traceparent') raised {error}: on MQTT 3.1.1 paho gives "
                     f"msg.properties = None; return None for it.", "getter-none")
    got, shape = _values(raw)
    if shape or got:
        return wrong(shape or f"getter.get(None, 'traceparent') returned {_short(raw)}: a message with no properties "
                     f"carries no context; return None.", "getter-none")
    for carrier, what in ((None, "None (MQTT 3.1.1)"), (_props(), "a message with no user properties")):
        raw, error = _call(keys, carrier)
        listed = _listed(raw)
        if error or listed is None or listed:
            return wrong(f"getter.keys(...) for {what} gave {error or _short(raw)}, expected []: guard it as get() "
                         f"does.", "getter-keys")
    raw, error = _call(keys, mixed)
    listed = _listed(raw)
    if error or listed is None or set(map(_short, listed)) != {"'app'", "'traceparent'", "'baggage'"}:
        return wrong(f"getter.keys(properties) gave {error or _short(raw)}, expected the keys ['app', 'traceparent', "
                     f"'baggage'].", "getter-keys")

    fresh = _props()
    for key, value in (("traceparent", TP1), ("tracestate", "congo=t61rcWkgMzE"), ("baggage", "tenant=a")):
        _, error = _call(put, fresh, key, value)
        if error:
            return wrong(f"setter.set(properties, {key!r}, ...) on a fresh Properties(PacketTypes.PUBLISH) raised "
                         f"{error}: a new Properties has no UserProperty yet; create the list.", "setter-fresh")
    pairs = _pairs(fresh)
    if pairs is None or sorted(k for k, _ in pairs) != ["baggage", "traceparent", "tracestate"]:
        return wrong(f"Setting traceparent, tracestate and baggage on a fresh Properties left {_short(pairs)}: each "
                     f"key must be there once (replace the key you are given, keep the others; assign the list "
                     f"when UserProperty is not set yet).", "setter-keys")
    props = _props([("app", "1")])
    own = {"ContentType": "application/json", "MessageExpiryInterval": 60, "ResponseTopic": "replies/7"}
    for name, value in own.items():  # what an application sets beside its user properties
        setattr(props, name, value)
    for value in (TP1, TP2):
        _, error = _call(put, props, "traceparent", value)
        if error:
            return wrong(f"setter.set(properties, 'traceparent', ...) raised {error}.", "setter-raised")
    gone = [name for name, value in own.items() if not _same(getattr(props, name, None), value)]
    if gone:
        return wrong(f"The Properties' own properties are gone after setter.set(...): {', '.join(gone)} (an application "
                     f"sets them beside its user properties). Touch only UserProperty: store the new list with "
                     f"object.__setattr__(carrier, 'UserProperty', pairs), never props.clear().", "setter-drops")
    pairs = _pairs(props) or []
    sent = [v for k, v in pairs if k == "traceparent"]
    if len(sent) > 1:
        return wrong(f"After setting traceparent twice, the properties hold it {len(sent)} times: "
                     f"`props.UserProperty = [...]` APPENDS in paho. Replace the key: build the new list and "
                     f"store it, e.g. object.__setattr__(carrier, 'UserProperty', pairs).", "setter-appends")
    if sent != [TP2]:
        return wrong(f"After setting traceparent, the properties hold {_short(pairs)}: expected the last value set.",
                     "setter-value")
    if ("app", "1") not in pairs:
        return wrong(f"The application's own user property ('app', '1') is gone ({_short(pairs)}): replace only the "
                     f"key you set, keep the others.", "setter-drops")
    twice = _props([("traceparent", TP1), ("app", "1"), ("traceparent", TP2)])  # a message that came with it twice
    _, error = _call(put, twice, "traceparent", TP1)
    if error:
        return wrong(f"setter.set(properties, 'traceparent', ...) on properties that hold it twice raised {error}.",
                     "setter-raised")
    pairs = _pairs(twice) or []
    sent = [v for k, v in pairs if k == "traceparent"]
    if len(sent) > 1:
        return wrong(f"Setting traceparent on properties that already hold it twice (a message re-published as it "
                     f"came) left {_short(pairs)}: it still holds it {len(sent)} times. Remove every pair of the "
                     f"key, then add the new one: [(k, v) for k, v in pairs if k != key] + [(key, value)].",
                     "setter-appends")
    if sent != [TP1] or ("app", "1") not in pairs:
        return wrong(f"Setting traceparent on properties that already hold it twice left {_short(pairs)}: expected it "
                     f"once, with the value set, and ('app', '1') kept.", "setter-value")
    return _round_trip(get, setter)


def _listed(raw):
    """``keys()``'s answer as a list (None when it is not one)."""
    if raw is None:
        return []
    if isinstance(raw, (str, bytes)):
        return None
    try:
        return list(raw)
    except Exception:
        return None


def _pairs(props):
    """The (key, value) pairs the Setter left, or None when they are not pairs."""
    try:
        pairs = list(getattr(props, "UserProperty", None) or [])
        return [(k, v) for k, v in pairs]
    except Exception:
        return None


def _round_trip(get, setter) -> Result:  # noqa: C901
    """Inject a context (with tracestate and baggage) with the setter into a fresh
    Properties, through paho's own packing, and extract it with the getter."""
    from opentelemetry.trace import TraceState
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    base = _random_span().get_span_context()
    span = NonRecordingSpan(SpanContext(base.trace_id, base.span_id, is_remote=False, trace_flags=base.trace_flags,
                                        trace_state=TraceState([("congo", "t61rcWkgMzE")])))
    tenant = drawn.tenant(drawn.rng("getter-setter"))
    ctx = baggage.set_baggage("tenant.id", tenant, context=trace.set_span_in_context(span))
    props = Properties(PacketTypes.PUBLISH)
    _, error = _call(propagate.inject, props, ctx, setter)
    if error:
        return wrong(f"propagate.inject(properties, setter=setter) raised {error}.", "setter-raised")
    if _pairs(props) is None:
        return wrong("After propagate.inject(properties, setter=setter), UserProperty does not hold (key, value) "
                     "pairs.", "setter-value")
    wire = Properties(PacketTypes.PUBLISH)
    try:
        wire.unpack(props.pack())  # what the subscriber's paho reads off the socket
    except Exception as exc:  # pairs paho cannot pack: not two strings
        return wrong(f"paho cannot send the properties your setter wrote ({type(exc).__name__}: {exc}): each user "
                     f"property is a pair of two strings.", "setter-value")

    class Getter:  # the learner's get, as a Getter object
        def get(self, carrier, key):
            return get(carrier, key)

        def keys(self, carrier):
            return []

    back, error = _call(propagate.extract, wire, None, Getter())
    if error:
        return wrong(f"propagate.extract(msg.properties, getter=getter) raised {error}.", "getter-raised")
    received = trace.get_current_span(back).get_span_context()
    if (received.trace_id, received.span_id) != (base.trace_id, base.span_id):
        return wrong("A context injected with your setter and read back with your getter (through paho's own "
                     "packing) is not the one that was sent.", "round-trip")
    if received.trace_state.get("congo") != "t61rcWkgMzE" or baggage.get_baggage("tenant.id", back) != tenant:
        return wrong("The traceparent made the round trip, but its tracestate or baggage did not: every key the "
                     "propagator sets must be written and read back.", "round-trip")
    return ok("Your Getter and Setter handle repeated keys, no properties, None (3.1.1), every key, a fresh "
              "Properties, the app's own properties and a second inject; a context with its tracestate and "
              "baggage survives paho's wire format.")


# ---------------------------------------------------------------- MQTT 3.1.1 JSON payloads

NOT_OBJECTS = [b"21.5", b"21.50", b"1E2", b"[21.50, 1e3]", b"\x89PNG\r\n\x1a\n", b"", b"not json", b'"a string"',
               b' "caf\\u00e9" ', b"NaN", b"true", b"null", b"\xff\xfe{", b'{"t": 1', b"{broken",
               b'{"t": 21.5}{"t": 1}']


@judged
def check_json_propagation(inject, extract) -> Result:
    """``inject(payload) -> bytes`` adds the current context's fields (``traceparent``,
    ``tracestate``, ``baggage``) to a JSON object payload's outermost object, keeping its
    own fields (UTF-8 text included), and returns every other payload byte for byte (a
    number written ``21.50`` stays ``21.50``); ``extract(payload) -> Context`` reads them
    all back and gives an empty context for anything else, whatever context is current
    when it is called. Neither may raise. The context is a new random one at every run,
    so a traceparent typed in cannot pass."""
    import json

    for function, label in ((inject, "inject"), (extract, "extract")):
        if not callable(function):
            return wrong(f"Give the check your two functions themselves, check_json_propagation(inject_json, "
                         f"extract_json): {label} is a {type(function).__name__}.", "not-callable")
    from opentelemetry import context as otel_context
    from opentelemetry.baggage.propagation import W3CBaggagePropagator
    from opentelemetry.trace import TraceState

    rng = drawn.rng("7.1")
    reading = round(rng.uniform(10, 35), 2)
    tenant = drawn.tenant(rng)
    state = "congo=t61rcWkgMzE"

    def _current(span):  # the context a publisher injects: its span, with a tracestate, and baggage
        sc = span.get_span_context()
        span = NonRecordingSpan(SpanContext(sc.trace_id, sc.span_id, is_remote=False, trace_flags=sc.trace_flags,
                                            trace_state=TraceState.from_header([state])))
        return span, baggage.set_baggage("tenant.id", tenant, context=trace.set_span_in_context(span))

    spans = [_current(_random_span()), _current(_random_span())]
    outs = []
    for payload, fields in ((f'{{"t": {reading}, "unit": "C"}}'.encode(), {"t": reading, "unit": "C"}),
                            (b'{"id": 7}', {"id": 7}), (b"{}", {}), (b' {"t": 1}', {"t": 1}),
                            ('{"t": 21.5, "unit": "\u00b0C", "note": "fen\u00eatre ouverte"}'.encode(),
                             {"t": 21.5, "unit": "\u00b0C", "note": "fen\u00eatre ouverte"}),
                            (b'{"t": 21.50, "tags": ["a", "b"], "at": {"room": 2}}',
                             {"t": 21.5, "tags": ["a", "b"], "at": {"room": 2}})):
        span, current = spans[len(outs) % 2]
        expected = f"00-{span.get_span_context().trace_id:032x}-{span.get_span_context().span_id:016x}-01"
        token = otel_context.attach(current)
        try:
            out, error = _call(inject, payload)
        finally:
            otel_context.detach(token)
        if error:
            return wrong(f"inject({payload!r}) raised {error}.", "inject-raised")
        text = out.decode("utf-8", "replace") if isinstance(out, (bytes, bytearray)) else out
        try:
            obj = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            return wrong(f"inject({payload!r}) returned {_short(out)}, which is not JSON any more.", "inject-not-json")
        if not isinstance(obj, dict):
            return wrong(f"inject({payload!r}) returned {_short(out)}: expected the same JSON object with two more "
                         f"fields.", "inject-not-object")
        if "traceparent" not in obj:
            nested = [k for k, v in obj.items() if isinstance(v, dict) and "traceparent" in v]
            if nested:
                return wrong(f"The traceparent is inside {nested[0]!r}, not at the root of the object: the W3C "
                             f"way puts it beside the application's own fields, {{'traceparent': …, 't': 21.5}}.",
                             "inject-nested")
            if not payload.isascii() and out == payload:
                return wrong(f"inject({payload!r}) returned it unchanged, with no traceparent field, though it is a "
                             f"JSON object: JSON is UTF-8, and this one has a '°'. Parse the bytes as they are, "
                             f"json.loads(payload) (decoding them as ASCII fails on it).", "inject-no-context")
            import difflib
            misspelt = difflib.get_close_matches("traceparent", [k for k in obj if isinstance(k, str)], 1, 0.75)
            if misspelt:
                return wrong(f"inject({payload!r}) wrote {misspelt[0]!r}, not 'traceparent': a consumer's "
                             f"propagator reads only the exact, lower-case name. Let propagate.inject(obj) write "
                             f"the fields rather than naming them by hand.", "inject-no-context")
            if outs and out == payload:
                return wrong(f"inject({payload!r}) returned it unchanged, though it is a JSON object too, like the "
                             f"ones it added the fields to: every object gets them, whatever it holds (even {{}}) "
                             f"and however it is spaced. Test only isinstance(obj, dict).", "inject-no-context")
            return wrong(f"inject({payload!r}) returned {_short(out)}, with no traceparent field: call "
                         f"propagate.inject(obj) on the parsed object and serialize it again.", "inject-no-context")
        if obj["traceparent"] != expected:
            return wrong(f"The traceparent written into {payload!r} is {_short(obj['traceparent'])}, not the current "
                         f"span's {expected!r}: inject while the span is current, with propagate.inject(obj).",
                         "inject-wrong-context")
        kept = {k: v for k, v in obj.items() if k not in ("traceparent", "tracestate", "baggage")}
        if kept != fields:
            return wrong(f"The application's own fields changed: {payload!r} became {_short(out)}. Keep them as they "
                         f"are, add only the context fields"
                         + (", and write the JSON back as UTF-8, json.dumps(obj).encode()." if not payload.isascii()
                            else "."), "inject-changed-fields")
        if not isinstance(out, (bytes, bytearray)):
            return wrong(f"inject(...) returned a {type(out).__name__}: return bytes, as MQTT payloads are "
                         f"(json.dumps(obj).encode()).", "inject-not-bytes")
        sent = obj.get("baggage")
        sent = (baggage.get_all(W3CBaggagePropagator().extract({"baggage": sent}, context=Context()))
                if isinstance(sent, str) else {})
        missing = [name for name, there in (("tracestate", obj.get("tracestate") == state),
                                            ("baggage", sent.get("tenant.id") == tenant)) if not there]
        if missing:
            return wrong(f"inject({payload!r}) wrote the traceparent, but wrote no {' and no '.join(missing)}: the "
                         f"current context also holds a tracestate ({state}) and baggage (tenant.id={tenant}), and "
                         f"the consumer needs them too. propagate.inject(obj) writes every field of the context (the "
                         f"trace context propagator alone writes no baggage).", "inject-partial-context")
        outs.append((out, span))
    with trace.use_span(spans[0][0]):
        for payload in NOT_OBJECTS:
            same, error = _call(inject, payload)
            if error and error.startswith(("TypeError", "AttributeError")):
                return wrong(f"inject({payload!r}) raised {error}: that payload is JSON, but not an object (a "
                             f"number, a string, an array), so it has no root to add fields to. Check "
                             f"isinstance(obj, dict) and return the payload as it is.", "inject-raised")
            if error:
                return wrong(f"inject({payload!r}) raised {error}: a payload that is not a JSON object must go "
                             f"out exactly as it came. Catch the error (ValueError covers JSON and UTF-8 "
                             f"errors) and return the payload.", "inject-raised")
            if not (isinstance(same, (bytes, bytearray)) and bytes(same) == payload):
                parsed = _parses(payload)
                why = (" It parses as JSON, but re-serializing it changed its bytes (21.50 → 21.5, spaces, "
                       "escapes): return the payload itself, not json.dumps of it." if parsed else "")
                return wrong(f"inject({payload!r}) returned {_short(same)}: only a JSON *object* gets the fields; "
                             f"leave every other payload byte for byte.{why}", "inject-changed-payload")
    fields: dict = {}
    propagate.inject(fields, context=spans[0][1])
    raw = json.dumps({"t": 21.5, "unit": "°C", **fields}, ensure_ascii=False).encode()  # as a device writes UTF-8
    for out, span in outs + [(raw, spans[0][0])]:
        ctx, error = _call(extract, out)
        if error:
            return wrong(f"extract(...) of an injected payload raised {error}.", "extract-raised")
        if not isinstance(ctx, Context):
            return wrong(f"extract(...) returned a {type(ctx).__name__}: return the Context that "
                         f"propagate.extract(...) gives, to start the consumer span with context=ctx.",
                         "extract-not-context")
        received = trace.get_current_span(ctx).get_span_context()
        if received.trace_id != span.get_span_context().trace_id:
            utf8 = ("" if bytes(out).isascii() else
                    f" This payload has a '°': JSON is UTF-8, so parse the bytes as they are, json.loads(payload) "
                    f"(decoding them as ASCII fails on it).")
            return wrong("extract(...) of an injected payload did not give back its context: parse the JSON and "
                         "pass the object's fields to propagate.extract(...)." + utf8, "extract-lost-context")
        lost = [name for name, there in (("baggage", baggage.get_baggage("tenant.id", ctx) == tenant),
                                         ("tracestate", received.trace_state.get("congo") == "t61rcWkgMzE"))
                if not there]
        if lost:
            return wrong(f"extract(...) of an injected payload gave back the trace but not its {' and '.join(lost)}: "
                         f"pass the object's text fields to propagate.extract(...), which reads traceparent, "
                         f"tracestate and baggage (the trace context propagator alone drops the baggage).",
                         "extract-partial-context")
    probe, current = spans[1]
    for payload in NOT_OBJECTS + [b'{"t": 1}', b'{"traceparent": 5}', b'{"traceparent": null}',
                                  b'{"traceparent": ["x"], "tracestate": {"a": 1}}']:
        token = otel_context.attach(current)  # a consumer is often inside a span of its own when a message comes
        try:
            ctx, error = _call(extract, payload)
        finally:
            otel_context.detach(token)
        if error:
            return wrong(f"extract({payload!r}) raised {error}: a message without a usable context must still be "
                         f"processed; return an empty context (propagate.extract({{}})), and pass the propagator "
                         f"only text fields (a field can be any JSON value).", "extract-raised")
        if isinstance(ctx, Context) and (
                trace.get_current_span(ctx).get_span_context().span_id == probe.get_span_context().span_id
                or baggage.get_baggage("tenant.id", ctx) == tenant):
            return wrong(f"extract({payload!r}) gave the span that was current when it was called (and its baggage), "
                         f"not an empty context: the consumer would join whatever trace it was in, as if the message "
                         f"had carried it. For a payload with no context, return propagate.extract({{}}).",
                         "extract-current-context")
        if not isinstance(ctx, Context) or trace.get_current_span(ctx).get_span_context().is_valid:
            return wrong(f"extract({payload!r}) gave {_short(ctx)}, expected an empty Context.", "extract-not-empty")
    return ok("inject adds traceparent at the root of JSON objects and leaves every other payload byte for byte; "
              "extract reads it back, and never raises.")


def _parses(payload: bytes) -> bool:
    import json
    try:
        json.loads(payload)
        return True
    except (ValueError, RecursionError):
        return False


@judged
def check_round_trip(send, receive, *, key: str, values: tuple | None = None, producer: str,
                     consumer: str) -> Result:
    """``send(value)`` makes the PRODUCER span ``producer`` and returns the carrier (a dict)
    it injected into, with baggage ``key=value``; ``receive(carrier)`` makes the CONSUMER span
    ``consumer``, a child of that producer, with the attribute ``key`` read from the
    baggage. Tried with each of ``values`` (None: the values the exercise drew for this run),
    so typing a value in cannot pass."""
    from kit import attempts

    for function, label in ((send, "send"), (receive, "receive")):
        if not callable(function):
            return wrong(f"Give the check your two functions themselves ({label} is a {type(function).__name__}).",
                         "not-callable")
    if values is None:
        values = tuple((current_data() or {}).get("orders") or ("o-1", "o-2"))
    sent_all = []  # every message is sent before any is received, as on a broker: what receive reads must be
    for value in values:  # in the carrier it is given, not in a variable the last send left behind
        before = attempts.spans().span_id.tolist()
        carrier, error = _call(send, value)
        if error:
            return wrong(f"send({value!r}) raised {error}.", "send-raised")
        if not isinstance(carrier, dict):
            return wrong(f"send({value!r}) returned {type(carrier).__name__}: return the dict you injected into.",
                         "send-no-carrier")
        if "traceparent" not in carrier:
            return wrong(f"The carrier send({value!r}) returned has no traceparent (it has {names(carrier)}): call "
                         f"propagate.inject(carrier, ...) inside the {producer!r} span.", "carrier-no-context")
        if _carried(carrier, key) != value:
            sent = _carried(carrier, key)
            return wrong(f"The carrier send({value!r}) returned carries {key}={sent!r}, expected {value!r}: inject "
                         f"with context=baggage.set_baggage({key!r}, value)"
                         + (" (the value given to send, not one typed in)." if sent else "."), "baggage-value")
        new = attempts.spans()
        prod = new[(new.name == producer) & ~new.span_id.isin(before)]
        sent_all.append((value, carrier, dict(carrier), None if prod.empty else prod.iloc[-1].span_id))
    for value, carrier, as_sent, _ in sent_all:
        if carrier != as_sent:
            return wrong(f"The carrier send({value!r}) returned was changed by a later send: it now carries "
                         f"{key}={_carried(carrier, key)!r}. Each call must inject into a dict of its own "
                         f"(carrier = {{}} inside send), as each message has its own headers.", "carrier-shared")
    for value, carrier, _, producer_id in sent_all:
        before = attempts.spans().span_id.tolist()
        _, error = _call(receive, carrier)
        if error:
            return wrong(f"receive(carrier) raised {error}.", "receive-raised")
        new = attempts.spans()
        new = new[~new.span_id.isin(before)]
        cons = new[new.name == consumer]
        if producer_id is None or cons.empty:
            missing = producer if producer_id is None else consumer
            return wrong(f"Calling send and receive once made no span {missing!r} (they made {names(new.name)}).",
                         "span-missing")
        cons = cons.iloc[-1]
        prod = attempts.spans()
        prod = prod[prod.span_id == producer_id].iloc[-1]
        if prod.kind != "PRODUCER" or cons.kind != "CONSUMER":
            return wrong(f"{producer!r} is {prod.kind} and {consumer!r} is {cons.kind}: the sending side is a PRODUCER, "
                         f"the receiving side a CONSUMER.", "span-kind")
        if cons.parent_span_id != prod.span_id:
            every = attempts.spans()
            parent = every[every.span_id == cons.parent_span_id] if cons.parent_span_id else every.iloc[0:0]
            if not parent.empty and parent.iloc[-1].parent_span_id == prod.span_id:
                return wrong(f"{consumer!r} is a child of {parent.iloc[-1]['name']!r}, a span inside {producer!r}: the "
                             f"carrier was injected while that inner span was current. Inject while {producer!r} "
                             f"itself is the current span, so the message names it.", "span-parent-wrong")
            return wrong(f"{consumer!r} is not a child of {producer!r}: in receive, extract the carrier and start the "
                         f"span with context=ctx.", "span-no-parent")
        if cons.attributes.get(key) != value:
            got = cons.attributes.get(key)
            other = _under_other_key(cons.attributes, key, value) if got is None else None
            if other is not None:
                return wrong(_other_key_message(consumer, key, value, other), "span-attribute")
            tail = (f". The check sends every message before receiving any, as a broker may: {got!r} is what the "
                    f"last send left behind, not what this carrier holds." if len(sent_all) > 1 and
                    got == sent_all[-1][0] else " (a value typed in passes only once)." if got else ".")
            return wrong(f"For {value!r}, {consumer!r} has {key}={got!r}: read it from the extracted context, "
                         f"baggage.get_baggage({key!r}, ctx){tail}", "span-attribute-value")
    return ok(f"{key} travelled as baggage for {names(values)}: {consumer!r} is the child of {producer!r} each time.")


def _under_other_key(attributes, key: str, value):
    """The name of another attribute holding ``value``, when ``key`` has none: the value was read right,
    and set under another name."""
    return next((k for k, v in dict(attributes).items() if k != key and v == value), None) if value else None


def _other_key_message(span_name: str, key: str, value, other: str) -> str:
    return (f"{span_name!r} has {value!r} under the attribute {other!r}, not {key!r}: the value is the right one, "
            f"its name is not. Set it as span.set_attribute({key!r}, ...), with the key exactly {key!r}.")


def _carried(carrier: dict, key: str):
    return baggage.get_all(propagate.extract({k: v for k, v in carrier.items() if isinstance(v, str)})).get(key)


@judged
def check_edge_extract(extract, *, allowed: tuple) -> Result:
    """``extract(carrier) -> Context`` keeps the trace context of a message from outside
    your trust boundary, keeps only the baggage keys in ``allowed``, and never raises. The
    outside message's values are drawn at every run, so a value typed in cannot pass."""
    import logging

    if not callable(extract):
        return wrong(f"Give the check your function itself, not a {type(extract).__name__}.", "not-callable")
    # ALLOWED = ("tenant.id") is a string, not a tuple: it names one key (a loop over it goes letter by letter)
    one_string = isinstance(allowed, str)
    allowed = (allowed,) if one_string else tuple(allowed)
    odd_key = next((k for k in allowed if not isinstance(k, str) or not _BAGGAGE_KEY.fullmatch(k)), None)
    if odd_key is not None:
        return wrong(f"The allow-list has {odd_key!r}, which no baggage key can be (a key is one word of letters, "
                     f"digits and !#$%&'*+-.^_`|~, no spaces): keep the exercise's ALLOWED = ('tenant.id',).",
                     "edge-allowed-key")
    rng = drawn.rng("11.2")
    tenant = drawn.tenant(rng)
    traceparent = f"00-{rng.getrandbits(128) | 1:032x}-{rng.getrandbits(64) | 1:016x}-01"
    smuggled = {"user.role": "admin", "user.email": f"{drawn.token(rng)}%40example.com",
                f"x.{drawn.token(rng)}": drawn.token(rng), f"{allowed[0]}.{drawn.token(rng)}" if allowed else "z": "1"}
    for key in allowed:  # keys that only look allowed: a part of one, or the same letters in other cases
        smuggled.setdefault(key[:-1] or "z", "1")
        smuggled.setdefault(key.upper() if key.upper() != key else key.lower(), "1")
    # a value as W3C baggage writes it: percent-encoded (the propagator decodes it; a hand-made split does not)
    entries = [f"{k}={v}" for k, v in smuggled.items()] + [
        f"{k}={tenant.replace('-', '%20') if k == 'tenant.id' else drawn.token(rng)}" for k in allowed]
    rng.shuffle(entries)
    outside = {"traceparent": traceparent, "baggage": ",".join(entries)}
    ctx, error = _call(extract, dict(outside))
    if error:
        return wrong(f"extract(carrier) raised {error}.", "extract-raised")
    if not isinstance(ctx, Context):
        return wrong(f"extract(carrier) returned {type(ctx).__name__}, expected a Context (to start a span with "
                     f"context=ctx).", "extract-not-context")
    parent = trace.get_current_span(ctx).get_span_context()
    if not parent.is_valid or f"{parent.trace_id:032x}" != traceparent.split("-")[1]:
        kept = dict(baggage.get_all(ctx))
        if kept and _source_mentions(extract, "set_baggage(") and not _source_mentions(extract, "context="):
            return wrong("The context it returns keeps baggage but lost the trace: baggage.set_baggage(key, value) "
                         "without context= starts from the current context, which has no trace. Build on the "
                         "context you extracted: ctx = baggage.set_baggage(key, value, context=ctx).",
                         "edge-lost-trace")
        return wrong("The context lost the trace: the consumer would start a new trace. Start from the message's "
                     "trace context (TraceContextTextMapPropagator().extract(carrier): trace context only), and add "
                     "the allowed baggage to that context.", "edge-lost-trace")
    kept = dict(baggage.get_all(ctx))
    refused = sorted(k for k in kept if k not in allowed)
    if refused:
        return wrong(f"The context keeps baggage the sender had no right to set: {refused} (it has {kept}). Keep "
                     f"only {list(allowed)}: baggage is plain text anyone upstream can write.", "edge-trusts")
    from opentelemetry.baggage.propagation import W3CBaggagePropagator
    offered = dict(baggage.get_all(W3CBaggagePropagator().extract(outside, context=Context())))  # decoded
    written = {pair.split("=")[0]: pair.split("=", 1)[1] for pair in outside["baggage"].split(",")}
    lost = sorted(k for k in allowed if k in offered and k not in kept)
    if lost:
        letters = (f" ALLOWED = ({allowed[0]!r}) is a string, not a tuple: `for key in ALLOWED` goes letter by "
                   f"letter; write ({allowed[0]!r},), with the comma." if one_string else "")
        return wrong(f"The allowed key {lost[0]!r} was dropped too: keep the keys in the allow-list, "
                     f"baggage.set_baggage(key, value, context=ctx).{letters}", "edge-drops-allowed")
    changed = sorted(k for k in allowed if k in kept and kept[k] != offered.get(k))
    if changed:
        key = changed[0]
        if kept[key] == written.get(key):
            return wrong(f"{key}={kept[key]!r} in the context, as the header spells it: W3C baggage values are "
                         f"percent-encoded, and the message means {offered[key]!r}. Let the propagator read the "
                         f"header, baggage.get_all(propagate.extract(carrier)), rather than splitting it by hand.",
                         "edge-value")
        return wrong(f"{key}={kept[key]!r} in the context, but the message said {offered[key]!r}: pass on the value "
                     f"the message carries (a value typed in is right only by accident).", "edge-value")
    from opentelemetry import context as otel_context
    edge = _random_span()  # the edge service's own span, current while it takes messages in
    local = baggage.set_baggage(f"x.{drawn.token(rng)}", "1", context=trace.set_span_in_context(edge))
    quiet = logging.getLogger("opentelemetry.baggage.propagation")  # it warns about each malformed entry sent here
    level, quiet.level = quiet.level, logging.ERROR
    try:
        for odd in ({"traceparent": traceparent, "baggage": "%%%,=,tenant.id"}, {"baggage": f"tenant.id={tenant}"}, {},
                    {"traceparent": "garbage", "baggage": ""}):
            token = otel_context.attach(local)
            try:
                got, error = _call(extract, odd)
            finally:
                otel_context.detach(token)
            if error:
                return wrong(f"extract({odd!r}) raised {error}: a malformed message must still be processed.",
                             "extract-raised")
            if not isinstance(got, Context):
                continue
            joined = trace.get_current_span(got).get_span_context().span_id == edge.get_span_context().span_id
            leaked = [k for k in baggage.get_all(got) if k not in allowed]  # none of them is in these messages
            carried = baggage.get_all(W3CBaggagePropagator().extract(odd, context=Context()))
            invented = [k for k in baggage.get_all(got) if k in allowed and k not in carried]
            if not joined and not leaked and invented:
                return wrong(f"extract({odd!r}) gave {invented[0]}={baggage.get_baggage(invented[0], got)!r}, which "
                             f"the message does not carry: downstream services would read it as the sender's. Add "
                             f"an allowed key only when the message has it (if key in offered: ...).",
                             "edge-invents-baggage")
            if joined or leaked:
                what = ("the span that was current when it was called" if joined else
                        f"the baggage that was current when it was called ({leaked[0]})")
                return wrong(f"extract({odd!r}) gave back {what}: the message from outside would join the edge's "
                             f"own trace and baggage. Build on the message alone: w3c.extract(carrier) starts from "
                             f"an empty context unless you pass it context=.", "edge-current-context")
    finally:
        quiet.setLevel(level)
    return ok(f"The trace context is kept and only {list(allowed)} of the sender's baggage gets through.")


_BAGGAGE_KEY = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a W3C baggage key: an HTTP token


def _source_mentions(function, text: str) -> bool:
    import inspect
    try:
        return text in inspect.getsource(function)
    except (OSError, TypeError):
        return False
