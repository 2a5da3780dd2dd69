"""Where a message carries its context: read from the user properties (v5) or the JSON
payload (3.1.1, when asked), written into a copy of the application's properties, and
the fast packer for the PUBLISH properties the instrumentation makes itself.

Nothing here raises for a message the application or a broker sent: a malformed
carrier reads as "no context"."""

from __future__ import annotations

import copy

from opentelemetry import propagate, trace
from opentelemetry.propagators.textmap import Getter
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties, VariableByteIntegers

from opentelemetry.instrumentation.paho_mqtt.propagation import UserPropertiesSetter, json_getter, json_object, \
    user_property_pairs


class _CarrierGetter(Getter):
    """Reads the dict :func:`carrier` makes: every value of a key, in order."""

    def get(self, carrier: dict, key: str):
        return carrier.get(key)

    def keys(self, carrier: dict):
        return list(carrier)


_carrier_getter = _CarrierGetter()


def carrier(properties) -> dict[str, list[str]]:
    """A message's user properties as {key: [values in order]}: read once, not once per
    header the propagators ask for (as ``user_properties_getter`` does, for any carrier)."""
    found: dict = {}
    for key, value in user_property_pairs(properties):
        if isinstance(value, str):
            values = found.get(key)
            if values is None:
                found[key] = [value]
            else:
                values.append(value)
    return found


def existing_context(properties, payload, is_v5: bool, json_on: bool):
    """A valid traceparent the application already put on the message, as a span context (or None)."""
    if is_v5:
        found = carrier(properties) if properties is not None else {}
        if "traceparent" not in found:
            return None
        ctx = propagate.extract(found, getter=_carrier_getter)
    elif json_on and payload and b"traceparent" in payload:
        obj = json_object(payload)
        if not obj or "traceparent" not in obj:
            return None
        ctx = propagate.extract(obj, getter=json_getter)
    else:
        return None
    span_context = trace.get_current_span(ctx).get_span_context()
    return span_context if span_context.is_valid else None


def remote_context(message, is_v5: bool, json_on: bool):
    """The context a delivered message carries (None when it carries none)."""
    if is_v5:
        return propagate.extract(carrier(message.properties), getter=_carrier_getter) \
            if message.properties is not None else None
    if json_on:
        obj = json_object(message.payload)
        return propagate.extract(obj, getter=json_getter) if obj and "traceparent" in obj else None
    return None


class _ContextSetter(UserPropertiesSetter):
    """Writes the context's user properties, replacing the earlier values of a key,
    except the application's own ``baggage``: that one stays as the application set it."""

    def set(self, carrier, key: str, value: str) -> None:
        if key == "baggage" and any(k == "baggage" for k, _ in user_property_pairs(carrier)):
            return
        super().set(carrier, key, value)


_context_setter = _ContextSetter()


def with_context(properties, ctx):
    """The PUBLISH properties to send: the application's (a copy; theirs stays as it was)
    with the context written in. Called when the application set no valid traceparent:
    its invalid ``traceparent`` and any ``tracestate`` it set go (a tracestate belongs to
    the traceparent beside it), its other properties stay, its ``baggage`` included."""
    if properties is None:  # the usual case, kept short: the context's headers, in order
        headers: dict = {}
        propagate.inject(headers, ctx)
        if not headers:  # nothing to carry (no SDK, or a propagator that writes nothing)
            return None
        properties = _new_publish_properties()
        object.__setattr__(properties, "UserProperty", list(headers.items()))
        return properties
    properties = copy.copy(properties)
    pairs = user_property_pairs(properties)
    if any(k in ("traceparent", "tracestate") for k, _ in pairs):
        object.__setattr__(properties, "UserProperty", [p for p in pairs if p[0] not in ("traceparent", "tracestate")])
    propagate.inject(properties, ctx, _context_setter)
    return properties


class _ContextProperties(Properties):
    """The PUBLISH properties the instrumentation makes when the application
    passed none. They hold nothing but the context's user properties, so
    ``pack()`` writes those directly (paho's own walks all 27 property names,
    about 6 µs a message). Same bytes, checked in the tests; anything unusual
    goes to paho's ``pack()``."""

    def pack(self) -> bytes:
        pairs = self.__dict__.get("UserProperty")
        if len(self.__dict__) != _TEMPLATE_SIZE + 1 or not isinstance(pairs, list):
            return super().pack()
        out = bytearray()
        try:
            for name, value in pairs:
                name, value = name.encode("utf-8"), value.encode("utf-8")
                if len(name) > 65535 or len(value) > 65535:
                    return super().pack()  # paho's own error
                out += b"\x26%b%b%b%b" % (len(name).to_bytes(2, "big"), name, len(value).to_bytes(2, "big"), value)
        except (AttributeError, TypeError, ValueError):
            return super().pack()
        return VariableByteIntegers.encode(len(out)) + bytes(out)


_TEMPLATE = _ContextProperties(PacketTypes.PUBLISH).__dict__
_TEMPLATE_SIZE = len(_TEMPLATE)


def _new_publish_properties() -> Properties:
    """An empty PUBLISH ``Properties``, copied from a template (paho's constructor is slow)."""
    props = _ContextProperties.__new__(_ContextProperties)
    props.__dict__.update(_TEMPLATE)
    return props
