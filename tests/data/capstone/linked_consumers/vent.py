"""The roof vent of greenhouse gh-1. Its motor board is older: it speaks MQTT 3.1.1.

    python vent.py

Takes commands on greenhouse/gh-1/vent/command ({"action": "open", "percent": 100}),
moves the vent, and reports on greenhouse/gh-1/vent/state:
{"action": "open", "ok": true, "position": 100}, or, when the motor fails,
{"action": "open", "ok": false, "error": "..."}.

Instrumented by hand (the lab's solution). MQTT 3.1.1 has no user properties, so the
context (and the baggage) comes in the command's JSON and goes back in the report's.

DONE ANOTHER WAY (a test fixture): complete, the other way the messaging conventions allow: each CONSUMER span starts a trace of its own, linked to the producer's span, and the baggage still travels.
"""

import json
import logging

import paho.mqtt.client as mqtt
from opentelemetry import baggage, context
from opentelemetry.trace import INVALID_SPAN, Link, SpanKind, get_current_span, set_span_in_context

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
    ctx = extract_json_payload(msg.payload)
    token = context.attach(set_span_in_context(INVALID_SPAN, ctx))  # its baggage, no parent
    try:
        with tracer.start_as_current_span(f"process {msg.topic}", links=[Link(get_current_span(ctx).get_span_context())], kind=SpanKind.CONSUMER,
                                          attributes=messaging(msg.topic)) as span:
            span.set_attribute("greenhouse.id", baggage.get_baggage("greenhouse.id") or "unknown")
            command = json.loads(msg.payload)
            try:
                # an exception leaving this block is recorded on its span, which ends with status ERROR
                with tracer.start_as_current_span("move vent", attributes={"vent.percent": command["percent"]}):
                    position = move_vent(command["percent"])
                state = {"action": command["action"], "ok": True, "position": position}
                log.info("%s: the vent is at %d %%", command["action"], position)
            except VentJammed as exc:
                state = {"action": command["action"], "ok": False, "error": str(exc)}
                log.error("%s failed: %s", command["action"], exc)
            commands.add(1, {"command": command["action"], "outcome": "ok" if state["ok"] else "failed"})
            topic = f"greenhouse/{GREENHOUSE}/vent/state"
            with tracer.start_as_current_span(f"publish {topic}", kind=SpanKind.PRODUCER, attributes=messaging(topic)):
                client.publish(topic, inject_json_payload(json.dumps(state)), qos=1)
    finally:
        context.detach(token)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="vent", protocol=mqtt.MQTTv311)
client.on_message = on_message
serve(client, "vent", [f"greenhouse/{GREENHOUSE}/vent/command"])
tele.flush()
