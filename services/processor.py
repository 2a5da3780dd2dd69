"""Service 2 of 3: a processor that enriches readings and republishes them.

    python services/processor.py --threshold 25

Subscribes to ``sensors/+/temp``; adds Fahrenheit and a status ("ok" or
"high" above the threshold); publishes on ``processed/<id>/temp``. A message that
is not a reading is logged, recorded on its span and skipped. Its publish
happens inside the CONSUMER span of the message it handles, so the trace goes
on: sensor → processor → alerter, one trace across three processes.
"""

import argparse
import json
import logging

import paho.mqtt.client as mqtt
from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor

from kit.service_runtime import export_otlp_by_default, read_json, serve_until_stopped, stop_on_signals
from kit.telemetry import setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--threshold", type=float, default=25.0, help="°C above which a reading is 'high'")
args = parser.parse_args()

export_otlp_by_default()
tele = setup("processor")
PahoMqttInstrumentor().instrument()
log = logging.getLogger("processor")
enriched = tele.meter.create_counter("readings.processed", unit="{reading}")
stop = stop_on_signals()


def on_connect(client, userdata, flags, reason_code, properties):
    client.subscribe("sensors/+/temp", qos=1)


def on_message(client, userdata, msg):
    reading = read_json(msg, log, sensor=str, celsius=(int, float))
    if reading is None:  # not a reading: logged, recorded on its span, skipped
        return
    reading["fahrenheit"] = round(reading["celsius"] * 9 / 5 + 32, 1)
    reading["status"] = "high" if reading["celsius"] > args.threshold else "ok"
    enriched.add(1, {"status": reading["status"]})
    log.info("reading from %s: %s", reading["sensor"], reading["status"])
    client.publish(f"processed/{reading['sensor']}/temp", json.dumps(reading), qos=1)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="processor", protocol=mqtt.MQTTv5)
client.on_connect = on_connect
client.on_message = on_message
serve_until_stopped(client, "processor", stop, tele)
