"""What the greenhouse's three programs share: where the broker is, and how each one
connects, says it is ready and stops.

    serve(client, "controller", ["greenhouse/+/sensor/+/reading"])

connects to ``MQTT_BROKER_URL`` (default mqtt://localhost:1883), retrying until the broker
is up; subscribes; prints "<name>: ready" once the broker has confirmed the subscriptions;
then serves until Ctrl-C or SIGTERM, and disconnects cleanly.
"""

import logging
import os
import signal
import sys
import threading
from urllib.parse import urlparse

GREENHOUSE = os.environ.get("GREENHOUSE_ID", "gh-1")  # this greenhouse (the lab names one for each run)

logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s %(message)s")


def broker_address() -> tuple[str, int]:
    url = urlparse(os.environ.get("MQTT_BROKER_URL", "mqtt://localhost:1883"))
    return url.hostname or "localhost", url.port or 1883


def serve(client, name: str, topics: list[str]) -> None:
    """Connect, subscribe to ``topics`` (QoS 1), say "ready", serve until stopped."""
    stop, subscribed = threading.Event(), threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def on_connect(client, userdata, flags, reason_code, properties):
        client.subscribe([(topic, 1) for topic in topics])

    client.on_connect = on_connect
    client.on_subscribe = lambda *args: subscribed.set()
    host, port = broker_address()
    while not stop.is_set():
        try:
            client.connect(host, port)
            break
        except OSError as exc:
            print(f"{name}: broker mqtt://{host}:{port} not reachable ({exc}); retrying", file=sys.stderr, flush=True)
            stop.wait(1)
    client.loop_start()
    while not stop.is_set() and not subscribed.wait(0.1):
        pass
    if subscribed.is_set():
        print(f"{name}: ready", flush=True)
    stop.wait()
    client.disconnect()
    client.loop_stop()
    print(f"{name}: stopped", flush=True)
