"""kit.propagation: W3C trace context in MQTT v5 user properties and 3.1.1 JSON payloads."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import baggage, trace
from opentelemetry.sdk.trace import TracerProvider
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kit.propagation import (
    carries_valid_traceparent,
    extract_json_payload,
    extract_user_properties,
    inject_json_payload,
    inject_user_properties,
    user_properties_getter,
)
from kit.telemetry import setup

setup("propagation-tests")
tracer = TracerProvider().get_tracer("t")
KNOWN = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def props(*pairs):
    p = Properties(PacketTypes.PUBLISH)
    if pairs:
        p.UserProperty = list(pairs)
    return p


def span_ids(ctx):
    sc = trace.get_current_span(ctx).get_span_context()
    return (format(sc.trace_id, "032x"), format(sc.span_id, "016x")) if sc.is_valid else None


def test_inject_adds_traceparent_and_keeps_the_apps_properties():
    p = props(("app", "1"))
    with tracer.start_as_current_span("s") as span:
        inject_user_properties(p)
    keys = [k for k, _ in p.UserProperty]
    assert keys[0] == "app" and "traceparent" in keys
    tp = dict(p.UserProperty)["traceparent"]
    assert tp.split("-")[1] == format(span.get_span_context().trace_id, "032x")


def test_injecting_twice_replaces_instead_of_appending():
    p = props()
    for _ in range(2):
        with tracer.start_as_current_span("s"):
            inject_user_properties(p)
    assert [k for k, _ in p.UserProperty].count("traceparent") == 1


def test_round_trip_through_packed_properties():
    p = props(("app", "x"))
    with tracer.start_as_current_span("s") as span:
        inject_user_properties(p, baggage.set_baggage("tenant.id", "acme"))
    received = Properties(PacketTypes.PUBLISH)
    received.unpack(p.pack())  # what the other side decodes
    ctx = extract_user_properties(received)
    assert span_ids(ctx)[1] == format(span.get_span_context().span_id, "016x")
    assert baggage.get_baggage("tenant.id", ctx) == "acme"
    assert ("app", "x") in received.UserProperty


def test_getter_returns_every_value_of_a_repeated_key_in_order():
    p = props(("traceparent", "first"), ("x", "1"), ("traceparent", "second"))
    assert user_properties_getter.get(p, "traceparent") == ["first", "second"]
    assert user_properties_getter.keys(p) == ["traceparent", "x"]


def test_first_valid_traceparent_wins_and_uppercase_names_are_not_read():
    assert span_ids(extract_user_properties(props(("traceparent", KNOWN), ("traceparent", "junk"))))[1] == "b7ad6b7169203331"
    assert span_ids(extract_user_properties(props(("Traceparent", KNOWN)))) is None


def test_no_properties_gives_an_empty_context():
    assert span_ids(extract_user_properties(None)) is None
    assert span_ids(extract_user_properties(props())) is None


def test_json_context_is_inserted_and_every_other_byte_kept():
    original = b'{"t": 21.5,  "unit":"C", "nested": {"a": [1, 2]}}'
    with tracer.start_as_current_span("s") as span:
        out = inject_json_payload(original)
    assert out.startswith(b'{"traceparent":"00-')
    assert out.endswith(original[1:])
    parsed = json.loads(out)
    assert parsed.pop("traceparent").split("-")[2] == format(span.get_span_context().span_id, "016x")
    assert parsed == json.loads(original)
    assert span_ids(extract_json_payload(out))[1] == format(span.get_span_context().span_id, "016x")


def test_json_empty_object_and_baggage():
    with tracer.start_as_current_span("s"):
        out = inject_json_payload(b" {} ", baggage.set_baggage("k", "v"))
    obj = json.loads(out)
    assert set(obj) == {"traceparent", "baggage"} and obj["baggage"] == "k=v"
    assert baggage.get_baggage("k", extract_json_payload(out)) == "v"


def test_json_existing_traceparent_is_kept():
    mine = json.dumps({"traceparent": KNOWN, "tracestate": "congo=t61rcWkgMzE", "v": 1}).encode()
    with tracer.start_as_current_span("s"):
        assert inject_json_payload(mine) == mine


def test_json_invalid_traceparent_is_replaced_and_its_tracestate_goes_with_it():
    mine = b'{"v": 1, "traceparent": "00-not-valid", "tracestate": "congo=t61rcWkgMzE"}'
    with tracer.start_as_current_span("s") as span:
        out = inject_json_payload(mine)
        orphan = inject_json_payload(b'{"tracestate": "congo=t61rcWkgMzE", "v": 1}')
    assert json.loads(out) == {"traceparent": json.loads(out)["traceparent"], "v": 1}
    assert out.endswith(b'"v": 1}')  # the application's bytes, as they were
    assert span_ids(extract_json_payload(out))[1] == format(span.get_span_context().span_id, "016x")
    assert set(json.loads(orphan)) == {"traceparent", "v"}  # a tracestate without a traceparent is another's
    assert inject_json_payload(mine) == mine  # outside a span nothing is added, nothing removed


def test_payloads_that_are_not_json_objects_are_left_exactly_as_they_are():
    with tracer.start_as_current_span("s"):
        for payload in [b"", b"[1, 2]", b"42", b'"text"', b"\xff\xfe\x00binary", b"{not json",
                        "\ufeff{}".encode(), b"null"]:
            assert inject_json_payload(payload) == payload
            assert span_ids(extract_json_payload(payload)) is None


def test_outside_a_span_nothing_is_added():
    assert inject_json_payload(b'{"a": 1}') == b'{"a": 1}'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_payload_survives_injection(payload):
    with tracer.start_as_current_span("s"):
        out = inject_json_payload(payload)
    try:
        before = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        before = None
    if not isinstance(before, dict) or carries_valid_traceparent(before):
        assert out == payload
    else:
        after, expected = json.loads(out), dict(before)
        expected.pop("traceparent", None), expected.pop("tracestate", None)  # an invalid context is replaced
        for key in ("traceparent", "tracestate", "baggage"):
            if key not in expected:
                after.pop(key, None)
        assert after == expected
    extract_json_payload(out)  # never raises


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["traceparent", "tracestate", "baggage", "x"]) | st.text(max_size=12),
                          st.text(max_size=600)), max_size=8))
def test_any_user_properties_extract_without_raising(pairs):
    ctx = extract_user_properties(props(*pairs) if pairs else props())
    ids = span_ids(ctx)
    first = next((v for k, v in pairs if k == "traceparent"), None)
    if ids is not None:  # a context is only continued from the first traceparent given
        assert first is not None and ids == tuple(first.split("-")[1:3])
