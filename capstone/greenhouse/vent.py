"""The roof vent of greenhouse gh-1. Its motor board is older: it speaks MQTT 3.1.1.

    python vent.py

Takes commands on greenhouse/gh-1/vent/command ({"action": "open", "percent": 100}),
moves the vent, and reports on greenhouse/gh-1/vent/state:
{"action": "open", "ok": true, "position": 100}, or, when the motor fails,
{"action": "open", "ok": false, "error": "..."}.
"""

import json
import logging

import paho.mqtt.client as mqtt

from common import GREENHOUSE, serve

log = logging.getLogger("vent")


class VentJammed(Exception):
    """The vent's motor stalled."""


def move_vent(percent: int) -> int:
    """Move the vent to ``percent`` open; returns where it is. The hinge sticks past 80 %."""
    if percent > 80:
        raise VentJammed(f"the hinge sticks at 80 %, asked for {percent} %")
    return percent


def on_message(client, userdata, msg):
    command = json.loads(msg.payload)
    try:
        position = move_vent(command["percent"])
        state = {"action": command["action"], "ok": True, "position": position}
        log.info("%s: the vent is at %d %%", command["action"], position)
    except VentJammed as exc:
        state = {"action": command["action"], "ok": False, "error": str(exc)}
        log.error("%s failed: %s", command["action"], exc)
    client.publish(f"greenhouse/{GREENHOUSE}/vent/state", json.dumps(state), qos=1)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="vent", protocol=mqtt.MQTTv311)
client.on_message = on_message
serve(client, "vent", [f"greenhouse/{GREENHOUSE}/vent/command"])
