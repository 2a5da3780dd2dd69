"""One client's TCP connection: its bytes cut into packets, each packet checked and handled.

An ``asyncio.Protocol``: ``data_received`` is called with whatever bytes arrived, and
every complete packet in them is handled at once; replies go out together at the end of
that turn of the event loop. What a connection refuses, and how (MQTT 5.0 §4.13):
a packet larger than the broker allows (DISCONNECT 0x95; before CONNECT, a much smaller
size is allowed, so a stranger cannot make the broker hold megabytes); a malformed packet
(0x81) or one that breaks a rule (0x82 and the specific codes). A v5 client is told why
in a DISCONNECT (or CONNACK) before the connection closes; a 3.1.1 client is just closed.
A client silent for 1.5 x its keep-alive, or one that has not completed its CONNECT within
``connect_timeout_s``, is closed too.
"""

from __future__ import annotations

import asyncio
import struct
import uuid

from kit.mqtt_broker.codec import (
    ASSIGNED_CLIENT_ID, AUTH, AUTH_METHOD, CONNACK, CONNECT, DISCONNECT, MAXIMUM_PACKET_SIZE, MESSAGE_EXPIRY,
    PACKET_TOO_LARGE, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, RECEIVE_MAXIMUM,
    RECEIVE_MAXIMUM_EXCEEDED, SESSION_EXPIRY, SESSION_TAKEN_OVER, SUBACK, SUBSCRIBE, SUBSCRIPTION_ID, TOPIC_ALIAS,
    TOPIC_ALIAS_INVALID, TOPIC_ALIAS_MAXIMUM, UNSUBACK, UNSUBSCRIBE, WILL, WILL_DELAY, MalformedPacket,
    ProtocolViolation, Reader, encode_properties, fixed_header, packet, utf8,
)
from kit.mqtt_broker.sessions import NEVER, Delivery, Message, Subscription
from kit.mqtt_broker.topics import shared, valid_filter, valid_topic

PROTOCOLS = {("MQTT", 4), ("MQTT", 5), ("MQIsdp", 3)}  # 3.1.1, 5.0 and 3.1
FLAGS = {PUBREL: 2, SUBSCRIBE: 2, UNSUBSCRIBE: 2}  # a fixed header's flags, PUBLISH aside: 0 for the rest
NO_SUBSCRIBERS, NOT_FOUND, BAD_AUTH_METHOD = 0x10, 0x92, 0x8C
WRITE_HIGH_WATER = 256 * 1024  # a client's unsent bytes beyond which nothing more is written to it
LINGER_S = 2  # how long a refused client may go on sending (ignored) while it reads why


class Connection(asyncio.Protocol):
    """A client's connection, from its first byte to its close; ``session`` once CONNECT is accepted."""

    def __init__(self, broker):
        self.broker = broker
        self.transport = None
        self.buffer = bytearray()
        self.session = None  # set once CONNECT is accepted
        self.version = 4
        self.v5 = False
        self.keepalive_s = 0
        self.receive_maximum = broker.receive_maximum  # QoS 1/2 messages in flight to the client
        self.maximum_packet_size = 1 << 28  # the largest packet the client takes
        self.aliases: dict[int, str] = {}  # the client's topic aliases
        self.clean_exit = False
        self.out: list[bytes] = []
        self.out_bytes = 0
        self.write_paused = False
        self.timer = None
        self.last_packet_at = 0.0
        self.lingering = None  # the transport of a refused client, closed after LINGER_S

    # ------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport):
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.loop = asyncio.get_running_loop()
        self.broker.connections.add(self)
        self.timer = self.loop.call_later(self.broker.connect_timeout_s, self.close)

    def data_received(self, data):
        if self.transport is None:
            return  # closing: what a refused client still sends is ignored
        if self.buffer:  # the rest of a packet begun in an earlier read
            self.buffer += data
            buf = self.buffer
        else:
            buf = data
        start = 0
        try:
            while self.transport is not None:
                header = fixed_header(buf, start)
                if header is None:
                    break
                length, size = header
                limit = self.broker.max_packet if self.session else self.broker.max_connect_packet
                if size + length > limit:  # refused before its bytes are held
                    raise ProtocolViolation(f"packet of {size + length} bytes", PACKET_TOO_LARGE)
                end = start + size + length
                if len(buf) < end:
                    break
                first = buf[start]
                body = bytes(buf[start + size:end])
                start = end
                self.handle(first >> 4, first & 15, body)
        except ProtocolViolation as violation:
            self.refuse(violation.reason)
            return
        self.buffer = bytearray(buf[start:])  # the start of a packet whose end is still to come
        if start:
            self.last_packet_at = self.loop.time()

    def connection_lost(self, exc):
        self.transport = self.lingering = None
        if self.timer is not None:
            self.timer.cancel()
        self.broker.connections.discard(self)
        if self.session is not None:
            self.broker.connection_ended(self, self.clean_exit)
            self.session = None

    def pause_writing(self):
        self.write_paused = True
        if self.transport is not None:
            self.transport.pause_reading()  # and no more of its requests until it reads our answers

    def resume_writing(self):
        self.write_paused = False
        if self.transport is not None:
            self.transport.resume_reading()
            if self.session is not None:
                self.session.pump()

    # ------------------------------------------------------------ writing

    def write(self, data: bytes) -> None:
        if self.transport is None:
            return
        if not self.out:
            self.loop.call_soon(self.flush)
        self.out.append(data)
        self.out_bytes += len(data)

    def flush(self) -> None:
        if self.out and self.transport is not None:
            self.transport.write(b"".join(self.out))
        self.out.clear()
        self.out_bytes = 0
        if self.session is not None and self.session.queue and self.can_write():
            self.session.pump()

    def can_write(self) -> bool:
        return not self.write_paused and self.out_bytes < WRITE_HIGH_WATER

    def close(self, linger: bool = False) -> None:
        """End the connection; unless it ended with DISCONNECT, as if the network had failed
        (its will goes out). With ``linger``, let the client read what was written first: our
        side ends (FIN), what it still sends is ignored, and the socket closes when it closes
        its own, or after LINGER_S. (Closed at once while it is still sending, it would get a
        reset, and lose the DISCONNECT that says why.)"""
        transport = self.transport
        if transport is None:
            return
        self.flush()
        self.transport = None  # nothing more is read or written
        if self.session is not None:
            self.broker.connection_ended(self, self.clean_exit)
            self.session = None
        if linger and transport.can_write_eof():
            transport.write_eof()
            self.lingering = transport
            self.loop.call_later(LINGER_S, transport.close)
        else:
            transport.close()

    def refuse(self, reason: int) -> None:
        """A broken rule: tell a v5 client why, then close."""
        if self.v5 and self.transport is not None:
            if self.session is not None:
                self.write(packet(DISCONNECT, 0, bytes([reason])))
            else:
                self.write(packet(CONNACK, 0, bytes([0, reason, 0])))
        self.close(linger=self.v5)

    def taken_over(self) -> None:
        """Another connection took this client id: close without touching the session."""
        if self.v5:
            self.write(packet(DISCONNECT, 0, bytes([SESSION_TAKEN_OVER])))
        self.session = None
        self.close(linger=self.v5)

    def ack(self, kind: int, packet_id: int, reason: int = 0) -> None:
        body = struct.pack("!H", packet_id) + (bytes([reason]) if self.v5 and reason else b"")
        self.write(packet(kind, 2 if kind == PUBREL else 0, body))

    # ------------------------------------------------------------ packets

    def handle(self, kind: int, flags: int, body: bytes) -> None:
        if self.session is None:
            if kind != CONNECT:
                raise ProtocolViolation("the first packet is not CONNECT")
            return self.handle_connect(flags, body)
        if kind != PUBLISH and flags != FLAGS.get(kind, 0):
            raise MalformedPacket(f"packet type {kind} with flags {flags}")
        r = Reader(body)
        if kind == PUBLISH:
            self.handle_publish(flags, r)
        elif kind == PUBACK:
            self.outbound_done(r.packet_id(), qos=1)
        elif kind == PUBREC:
            self.handle_pubrec(r.packet_id(), r.byte() if body[2:] else 0)
        elif kind == PUBREL:
            packet_id = r.packet_id()
            found = packet_id in self.session.awaiting_pubrel
            self.session.awaiting_pubrel.discard(packet_id)
            self.ack(PUBCOMP, packet_id, 0 if found else NOT_FOUND)
        elif kind == PUBCOMP:
            self.outbound_done(r.packet_id(), qos=2)
        elif kind == SUBSCRIBE:
            self.handle_subscribe(r)
        elif kind == UNSUBSCRIBE:
            self.handle_unsubscribe(r)
        elif kind == PINGREQ:
            self.write(packet(PINGRESP, 0, b""))
        elif kind == DISCONNECT:
            self.handle_disconnect(r)
        elif kind in (CONNECT, AUTH):
            raise ProtocolViolation("a second CONNECT" if kind == CONNECT else "AUTH without an authentication method")
        else:
            raise MalformedPacket(f"packet type {kind} from a client")

    def handle_connect(self, flags: int, body: bytes) -> None:
        r = Reader(body)
        name, self.version = r.str(), r.byte()
        self.v5 = self.version == 5
        if (name, self.version) not in PROTOCOLS:
            if name in ("MQTT", "MQIsdp"):  # 0x01: unacceptable protocol version, in 3.1.1's form
                self.write(packet(CONNACK, 0, b"\x00\x01"))
            return self.close()
        connect_flags = r.byte()
        if flags or connect_flags & 0x01:
            raise MalformedPacket("reserved flag set in CONNECT")
        clean, will_flag, will_qos = bool(connect_flags & 0x02), connect_flags & 0x04, (connect_flags >> 3) & 3
        if will_qos == 3 or (not will_flag and connect_flags & 0x38):
            raise MalformedPacket("will QoS or will retain without a will")
        if not self.v5 and connect_flags & 0x40 and not connect_flags & 0x80:
            raise MalformedPacket("password without user name")
        self.keepalive_s = r.int2()
        values = r.properties(CONNECT)[1] if self.v5 else {}
        if values.get(RECEIVE_MAXIMUM) == 0 or values.get(MAXIMUM_PACKET_SIZE) == 0:
            raise ProtocolViolation("Receive Maximum or Maximum Packet Size 0")
        self.receive_maximum = values.get(RECEIVE_MAXIMUM, self.receive_maximum)
        self.maximum_packet_size = values.get(MAXIMUM_PACKET_SIZE, self.maximum_packet_size)
        client_id = r.str()
        will, will_delay_s = self.read_will(r, will_qos, bool(connect_flags & 0x20)) if will_flag else (None, 0)
        if connect_flags & 0x80:
            r.str()  # user name: anyone may connect
        if connect_flags & 0x40:
            r.bin()  # password
        if not r.at_end():
            raise MalformedPacket("bytes after the CONNECT payload")
        if AUTH_METHOD in values:  # no extended authentication here
            self.write(packet(CONNACK, 0, bytes([0, BAD_AUTH_METHOD, 0])))
            return self.close()
        assigned = not client_id
        if assigned and not clean and not self.v5:  # 0x02: identifier rejected [MQTT-3.1.3-8]
            self.write(packet(CONNACK, 0, b"\x00\x02"))
            return self.close()
        if assigned:
            client_id = "kit-" + uuid.uuid4().hex[:12]
        expiry_s = values.get(SESSION_EXPIRY, 0) if self.v5 else (0 if clean else NEVER)
        self.timer.cancel()
        self.session, present = self.broker.open_session(self, client_id, clean, expiry_s)
        self.session.will, self.session.will_delay_s = will, will_delay_s
        self.last_packet_at = self.loop.time()
        if self.keepalive_s:
            self.timer = self.loop.call_later(self.keepalive_s * 1.5, self.check_keepalive)
        self.write(packet(CONNACK, 0, bytes([present, 0]) + (self.connack_properties(assigned) if self.v5 else b"")))
        self.session.resend()

    def read_will(self, r: Reader, qos: int, retain: bool) -> tuple[Message, int]:
        """The will in a CONNECT, and its Will Delay Interval."""
        props, values = r.properties(WILL) if self.v5 else ([], {})
        forwarded = b"".join(bytes([i]) + v for i, v in props if i not in (WILL_DELAY, MESSAGE_EXPIRY))
        will = Message(r.str(), r.bin(), qos, retain, forwarded, values.get(MESSAGE_EXPIRY))
        if not valid_topic(will.topic):
            raise ProtocolViolation("will topic is not a valid topic name")
        return will, values.get(WILL_DELAY, 0)

    def connack_properties(self, assigned: bool) -> bytes:
        """What the client must know of this broker: every limit it enforces, nothing it lacks."""
        broker = self.broker
        props = [(RECEIVE_MAXIMUM, struct.pack("!H", broker.receive_maximum)),
                 (TOPIC_ALIAS_MAXIMUM, struct.pack("!H", broker.topic_alias_maximum)),
                 (MAXIMUM_PACKET_SIZE, struct.pack("!I", broker.max_packet))]
        if assigned:
            props.append((ASSIGNED_CLIENT_ID, utf8(self.session.client_id)))
        return encode_properties(props)

    def check_keepalive(self) -> None:
        silent_s, limit_s = self.loop.time() - self.last_packet_at, self.keepalive_s * 1.5
        if silent_s >= limit_s:
            return self.close()
        self.timer = self.loop.call_later(limit_s - silent_s, self.check_keepalive)

    def handle_publish(self, flags: int, r: Reader) -> None:
        qos, retain = (flags >> 1) & 3, bool(flags & 1)
        if qos == 3:
            raise MalformedPacket("QoS 3")
        topic, encoded_topic = r.str_and_bytes()
        packet_id = r.packet_id() if qos else 0
        properties, expiry_s = b"", None
        if self.v5:
            raw, values = r.properties(PUBLISH)
            if raw:
                if TOPIC_ALIAS in values:
                    topic, encoded_topic = self.topic_from_alias(topic, values[TOPIC_ALIAS]), None
                expiry_s = values.get(MESSAGE_EXPIRY)
                properties = b"".join(bytes([i]) + v for i, v in raw if i != TOPIC_ALIAS and i != MESSAGE_EXPIRY)
        if not valid_topic(topic):
            raise ProtocolViolation(f"not a topic name: {topic!r}")
        msg = Message(topic, r.rest(), qos, retain, properties, expiry_s, encoded_topic)
        session = self.session
        if qos == 2:
            if packet_id not in session.awaiting_pubrel:  # a resent QoS 2 message is delivered once
                if self.v5 and len(session.awaiting_pubrel) >= self.broker.receive_maximum:
                    raise ProtocolViolation("more QoS 2 messages than Receive Maximum", RECEIVE_MAXIMUM_EXCEEDED)
                session.awaiting_pubrel.add(packet_id)
                self.broker.publish(msg, session)
            self.ack(PUBREC, packet_id)
        elif qos == 1:  # v5: PUBACK 0x10 when no one subscribes to it, as Mosquitto
            delivered = self.broker.publish(msg, session)
            self.ack(PUBACK, packet_id, 0 if delivered else NO_SUBSCRIBERS)
        else:
            self.broker.publish(msg, session)

    def topic_from_alias(self, topic: str, alias: int) -> str:
        """A client's topic alias: set with a topic, used without one [MQTT-3.3.2-7..12]."""
        if alias == 0 or alias > self.broker.topic_alias_maximum:
            raise ProtocolViolation(f"topic alias {alias}", TOPIC_ALIAS_INVALID)
        if topic:
            self.aliases[alias] = topic
            return topic
        if alias not in self.aliases:
            raise ProtocolViolation(f"topic alias {alias} was never set")
        return self.aliases[alias]

    def outbound_done(self, packet_id: int, qos: int) -> None:
        d = self.session.inflight.get(packet_id)
        if d is not None and d.qos == qos and (qos == 1 or d.released):
            self.session.acknowledged(packet_id)

    def handle_pubrec(self, packet_id: int, reason: int) -> None:
        d = self.session.inflight.get(packet_id)
        if d is None or d.qos != 2:
            return self.ack(PUBREL, packet_id, NOT_FOUND)
        if reason >= 0x80:  # the client refused it: the exchange ends here
            return self.session.acknowledged(packet_id)
        d.released = True
        self.ack(PUBREL, packet_id)

    def handle_subscribe(self, r: Reader) -> None:
        packet_id, identifier = r.packet_id(), None
        if self.v5:
            identifier = r.properties(SUBSCRIBE)[1].get(SUBSCRIPTION_ID)
            if identifier == 0:
                raise ProtocolViolation("subscription identifier 0")
        if r.at_end():
            raise ProtocolViolation("SUBSCRIBE without a topic filter")
        codes, retained_for = [], []
        while not r.at_end():
            topic_filter, options = r.str(), r.byte()
            if options & (0xC0 if self.v5 else 0xFC) or (options & 3) == 3 or (options & 0x30) == 0x30:
                raise MalformedPacket(f"subscription options 0x{options:02x}")
            try:
                share, plain_filter = shared(topic_filter)
            except ValueError:
                share, plain_filter = None, ""
            if not valid_filter(plain_filter):
                codes.append(0x8F if self.v5 else 0x80)  # topic filter invalid
                continue
            no_local = self.v5 and bool(options & 4)
            if share and no_local:
                raise ProtocolViolation("no local on a shared subscription")  # [MQTT-3.8.3-4]
            sub = Subscription(plain_filter, options & 3, no_local, self.v5 and bool(options & 8), identifier, share)
            is_new = self.broker.subscribe(self.session, topic_filter, sub)
            codes.append(sub.qos)
            retain_handling = (options >> 4) & 3 if self.v5 else 0
            if not share and (retain_handling == 0 or (retain_handling == 1 and is_new)):
                retained_for.append(sub)
        self.write(packet(SUBACK, 0, struct.pack("!H", packet_id) + (b"\x00" if self.v5 else b"") + bytes(codes)))
        for sub in retained_for:  # after the SUBACK, as clients expect
            for msg in self.broker.retained_for(sub):
                self.session.deliver(Delivery(msg, min(sub.qos, msg.qos), True, (identifier,) if identifier else ()))

    def handle_unsubscribe(self, r: Reader) -> None:
        packet_id = r.packet_id()
        if self.v5:
            r.properties(UNSUBSCRIBE)
        if r.at_end():
            raise ProtocolViolation("UNSUBSCRIBE without a topic filter")
        codes = []
        while not r.at_end():
            codes.append(0 if self.broker.unsubscribe(self.session, r.str()) else 0x11)  # 0x11: no subscription
        self.write(packet(UNSUBACK, 0, struct.pack("!H", packet_id) + (b"\x00" + bytes(codes) if self.v5 else b"")))

    def handle_disconnect(self, r: Reader) -> None:
        reason = 0
        if self.v5 and not r.at_end():
            reason = r.byte()
            if not r.at_end():
                expiry_s = r.properties(DISCONNECT)[1].get(SESSION_EXPIRY)
                if expiry_s is not None:
                    if self.session.expiry_s == 0 and expiry_s:
                        raise ProtocolViolation("Session Expiry set on DISCONNECT after 0 on CONNECT")
                    self.session.expiry_s = expiry_s
        self.clean_exit = reason != 0x04  # 0x04: disconnect, and send my will
        self.close()

