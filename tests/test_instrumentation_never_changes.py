"""What PahoMqttInstrumentor must never change: the application's own baggage, a context
it set (valid) or a tracestate it left without one (invalid), a queued publish taken for a
failure, and baggage from outside a trust boundary once the application says so.

Messages go through paho's own bytes: a loopback echo (kit.loopback) for the many cases,
the embedded v5 broker where two clients or a reconnect are needed."""

import json

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mqtt_helpers import V5, V311, Subscriber, publisher
from opentelemetry import baggage, context, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kit import capture
from kit.broker import start_broker
from kit.loopback import LoopbackEcho
from kit.telemetry import setup

GOOD = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
BAD = ["", "00", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
       "00-00000000000000000000000000000000-b7ad6b7169203331-01",
       "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", "00-xyz-b7ad6b7169203331-01", "é"]
STATES = ["congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", ""]
w3c = TraceContextTextMapPropagator()


@pytest.fixture(scope="module")
def tele():
    return setup("never-changes")


def echo(tele, protocol=V5, **options) -> LoopbackEcho:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="app", protocol=protocol)
    PahoMqttInstrumentor.instrument_client(client, tele.tracer_provider, tele.meter_provider, **options)
    return LoopbackEcho(client)


def props(*pairs):
    p = Properties(PacketTypes.PUBLISH)
    if pairs:
        p.UserProperty = list(pairs)
    return p


def valid(traceparent: str) -> bool:
    """What the W3C propagator makes of it."""
    return trace.get_current_span(w3c.extract({"traceparent": traceparent})).get_span_context().is_valid


def traceparent_of(span) -> str:
    carrier = {}
    w3c.inject(carrier, trace.set_span_in_context(trace.NonRecordingSpan(span.context)))
    return carrier["traceparent"]


def the_publish_span():
    [span] = [s for s in capture.finished_spans() if s.kind.name == "PRODUCER"]
    return span


# ---------------------------------------------------------------- the application's baggage

def test_the_applications_own_baggage_user_property_is_kept(tele):
    e = echo(tele)
    token = context.attach(baggage.set_baggage("tenant.id", "acme"))
    try:
        capture.clear()
        e.one_message("t/bag", b"x", properties=props(("app", "1"), ("baggage", "app.flow=checkout")))
    finally:
        context.detach(token)
    sent = e.last.properties.UserProperty
    assert [v for k, v in sent if k == "baggage"] == ["app.flow=checkout"]  # the app's, not the context's
    assert [v for k, v in sent if k == "traceparent"] == [traceparent_of(the_publish_span())]
    assert [p for p in sent if p[0] == "app"] == [("app", "1")]
    e.close()


def test_the_contexts_baggage_still_travels_when_the_application_sets_none(tele):
    e = echo(tele)
    token = context.attach(baggage.set_baggage("tenant.id", "acme"))
    try:
        e.one_message("t/bag", b"x", properties=props(("app", "1")))
    finally:
        context.detach(token)
    assert dict(e.last.properties.UserProperty)["baggage"] == "tenant.id=acme"
    e.close()


# ---------------------------------------------------------------- traceparent and its tracestate

user_properties = st.lists(st.tuples(st.sampled_from(["traceparent", "tracestate", "baggage", "app"]),
                                     st.sampled_from(BAD + STATES + [GOOD, "k=v"])), max_size=5)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=user_properties)
def test_a_user_property_traceparent_is_kept_if_valid_else_replaced_with_its_tracestate(tele, pairs):
    """The rule: a valid application traceparent is kept, its tracestate with it (the span
    links to it). Otherwise the context written is the publish span's, whole: an
    application tracestate belongs to another parent, so it never stays beside it."""
    e = _echoes.setdefault("v5", echo(tele))
    capture.clear()
    e.one_message("t/tp", b"x", properties=props(*pairs) if pairs else None)
    sent = e.last.properties.UserProperty if e.last.properties is not None else []
    sent = sent if isinstance(sent, list) else []
    mine = [v for k, v in pairs if k == "traceparent"]
    if mine and valid(mine[0]):
        assert sent == pairs  # untouched
        return
    span = the_publish_span()
    assert [v for k, v in sent if k == "traceparent"] == [traceparent_of(span)]
    assert [v for k, v in sent if k == "tracestate"] == []  # the span's own (empty): not the application's
    assert [p for p in sent if p[0] in ("app", "baggage")] == [p for p in pairs if p[0] in ("app", "baggage")]


_echoes: dict = {}

json_fields = st.dictionaries(st.sampled_from(["traceparent", "tracestate", "baggage", "t", "unit"]),
                              st.sampled_from(BAD + STATES + [GOOD, "C"]) | st.integers(-5, 5), max_size=5)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=json_fields)
def test_a_json_payload_traceparent_is_kept_if_valid_else_replaced_with_its_tracestate(tele, fields):
    e = _echoes.setdefault("json", echo(tele, V311, json_payload=True))
    capture.clear()
    payload = json.dumps(fields).encode()
    e.one_message("t/json", payload)
    got = json.loads(e.last.payload)
    mine = fields.get("traceparent")
    if isinstance(mine, str) and valid(mine):
        assert e.last.payload == payload  # untouched
        return
    span = the_publish_span()
    assert got.pop("traceparent") == traceparent_of(span)
    assert "tracestate" not in got  # the span's own (empty): not the application's
    assert got == {k: v for k, v in fields.items() if k not in ("traceparent", "tracestate")}


def test_a_json_payloads_other_bytes_stay_as_they_were_when_its_traceparent_is_replaced(tele):
    e = echo(tele, V311, json_payload=True)
    capture.clear()
    e.one_message("t/json", b'{ "t" : 21.50,"traceparent": "00-bad" , "tracestate":"congo=x",  "unit":"C" }')
    span = the_publish_span()
    assert e.last.payload == b'{"traceparent":"' + traceparent_of(span).encode() + b'", "t" : 21.50,"unit":"C" }'
    e.close()


# ---------------------------------------------------------------- a publish paho queues

def test_a_publish_paho_queues_while_offline_is_not_an_error(tele):
    broker = start_broker(protocol=5)
    sub = Subscriber(broker, "queued/#")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="offline-app", protocol=V5)
    PahoMqttInstrumentor.instrument_client(client, tele.tracer_provider, tele.meter_provider)
    client.connect_async(broker.host, broker.port)  # no socket yet: paho keeps QoS 1 and 2 publishes
    capture.clear()
    info = client.publish("queued/t", b"later", qos=1)
    assert info.rc == mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN  # what paho says, unchanged
    client.loop_start()
    [msg] = sub.wait_for(1)
    assert msg.payload == b"later"  # paho delivered it once connected
    span = the_publish_span()
    assert span.status.status_code.name == "UNSET" and "error.type" not in span.attributes
    assert span.attributes["messaging.mqtt.queued"] is True
    client.disconnect(), client.loop_stop(), sub.close()


def test_a_qos_0_publish_while_offline_is_lost_and_stays_an_error(tele):
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="offline-app", protocol=V5)
    PahoMqttInstrumentor.instrument_client(client, tele.tracer_provider, tele.meter_provider)
    capture.clear()
    assert client.publish("queued/t", b"lost", qos=0).rc == mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
    span = the_publish_span()
    assert span.status.status_code.name == "ERROR" and span.attributes["error.type"] == "MQTT_ERR_NO_CONN"
    assert "messaging.mqtt.queued" not in span.attributes


# ---------------------------------------------------------------- baggage at a trust boundary

UNTRUSTED = "user.email=someone%40example.com,role=admin,tenant.id=acme"


def forwarded_baggage(tele, monkeypatch, option=None, env=None):
    """An untrusted publisher sends baggage to a processor that republishes inside its
    CONSUMER span; return the baggage the processor forwarded downstream."""
    if env is not None:
        monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_INCOMING_BAGGAGE", env)
    broker = start_broker(protocol=5)
    downstream = Subscriber(broker, "out/#")
    processor = Subscriber(broker, "in/#")
    options = {} if option is None else {"incoming_baggage": option}
    PahoMqttInstrumentor.instrument_client(processor.client, tele.tracer_provider, tele.meter_provider, **options)
    processor.client.on_message = lambda c, u, m: c.publish("out/t", m.payload, qos=1)
    outsider = publisher(broker)
    with suppress_instrumentation():  # not ours: it sends what it likes
        outsider.publish("in/t", b"x", qos=1, properties=props(("traceparent", GOOD), ("baggage", UNTRUSTED)))
    [msg] = downstream.wait_for(1)
    for c in (downstream, processor):
        c.close()
    outsider.disconnect()
    header = [v for k, v in (msg.properties.UserProperty if hasattr(msg.properties, "UserProperty") else [])
              if k == "baggage"]
    return dict(baggage.get_all(W3CBaggagePropagator().extract({"baggage": header[0]}))) if header else {}


def test_incoming_baggage_is_forwarded_by_default_as_before(tele, monkeypatch):
    assert forwarded_baggage(tele, monkeypatch) == {"user.email": "someone@example.com", "role": "admin",
                                                    "tenant.id": "acme"}


@pytest.mark.parametrize("how", ["keyword", "environment"])
def test_incoming_baggage_can_be_dropped_at_a_trust_boundary(tele, monkeypatch, how):
    got = forwarded_baggage(tele, monkeypatch, option="drop" if how == "keyword" else None,
                            env="drop" if how == "environment" else None)
    assert got == {}


@pytest.mark.parametrize("how", ["keyword", "environment"])
def test_incoming_baggage_can_be_allow_listed(tele, monkeypatch, how):
    got = forwarded_baggage(tele, monkeypatch, option={"tenant.id"} if how == "keyword" else None,
                            env="tenant.id" if how == "environment" else None)
    assert got == {"tenant.id": "acme"}


def test_dropped_baggage_never_reaches_the_callback_but_the_trace_goes_on(tele):
    seen = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=V5)
    client.on_message = lambda c, u, m: seen.append(baggage.get_all())
    PahoMqttInstrumentor.instrument_client(client, tele.tracer_provider, tele.meter_provider,
                                           incoming_baggage="drop")
    msg = mqtt.MQTTMessage(1, b"in/t")
    msg.payload, msg.properties = b"x", props(("traceparent", GOOD), ("baggage", UNTRUSTED))
    capture.clear()
    client._handle_on_message(msg)
    assert seen == [{}]
    [span] = capture.finished_spans()
    assert format_trace_id(span.context.trace_id) == GOOD.split("-")[1]


def test_an_unknown_baggage_setting_is_refused_with_the_choices(tele):
    with pytest.raises(ValueError, match="incoming_baggage"):
        PahoMqttInstrumentor.instrument_client(mqtt.Client(mqtt.CallbackAPIVersion.VERSION2), incoming_baggage="dorp")
