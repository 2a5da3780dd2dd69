"""The spans: names, kinds, attributes, parents and links, the context in the message, hooks,
errors, sampling and suppression; paho messages that really go out and come back in (the
loopback echo)."""

import json
import logging

import paho.mqtt.client as mqtt
import pytest
from opentelemetry import baggage, context, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho_mqtt_loopback import new_client as client

from opentelemetry.instrumentation.paho_mqtt import SPAN_NAME_FORMAT, PahoMqttInstrumentor, span_name

KNOWN_TRACE, KNOWN_SPAN = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331
KNOWN = f"00-{KNOWN_TRACE:032x}-{KNOWN_SPAN:016x}-01"
PAHO = {name: getattr(mqtt.Client, name) for name in ("publish", "_handle_on_message", "subscribe")}


def user_properties(message) -> list:
    return list(getattr(message.properties, "UserProperty", None) or [])


def props(*pairs):
    p = Properties(PacketTypes.PUBLISH)
    if pairs:
        p.UserProperty = list(pairs)
    return p


def test_span_names_are_the_exported_format():
    assert span_name("publish", "sensors/s-1/temp") == "publish sensors/s-1/temp"
    assert span_name("process", "a/b") == "process a/b" == SPAN_NAME_FORMAT.format(operation="process", topic="a/b")
    with pytest.raises(ValueError, match="publish or process"):
        span_name("receive", "a/b")


@pytest.mark.parametrize("protocol", [mqtt.MQTTv5, mqtt.MQTTv311])
def test_a_publish_and_its_delivery_follow_the_messaging_conventions(sdk, instrument, echo, protocol):
    instrument()
    loop = echo(protocol)
    loop.send("sensors/temp", b"21.5")
    [producer], [consumer] = sdk.spans("PRODUCER"), sdk.spans("CONSUMER")
    port = loop.client.port
    assert producer.name == span_name("publish", "sensors/temp")
    assert dict(producer.attributes) == {
        "messaging.system": "mqtt", "messaging.operation.type": "send", "messaging.operation.name": "publish",
        "messaging.destination.name": "sensors/temp", "messaging.client.id": "the-client",
        "server.address": "127.0.0.1", "server.port": port, "messaging.mqtt.qos": 0, "messaging.mqtt.retain": False}
    assert consumer.name == span_name("process", "sensors/temp")
    assert consumer.attributes["messaging.operation.type"] == "process"
    assert consumer.attributes["messaging.operation.name"] == "process"
    assert producer.instrumentation_scope.name == consumer.instrumentation_scope.name == \
        "opentelemetry.instrumentation.paho_mqtt"
    if protocol == mqtt.MQTTv5:  # the context travelled in the user properties: one trace
        assert consumer.parent.span_id == producer.context.span_id
        assert consumer.context.trace_id == producer.context.trace_id
    else:  # 3.1.1 has nowhere to put it unless json_payload is on
        assert consumer.parent is None


def test_v5_context_is_the_traceparent_user_property_and_the_payload_is_untouched(sdk, instrument, echo):
    instrument()
    message = echo().send("t/v5", b"\x00\xffbinary")
    [producer] = sdk.spans("PRODUCER")
    traceparent = dict(message.properties.UserProperty)["traceparent"]
    ctx = producer.context
    assert traceparent == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"
    assert message.payload == b"\x00\xffbinary"


@pytest.mark.parametrize("how", ["keyword", "environment"])
def test_311_json_payload_carries_the_context_in_its_fields(sdk, instrument, echo, monkeypatch, how):
    if how == "keyword":
        instrument(json_payload=True)
    else:
        monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD", "true")
        instrument()
    message = echo(mqtt.MQTTv311).send("t/json", b'{"t":21.50,"unit":"\xc2\xb0C"}')
    [producer], [consumer] = sdk.spans("PRODUCER"), sdk.spans("CONSUMER")
    body = json.loads(message.payload)
    assert body.pop("traceparent").split("-")[1] == f"{producer.context.trace_id:032x}"
    assert body == {"t": 21.5, "unit": "°C"}
    assert message.payload.endswith(b',"t":21.50,"unit":"\xc2\xb0C"}')  # the application's bytes, as they were
    assert consumer.parent.span_id == producer.context.span_id


def test_311_json_payload_leaves_what_is_not_a_json_object_as_it_is(sdk, instrument, echo):
    instrument(json_payload=True)
    loop = echo(mqtt.MQTTv311)
    for payload in (b"\x00\xffnot json", b"[1, 2]", b"", b'"text"'):
        assert loop.send("t/raw", payload).payload == payload
    assert all(span.parent is None for span in sdk.spans("CONSUMER"))


def test_a_valid_traceparent_of_the_application_is_kept_and_linked(sdk, instrument, echo):
    instrument()
    mine = props(("traceparent", KNOWN), ("tracestate", "app=1"), ("app", "1"))
    message = echo().send("t/mine", b"x", properties=mine)
    assert message.properties.UserProperty == [("traceparent", KNOWN), ("tracestate", "app=1"), ("app", "1")]
    [producer], [consumer] = sdk.spans("PRODUCER"), sdk.spans("CONSUMER")
    assert [(link.context.trace_id, link.context.span_id) for link in producer.links] == [(KNOWN_TRACE, KNOWN_SPAN)]
    assert consumer.parent.span_id == KNOWN_SPAN


def test_an_invalid_traceparent_is_replaced_with_its_tracestate_and_the_rest_stays(sdk, instrument, echo):
    instrument()
    mine = props(("traceparent", "00-not-valid"), ("tracestate", "app=1"), ("app", "1"))
    message = echo().send("t/bad", b"x", properties=mine)
    pairs = message.properties.UserProperty
    [producer] = sdk.spans("PRODUCER")
    assert ("app", "1") in pairs and not any(k == "tracestate" for k, _ in pairs)
    assert dict(pairs)["traceparent"].split("-")[2] == f"{producer.context.span_id:016x}"
    assert mine.UserProperty == [("traceparent", "00-not-valid"), ("tracestate", "app=1"), ("app", "1")]


def test_links_only_starts_a_new_trace_linked_to_the_publisher(sdk, instrument, echo):
    instrument(links_only=True)
    echo().send("t/link", b"x")
    [producer], [consumer] = sdk.spans("PRODUCER"), sdk.spans("CONSUMER")
    assert consumer.parent is None and consumer.context.trace_id != producer.context.trace_id
    assert [link.context.span_id for link in consumer.links] == [producer.context.span_id]


@pytest.mark.parametrize("as_link", [False, True])
def test_a_retained_message_is_marked_and_can_be_linked(sdk, instrument, echo, as_link):
    instrument(retained_as_link=as_link)
    message = echo().send("t/retained", b"x", retain=True)
    assert message.retain
    [producer], [consumer] = sdk.spans("PRODUCER"), sdk.spans("CONSUMER")
    assert producer.attributes["messaging.mqtt.retain"] is True and consumer.attributes["messaging.mqtt.retain"] is True
    if as_link:
        assert consumer.parent is None and [link.context.span_id for link in consumer.links] == [producer.context.span_id]
    else:
        assert consumer.parent.span_id == producer.context.span_id and not consumer.links


def test_baggage_reaches_the_callback_and_incoming_baggage_filters_it(sdk, instrument, echo):
    instrument(incoming_baggage={"tenant.id"})
    seen = []
    loop = echo(on_message=lambda c, u, m: seen.append(baggage.get_all()))
    token = context.attach(baggage.set_baggage("secret", "x", baggage.set_baggage("tenant.id", "acme")))
    try:
        message = loop.send("t/bag", b"x")
    finally:
        context.detach(token)
    assert dict(message.properties.UserProperty)["baggage"] in ("tenant.id=acme,secret=x", "secret=x,tenant.id=acme")
    assert seen == [{"tenant.id": "acme"}]


def test_the_callbacks_exception_is_recorded_then_raised_as_without_instrumentation(sdk, instrument, echo):
    def boom(c, u, m):
        raise KeyError("missing field")

    with pytest.raises(KeyError, match="missing field"):
        echo(on_message=boom).send("t/boom", b"x")  # without instrumentation
    instrument()
    with pytest.raises(KeyError, match="missing field"):
        echo(on_message=boom).send("t/boom", b"x")
    [consumer] = sdk.spans("CONSUMER")
    assert consumer.status.status_code.name == "ERROR" and consumer.attributes["error.type"] == "KeyError"
    assert [event.name for event in consumer.events] == ["exception"]


def test_paho_errors_reach_the_caller_and_mark_the_span(sdk, instrument):
    instrument()
    offline = client()
    with pytest.raises(ValueError):
        offline.publish("bad/#", b"x")  # a wildcard in a topic name: paho's own ValueError
    lost = offline.publish("t/lost", b"x", qos=0)
    queued = offline.publish("t/queued", b"x", qos=1)
    assert lost.rc == queued.rc == mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
    bad, lost_span, queued_span = sdk.spans("PRODUCER")
    assert bad.status.status_code.name == "ERROR" and bad.attributes["error.type"] == "ValueError"
    assert lost_span.attributes["error.type"] == "MQTT_ERR_NO_CONN"
    assert queued_span.attributes["messaging.mqtt.queued"] is True and queued_span.status.status_code.name == "UNSET"


def test_hooks_add_attributes_and_what_they_raise_stays_inside(sdk, instrument, echo, caplog):
    def publish_hook(span, paho_client, topic, payload):
        span.set_attribute("app.topic.length", len(topic))

    def process_hook(span, paho_client, message):
        span.set_attribute("app.payload", message.payload.decode())
        raise RuntimeError("a broken hook")

    instrument(publish_hook=publish_hook, process_hook=process_hook)
    with caplog.at_level(logging.WARNING):
        message = echo().send("hooks/t", b"hello")
    assert message.payload == b"hello"
    assert sdk.spans("PRODUCER")[0].attributes["app.topic.length"] == len("hooks/t")
    assert sdk.spans("CONSUMER")[0].attributes["app.payload"] == "hello"
    assert "process_hook raised" in caplog.text


def test_optional_attributes(sdk, instrument, echo):
    instrument(message_body_size=True, network_protocol_attributes=True)
    echo(mqtt.MQTTv311).send("t/opt", b"12345")
    for span in sdk.spans():
        assert span.attributes["messaging.message.body.size"] == 5
        assert span.attributes["network.protocol.name"] == "mqtt"
        assert span.attributes["network.protocol.version"] == "3.1.1"


def test_destination_templates_name_the_template_and_span_names_keep_the_topic(sdk, instrument, echo):
    instrument(destination_templates=["sensors/+/temp"])
    echo().send("sensors/s-7/temp", b"x")
    for span in sdk.spans():
        assert span.name.endswith(" sensors/s-7/temp")
        assert span.attributes["messaging.destination.template"] == "sensors/+/temp"


def test_unsampled_spans_do_no_work_but_the_decision_travels(instrument, echo):
    exporter = InMemorySpanExporter()
    unsampled = TracerProvider(sampler=ALWAYS_OFF)
    unsampled.add_span_processor(SimpleSpanProcessor(exporter))
    hooked = []
    PahoMqttInstrumentor().instrument(tracer_provider=unsampled, publish_hook=lambda *a: hooked.append(a),
                                      process_hook=lambda *a: hooked.append(a))
    message = echo().send("t/unsampled", b"x")
    assert exporter.get_finished_spans() == () and hooked == []
    flags = int(dict(message.properties.UserProperty)["traceparent"].split("-")[3], 16)
    assert not flags & 1  # "not sampled" travels: the services downstream follow the decision


def test_suppressed_instrumentation_records_nothing_and_writes_no_context(sdk, instrument, echo):
    instrument()
    loop = echo()
    with suppress_instrumentation():
        message = loop.send("t/quiet", b"x")
    assert sdk.spans() == [] and user_properties(message) == []
    assert "messaging.client.sent.messages" not in sdk.points()


def test_instrument_client_gives_each_client_its_own_providers(sdk, echo):
    other = InMemorySpanExporter()
    other_provider = TracerProvider()
    other_provider.add_span_processor(SimpleSpanProcessor(other))
    mine = client(client_id="mine")
    PahoMqttInstrumentor.instrument_client(mine, tracer_provider=other_provider, meter_provider=sdk.meter_provider)
    PahoMqttInstrumentor.instrument_client(mine, tracer_provider=other_provider, meter_provider=sdk.meter_provider)
    echo(instrumented_client=mine).send("t/one", b"x")
    echo().send("t/other", b"x")  # another client: not instrumented
    assert sorted(s.name for s in other.get_finished_spans()) == ["process t/one", "publish t/one"]
    PahoMqttInstrumentor.uninstrument_client(mine)
    assert not {"publish", "_handle_on_message", "subscribe"} & set(mine.__dict__)


def test_instrumenting_twice_never_doubles_a_span_and_uninstrument_restores_paho(sdk, instrument, echo):
    instrument()
    instrument()
    both = client()
    PahoMqttInstrumentor.instrument_client(both, tracer_provider=sdk.tracer_provider)
    echo(instrumented_client=both).send("t/twice", b"x")
    assert len(sdk.spans()) == 2
    PahoMqttInstrumentor().uninstrument()
    assert {name: getattr(mqtt.Client, name) for name in PAHO} == PAHO
    echo().send("t/after", b"x")
    assert len(sdk.spans()) == 2


def test_without_an_sdk_paho_works_and_nothing_is_recorded(echo):
    PahoMqttInstrumentor().instrument(tracer_provider=trace.NoOpTracerProvider())
    message = echo().send("t/noop", b"x")
    assert message.payload == b"x" and user_properties(message) == []
