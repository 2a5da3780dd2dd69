"""A plain paho-mqtt app, with no OpenTelemetry in it: lesson 08 runs it under
``opentelemetry-instrument`` to trace it without changing a line.

    MQTT_BROKER_URL=mqtt://localhost:1883 opentelemetry-instrument python apps/hello_paho.py
"""

import os
import threading
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

url = urlparse(os.environ.get("MQTT_BROKER_URL", "mqtt://localhost:1883"))
host, port = url.hostname, url.port or 1883
readings = [b'{"t": 21.5}', b'{"t": 21.7}', b'{"t": 22.0}']
received = []
all_in = threading.Event()
subscribed = threading.Event()


def on_connect(client, userdata, flags, reason_code, properties):
    client.subscribe("hello/temp", qos=1)


def on_message(client, userdata, msg):
    received.append(msg.payload)
    if len(received) == len(readings):
        all_in.set()


subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="hello-subscriber", protocol=mqtt.MQTTv5)
subscriber.on_connect = on_connect
subscriber.on_subscribe = lambda *args: subscribed.set()
subscriber.on_message = on_message
subscriber.connect(host, port)
subscriber.loop_start()
subscribed.wait(10)

publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="hello-publisher", protocol=mqtt.MQTTv5)
publisher.connect(host, port)
publisher.loop_start()
for reading in readings:
    publisher.publish("hello/temp", reading, qos=1).wait_for_publish(10)

all_in.wait(10)
print(f"published {len(readings)}, received {len(received)}")
for client in (publisher, subscriber):
    client.disconnect()
    client.loop_stop()
