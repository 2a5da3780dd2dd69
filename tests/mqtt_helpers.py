"""paho-mqtt clients for the tests: connect, subscribe in on_connect, collect what arrives;
a bare socket that speaks MQTT byte by byte (for what paho would never send); and a real
Mosquitto on a free port, to hold the embedded brokers to."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

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


def publisher(broker, protocol=V5, client_id="", max_inflight=20):
    """A connected paho client with its network loop running (``max_inflight``: paho's own limit)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
    client.max_inflight_messages_set(max_inflight)
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
def running_mosquitto(workdir, config: str = ""):
    """A Mosquitto broker of its own on a free port (``workdir`` holds its config, ``config``
    adds lines to it), stopped afterwards."""
    with broker_process("mosquitto", workdir, config) as (broker, _):
        yield broker


@contextlib.contextmanager
def broker_process(kind: str, workdir, config: str = ""):
    """(Broker, Popen): Mosquitto, the kit's v5 broker (``python -m kit broker``) or, with
    ``kind="amqtt"``, its 3.1.1 one, in a process of its own on a free port, its log on the
    Popen's stderr (a file: read it with :func:`log_of`); stopped afterwards."""
    port = free_port()
    log = open(Path(workdir) / f"{kind}-{port}.log", "w+")
    if kind == "mosquitto":
        conf = Path(workdir) / f"mosquitto-{port}.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n{config}")
        command = [MOSQUITTO, "-c", str(conf)]
    else:
        protocol = "3.1.1" if kind == "amqtt" else "5"
        command = [sys.executable, "-m", "kit", "broker", "--protocol", protocol, "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=env)
    proc.log = log
    try:
        assert wait_until(lambda: is_listening("127.0.0.1", port)), f"{kind} did not start"
        name = {"mosquitto": "mosquitto", "amqtt": "amqtt"}.get(kind, "kit.mqtt_broker")
        yield Broker("127.0.0.1", port, "3.1.1" if kind == "amqtt" else "5", name, embedded=False), proc
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def log_of(proc) -> str:
    proc.log.flush()
    return Path(proc.log.name).read_text()


def rss_mb(pid: int) -> float:
    """The resident memory of a process, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# ---------------------------------------------------------------- MQTT on a bare socket

def utf8(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (128 if n else 0))
        if not n:
            return bytes(out)


def mqtt_packet(first: int, body: bytes) -> bytes:
    """A packet: its first byte (type << 4 | flags), its length, its body."""
    return bytes([first]) + varint(len(body)) + body


class RawClient:
    """An MQTT connection on a bare socket, for packets paho would never send and for
    reading exactly what the broker answers. v5 unless ``version=4``."""

    def __init__(self, broker, version=5, timeout_s=5.0):
        self.version = version
        self.sock = socket.create_connection((broker.host, broker.port), timeout=timeout_s)
        self._buffer = b""

    def connect(self, client_id: str, clean=True, properties=b"", flags=0, expect_accepted=True):
        """Send CONNECT (``properties``: an encoded v5 property list, without its length); return the CONNACK."""
        connect_flags = (0x02 if clean else 0) | flags
        props = varint(len(properties)) + properties if self.version == 5 else b""
        self.send(0x10, utf8("MQTT") + bytes([self.version, connect_flags]) + struct.pack("!H", 60) + props
                  + utf8(client_id))
        connack = self.read()
        if expect_accepted:
            assert connack and connack[0] == 0x20 and connack[3] == 0, f"CONNECT refused: {connack!r}"
        return connack

    def send(self, first: int, body: bytes) -> None:
        self.sock.sendall(mqtt_packet(first, body))

    def subscribe(self, topic_filter: str, qos=1, packet_id=1) -> bytes:
        self.send(0x82, struct.pack("!H", packet_id) + (b"\x00" if self.version == 5 else b"")
                  + utf8(topic_filter) + bytes([qos]))
        return self.read()

    def read(self) -> bytes | None:
        """The next whole packet, or None once the broker has closed the connection."""
        while True:
            if len(self._buffer) >= 2:
                length, shift, i = 0, 0, 1
                while i < len(self._buffer):
                    length |= (self._buffer[i] & 127) << shift
                    shift += 7
                    i += 1
                    if not self._buffer[i - 1] & 128:
                        if len(self._buffer) >= i + length:
                            whole, self._buffer = self._buffer[:i + length], self._buffer[i + length:]
                            return whole
                        break
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                return None
            self._buffer += chunk

    def read_until_closed(self) -> list[bytes]:
        """Every packet the broker sends until it closes the connection."""
        packets = []
        while (p := self.read()) is not None:
            packets.append(p)
        return packets

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- the same test on the kit's broker and on Mosquitto

# Mosquitto as the reference, with the one limit of the kit's broker it does not have by default
MOSQUITTO_LIKE_THE_KIT = "max_packet_size 16777216\n"


class SessionClient:
    """A paho client with a fixed client id, for sessions that outlive a connection.
    ``connect()`` returns Session Present; messages, CONNACK properties and the reason
    codes of disconnects are kept. It never reconnects by itself."""

    def __init__(self, broker, client_id, protocol=V5, manual_ack=False, clean_session=False):
        self.broker, self.v5 = broker, protocol == V5
        extra = {} if self.v5 else {"clean_session": clean_session}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol,
                                  manual_ack=manual_ack, reconnect_on_failure=False, **extra)
        self.messages: list[mqtt.MQTTMessage] = []
        self.disconnects: list = []
        self.session_present, self.connack_properties, self.reason_code = None, None, None
        self._changed = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda c, u, mid, codes, p: self._note(suback=codes)

    def _note(self, **attributes):
        with self._changed:
            for name, value in attributes.items():
                setattr(self, name, value)
            self._changed.notify_all()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self._note(session_present=flags.session_present, connack_properties=properties, reason_code=reason_code)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        with self._changed:
            self.disconnects.append(reason_code)
            self._changed.notify_all()

    def _on_message(self, client, userdata, msg):
        with self._changed:
            self.messages.append(msg)
            self._changed.notify_all()

    def _wait(self, predicate, timeout_s):
        with self._changed:
            return self._changed.wait_for(predicate, timeout=timeout_s)

    def connect(self, clean_start=False, properties=None) -> bool:
        """Connect (v5: with Clean Start and CONNECT ``properties``); Session Present."""
        self.session_present, self.suback = None, None
        kwargs = {"clean_start": clean_start, "properties": properties} if self.v5 else {}
        self.client.connect(self.broker.host, self.broker.port, **kwargs)
        self.client.loop_start()
        assert self._wait(lambda: self.session_present is not None, 10), "no CONNACK within 10 s"
        return self.session_present

    def subscribe(self, topic_filter, qos=1, **options):
        self.suback = None
        if self.v5:
            from paho.mqtt.subscribeoptions import SubscribeOptions
            self.client.subscribe(topic_filter, options=SubscribeOptions(qos=qos, **options))
        else:
            self.client.subscribe(topic_filter, qos)
        assert self._wait(lambda: self.suback is not None, 10), "no SUBACK within 10 s"
        return self.suback

    def wait_for(self, n: int, timeout_s: float = 10) -> list:
        self._wait(lambda: len(self.messages) >= n, timeout_s)
        return list(self.messages)

    def wait_disconnected(self, timeout_s: float = 10):
        """The reason code of the first disconnect (None if it did not happen)."""
        self._wait(lambda: self.disconnects, timeout_s)
        return self.disconnects[0] if self.disconnects else None

    def disconnect(self, properties=None):
        self.client.disconnect(properties=properties)
        self.wait_disconnected(5)
        self.client.loop_stop()
        self.disconnects.clear()

    def vanish(self):
        """End the connection without DISCONNECT, as a crash or a lost network would."""
        self.client.loop_stop()
        self.client.socket().close()


def connect_properties(**values):
    """paho CONNECT properties: ``connect_properties(SessionExpiryInterval=60)``."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    props = Properties(PacketTypes.CONNECT)
    for name, value in values.items():
        setattr(props, name, value)
    return props


def forget_session(broker, client_id, protocol=V5):
    """Connect with a clean start and leave with no session expiry: the broker keeps nothing."""
    client = SessionClient(broker, client_id, protocol, clean_session=True)
    client.connect(clean_start=True, properties=connect_properties(SessionExpiryInterval=0) if protocol == V5 else None)
    client.disconnect()


# the same test on the kit's broker and, where it is installed, on Mosquitto: the same outcome
# (@pytest.mark.parametrize("broker", KIT_AND_MOSQUITTO, indirect=True); the fixtures are in conftest.py)

KIT_AND_MOSQUITTO = ["kit.mqtt_broker",
                     pytest.param("mosquitto", marks=pytest.mark.skipif(not MOSQUITTO, reason=NO_MOSQUITTO))]

