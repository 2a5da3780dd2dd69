"""The greenhouse controller, on MQTT v5: it reads the sensors and drives the vent.

    python controller.py

* A reading (greenhouse/<gh>/sensor/<id>/reading): asks for the weather forecast,
  decides, and sends the vent a command on greenhouse/<gh>/vent/command, e.g.
  {"action": "open", "percent": 100}.
* The vent's report (greenhouse/<gh>/vent/state): logs it; if the vent failed, raises
  an alert on greenhouse/<gh>/alerts.
"""

import json
import logging
import time

import paho.mqtt.client as mqtt

from common import serve

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


def on_reading(client, userdata, msg):
    greenhouse = msg.topic.split("/")[1]
    reading = json.loads(msg.payload)
    forecast = fetch_forecast()
    command = decide(reading["celsius"], forecast)
    if command is None:
        log.info("%s: %.1f °C, nothing to do", reading["sensor"], reading["celsius"])
        return
    log.info("%s: %.1f °C, %s outside: %s the vent to %d %%", reading["sensor"], reading["celsius"],
             forecast["sky"], command["action"], command["percent"])
    client.publish(f"greenhouse/{greenhouse}/vent/command", json.dumps(command), qos=1)


def on_vent_state(client, userdata, msg):
    greenhouse = msg.topic.split("/")[1]
    state = json.loads(msg.payload)
    if state["ok"]:
        log.info("the vent is at %d %%", state["position"])
        return
    log.error("the vent did not %s: %s", state["action"], state["error"])
    alert = {"alert": "vent failed", "action": state["action"], "error": state["error"]}
    client.publish(f"greenhouse/{greenhouse}/alerts", json.dumps(alert), qos=1)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="controller", protocol=mqtt.MQTTv5)
client.message_callback_add("greenhouse/+/sensor/+/reading", on_reading)
client.message_callback_add("greenhouse/+/vent/state", on_vent_state)
serve(client, "controller", ["greenhouse/+/sensor/+/reading", "greenhouse/+/vent/state"])
