"""Trace context over MQTT, the W3C way, as OpenTelemetry Getter/Setter pairs.

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

The rules, so telemetry never costs a message:

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
field). That is this kit's own convention: the W3C draft covers only trace
context.

The code lives in the paho-mqtt instrumentation, which writes and reads the context
the same way (:mod:`opentelemetry.instrumentation.paho_mqtt.propagation`); this module
gives the lessons its names. Read one with ``??``, e.g. ``UserPropertiesGetter??``.
"""

from opentelemetry.instrumentation.paho_mqtt.propagation import (
    JsonGetter,
    UserPropertiesGetter,
    UserPropertiesSetter,
    carries_valid_traceparent,
    extract_json_payload,
    extract_user_properties,
    inject_json_payload,
    inject_user_properties,
    json_getter,
    json_object,
    user_properties_getter,
    user_properties_setter,
    user_property_pairs,
    without_members,
)

__all__ = ["user_properties_getter", "user_properties_setter", "json_getter",
           "inject_user_properties", "extract_user_properties",
           "inject_json_payload", "extract_json_payload", "json_object", "carries_valid_traceparent",
           "UserPropertiesGetter", "UserPropertiesSetter", "JsonGetter", "user_property_pairs", "without_members"]
