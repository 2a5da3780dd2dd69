"""The temperature sensor t-1 of greenhouse gh-1, on MQTT v5.

    python sensor.py

Asked to read (a message on greenhouse/gh-1/sensor/t-1/read, e.g. {"read": "celsius",
"at": "14:02"}), it reads the temperature and publishes it on
greenhouse/gh-1/sensor/t-1/reading as JSON: {"sensor": "t-1", "celsius": 31.5}.

Instrumented by hand (the lab's solution): it continues the request's trace, puts the
greenhouse id in the baggage, and sends both on with the reading, in user properties.
"""

import json
import logging

import paho.mqtt.client as mqtt
from opentelemetry import baggage, context
from opentelemetry.trace import SpanKind
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from common import GREENHOUSE, serve
from kit.propagation import extract_user_properties, inject_user_properties
from kit.telemetry import setup

SENSOR = "t-1"
tele = setup("sensor")  # traces, metrics, logs; OTLP as the OTEL_* variables say; logging bridged
tracer = tele.tracer
log = logging.getLogger("sensor")


PROBE = {"08:00": 16.5, "14:02": 31.5}  # °C at the hours the lab asks about, so it knows what follows


def read_temperature(at: str) -> float:
    """The probe's value in °C at ``at`` (the hour the request names)."""
    return PROBE.get(at, 22.0)


def messaging(topic: str) -> dict:
    return {"messaging.system": "mqtt", "messaging.destination.name": topic}


def on_message(client, userdata, msg):
    ctx = extract_user_properties(msg.properties)                # the read request's context
    ctx = baggage.set_baggage("greenhouse.id", GREENHOUSE, ctx)  # from here on, it travels with the trace
    token = context.attach(ctx)  # current: the spans below continue it, and inject() sends the baggage too
    try:
        with tracer.start_as_current_span(f"process {msg.topic}", kind=SpanKind.CONSUMER,
                                          attributes=messaging(msg.topic)):
            celsius = read_temperature(json.loads(msg.payload).get("at", ""))
            log.info("%s reads %.1f °C", SENSOR, celsius)
            reading = {"sensor": SENSOR, "celsius": celsius}
            topic = f"greenhouse/{GREENHOUSE}/sensor/{SENSOR}/reading"
            with tracer.start_as_current_span(f"publish {topic}", kind=SpanKind.PRODUCER, attributes=messaging(topic)):
                properties = Properties(PacketTypes.PUBLISH)
                inject_user_properties(properties)  # traceparent and baggage, as MQTT v5 user properties
                client.publish(topic, json.dumps(reading), qos=1, properties=properties)
    finally:
        context.detach(token)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sensor-{SENSOR}", protocol=mqtt.MQTTv5)
client.on_message = on_message
serve(client, "sensor", [f"greenhouse/{GREENHOUSE}/sensor/{SENSOR}/read"])
tele.flush()
