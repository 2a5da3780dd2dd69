"""Telemetry never costs a message: whatever arrives, the callback gets it unchanged,
nothing raises, and a context that cannot be read starts a new trace."""

import json

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mqtt_helpers import V5, V311, Subscriber, publisher, wait_until
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation

from kit import capture
from kit.broker import start_broker
from kit.telemetry import setup

GOOD = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
BAD_TRACEPARENTS = [
    "", "00", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
    "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01", "00-xyz-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01", "00-" + "a" * 10_000, "\u00e9\u00e8", "x" * 65_000,
]


@pytest.fixture(scope="module", params=[False, True], ids=["json-off", "json-on"])
def instrumented(request):
    setup("bad-input-tests")
    PahoMqttInstrumentor().instrument(json_payload=request.param)
    yield request.param
    PahoMqttInstrumentor().uninstrument()


_clients = {}


def deliver(protocol, topic, payload, pairs, retain=False):
    """Hand one message to a client as paho's network loop does; return what the
    callback got and the spans made."""
    got = []
    if protocol not in _clients:
        _clients[protocol] = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=protocol)
    client = _clients[protocol]
    client.on_message = lambda c, u, m: got.append((m._topic, m.payload, m.properties))
    msg = mqtt.MQTTMessage(1, topic)
    msg.payload, msg.retain = payload, retain
    if protocol == V5:
        msg.properties = Properties(PacketTypes.PUBLISH)
        if pairs:
            msg.properties.UserProperty = pairs
    capture.clear()
    client._handle_on_message(msg)  # paho's own delivery entry point
    return got, capture.finished_spans()


json_objects = st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=20), max_size=5)
payloads = st.one_of(st.binary(max_size=300), json_objects.map(lambda d: json.dumps(d).encode()),
                     st.sampled_from([b"", b"[]", b"[1,2]", b"null", b"\xff\xfe", b'{"traceparent": 5}',
                                      json.dumps({"traceparent": GOOD, "x": 1}).encode()]),
                     st.sampled_from(BAD_TRACEPARENTS).map(lambda t: json.dumps({"traceparent": t}).encode()))
user_properties = st.lists(st.tuples(st.sampled_from(["traceparent", "tracestate", "baggage", "x"]),
                                     st.sampled_from(BAD_TRACEPARENTS + [GOOD, "k=v", "congo=t61rcWkgMzE"])
                                     | st.text(max_size=50)), max_size=6)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(protocol=st.sampled_from([V5, V311]), topic=st.binary(min_size=1, max_size=40), payload=payloads,
       pairs=user_properties, retain=st.booleans())
def test_any_message_reaches_the_callback_unchanged(instrumented, protocol, topic, payload, pairs, retain):
    got, new_spans = deliver(protocol, topic, payload, pairs, retain)
    assert len(got) == 1 and got[0][1] == payload  # delivered once, payload untouched
    if protocol == V5 and pairs:
        assert got[0][2].UserProperty == pairs  # properties untouched
    [span] = new_spans
    assert span.kind.name == "CONSUMER"
    if span.parent is not None:  # it continued a trace: only one that a valid traceparent named
        if protocol == V5:
            assert next(v for k, v in pairs if k == "traceparent") == GOOD
        else:
            assert instrumented and json.loads(payload)["traceparent"] == GOOD
        assert format(span.parent.trace_id, "032x") == GOOD.split("-")[1]


@pytest.mark.parametrize("value", BAD_TRACEPARENTS)
def test_bad_traceparent_over_the_wire_starts_a_new_trace(instrumented, value):
    broker = start_broker(protocol=5)
    sub = Subscriber(broker, "bad/#")
    raw = publisher(broker)
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("traceparent", value), ("tracestate", "congo=t61rcWkgMzE")]
    with suppress_instrumentation():  # a foreign publisher: it sends the bad value as it is
        raw.publish("bad/t", b'{"t": 1}', qos=1, properties=props).wait_for_publish(5)
    [msg] = sub.wait_for(1)
    assert msg.payload == b'{"t": 1}'
    assert wait_until(lambda: (capture.spans_df().name == "process bad/t").any())
    consumer = capture.spans_df().query("name == 'process bad/t'").iloc[-1]
    assert consumer.parent_span_id is None  # a new trace
    sub.close(), raw.disconnect()


def test_json_mode_sends_non_objects_unchanged_over_the_wire():
    setup("bad-input-tests")
    broker = start_broker("3.1.1")
    sub = Subscriber(broker, "json/#", protocol=V311)
    pub = publisher(broker, V311)
    PahoMqttInstrumentor.instrument_client(pub, json_payload=True)
    sent = [b"", b"[1, 2]", b"\x00\x01binary", b"plain text", "é".encode("latin-1"), b'{"a": 1}']
    for p in sent:
        pub.publish("json/t", p, qos=1)
    got = [m.payload for m in sub.wait_for(len(sent))]
    assert got[:-1] == sent[:-1]
    last = json.loads(got[-1])
    assert last.pop("traceparent") and last == {"a": 1}
    sub.close(), pub.disconnect()
