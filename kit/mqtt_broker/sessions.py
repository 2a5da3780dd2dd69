"""What the broker keeps for each client id, connected or not: its session (MQTT 5.0 §4.1).

A session holds the client's subscriptions; the QoS 1 and 2 messages sent to it and not
yet acknowledged (sent again, DUP set, when it comes back); the messages waiting to go
out (while it is offline, or while flow control holds them back); and the ids of the
QoS 2 messages it sent that wait for their PUBREL. A clean session ends with its
connection; a persistent one (Clean Start 0 with a Session Expiry Interval, or 3.1.1's
CleanSession 0) outlives it, and gets its QoS 1 and 2 messages when it reconnects.

Flow control: at most the client's Receive Maximum QoS 1/2 messages in flight (20, as in
Mosquitto, when the client states none); messages go out in the order they came, so a QoS 0
message waits behind a QoS 1 one held back. Backpressure: nothing is written to a client
whose socket is full; its messages wait in its queue, which holds at most
``max_queued_messages`` messages and ``max_queued_bytes`` bytes (in flight included).
Beyond that a message is dropped, and the log (``kit.mqtt_broker``) says so.
"""

from __future__ import annotations

import logging
import math
import struct
import time
from collections import deque
from dataclasses import dataclass, field

from kit.mqtt_broker.codec import MESSAGE_EXPIRY, PUBLISH, PUBREL, SUBSCRIPTION_ID, packet, utf8, varint

NEVER = 0xFFFFFFFF  # a Session Expiry Interval that never ends
log = logging.getLogger("kit.mqtt_broker")


@dataclass(eq=False, slots=True)
class Message:
    """An application message as the broker holds it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: bytes = b""  # encoded v5 properties, forwarded as they came (not expiry, not alias)
    expiry_s: int | None = None  # its Message Expiry Interval, if it has one
    encoded_topic: bytes | None = None  # the topic as it goes out, length first (made if not given)
    received_at: float = field(default_factory=time.monotonic)
    size: int = 0  # bytes it holds in a queue

    def __post_init__(self):
        if self.encoded_topic is None:
            self.encoded_topic = utf8(self.topic)
        self.size = len(self.encoded_topic) + len(self.payload) + len(self.properties)

    def seconds_left(self) -> int | None:
        """What is left of its expiry interval, rounded up (None: it never expires; 0: it has)."""
        if self.expiry_s is None:
            return None
        return max(0, math.ceil(self.expiry_s - (time.monotonic() - self.received_at)))


@dataclass(eq=False, slots=True)
class Subscription:
    topic_filter: str  # without the $share/group/ prefix
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    identifier: int | None = None
    share: str | None = None  # the group of a shared subscription


@dataclass(eq=False, slots=True)
class Delivery:
    """One message on its way to one session, at the QoS it goes out with."""

    message: Message
    qos: int
    retain: bool
    identifiers: tuple = ()
    packet_id: int = 0
    released: bool = False  # QoS 2: PUBREC came back, PUBREL went out


def publish_packet(d: Delivery, v5: bool, dup: bool = False) -> bytes:
    msg = d.message
    body = [msg.encoded_topic]
    if d.qos:
        body.append(struct.pack("!H", d.packet_id))
    if v5:
        props = msg.properties
        if msg.expiry_s is not None:  # the time left, not the interval it came with [MQTT-3.3.2-6]
            props += bytes([MESSAGE_EXPIRY]) + struct.pack("!I", msg.seconds_left())
        for identifier in d.identifiers:
            props += bytes([SUBSCRIPTION_ID]) + varint(identifier)
        body.append(varint(len(props)))
        body.append(props)
    body.append(msg.payload)
    return packet(PUBLISH, dup << 3 | d.qos << 1 | d.retain, b"".join(body))


class Session:
    """One client id's state; ``connection`` is its Connection while it is connected."""

    def __init__(self, broker, client_id: str, expiry_s: int = 0):
        self.broker, self.client_id, self.expiry_s = broker, client_id, expiry_s
        self.connection = None
        self.subscriptions: dict[str, Subscription] = {}  # by the filter as subscribed, $share/ included
        self.inflight: dict[int, Delivery] = {}  # by packet id, oldest first
        self.queue: deque[Delivery] = deque()
        self.held_bytes = 0  # of the messages queued and in flight
        self.awaiting_pubrel: set[int] = set()
        self.will = None  # its connection's will Message, and how long to hold it back
        self.will_delay_s = 0
        self.will_timer = self.expiry_timer = None
        self.dropped = 0
        self._last_id = 0

    def deliver(self, d: Delivery) -> None:
        """Queue a message for this client and send what flow control lets through."""
        if self.connection is None and d.qos == 0:
            return  # an offline client gets its QoS 1 and 2 messages later, not QoS 0 (as Mosquitto)
        broker = self.broker
        if len(self.queue) >= broker.max_queued_messages or (
                self.held_bytes and self.held_bytes + d.message.size > broker.max_queued_bytes):
            self._drop(d)
            return
        self.queue.append(d)
        self.held_bytes += d.message.size
        if self.connection is not None:
            self.pump()

    def pump(self) -> None:
        """Send queued messages while the socket takes them and the client's Receive Maximum allows."""
        conn, queue, inflight = self.connection, self.queue, self.inflight
        while queue and conn.can_write():
            d = queue[0]
            if d.qos and len(inflight) >= conn.receive_maximum:
                return
            queue.popleft()
            if d.message.expiry_s is not None and d.message.seconds_left() == 0:  # expired [MQTT-3.3.2-5]
                self.held_bytes -= d.message.size
                continue
            if d.qos:
                d.packet_id = self._free_packet_id()
            data = publish_packet(d, conn.v5)
            if len(data) > conn.maximum_packet_size:  # discarded, as if sent [MQTT-3.1.2-25]
                self.held_bytes -= d.message.size
                continue
            if d.qos:
                inflight[d.packet_id] = d
            else:
                self.held_bytes -= d.message.size
            conn.write(data)
        if self.dropped and not queue:
            log.warning("client %s: its queue is empty again; %d messages were dropped", self.client_id, self.dropped)
            self.dropped = 0

    def acknowledged(self, packet_id: int) -> None:
        """PUBACK, PUBCOMP (or a failed PUBREC): that message is done; the next may go."""
        self.held_bytes -= self.inflight.pop(packet_id).message.size
        if self.connection is not None:
            self.pump()

    def resend(self) -> None:
        """After a reconnect: what was in flight goes again, in order (DUP set), then the queue."""
        conn = self.connection
        for packet_id, d in list(self.inflight.items()):
            if d.released:
                conn.write(packet(PUBREL, 2, struct.pack("!H", packet_id)))
                continue
            data = publish_packet(d, conn.v5, dup=True)
            if len(data) > conn.maximum_packet_size:  # this connection takes less than the last one did
                self.held_bytes -= self.inflight.pop(packet_id).message.size
            else:
                conn.write(data)
        self.pump()

    def went_offline(self) -> None:
        """Its connection is gone: QoS 0 messages still queued are not kept."""
        kept = deque(d for d in self.queue if d.qos)
        self.held_bytes -= sum(d.message.size for d in self.queue) - sum(d.message.size for d in kept)
        self.queue = kept

    def cancel_timers(self) -> None:
        for timer in (self.will_timer, self.expiry_timer):
            if timer is not None:
                timer.cancel()
        self.will_timer = self.expiry_timer = None

    def _free_packet_id(self) -> int:
        for _ in range(65535):  # pump() keeps fewer than 65535 in flight, so one is free
            self._last_id = self._last_id % 65535 + 1
            if self._last_id not in self.inflight:
                return self._last_id
        raise RuntimeError("no free packet id")

    def _drop(self, d: Delivery) -> None:
        if not self.dropped:
            log.warning("client %s: outgoing queue full (%d messages, %d bytes): messages are being dropped, "
                        "the first on %r at QoS %d", self.client_id, len(self.queue), self.held_bytes,
                        d.message.topic, d.qos)
        self.dropped += 1
