"""MQTT packets as bytes: the fixed header, the field types, v5 properties, and the rules
a packet must keep (MQTT 5.0 §1.5, §2; 3.1.1 §1.5, §2). Nothing here knows about sessions.

A packet that breaks a rule raises :class:`ProtocolViolation`, whose ``reason`` is the v5
reason code the broker sends in its DISCONNECT (or CONNACK) before it closes the connection.
"""

from __future__ import annotations

import re
import struct

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = 8, 9, 10, 11, 12, 13, 14, 15

# v5 reason codes the broker sends
MALFORMED, PROTOCOL_ERROR, SESSION_TAKEN_OVER = 0x81, 0x82, 0x8E
RECEIVE_MAXIMUM_EXCEEDED, TOPIC_ALIAS_INVALID, PACKET_TOO_LARGE = 0x93, 0x94, 0x95

# v5 property identifiers, how each is encoded, and the packets a client may send it in
(PAYLOAD_FORMAT, MESSAGE_EXPIRY, CONTENT_TYPE, RESPONSE_TOPIC, CORRELATION_DATA, SUBSCRIPTION_ID,
 SESSION_EXPIRY, ASSIGNED_CLIENT_ID, AUTH_METHOD, AUTH_DATA, REQUEST_PROBLEM_INFO, WILL_DELAY,
 REQUEST_RESPONSE_INFO, SERVER_REFERENCE, REASON_STRING, RECEIVE_MAXIMUM, TOPIC_ALIAS_MAXIMUM, TOPIC_ALIAS,
 USER_PROPERTY, MAXIMUM_PACKET_SIZE) = (0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x11, 0x12, 0x15, 0x16, 0x17, 0x18,
                                        0x19, 0x1C, 0x1F, 0x21, 0x22, 0x23, 0x26, 0x27)
PROPERTY_TYPES = {
    PAYLOAD_FORMAT: "byte", MESSAGE_EXPIRY: "int4", CONTENT_TYPE: "str", RESPONSE_TOPIC: "str",
    CORRELATION_DATA: "bin", SUBSCRIPTION_ID: "varint", SESSION_EXPIRY: "int4", AUTH_METHOD: "str",
    AUTH_DATA: "bin", REQUEST_PROBLEM_INFO: "byte", WILL_DELAY: "int4", REQUEST_RESPONSE_INFO: "byte",
    SERVER_REFERENCE: "str", REASON_STRING: "str", RECEIVE_MAXIMUM: "int2", TOPIC_ALIAS_MAXIMUM: "int2",
    TOPIC_ALIAS: "int2", USER_PROPERTY: "pair", MAXIMUM_PACKET_SIZE: "int4",
}
WILL = "will"  # the will's properties, inside CONNECT
ALLOWED_FROM_CLIENT = {
    CONNECT: {SESSION_EXPIRY, AUTH_METHOD, AUTH_DATA, REQUEST_PROBLEM_INFO, REQUEST_RESPONSE_INFO,
              RECEIVE_MAXIMUM, TOPIC_ALIAS_MAXIMUM, USER_PROPERTY, MAXIMUM_PACKET_SIZE},
    WILL: {PAYLOAD_FORMAT, MESSAGE_EXPIRY, CONTENT_TYPE, RESPONSE_TOPIC, CORRELATION_DATA, WILL_DELAY,
           USER_PROPERTY},
    PUBLISH: {PAYLOAD_FORMAT, MESSAGE_EXPIRY, CONTENT_TYPE, RESPONSE_TOPIC, CORRELATION_DATA, TOPIC_ALIAS,
              USER_PROPERTY},
    PUBACK: {REASON_STRING, USER_PROPERTY}, PUBREC: {REASON_STRING, USER_PROPERTY},
    PUBREL: {REASON_STRING, USER_PROPERTY}, PUBCOMP: {REASON_STRING, USER_PROPERTY},
    SUBSCRIBE: {SUBSCRIPTION_ID, USER_PROPERTY}, UNSUBSCRIBE: {USER_PROPERTY},
    DISCONNECT: {SESSION_EXPIRY, REASON_STRING, SERVER_REFERENCE, USER_PROPERTY},
}
# U+0000 is forbidden in MQTT strings [MQTT-1.5.4-2]; control characters and non-characters
# may be refused [MQTT-1.5.4-3]: Mosquitto refuses them, and so does this broker
FORBIDDEN_IN_STRINGS = re.compile("[\x00-\x1f\x7f-\x9f\ufdd0-\ufdef"
                                  + "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF)
                                            for plane in range(17)) + "]")


class ProtocolViolation(Exception):
    """The client broke a rule of the protocol; ``reason`` is the v5 reason code it is told."""

    def __init__(self, message: str, reason: int = PROTOCOL_ERROR):
        super().__init__(message)
        self.reason = reason


class MalformedPacket(ProtocolViolation):
    """A packet that cannot be read as the protocol says (v5 reason 0x81)."""

    def __init__(self, message: str):
        super().__init__(message, MALFORMED)


# ---------------------------------------------------------------- writing

def varint(n: int) -> bytes:
    """A variable byte integer: 7 bits a byte, low bits first [MQTT-1.5.5]."""
    if n < 128:
        return bytes((n,))
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


def encode_properties(props: list[tuple[int, bytes]]) -> bytes:
    """(identifier, encoded value) pairs as a v5 property block, its length first."""
    body = b"".join(varint(ident) + value for ident, value in props)
    return varint(len(body)) + body


# ---------------------------------------------------------------- reading

def fixed_header(data, start: int = 0) -> tuple[int, int] | None:
    """(remaining length, header size) of the packet at ``data[start:]``, or None if more bytes are needed."""
    length, shift = 0, 0
    for i in range(start + 1, min(start + 5, len(data))):
        length |= (data[i] & 127) << shift
        if not data[i] & 128:
            return length, i + 1 - start
        shift += 7
    if len(data) >= start + 5:
        raise MalformedPacket("remaining length longer than 4 bytes")
    return None


class Reader:
    """Reads the fields of one packet's body, refusing what the protocol forbids."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise MalformedPacket("packet shorter than its fields")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise MalformedPacket("packet shorter than its fields")
        self.pos += 1
        return self.data[self.pos - 1]

    def int2(self) -> int:
        data, pos = self.data, self.pos
        if pos + 2 > len(data):
            raise MalformedPacket("packet shorter than its fields")
        self.pos = pos + 2
        return data[pos] << 8 | data[pos + 1]

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
        return self.str_and_bytes()[0]

    def str_and_bytes(self) -> tuple[str, bytes]:
        """A string, and its bytes as they came, length first (to send on unchanged)."""
        start = self.pos
        try:
            s = self.bin().decode("utf-8")  # refuses surrogates and overlong forms too
        except UnicodeDecodeError:
            raise MalformedPacket("string is not UTF-8") from None
        if FORBIDDEN_IN_STRINGS.search(s):
            raise MalformedPacket("string holds U+0000, a control character or a non-character")
        return s, self.data[start:self.pos]

    def packet_id(self) -> int:
        packet_id = self.int2()
        if packet_id == 0:
            raise ProtocolViolation("packet identifier 0")
        return packet_id

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def properties(self, packet_kind) -> tuple[list[tuple[int, bytes]], dict[int, object]]:
        """A v5 property block: every property as (identifier, encoded value), in order (to
        forward unchanged), and the decoded value of each one that may appear only once."""
        if self.data[self.pos:self.pos + 1] == b"\x00":  # none: the usual case
            self.pos += 1
            return [], {}
        end = self.varint() + self.pos
        raw, values = [], {}
        allowed = ALLOWED_FROM_CLIENT[packet_kind]
        while self.pos < end:
            ident, start = self.varint(), self.pos
            if ident not in allowed:
                raise ProtocolViolation(f"property 0x{ident:02x} is not allowed here", MALFORMED)
            kind = PROPERTY_TYPES[ident]
            value = (self.str(), self.str()) if kind == "pair" else getattr(self, kind)()
            if ident != USER_PROPERTY:
                if ident in values:
                    raise ProtocolViolation(f"property 0x{ident:02x} twice")
                values[ident] = value
            raw.append((ident, self.data[start:self.pos]))
        if self.pos != end:
            raise MalformedPacket("properties overrun their length")
        return raw, values
