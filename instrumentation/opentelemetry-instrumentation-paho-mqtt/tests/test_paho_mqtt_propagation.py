"""The public Getter/Setter pairs and JSON-payload helpers, and the fast packer of the
PUBLISH properties the instrumentation makes: the same bytes as paho's."""

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from opentelemetry.instrumentation.paho_mqtt._carriers import _new_publish_properties
from opentelemetry.instrumentation.paho_mqtt.propagation import extract_json_payload, extract_user_properties, \
    inject_json_payload, inject_user_properties, user_properties_getter, user_properties_setter

KNOWN = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
tracer = TracerProvider().get_tracer("t")


def span_of(ctx):
    return trace.get_current_span(ctx).get_span_context()


def test_user_properties_round_trip_and_keep_the_applications_own():
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("app", "1"), ("traceparent", "old")]
    with tracer.start_as_current_span("publish") as span:
        inject_user_properties(props)
    assert [k for k, _ in props.UserProperty] == ["app", "traceparent"]
    assert span_of(extract_user_properties(props)).span_id == span.get_span_context().span_id


def test_the_getter_reads_every_value_and_skips_what_is_not_a_pair():
    props = Properties(PacketTypes.PUBLISH)
    object.__setattr__(props, "UserProperty", [("k", "1"), "junk", ("k", "2"), ("k", 3), ("j", "x", "y")])
    assert user_properties_getter.get(props, "k") == ["1", "2"]
    assert user_properties_getter.keys(props) == ["k"]
    assert user_properties_getter.get(None, "k") is None


def test_json_payload_round_trip_keeps_every_byte_of_the_application():
    reading = '{"t":21.50,"unit":"°C"}'.encode()
    with tracer.start_as_current_span("publish") as span:
        sent = inject_json_payload(reading)
    assert sent.endswith(reading[1:]) and sent.startswith(b'{"traceparent":"00-')
    assert span_of(extract_json_payload(sent)).span_id == span.get_span_context().span_id
    assert inject_json_payload(b"\xff not json") == b"\xff not json"
    assert not span_of(extract_json_payload(b"[1]")).is_valid


def test_a_valid_traceparent_in_a_payload_is_kept():
    payload = f'{{"traceparent": "{KNOWN}", "t": 1}}'.encode()
    with tracer.start_as_current_span("publish"):
        assert inject_json_payload(payload) == payload


def test_the_fast_packer_writes_the_bytes_paho_writes():
    cases = [[], [("traceparent", KNOWN)], [("traceparent", KNOWN), ("tracestate", "a=1"), ("baggage", "k=v")],
             [("é", "✓" * 300)], [("", "")]]
    for pairs in cases:
        ours, paho = _new_publish_properties(), Properties(PacketTypes.PUBLISH)
        for key, value in pairs:
            user_properties_setter.set(ours, key, value)
            user_properties_setter.set(paho, key, value)
        assert ours.pack() == paho.pack(), pairs
