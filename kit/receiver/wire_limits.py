"""A bound on what decoding an OTLP protobuf will cost, read from the wire format alone.

Protobuf's decoder allocates a message object for every sub-message it meets, about 60
to 170 bytes each, whatever its size on the wire: 16 MB of two-byte empty messages
becomes 8 million objects and more than a gigabyte. So before decoding, the receiver
asks :func:`check` how many messages a body can hold, and refuses one that holds more
than ``MAX_MESSAGES`` (:class:`TooMany`).

The walk only opens what could matter: a sub-message of at most ``OPEN_BYTES`` bytes
is counted as the most it could hold (one message per two bytes) without being read,
and a body no bigger than ``2 * MAX_MESSAGES`` bytes is not read at all. An SDK's
batch (a few hundred spans of a few hundred bytes) costs a few hundred steps.

    >>> check(body, ExportTraceServiceRequest.DESCRIPTOR)   # None, or raises TooMany / Malformed
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor

MAX_MESSAGES = 500_000   # about 50 MB of decoded objects at most
OPEN_BYTES = 512         # smaller sub-messages are counted as len // 2, not read
MAX_DEPTH = 100          # as protobuf's own decoder


class TooMany(ValueError):
    """The body holds more messages than the receiver decodes in one request."""


class Malformed(ValueError):
    """The body is not a protobuf encoding."""


_MESSAGE_FIELDS: dict = {}


def _message_fields(descriptor) -> dict:
    """Field number → descriptor of the sub-message, for the message-typed fields."""
    fields = _MESSAGE_FIELDS.get(descriptor.full_name)
    if fields is None:
        fields = {f.number: f.message_type for f in descriptor.fields
                  if f.type == FieldDescriptor.TYPE_MESSAGE}
        _MESSAGE_FIELDS[descriptor.full_name] = fields
    return fields


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise Malformed("a number runs past its message")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def check(body: bytes, descriptor, limit: int | None = None) -> None:
    """Raise :class:`TooMany` if ``body``, read as ``descriptor``'s message, may hold more
    than ``limit`` (default ``MAX_MESSAGES``) messages; :class:`Malformed` if its framing
    is broken. Cheap: see the module's docstring."""
    limit = MAX_MESSAGES if limit is None else limit
    if len(body) // 2 <= limit:
        return
    count = 1
    stack = [(descriptor, 0, len(body), 0)]
    while stack:
        desc, pos, end, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Malformed("messages nest too deeply")
        fields = _message_fields(desc)
        while pos < end:
            tag, pos = _varint(body, pos, end)
            wire = tag & 7
            if wire == 0:
                _, pos = _varint(body, pos, end)
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            elif wire == 2:
                size, pos = _varint(body, pos, end)
                sub = fields.get(tag >> 3)
                if sub is not None:
                    if size > OPEN_BYTES:
                        stack.append((sub, pos, pos + size, depth + 1))
                        count += 1
                    else:
                        count += 1 + size // 2
                    if count > limit:
                        raise TooMany(f"more than {limit:,} messages in one request: send smaller batches")
                pos += size
            else:
                raise Malformed(f"wire type {wire} is not used by OTLP")
            if pos > end:
                raise Malformed("a field runs past its message")
