"""A small MQTT broker (v5 and 3.1.1) in pure asyncio: the kit's embedded MQTT v5 path.

Why it exists: the lessons need an MQTT v5 broker (user properties carry the
trace context) that installs with pip alone. amqtt speaks 3.1.1 only;
moat-lib-mqtt's broker loses QoS 2 messages, drops a client that subscribes
before it has read CONNACK, and keeps user properties in a dict, merging
repeated keys that MQTT allows. This one is small enough to read, and the
tests hold it to Mosquitto's own command-line clients.

What it does: clean sessions only; QoS 0, 1 and 2 both ways; retained
messages; ``+``/``#`` filters (not matching ``$`` topics at the first
level); v5 subscription options (no-local, retain-as-published, retain
handling) and subscription identifiers; wills; keep-alive; every v5
PUBLISH property, user properties included, forwarded unchanged and in
order. What it leaves out: persistent sessions, shared subscriptions (refused
with reason 0x9E), topic aliases (it offers none), authentication and TLS.
For anything beyond the lessons use Mosquitto (``apt install mosquitto``).

    >>> broker = MQTTBroker("127.0.0.1", 0)
    >>> port = await broker.start()      # inside an event loop; kit.broker runs one in a thread
    >>> await broker.stop()
"""

from __future__ import annotations

import asyncio
import itertools
import struct
import uuid
from dataclasses import dataclass, field

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14
MAX_PACKET = 16 * 1024 * 1024
CONNECT_TIMEOUT_S = 10  # a connection that has not completed its CONNECT by then is closed

# v5 properties that may appear in PUBLISH / SUBSCRIBE / CONNECT and how they are encoded
_PROPERTY_TYPES = {
    0x01: "byte", 0x02: "int4", 0x03: "str", 0x08: "str", 0x09: "bin", 0x0B: "varint",
    0x11: "int4", 0x15: "str", 0x16: "bin", 0x17: "byte", 0x18: "int4", 0x19: "byte",
    0x21: "int2", 0x22: "int2", 0x23: "int2", 0x26: "pair", 0x27: "int4",
}


class MalformedPacket(Exception):
    pass


# ---------------------------------------------------------------- encoding

def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (128 if n else 0))
        if not n:
            return bytes(out)


def utf8(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack("!H", len(b)) + b


def packet(kind: int, flags: int, body: bytes) -> bytes:
    return bytes([kind << 4 | flags]) + varint(len(body)) + body


class Reader:
    """Reads the fields of one packet's body."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise MalformedPacket("packet shorter than its fields")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def int2(self) -> int:
        return struct.unpack("!H", self.take(2))[0]

    def int4(self) -> int:
        return struct.unpack("!I", self.take(4))[0]

    def varint(self) -> int:
        value = 0
        for i in range(4):
            b = self.byte()
            value |= (b & 127) << (7 * i)
            if not b & 128:
                return value
        raise MalformedPacket("variable byte integer longer than 4 bytes")

    def bin(self) -> bytes:
        return self.take(self.int2())

    def str(self) -> str:
        try:
            return self.bin().decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPacket("string is not UTF-8") from None

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)

    def properties(self) -> list[tuple[int, bytes]]:
        """v5 properties as (identifier, encoded value) pairs, in order."""
        end = self.varint() + self.pos
        props = []
        while self.pos < end:
            ident, start = self.varint(), self.pos
            kind = _PROPERTY_TYPES.get(ident)
            if kind is None:
                raise MalformedPacket(f"unknown property 0x{ident:02x}")
            {"byte": self.byte, "int2": self.int2, "int4": self.int4, "varint": self.varint,
             "str": self.str, "bin": self.bin, "pair": lambda: (self.str(), self.str())}[kind]()
            props.append((ident, self.data[start:self.pos]))
        if self.pos != end:
            raise MalformedPacket("properties overrun their length")
        return props


def encode_properties(props: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(varint(ident) + value for ident, value in props)
    return varint(len(body)) + body


# ---------------------------------------------------------------- topics

def valid_filter(f: str) -> bool:
    levels = f.split("/")
    return bool(f) and all(("+" not in lv or lv == "+") and ("#" not in lv or lv == "#") for lv in levels) \
        and "#" not in levels[:-1]


def matches(topic_filter: str, topic: str) -> bool:
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    f, t = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(f):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(f) == len(t)


# ---------------------------------------------------------------- sessions

@dataclass
class Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: list = field(default_factory=list)  # v5 (identifier, value) pairs


@dataclass
class Subscription:
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    identifier: int | None = None


class Session:
    def __init__(self, broker: "MQTTBroker", reader, writer):
        self.broker, self.reader, self.writer = broker, reader, writer
        self.client_id = ""
        self.version = 4
        self.subscriptions: dict[str, Subscription] = {}
        self.will: Message | None = None
        self.awaiting_pubrel: set[int] = set()
        self.inflight: dict[int, int] = {}  # packet id -> QoS of outbound messages not yet acknowledged
        self._ids = itertools.cycle(range(1, 65536))

    @property
    def v5(self) -> bool:
        return self.version == 5

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def ack(self, kind: int, packet_id: int, reason: int = 0) -> None:
        body = struct.pack("!H", packet_id) + (bytes([reason]) if self.v5 and reason else b"")
        self.send(packet(kind, 2 if kind == PUBREL else 0, body))

    def deliver(self, msg: Message, qos: int, retain: bool, identifiers: list[int]) -> None:
        body = utf8(msg.topic)
        if qos:
            packet_id = next(self._ids)
            while packet_id in self.inflight:
                packet_id = next(self._ids)
            self.inflight[packet_id] = qos
            body += struct.pack("!H", packet_id)
        if self.v5:
            body += encode_properties(msg.properties + [(0x0B, varint(i)) for i in identifiers])
        self.send(packet(PUBLISH, qos << 1 | int(retain), body + msg.payload))


class MQTTBroker:
    """An MQTT v5 and 3.1.1 broker on one TCP port (see the module's docstring)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883):
        self.host, self.port = host, port
        self.sessions: dict[str, Session] = {}
        self.retained: dict[str, Message] = {}
        self.delivered = 0
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for session in list(self.sessions.values()):
            session.writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader, writer) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        session = Session(self, reader, writer)
        clean_exit = False
        try:
            kind, flags, body = await asyncio.wait_for(self._read(reader, timeout=None), CONNECT_TIMEOUT_S)  # all of it
            if kind != CONNECT or not self._connect(session, body):
                return
            keepalive = session.keepalive * 1.5 or None
            while True:
                kind, flags, body = await self._read(reader, timeout=keepalive)
                if kind == DISCONNECT:
                    reason = body[0] if body else 0
                    clean_exit = not (session.v5 and reason == 0x04)  # 0x04: send my will
                    return
                self._handle(session, kind, flags, body)
                await writer.drain()
        except (MalformedPacket, asyncio.IncompleteReadError, asyncio.TimeoutError,
                ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            if self.sessions.get(session.client_id) is session:
                del self.sessions[session.client_id]
                if session.will and not clean_exit:
                    self._publish(session, session.will)
            writer.close()

    @staticmethod
    async def _read(reader, timeout):
        first = await asyncio.wait_for(reader.readexactly(1), timeout)
        length, shift = 0, 0
        for _ in range(4):
            b = (await reader.readexactly(1))[0]
            length |= (b & 127) << shift
            shift += 7
            if not b & 128:
                break
        else:
            raise MalformedPacket("remaining length longer than 4 bytes")
        if length > MAX_PACKET:
            raise MalformedPacket("packet too large")
        return first[0] >> 4, first[0] & 15, await reader.readexactly(length)

    def _connect(self, session: Session, body: bytes) -> bool:
        r = Reader(body)
        name, session.version = r.str(), r.byte()
        if (name, session.version) not in (("MQTT", 4), ("MQTT", 5), ("MQIsdp", 3)):
            session.send(packet(CONNACK, 0, bytes([0, 0x84 if session.version == 5 else 0x01])
                                + (b"\x00" if session.version == 5 else b"")))
            return False
        flags = r.byte()
        session.keepalive = r.int2()
        if session.v5:
            r.properties()
        session.client_id = r.str()
        if flags & 0x04:  # will
            will_props = r.properties() if session.v5 else []
            topic, payload = r.str(), r.bin()
            session.will = Message(topic, payload, (flags >> 3) & 3, bool(flags & 0x20),
                                   [p for p in will_props if p[0] in (0x01, 0x02, 0x03, 0x08, 0x09, 0x26)])
        assigned = not session.client_id
        if assigned:
            session.client_id = "kit-" + uuid.uuid4().hex[:12]
        old = self.sessions.get(session.client_id)
        if old is not None:  # a client id connects once: the older connection goes
            if old.v5:
                old.send(packet(DISCONNECT, 0, b"\x8e\x00"))
            old.writer.close()
        self.sessions[session.client_id] = session
        if old is not None and old.will:  # it ended without DISCONNECT: its will goes out, as in Mosquitto
            self._publish(old, old.will)
        if session.v5:
            props = [(0x12, utf8(session.client_id))] if assigned else []
            props += [(0x22, struct.pack("!H", 0))]  # no topic aliases, please
            session.send(packet(CONNACK, 0, b"\x00\x00" + encode_properties(props)))
        else:
            session.send(packet(CONNACK, 0, b"\x00\x00"))
        return True

    def _handle(self, session: Session, kind: int, flags: int, body: bytes) -> None:
        r = Reader(body)
        if kind == PUBLISH:
            qos, retain = (flags >> 1) & 3, bool(flags & 1)
            if qos == 3:
                raise MalformedPacket("QoS 3")
            topic = r.str()
            packet_id = r.int2() if qos else None
            props = [p for p in r.properties() if p[0] not in (0x0B, 0x23)] if session.v5 else []
            if not topic or "+" in topic or "#" in topic:
                raise MalformedPacket("invalid topic name")
            msg = Message(topic, r.rest(), qos, retain, props)
            if qos == 2:
                if packet_id not in session.awaiting_pubrel:  # a resent QoS 2 message is delivered once
                    session.awaiting_pubrel.add(packet_id)
                    self._publish(session, msg)
                session.ack(PUBREC, packet_id)
            else:
                self._publish(session, msg)
                if qos == 1:
                    session.ack(PUBACK, packet_id)
        elif kind == PUBREL:
            packet_id = r.int2()
            session.awaiting_pubrel.discard(packet_id)
            session.ack(PUBCOMP, packet_id)
        elif kind == PUBACK or kind == PUBCOMP:
            session.inflight.pop(r.int2(), None)
        elif kind == PUBREC:
            packet_id = r.int2()
            session.ack(PUBREL, packet_id)
        elif kind == SUBSCRIBE:
            self._subscribe(session, r)
        elif kind == UNSUBSCRIBE:
            packet_id = r.int2()
            if session.v5:
                r.properties()
            codes = []
            while r.pos < len(r.data):
                codes.append(0 if session.subscriptions.pop(r.str(), None) else 0x11)
            session.send(packet(UNSUBACK, 0, struct.pack("!H", packet_id)
                                + (b"\x00" + bytes(codes) if session.v5 else b"")))
        elif kind == PINGREQ:
            session.send(packet(PINGRESP, 0, b""))
        else:
            raise MalformedPacket(f"unexpected packet type {kind}")

    def _subscribe(self, session: Session, r: Reader) -> None:
        packet_id = r.int2()
        identifier = None
        if session.v5:
            for ident, value in r.properties():
                if ident == 0x0B:
                    identifier = Reader(value).varint()
        codes = []
        while r.pos < len(r.data):
            topic_filter, options = r.str(), r.byte()
            qos = min(options & 3, 2)
            if topic_filter.startswith("$share/"):
                codes.append(0x9E if session.v5 else 0x80)
                continue
            if not valid_filter(topic_filter):
                codes.append(0x8F if session.v5 else 0x80)
                continue
            is_new = topic_filter not in session.subscriptions
            sub = Subscription(qos, bool(options & 4) and session.v5, bool(options & 8) and session.v5, identifier)
            session.subscriptions[topic_filter] = sub
            codes.append(qos)
            retain_handling = (options >> 4) & 3 if session.v5 else 0
            if retain_handling == 0 or (retain_handling == 1 and is_new):
                for msg in list(self.retained.values()):
                    if matches(topic_filter, msg.topic):
                        self._later(session.deliver, msg, min(qos, msg.qos), True,
                                    [identifier] if identifier else [])
        session.send(packet(SUBACK, 0, struct.pack("!H", packet_id) + (b"\x00" if session.v5 else b"")
                            + bytes(codes)))

    def _later(self, fn, *args) -> None:
        """Retained messages go out after the SUBACK, as clients expect."""
        asyncio.get_running_loop().call_soon(fn, *args)

    def _publish(self, sender: Session, msg: Message) -> None:
        if msg.retain:
            if msg.payload:
                self.retained[msg.topic] = msg
            else:
                self.retained.pop(msg.topic, None)
        for session in list(self.sessions.values()):
            best, retain, identifiers = -1, False, []
            for topic_filter, sub in session.subscriptions.items():
                if not matches(topic_filter, msg.topic) or (sub.no_local and session is sender):
                    continue
                best = max(best, min(sub.qos, msg.qos))
                retain = retain or (sub.retain_as_published and msg.retain)
                if sub.identifier:
                    identifiers.append(sub.identifier)
            if best >= 0:
                session.deliver(msg, best, retain, identifiers)
                self.delivered += 1
