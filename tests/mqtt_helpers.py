"""paho-mqtt clients for the tests: connect, subscribe in on_connect, collect what arrives;
and a real Mosquitto on a free port, to hold the embedded brokers to."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time

import paho.mqtt.client as mqtt

from kit.broker import Broker
from kit.ports import free_port, is_listening

V5, V311 = mqtt.MQTTv5, mqtt.MQTTv311
MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
NO_MOSQUITTO = "Mosquitto is not installed (Debian: apt-get install mosquitto mosquitto-clients); CI installs it"


class Subscriber:
    """A paho client that subscribes in on_connect and keeps every message it receives."""

    def __init__(self, broker, topic="#", qos=2, protocol=V5, client_id=""):
        self.messages: list[mqtt.MQTTMessage] = []
        self._arrived = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=qos)
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "no SUBACK within 10 s"

    def _on_message(self, client, userdata, msg):
        with self._arrived:
            self.messages.append(msg)
            self._arrived.notify_all()

    def wait_for(self, n: int, timeout_s: float = 10) -> list:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= n, timeout=timeout_s)
            return list(self.messages)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def publisher(broker, protocol=V5, client_id=""):
    """A connected paho client with its network loop running."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
    connected = threading.Event()
    client.on_connect = lambda *a: connected.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert connected.wait(10), "no CONNACK within 10 s"
    return client


def wait_until(predicate, timeout_s=10.0, interval_s=0.02):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


@contextlib.contextmanager
def running_mosquitto(workdir):
    """A Mosquitto broker of its own on a free port (``workdir`` holds its config), stopped afterwards."""
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: is_listening("127.0.0.1", port)), "Mosquitto did not start"
        yield Broker("127.0.0.1", port, "5", "mosquitto", embedded=False)
    finally:
        proc.terminate()
        proc.wait(10)
