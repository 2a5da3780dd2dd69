"""A connected paho client in one call, for lessons past 05 (where the paho calls are taught).

    >>> from kit.clients import connect
    >>> publisher = connect(broker, "sensor-1")
    >>> subscriber = connect(broker, "dashboard", subscribe_to="sensors/#", on_message=inbox)

It does what lesson 05 writes by hand: a VERSION2 client, the subscription made in
``on_connect`` (so a reconnect renews it), the network loop in a thread, and it waits
(at most 5 s) until the broker has answered the CONNECT, or the SUBSCRIBE.
"""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt


def connect(broker, client_id: str, subscribe_to: str | None = None, on_message=None,
            protocol: int | str = 5, qos: int = 1) -> mqtt.Client:
    """A connected paho client; ``broker`` is what :func:`kit.broker.start_broker` returned."""
    version = mqtt.MQTTv5 if str(protocol) in ("5", "5.0") else mqtt.MQTTv311
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version)
    ready = threading.Event()
    if subscribe_to:
        client.on_connect = lambda c, userdata, flags, rc, props: c.subscribe(subscribe_to, qos=qos)
        client.on_subscribe = lambda *args: ready.set()
    else:
        client.on_connect = lambda *args: ready.set()
    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.loop_start()
    ready.wait(5)
    return client
