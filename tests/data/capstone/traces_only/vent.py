"""The roof vent of greenhouse gh-1. Its motor board is older: it speaks MQTT 3.1.1.

    python vent.py

Takes commands on greenhouse/gh-1/vent/command ({"action": "open", "percent": 100}),
moves the vent, and reports on greenhouse/gh-1/vent/state:
{"action": "open", "ok": true, "position": 100}, or, when the motor fails,
{"action": "open", "ok": false, "error": "..."}.

Instrumented by hand (the lab's solution). MQTT 3.1.1 has no user properties, so the
context (and the baggage) comes in the command's JSON and goes back in the report's.

HALF-DONE ON PURPOSE (a test fixture): one trace with the right kinds and parents, and logs, but the failure, the slow step, the baggage and the metrics left for later.
"""

import json
import logging

import paho.mqtt.client as mqtt
from opentelemetry import baggage, context
from opentelemetry.trace import SpanKind

from common import GREENHOUSE, serve
from kit.propagation import extract_json_payload, inject_json_payload
from kit.telemetry import setup

tele = setup("vent")
tracer = tele.tracer
commands = tele.meter.create_counter("greenhouse.commands", unit="{command}",
                                     description="Commands the vent carried out, by outcome")
log = logging.getLogger("vent")


class VentJammed(Exception):
    """The vent's motor stalled."""


def move_vent(percent: int) -> int:
    """Move the vent to ``percent`` open; returns where it is. The hinge sticks past 80 %."""
    if percent > 80:
        raise VentJammed(f"the hinge sticks at 80 %, asked for {percent} %")
    return percent


def messaging(topic: str) -> dict:
    return {"messaging.system": "mqtt", "messaging.destination.name": topic}


def on_message(client, userdata, msg):
    token = context.attach(extract_json_payload(msg.payload))  # 3.1.1: the context came in the JSON
    try:
        with tracer.start_as_current_span(f"process {msg.topic}", kind=SpanKind.CONSUMER,
                                          attributes=messaging(msg.topic)) as span:
            command = json.loads(msg.payload)
            try:
                position = move_vent(command["percent"])
                state = {"action": command["action"], "ok": True, "position": position}
                log.info("%s: the vent is at %d %%", command["action"], position)
            except VentJammed as exc:
                state = {"action": command["action"], "ok": False, "error": str(exc)}
                log.error("%s failed: %s", command["action"], exc)
            topic = f"greenhouse/{GREENHOUSE}/vent/state"
            with tracer.start_as_current_span(f"publish {topic}", kind=SpanKind.PRODUCER, attributes=messaging(topic)):
                client.publish(topic, inject_json_payload(json.dumps(state)), qos=1)
    finally:
        context.detach(token)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="vent", protocol=mqtt.MQTTv311)
client.on_message = on_message
serve(client, "vent", [f"greenhouse/{GREENHOUSE}/vent/command"])
tele.flush()
