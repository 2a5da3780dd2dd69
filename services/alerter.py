"""Service 3 of 3: an alerter that raises an alert for high readings.

    python services/alerter.py

Subscribes to ``processed/+/temp``; for a reading with status "high" it logs a
warning (inside the CONSUMER span, so the log carries the trace id) and
publishes on ``alerts/<id>``. A message that is not a processed reading is logged,
recorded on its span and skipped.
"""

import json
import logging

import paho.mqtt.client as mqtt
from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor

from kit.service_runtime import export_otlp_by_default, read_json, serve_until_stopped, stop_on_signals
from kit.telemetry import setup

export_otlp_by_default()
tele = setup("alerter")
PahoMqttInstrumentor().instrument()
log = logging.getLogger("alerter")
stop = stop_on_signals()


def on_connect(client, userdata, flags, reason_code, properties):
    client.subscribe("processed/+/temp", qos=1)


def on_message(client, userdata, msg):
    reading = read_json(msg, log, sensor=str, celsius=(int, float), status=str)
    if reading is None:  # not a processed reading: logged, recorded on its span, skipped
        return
    if reading["status"] == "high":
        log.warning("ALERT: %s reads %s °C", reading["sensor"], reading["celsius"])
        client.publish(f"alerts/{reading['sensor']}", json.dumps(reading), qos=1)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="alerter", protocol=mqtt.MQTTv5)
client.on_connect = on_connect
client.on_message = on_message
serve_until_stopped(client, "alerter", stop, tele)
