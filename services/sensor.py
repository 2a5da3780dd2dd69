"""Service 1 of 3: a sensor that publishes temperature readings.

    python services/sensor.py --sensor-id s-1 --count 10 --interval 0.5

Publishes JSON readings on ``sensors/<id>/temp`` over MQTT v5. Traced by
PahoMqttInstrumentor: each publish is a PRODUCER span whose context travels
in the message. Exports OTLP to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default
http://localhost:4317); the broker is ``MQTT_BROKER_URL``.
"""

import argparse
import json
import logging
import random

import paho.mqtt.client as mqtt
from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor

from kit.service_runtime import broker_url, connect_with_retry, export_otlp_by_default, stop_on_signals
from kit.telemetry import setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--sensor-id", default="s-1")
parser.add_argument("--count", type=int, default=0, help="readings to send, then exit (0: until stopped)")
parser.add_argument("--interval", type=float, default=1.0, help="seconds between readings")
parser.add_argument("--start", type=float, default=21.0, help="first temperature, °C")
args = parser.parse_args()

export_otlp_by_default()
tele = setup("sensor",
             resource_attributes={"service.instance.id": args.sensor_id})
PahoMqttInstrumentor().instrument()
log = logging.getLogger("sensor")
stop = stop_on_signals()

client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sensor-{args.sensor_id}", protocol=mqtt.MQTTv5)
rng = random.Random(args.sensor_id)  # the same readings every run: a lesson's output can be compared
if connect_with_retry(client, broker_url(), "sensor", stop):
    temperature, sent = args.start, 0
    while not stop.is_set() and (args.count == 0 or sent < args.count):
        with tele.tracer.start_as_current_span("read temperature"):
            temperature = round(temperature + rng.uniform(-0.5, 1.5), 1)
            log.info("reading %s °C", temperature)
            client.publish(f"sensors/{args.sensor_id}/temp",
                           json.dumps({"sensor": args.sensor_id, "celsius": temperature}), qos=1)
        sent += 1
        stop.wait(args.interval)
    print(f"sensor: sent {sent} readings", flush=True)
    client.disconnect()
    client.loop_stop()
tele.shutdown()  # flushed, within 5 s whatever the collector does
