"""opentelemetry.instrumentation.paho_mqtt (PahoMqttInstrumentor) in the kit: spans, context, metrics and options,
against the embedded brokers over real sockets."""

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

import paho.mqtt.client as mqtt
import pytest
from mqtt_helpers import V5, V311, Subscriber, publisher, wait_until
from opentelemetry import baggage, context
from opentelemetry.instrumentation.paho_mqtt import DURATION_BUCKETS, PahoMqttInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kit import capture
from kit.broker import start_broker
from kit.telemetry import setup

KNOWN_TRACE, KNOWN_SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
KNOWN = f"00-{KNOWN_TRACE}-{KNOWN_SPAN}-01"
ORIGINAL_PUBLISH = mqtt.Client.publish
ORIGINAL_HANDLE = mqtt.Client._handle_on_message
ORIGINAL_SUBSCRIBE = mqtt.Client.subscribe


@pytest.fixture
def tele(clean_capture):
    return setup("paho-tests")


@pytest.fixture
def instrument(tele):
    """instrument(**options); uninstrumented again after the test."""
    def go(**options):
        PahoMqttInstrumentor().instrument(**options)
    yield go
    PahoMqttInstrumentor().uninstrument()


def spans(kind=None):
    df = capture.spans_df()
    return df if kind is None else df[df.kind == kind].reset_index(drop=True)


def exchange(protocol, topic, payload, qos=1, properties=None, subscribe_to=None, **sub_kwargs):
    """Publish one message through the embedded broker; return the message the subscriber got."""
    broker = start_broker(protocol=5 if protocol == V5 else "3.1.1")
    sub = Subscriber(broker, subscribe_to or topic, protocol=protocol, **sub_kwargs)
    pub = publisher(broker, protocol, client_id="the-publisher")
    pub.publish(topic, payload, qos=qos, properties=properties)
    [msg] = sub.wait_for(1)
    assert wait_until(lambda: len(spans("CONSUMER")) >= 1)
    sub.close(), pub.disconnect()
    return msg


@pytest.mark.parametrize("protocol", [V5, V311])
def test_publish_span_follows_the_messaging_conventions(instrument, protocol):
    instrument()
    exchange(protocol, "sensors/temp", b"21.5", qos=1)
    producer = spans("PRODUCER").iloc[0]
    broker_port = producer.attributes["server.port"]
    assert producer["name"] == "publish sensors/temp"
    assert producer.attributes == {  # Required, Conditionally required, the Recommended client id and server
        "messaging.system": "mqtt", "messaging.operation.type": "send", "messaging.operation.name": "publish",
        "messaging.destination.name": "sensors/temp", "messaging.client.id": "the-publisher",
        "server.address": "127.0.0.1", "server.port": broker_port, "messaging.mqtt.qos": 1,
        "messaging.mqtt.retain": False}
    consumer = spans("CONSUMER").iloc[0]
    assert consumer["name"] == "process sensors/temp"
    assert consumer.attributes["messaging.operation.type"] == "process"
    assert consumer.attributes["messaging.operation.name"] == "process"
    assert consumer.attributes["messaging.destination.template"] == "sensors/temp"  # the subscription's filter


@pytest.mark.parametrize("protocol, version", [(V5, "5"), (V311, "3.1.1")])
def test_network_protocol_attributes_are_an_option(instrument, protocol, version):
    instrument(network_protocol_attributes=True)
    exchange(protocol, "sensors/temp", b"21.5", qos=1)
    for span in spans().itertuples():
        assert span.attributes["network.protocol.name"] == "mqtt"
        assert span.attributes["network.protocol.version"] == version


def test_the_subscription_filter_is_the_destination_template(instrument):
    instrument()
    exchange(V5, "sensors/s-7/temp", b"21.5", subscribe_to="sensors/+/temp")
    consumer = spans("CONSUMER").iloc[0]
    assert consumer["name"] == "process sensors/s-7/temp"  # span names keep the topic
    assert consumer.attributes["messaging.destination.name"] == "sensors/s-7/temp"
    assert consumer.attributes["messaging.destination.template"] == "sensors/+/temp"


def test_v5_context_travels_in_user_properties_and_joins_the_trace(instrument):
    instrument()
    msg = exchange(V5, "t/v5", b"x")
    producer, consumer = spans("PRODUCER").iloc[0], spans("CONSUMER").iloc[0]
    sent = dict(msg.properties.UserProperty)["traceparent"]
    assert sent.split("-")[1:3] == [producer.trace_id, producer.span_id]
    assert consumer.trace_id == producer.trace_id and consumer.parent_span_id == producer.span_id
    assert msg.payload == b"x"


def test_311_without_json_option_leaves_the_payload_alone(instrument):
    instrument()
    msg = exchange(V311, "t/plain", b'{"t": 1}')
    assert msg.payload == b'{"t": 1}'
    producer, consumer = spans("PRODUCER").iloc[0], spans("CONSUMER").iloc[0]
    assert consumer.trace_id != producer.trace_id  # nothing carried the context


@pytest.mark.parametrize("how", ["keyword", "environment"])
def test_311_json_option_puts_the_context_in_the_payload(instrument, monkeypatch, how):
    if how == "keyword":
        instrument(json_payload=True)
    else:
        monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD", "true")
        instrument()
    msg = exchange(V311, "t/json", b'{"t": 21.5, "unit": "C"}')
    body = json.loads(msg.payload)
    producer, consumer = spans("PRODUCER").iloc[0], spans("CONSUMER").iloc[0]
    assert body.pop("traceparent").split("-")[1:3] == [producer.trace_id, producer.span_id]
    assert body == {"t": 21.5, "unit": "C"}
    assert consumer.parent_span_id == producer.span_id


def test_311_json_option_leaves_non_json_payloads_exactly_as_they_are(instrument):
    instrument(json_payload=True)
    assert exchange(V311, "t/bin", b"\x00\xffnot json").payload == b"\x00\xffnot json"
    assert spans("CONSUMER").iloc[0].parent_span_id is None  # nothing to continue: a new trace


@pytest.mark.parametrize("qos", [0, 1, 2])
@pytest.mark.parametrize("path", ["on_message", "message_callback_add"])
def test_every_delivery_path_gets_one_consumer_span(instrument, qos, path):
    instrument()
    broker = start_broker(protocol=5)
    got = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=V5)
    if path == "on_message":
        client.on_message = lambda c, u, m: got.append(m)
    else:
        client.message_callback_add("paths/#", lambda c, u, m: got.append(m))
    client.on_connect = lambda c, u, f, rc, p: c.subscribe("paths/#", qos=2)
    subscribed = []
    client.on_subscribe = lambda *a: subscribed.append(1)
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert wait_until(lambda: subscribed)
    pub = publisher(broker)
    pub.publish("paths/t", b"m", qos=qos)
    assert wait_until(lambda: got and len(spans("CONSUMER")) == 1)
    consumer, producer = spans("CONSUMER").iloc[0], spans("PRODUCER").iloc[0]
    assert consumer.parent_span_id == producer.span_id
    assert consumer.attributes["messaging.mqtt.qos"] == qos
    client.disconnect(), pub.disconnect()


def delivered(client, topic="t/x", payload=b"p", properties=None, retain=False, qos=0):
    """Hand a message to the client as paho's network loop does."""
    msg = mqtt.MQTTMessage(1, topic.encode())
    msg.payload, msg.qos, msg.retain = payload, qos, retain
    msg.properties = properties
    client._handle_on_message(msg)
    return msg


def v5_client(on_message):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=V5)
    client.on_message = on_message
    return client


def props(*pairs):
    p = Properties(PacketTypes.PUBLISH)
    if pairs:
        p.UserProperty = list(pairs)
    return p


def test_callback_exception_is_recorded_then_raised_as_without_instrumentation(instrument):
    def boom(c, u, m):
        raise KeyError("missing field")

    bare = v5_client(boom)
    with pytest.raises(KeyError, match="missing field"):
        delivered(bare)  # without instrumentation
    instrument()
    with pytest.raises(KeyError, match="missing field"):
        delivered(v5_client(boom), properties=props(("traceparent", KNOWN)))
    consumer = spans("CONSUMER").iloc[0]
    assert consumer.status == "ERROR" and consumer.attributes["error.type"] == "KeyError"
    assert [e[0] for e in consumer.events] == ["exception"]
    assert consumer.parent_span_id == KNOWN_SPAN


def test_a_traceparent_set_by_the_application_is_kept_and_linked(instrument):
    instrument()
    msg = exchange(V5, "t/mine", b"x", properties=props(("traceparent", KNOWN), ("app", "1")))
    assert msg.properties.UserProperty == [("traceparent", KNOWN), ("app", "1")]
    producer = spans("PRODUCER").iloc[0]
    assert producer.links == [(KNOWN_TRACE, KNOWN_SPAN)]


def test_the_applications_properties_object_is_not_changed(instrument):
    instrument()
    mine = props(("app", "1"))
    exchange(V5, "t/props", b"x", properties=mine)
    assert mine.UserProperty == [("app", "1")]


def test_links_only_starts_a_new_trace_linked_to_the_publisher(instrument):
    instrument(links_only=True)
    delivered(v5_client(lambda *a: None), properties=props(("traceparent", KNOWN)))
    consumer = spans("CONSUMER").iloc[0]
    assert consumer.trace_id != KNOWN_TRACE and consumer.parent_span_id is None
    assert consumer.links == [(KNOWN_TRACE, KNOWN_SPAN)]


@pytest.mark.parametrize("as_link", [False, True])
def test_retained_messages_are_marked_and_can_be_linked(instrument, as_link):
    instrument(retained_as_link=as_link)
    delivered(v5_client(lambda *a: None), properties=props(("traceparent", KNOWN)), retain=True)
    consumer = spans("CONSUMER").iloc[0]
    assert consumer.attributes["messaging.mqtt.retain"] is True
    if as_link:
        assert consumer.links == [(KNOWN_TRACE, KNOWN_SPAN)] and consumer.trace_id != KNOWN_TRACE
    else:
        assert consumer.parent_span_id == KNOWN_SPAN and consumer.links == []


def test_baggage_reaches_the_callback(instrument):
    instrument()
    seen = []
    broker = start_broker(protocol=5)
    sub = Subscriber(broker, "bag/#")
    sub.client.on_message = lambda c, u, m: seen.append(baggage.get_baggage("tenant.id"))
    pub = publisher(broker)
    token = context.attach(baggage.set_baggage("tenant.id", "acme"))
    try:
        pub.publish("bag/t", b"x", qos=1)
    finally:
        context.detach(token)
    assert wait_until(lambda: seen)
    assert seen == ["acme"]
    sub.close(), pub.disconnect()


def test_metrics_follow_the_conventions(instrument, tele):
    instrument(metric_destination="topic")  # this test's topic only: the other tests' series stay out
    broker = start_broker(protocol=5)
    sub = Subscriber(broker, "metrics/#")
    pub = publisher(broker)
    for _ in range(3):
        pub.publish("metrics/t", b"x", qos=1)
    sub.wait_for(3)
    assert wait_until(lambda: len(spans("CONSUMER")) == 3)
    tele.flush()
    df = capture.metrics_df()
    df = df[df.attributes.map(lambda a: a.get("messaging.destination.name") == "metrics/t")]  # this test's
    by_name = {name: rows for name, rows in df.groupby("name")}
    sent = by_name["messaging.client.sent.messages"].iloc[0]
    assert sent.value == 3 and sent.unit == "{message}" and sent.kind == "counter"
    assert sent.attributes["messaging.destination.name"] == "metrics/t"
    assert sent.attributes["messaging.operation.name"] == "publish"
    assert by_name["messaging.client.consumed.messages"].iloc[0].value == 3
    for name in ("messaging.client.operation.duration", "messaging.process.duration"):
        h = by_name[name].iloc[0]
        assert h.unit == "s" and h.value["count"] == 3 and h.value["bounds"] == DURATION_BUCKETS
    sub.close(), pub.disconnect()


def test_hooks_add_attributes_and_their_errors_stay_inside(instrument):
    def publish_hook(span, client, topic, payload):
        span.set_attribute("app.topic.length", len(topic))

    def process_hook(span, client, message):
        span.set_attribute("app.payload", message.payload.decode())
        raise RuntimeError("a broken hook")

    instrument(publish_hook=publish_hook, process_hook=process_hook)
    got = []
    delivered(v5_client(lambda c, u, m: got.append(m)), payload=b"hello")
    assert got and spans("CONSUMER").iloc[0].attributes["app.payload"] == "hello"
    exchange(V5, "hooks/t", b"x")
    assert spans("PRODUCER").iloc[0].attributes["app.topic.length"] == len("hooks/t")


def test_suppressed_instrumentation_makes_no_spans(instrument):
    instrument()
    with suppress_instrumentation():
        delivered(v5_client(lambda *a: None))
    assert spans().empty


def test_uninstrument_restores_paho_exactly(instrument):
    instrument()
    assert mqtt.Client.publish is not ORIGINAL_PUBLISH
    PahoMqttInstrumentor().uninstrument()
    assert mqtt.Client.publish is ORIGINAL_PUBLISH
    assert mqtt.Client._handle_on_message is ORIGINAL_HANDLE
    assert mqtt.Client.subscribe is ORIGINAL_SUBSCRIBE
    delivered(v5_client(lambda *a: None))
    assert spans().empty


def test_instrumenting_twice_never_doubles_spans(instrument):
    instrument()
    instrument()
    client = v5_client(lambda *a: None)
    PahoMqttInstrumentor.instrument_client(client)
    PahoMqttInstrumentor.instrument_client(client)
    delivered(client)
    assert len(spans()) == 1


def test_instrument_client_gives_each_client_its_own_service(clean_capture):
    sensor, processor = setup("paho-sensor"), setup("paho-processor")
    broker = start_broker(protocol=5)
    sub = Subscriber(broker, "svc/#")
    PahoMqttInstrumentor.instrument_client(sub.client, processor.tracer_provider, processor.meter_provider)
    pub = publisher(broker)
    PahoMqttInstrumentor.instrument_client(pub, sensor.tracer_provider, sensor.meter_provider)
    pub.publish("svc/t", b"x", qos=1)
    sub.wait_for(1)
    assert wait_until(lambda: len(capture.spans_df()) == 2)
    df = capture.spans_df()
    assert dict(zip(df.kind, df.service)) == {"PRODUCER": "paho-sensor", "CONSUMER": "paho-processor"}
    assert df.trace_id.nunique() == 1
    PahoMqttInstrumentor.uninstrument_client(pub)
    assert not {"publish", "_handle_on_message", "subscribe"} & set(pub.__dict__)
    sub.close(), pub.disconnect()


def test_registered_as_the_paho_mqtt_entry_point():
    [ep] = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "paho_mqtt"]
    assert ep.load() is PahoMqttInstrumentor
    assert PahoMqttInstrumentor().instrumentation_dependencies() == ("paho-mqtt >= 2.0, < 3",)


APP = textwrap.dedent("""
    # an unmodified paho app: no OpenTelemetry in it
    import os, threading
    import paho.mqtt.client as mqtt
    host, port = os.environ["BROKER_HOST"], int(os.environ["BROKER_PORT"])
    done = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("zero/code", qos=1)
    sub.on_subscribe = lambda *a: pub.publish("zero/code", b"hello", qos=1)
    sub.on_message = lambda c, u, m: done.set()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.connect(host, port); pub.loop_start()
    sub.connect(host, port); sub.loop_start()
    assert done.wait(20), "no message"
    sub.disconnect(); pub.disconnect()
    print("app done")
""")


@pytest.mark.parametrize("disabled", [False, True])
def test_zero_code_instrumentation_with_opentelemetry_instrument(tmp_path, disabled):
    broker = start_broker(protocol=5)
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {**os.environ, "BROKER_HOST": broker.host, "BROKER_PORT": str(broker.port),
           "OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
           "OTEL_SERVICE_NAME": "zero-code-app", "OTEL_BSP_SCHEDULE_DELAY": "100"}
    if disabled:
        env["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] = "paho_mqtt"
    exe = os.path.join(os.path.dirname(sys.executable), "opentelemetry-instrument")
    out = subprocess.run([exe, sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=60)
    assert "app done" in out.stdout, out.stderr
    if disabled:
        assert '"name": "publish zero/code"' not in out.stdout
    else:
        assert '"name": "publish zero/code"' in out.stdout and '"name": "process zero/code"' in out.stdout
        assert '"service.name": "zero-code-app"' in out.stdout


def test_a_broker_restart_is_survived_and_tracing_goes_on(instrument):
    from kit.ports import free_port
    instrument()
    port = free_port()
    broker = start_broker(protocol=5, port=port)
    sub = Subscriber(broker, "restart/#")
    sub.client.reconnect_delay_set(1, 1)
    pub = publisher(broker)
    pub.reconnect_delay_set(1, 1)
    pub.publish("restart/t", b"before", qos=1)
    sub.wait_for(1)
    broker.stop()
    assert wait_until(lambda: not pub.is_connected() and not sub.client.is_connected())
    broker = start_broker(protocol=5, port=port)
    assert wait_until(lambda: pub.is_connected() and sub.client.is_connected(), timeout_s=15)
    assert wait_until(lambda: pub.publish("restart/t", b"after", qos=1) and len(sub.messages) >= 2, timeout_s=15)
    assert sub.messages[-1].payload == b"after"
    assert wait_until(lambda: (spans("CONSUMER").name == "process restart/t").sum() >= 2)
    last = spans("CONSUMER").iloc[-1]
    assert last.parent_span_id in set(spans("PRODUCER").span_id)
    sub.close(), pub.disconnect(), broker.stop()


def test_instrumentation_survives_a_dead_exporter(instrument, clean_capture):
    from kit.ports import free_port
    tele = setup("paho-dead-exporter", exporters="otlp", endpoint=f"http://127.0.0.1:{free_port()}", check=False)
    instrument()
    broker = start_broker(protocol=5)
    sub = Subscriber(broker, "dead/#")
    pub = publisher(broker)
    for i in range(200):
        pub.publish("dead/t", str(i), qos=1)
    msgs = sub.wait_for(200, timeout_s=30)
    assert [m.payload for m in msgs] == [str(i).encode() for i in range(200)]
    sub.close(), pub.disconnect()
    setup("paho-dead-exporter")  # back to memory only
    assert tele.service_name == "paho-dead-exporter"
