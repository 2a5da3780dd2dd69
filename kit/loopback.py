"""A paho client that talks to a socket on this machine instead of a broker, through
paho's public API only: every message it publishes comes straight back to it.

    >>> from kit.loopback import LoopbackEcho
    >>> echo = LoopbackEcho(client)          # a paho v5 client, not connected yet
    >>> echo.one_message("bench/topic", b"21.5")   # publish, then paho delivers it to on_message
    >>> echo.delivered
    1
    >>> echo.close()

The other end of the socket plays the broker at its simplest: it accepts the
CONNECT, answers with a CONNACK, and sends back every PUBLISH as it came (a QoS 0
PUBLISH from a client to a broker has the same bytes as one from the broker to a
subscriber of that topic). ``client.loop_read()`` then does what paho's network
loop does when the socket is readable. No thread, no broker: each message costs
paho's own work and four small socket calls, the same for every client, so what
an instrumentation adds stands out. Whatever the client writes into a message
(a ``traceparent`` user property, say) really travels in the bytes, and paho
really parses it on the way back.

``kit.overhead`` times messages this way.
"""

from __future__ import annotations

import socket

import paho.mqtt.client as mqtt

__all__ = ["LoopbackEcho"]

CONNACK_V5 = bytes([0x20, 3, 0, 0, 0])  # CONNACK, 3 bytes follow: no session, reason "success", no properties
CONNACK_V311 = bytes([0x20, 2, 0, 0])  # CONNACK, 2 bytes follow: no session, return code 0 ("accepted")


class LoopbackEcho:
    """``client`` (MQTT v5 or 3.1.1) connected to a loopback socket that sends every message
    straight back. It replaces the client's ``on_message`` by one that counts the messages
    delivered and keeps the last one (``last``)."""

    def __init__(self, client: mqtt.Client):
        listener = socket.create_server(("127.0.0.1", 0))
        client.on_message = self._on_message
        client.connect(*listener.getsockname())  # paho sends its CONNECT
        self.broker_side, _ = listener.accept()
        listener.close()
        self.broker_side.recv(65536)  # the CONNECT
        self.broker_side.sendall(CONNACK_V5 if client.protocol == mqtt.MQTTv5 else CONNACK_V311)
        while not client.is_connected():
            self._read(client)
        self.broker_side.setblocking(False)
        self.client, self.delivered, self.last = client, 0, None

    def _on_message(self, client, userdata, message):
        self.delivered += 1
        self.last = message

    @staticmethod
    def _read(client):
        rc = client.loop_read()  # what paho's network loop calls when the socket is readable
        if rc != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"loopback echo: {mqtt.error_string(rc)}")

    def one_message(self, topic: str, payload: bytes, properties=None):
        """Publish one message (QoS 0: paho writes it to the socket at once) and
        return when paho has delivered it back to ``on_message``."""
        expected = self.delivered + 1
        self.client.publish(topic, payload, properties=properties)
        while self.delivered < expected:
            try:
                self.broker_side.sendall(self.broker_side.recv(65536))  # the "broker": straight back
            except BlockingIOError:  # not arrived yet
                pass
            self._read(self.client)

    def close(self):
        self.client.disconnect()
        self.broker_side.close()
