"""A paho client whose QoS 0 messages come straight back to it, without a broker.

A listening socket on 127.0.0.1 plays the broker at its simplest: it answers the CONNECT
with a CONNACK, then returns every packet the client writes, byte for byte. A QoS 0
PUBLISH from a client has the same bytes as one a broker sends to a subscriber of that
topic (retain flag included), so paho parses the message on the way back and hands it to
``on_message`` through its own code, user properties and all. No thread: ``send()``
returns once the message was delivered (or the callback raised).

    echo = Loopback(mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5))
    message = echo.send("sensors/temp", b"21.5")
"""

from __future__ import annotations

import select
import socket
import time

import paho.mqtt.client as mqtt

CONNACK = {mqtt.MQTTv5: bytes([0x20, 3, 0, 0, 0]), mqtt.MQTTv311: bytes([0x20, 2, 0, 0])}
TIMEOUT_S = 10


def new_client(protocol=mqtt.MQTTv5, client_id: str = "") -> mqtt.Client:
    """A paho client of the current callback API, not connected."""
    return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)


class Loopback:
    """``client`` connected to the echo. ``on_message(client, userdata, message)``: called
    for each message delivered (default: none); ``delivered`` keeps them all."""

    def __init__(self, client: mqtt.Client, on_message=None):
        self.client, self.delivered, self._callback = client, [], on_message
        client.on_message = self._on_message
        with socket.create_server(("127.0.0.1", 0)) as listener:
            client.connect(*listener.getsockname())  # paho writes its CONNECT
            self.broker_side, _ = listener.accept()
        self.broker_side.settimeout(TIMEOUT_S)
        self.broker_side.recv(65536)  # the CONNECT
        self.broker_side.sendall(CONNACK[client.protocol])
        self._until(client.is_connected, "no CONNACK read")

    def _on_message(self, client, userdata, message):
        self.delivered.append(message)
        if self._callback is not None:
            self._callback(client, userdata, message)

    def _until(self, done, what: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"loopback: {what} within {TIMEOUT_S} s")
            select.select([self.client.socket()], [], [], 0.05)
            rc = self.client.loop_read()
            if rc != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS:
                raise ConnectionError(f"loopback: {mqtt.error_string(rc)}")

    def send(self, topic: str, payload=b"", retain: bool = False, properties=None) -> mqtt.MQTTMessage:
        """Publish at QoS 0 and return the message paho delivered back to ``on_message``."""
        count = len(self.delivered)
        info = self.client.publish(topic, payload, qos=0, retain=retain, properties=properties)
        if info.rc != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"loopback: publish returned {mqtt.error_string(info.rc)}")
        self.broker_side.sendall(self._one_packet())
        self._until(lambda: len(self.delivered) > count, "the message was not delivered back")
        return self.delivered[-1]

    def _one_packet(self) -> bytes:
        """One whole packet the client wrote: its fixed header says how long it is."""
        data = b""
        while True:
            if len(data) >= 2:
                length, shift, i = 0, 0, 1
                while i < len(data) and i <= 4:
                    length += (data[i] & 0x7F) << shift
                    shift += 7
                    if not data[i] & 0x80:
                        if len(data) >= i + 1 + length:
                            return data
                        break
                    i += 1
            chunk = self.broker_side.recv(65536)
            if not chunk:
                raise ConnectionError("loopback: the client closed the connection")
            data += chunk

    def close(self) -> None:
        self.client.disconnect()
        self.broker_side.close()
