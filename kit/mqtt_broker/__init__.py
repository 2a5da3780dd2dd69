"""A small MQTT broker (v5 and 3.1.1) in pure asyncio: the kit's embedded MQTT v5 path.

Why it exists: the lessons need an MQTT v5 broker (user properties carry the
trace context) that installs with pip alone. amqtt speaks 3.1.1 only;
moat-lib-mqtt's broker loses QoS 2 messages, drops a client that subscribes
before it has read CONNACK, and keeps user properties in a dict, merging
repeated keys that MQTT allows. This one is small enough to read, and the
tests hold it to Mosquitto: the same test runs on both, with the same outcome.

What it does: QoS 0, 1 and 2 both ways; retained messages; ``+``/``#`` filters
(not matching ``$`` topics at the first level); persistent sessions (Clean
Start 0 and a Session Expiry Interval, or 3.1.1's CleanSession 0: the
subscriptions stay, QoS 1 and 2 messages wait for an offline client and go out,
with DUP set if they had gone before, when it reconnects); message expiry; the
client's topic aliases; flow control (Receive Maximum both ways) and Maximum
Packet Size both ways; shared subscriptions (``$share/group/filter``: each
message to one member of the group); v5 subscription options (no-local,
retain-as-published, retain handling) and subscription identifiers; wills,
with their Will Delay Interval; keep-alive; every v5 PUBLISH property, user
properties included, forwarded unchanged and in order. What it leaves out:
sessions that survive a restart (they live in memory), topic aliases towards
the client, authentication and TLS. For anything beyond the lessons use
Mosquitto (``apt install mosquitto``).

Its limits (packet sizes, queue bounds, timeouts) are attributes of
:class:`MQTTBroker`. Read it in this order, one job per module:

* ``codec.py``: packets as bytes, and the rules a packet must keep;
* ``topics.py``: topic names and filters, shared subscriptions;
* ``subscriptions.py``: every session's subscriptions in a tree by topic level, so that a
  publish costs the same with 50,000 subscriptions held as with none;
* ``retained.py``: the retained messages in a tree by topic level, so that a new
  subscription finds its own without testing every one;
* ``sessions.py``: what is kept for a client id, flow control and its queue;
* ``connection.py``: one client's connection, packet by packet;
* ``server.py``: the broker, routing messages between sessions.

    >>> broker = MQTTBroker("127.0.0.1", 0)
    >>> port = await broker.start()      # inside an event loop; kit.broker runs one in a thread
    >>> await broker.stop()
"""

from kit.mqtt_broker.codec import (
    CONNACK, CONNECT, DISCONNECT, PINGREQ, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE,
    UNSUBACK, UNSUBSCRIBE, MalformedPacket, ProtocolViolation, Reader, encode_properties, packet, utf8, varint,
)
from kit.mqtt_broker.server import MQTTBroker
from kit.mqtt_broker.sessions import Message, Session, Subscription
from kit.mqtt_broker.topics import matches, valid_filter

__all__ = [
    "MQTTBroker", "Session", "Subscription", "Message", "matches", "valid_filter", "MalformedPacket",
    "ProtocolViolation", "Reader", "encode_properties", "packet", "utf8", "varint", "CONNECT", "CONNACK", "PUBLISH",
    "PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP",
    "DISCONNECT",
]
