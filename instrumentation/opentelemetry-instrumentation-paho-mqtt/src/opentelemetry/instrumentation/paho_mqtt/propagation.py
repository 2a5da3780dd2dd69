"""Trace context in MQTT messages, as OpenTelemetry Getter/Setter pairs: what the
instrumentation writes and reads, for code that propagates by hand.

MQTT v5 -- user properties (normative in the W3C "Trace Context: MQTT" draft)::

    props = Properties(PacketTypes.PUBLISH)
    propagate.inject(props, setter=user_properties_setter)     # adds ("traceparent", "00-…")
    client.publish(topic, payload, properties=props)
    ...
    ctx = propagate.extract(msg.properties, getter=user_properties_getter)   # in on_message

MQTT 3.1.1 -- JSON payloads (the draft's recommendation): ``traceparent`` and
``tracestate`` become fields of the outermost JSON object::

    payload = inject_json_payload(b'{"t": 21.5}')   # b'{"traceparent":"00-…","t": 21.5}'
    ctx = extract_json_payload(msg.payload)

Rules, so telemetry never costs a message:

* names are exactly ``traceparent`` / ``tracestate``, lower case;
* MQTT allows a user property key more than once: the getter returns every
  value in order (the W3C propagator then uses the first ``traceparent``);
* ``Properties.UserProperty = [...]`` *appends* in paho; the setter replaces
  the key instead, leaving the application's other properties as they were;
* a payload that is not a JSON object (binary, not UTF-8, an array, empty)
  is returned exactly as it was, and extracting from it gives no context;
* the application's own JSON fields are not touched: the context fields are
  written after the opening brace, every other byte stays the same;
* a context the sender already wrote is kept: a valid ``traceparent`` with its
  ``tracestate``. An invalid one is replaced, and its ``tracestate`` goes with it
  (a ``tracestate`` belongs to the ``traceparent`` beside it, never to another).

Baggage travels too, under the name ``baggage`` (a user property, or a JSON
field): the W3C draft covers only trace context.
"""

from __future__ import annotations

import json
import re

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter, Setter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["UserPropertiesGetter", "UserPropertiesSetter", "JsonGetter",
           "user_properties_getter", "user_properties_setter", "json_getter", "user_property_pairs",
           "inject_user_properties", "extract_user_properties",
           "inject_json_payload", "extract_json_payload", "json_object", "carries_valid_traceparent",
           "without_members"]


class UserPropertiesGetter(Getter):
    """Reads an MQTT v5 ``Properties`` (or None, as on 3.1.1 connections)."""

    def get(self, carrier, key: str) -> list[str] | None:
        values = [v for k, v in user_property_pairs(carrier) if k == key and isinstance(v, str)]
        return values or None

    def keys(self, carrier) -> list[str]:
        return list(dict.fromkeys(k for k, _ in user_property_pairs(carrier)))


class UserPropertiesSetter(Setter):
    """Writes one user property, replacing earlier values of that key only."""

    def set(self, carrier, key: str, value: str) -> None:
        pairs = [(k, v) for k, v in user_property_pairs(carrier) if k != key]
        pairs.append((key, value))
        # paho's Properties.__setattr__ would append to the old list; store the new one as is
        object.__setattr__(carrier, "UserProperty", pairs)


def user_property_pairs(carrier) -> list:
    """The ``(key, value)`` pairs of a ``Properties``' user properties; anything else in
    the list, or no list at all (None, a 3.1.1 message), is skipped."""
    pairs = getattr(carrier, "UserProperty", None) if carrier is not None else None
    return [p for p in pairs if isinstance(p, tuple) and len(p) == 2] if isinstance(pairs, list) else []


class JsonGetter(Getter):
    """Reads string fields of a parsed JSON object (a dict)."""

    def get(self, carrier: dict, key: str) -> list[str] | None:
        value = carrier.get(key) if isinstance(carrier, dict) else None
        return [value] if isinstance(value, str) else None

    def keys(self, carrier: dict) -> list[str]:
        return list(carrier) if isinstance(carrier, dict) else []


user_properties_getter = UserPropertiesGetter()
user_properties_setter = UserPropertiesSetter()
json_getter = JsonGetter()


def inject_user_properties(properties, context: Context | None = None) -> None:
    """Write the context's ``traceparent``/``tracestate``/``baggage`` into paho v5 ``Properties``."""
    propagate.inject(properties, context=context, setter=user_properties_setter)


def extract_user_properties(properties, context: Context | None = None) -> Context:
    """The context carried by a message's v5 user properties (an empty one if none or invalid)."""
    return propagate.extract(properties, context=context, getter=user_properties_getter)


def json_object(payload) -> dict | None:
    """The payload's outermost JSON object, or None if it is not one (never raises)."""
    try:
        text = payload.decode("utf-8") if isinstance(payload, (bytes, bytearray)) else payload
        value = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def inject_json_payload(payload, context: Context | None = None) -> bytes:
    """The payload with the context's fields added to its outermost JSON object.

    Returned unchanged (as bytes) when it is not a JSON object, when there is no
    context to add, or when it already carries a valid ``traceparent``: the
    sender's own context is kept. An invalid ``traceparent`` and any
    ``tracestate`` without a valid one are replaced by the context's."""
    data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload or b"")
    obj = json_object(data)
    if obj is None:
        return data
    fields: dict = {}
    propagate.inject(fields, context=context)
    if "traceparent" not in fields:
        return data
    if "traceparent" in obj or "tracestate" in obj:
        if carries_valid_traceparent(obj):
            return data
        try:
            data = without_members(data.decode("utf-8"), ("traceparent", "tracestate")).encode("utf-8")
        except (ValueError, IndexError):  # cannot happen for text json.loads read; never raise all the same
            return data
        obj = {k: v for k, v in obj.items() if k not in ("traceparent", "tracestate")}
    fields = {k: v for k, v in fields.items() if k not in obj}
    text = data.decode("utf-8")
    brace = text.index("{")
    inserted = ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in fields.items())
    return (text[:brace + 1] + inserted + ("," if obj else "") + text[brace + 1:]).encode("utf-8")


_w3c = TraceContextTextMapPropagator()


def carries_valid_traceparent(obj: dict) -> bool:
    """Does this parsed JSON object carry a ``traceparent`` field the W3C propagator accepts?"""
    ctx = _w3c.extract(obj, getter=json_getter)
    return trace.get_current_span(ctx).get_span_context().is_valid


_SPACE = re.compile(r"[ \t\n\r]*")


def without_members(text: str, names) -> str:
    """``text``, a JSON object, without its top-level members called ``names``; every
    other byte stays where it was (the members kept, the separators between them)."""
    decoder = json.JSONDecoder()
    i = _SPACE.match(text).end() + 1  # after "{"
    first = i = _SPACE.match(text, i).end()
    members = []  # (key, start, end, separator after it)
    while text[i] != "}":
        key, j = json.decoder.scanstring(text, i + 1)
        j = _SPACE.match(text, j).end() + 1  # after ":"
        _, end = decoder.raw_decode(text, _SPACE.match(text, j).end())
        k = _SPACE.match(text, end).end()
        following = _SPACE.match(text, k + 1).end() if text[k] == "," else k
        members.append((key, i, end, text[end:following]))
        i = following
    kept = [m for m in members if m[0] not in names]
    if len(kept) == len(members):
        return text
    last_end = members[-1][2] if members else first
    body = "".join(text[start:end] + (sep if n < len(kept) - 1 else "")
                   for n, (_, start, end, sep) in enumerate(kept))
    return text[:first] + body + text[last_end:]


def extract_json_payload(payload, context: Context | None = None) -> Context:
    """The context carried in a JSON payload's ``traceparent``/``tracestate``/``baggage`` fields."""
    return propagate.extract(json_object(payload) or {}, context=context, getter=json_getter)
