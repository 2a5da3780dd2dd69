"""The greenhouse controller, on MQTT v5: it reads the sensors and drives the vent.

    python controller.py

* A reading (greenhouse/<gh>/sensor/<id>/reading): asks for the weather forecast,
  decides, and sends the vent a command on greenhouse/<gh>/vent/command, e.g.
  {"action": "open", "percent": 100}.
* The vent's report (greenhouse/<gh>/vent/state): logs it; if the vent failed, raises
  an alert on greenhouse/<gh>/alerts.

Instrumented by hand (the lab's solution). The vent speaks MQTT 3.1.1, which has no
user properties: the context of the command goes in its JSON payload, and the context
of the vent's report comes back in the report's JSON.

HALF-DONE ON PURPOSE (a test fixture): spans of the right kinds, the failure, the slow step, metrics and logs, but no context sent or read: every service starts traces of its own (and no baggage can travel).
"""

import json
import logging
import time

import paho.mqtt.client as mqtt
from opentelemetry import baggage, context
from opentelemetry.trace import SpanKind
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from common import serve
from kit.propagation import extract_json_payload, extract_user_properties, inject_json_payload, \
    inject_user_properties
from kit.telemetry import setup

tele = setup("controller")
tracer = tele.tracer
decision_duration = tele.meter.create_histogram(
    "greenhouse.decision.duration", unit="s", description="From a reading in to the decision, forecast included",
    explicit_bucket_boundaries_advisory=[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5])  # seconds: the default buckets are for ms
log = logging.getLogger("controller")


def fetch_forecast() -> dict:
    """The weather for the next hour, from the weather service (it takes a while)."""
    time.sleep(0.3)
    return {"sky": "sunny", "outside_celsius": 27.0}


def decide(celsius: float, forecast: dict) -> dict | None:
    """The vent command for this temperature and forecast, or None to leave it as it is."""
    if celsius > 30 or (celsius > 26 and forecast["sky"] == "sunny"):
        return {"action": "open", "percent": 100}
    if celsius < 18:
        return {"action": "close", "percent": 0}
    return None


def messaging(topic: str) -> dict:
    return {"messaging.system": "mqtt", "messaging.destination.name": topic}


def on_reading(client, userdata, msg):
    token = context.attach(context.get_current())  # TODO: the message's context
    try:
        with tracer.start_as_current_span(f"process {msg.topic}", kind=SpanKind.CONSUMER,
                                          attributes=messaging(msg.topic)) as span:
            started = time.perf_counter()
            greenhouse_id = msg.topic.split("/")[1]
            span.set_attribute("greenhouse.id", greenhouse_id)
            greenhouse = msg.topic.split("/")[1]
            reading = json.loads(msg.payload)
            with tracer.start_as_current_span("fetch forecast"):  # the slow step, named on the waterfall
                forecast = fetch_forecast()
            command = decide(reading["celsius"], forecast)
            decision_duration.record(time.perf_counter() - started, {"greenhouse.id": greenhouse_id})
            if command is None:
                log.info("%s: %.1f °C, nothing to do", reading["sensor"], reading["celsius"])
                return
            log.info("%s: %.1f °C, %s outside: %s the vent to %d %%", reading["sensor"], reading["celsius"],
                     forecast["sky"], command["action"], command["percent"])
            topic = f"greenhouse/{greenhouse}/vent/command"
            with tracer.start_as_current_span(f"publish {topic}", kind=SpanKind.PRODUCER, attributes=messaging(topic)):
                client.publish(topic, json.dumps(command), qos=1)
    finally:
        context.detach(token)


def on_vent_state(client, userdata, msg):
    token = context.attach(context.get_current())  # TODO: the message's context
    try:
        with tracer.start_as_current_span(f"process {msg.topic}", kind=SpanKind.CONSUMER,
                                          attributes=messaging(msg.topic)):
            greenhouse = msg.topic.split("/")[1]
            state = json.loads(msg.payload)
            if state["ok"]:
                log.info("the vent is at %d %%", state["position"])
                return
            log.error("the vent did not %s: %s", state["action"], state["error"])
            alert = {"alert": "vent failed", "action": state["action"], "error": state["error"]}
            topic = f"greenhouse/{greenhouse}/alerts"
            with tracer.start_as_current_span(f"publish {topic}", kind=SpanKind.PRODUCER, attributes=messaging(topic)):
                client.publish(topic, json.dumps(alert), qos=1)
    finally:
        context.detach(token)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="controller", protocol=mqtt.MQTTv5)
client.message_callback_add("greenhouse/+/sensor/+/reading", on_reading)
client.message_callback_add("greenhouse/+/vent/state", on_vent_state)
serve(client, "controller", ["greenhouse/+/sensor/+/reading", "greenhouse/+/vent/state"])
tele.flush()
