"""OpenTelemetry instrumentation for paho-mqtt 2.x: a PRODUCER span for every
publish, a CONSUMER span for every message delivered, W3C trace context carried
in the message, and the messaging metrics.

Usage
-----
In code::

    import paho.mqtt.client as mqtt
    from kit.instrumentation.paho import PahoMqttInstrumentor

    PahoMqttInstrumentor().instrument()          # every paho Client from now on

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("localhost", 1883)
    client.publish("sensors/temp", b'{"t": 21.5}')   # span "publish sensors/temp"

Without touching the code (``pip install`` registers the entry point ``paho_mqtt``)::

    opentelemetry-instrument python app.py
    OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=paho_mqtt opentelemetry-instrument python app.py   # off

One client only, with its own providers (two services in one process)::

    PahoMqttInstrumentor.instrument_client(client, tracer_provider=tp, meter_provider=mp)
    PahoMqttInstrumentor.uninstrument_client(client)

What you get
------------
* ``publish {topic}``, kind PRODUCER, with ``messaging.system="mqtt"``,
  ``messaging.operation.type="send"``, ``messaging.operation.name="publish"``,
  ``messaging.destination.name``, ``messaging.client.id``, ``server.address``,
  ``server.port``, ``network.protocol.name="mqtt"``, ``network.protocol.version``,
  ``messaging.mqtt.qos``, ``messaging.mqtt.retain``. Its context goes into the
  message: MQTT v5 user properties ``traceparent``/``tracestate`` (and ``baggage``);
  on 3.1.1, into a JSON payload's outermost object if you opt in. A
  ``traceparent`` the application already set is kept, and the span links to it.
  The span covers the ``publish()`` call; paho sends asynchronously.
* ``process {topic}``, kind CONSUMER, around your ``on_message`` or
  ``message_callback_add`` callback, for QoS 0, 1 and 2, with the same attributes
  (``messaging.operation.type="process"``). Its **parent** is the publisher's
  span, so the trace reads as one story. The messaging conventions prefer a
  **link** (a message may be processed long after, or in a batch): pass
  ``links_only=True`` for that. A retained message brings the publisher's *old*
  context to every later subscriber: ``messaging.mqtt.retain`` is true on such a
  span, and ``retained_as_link=True`` links it instead of parenting it.
  An exception from your callback is recorded (status ERROR, an ``exception``
  event, ``error.type``) and then raised exactly as without instrumentation.
  (With ``client.suppress_exceptions = True`` paho swallows it before the span
  can see it.)
* Metrics: ``messaging.client.sent.messages`` and ``messaging.client.consumed.messages``
  (counters, ``{message}``), ``messaging.client.operation.duration`` and
  ``messaging.process.duration`` (histograms, ``s``, with the conventions' buckets).

Options (keyword arguments of ``instrument()`` / ``instrument_client()``)
---------------------------------------------------------------------------
``tracer_provider``, ``meter_provider``
    default: the global ones.
``json_payload: bool``
    on MQTT 3.1.1 connections, put the context into JSON-object payloads and
    read it from them (W3C recommendation for 3.1.1). Default: the environment
    variable ``OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD=true``, else off. A payload that
    is not a JSON object is sent as it is.
``links_only: bool``
    process spans link to the publisher instead of being its children.
``retained_as_link: bool``
    the same, for retained messages only.
``publish_hook(span, client, topic, payload)``, ``process_hook(span, client, message)``
    add your own attributes; an exception in a hook is logged, never raised.
``message_body_size: bool``
    add the opt-in ``messaging.message.body.size``.

Telemetry never costs a message: a malformed ``traceparent``, a payload that is
not JSON or not UTF-8, an exporter that is down -- the message goes through
unchanged (apart from the context added on publish) and, where the context
cannot be read, the process span starts a new trace. Suppressed instrumentation
(``opentelemetry.instrumentation.utils.suppress_instrumentation``) is honoured.
"""

from __future__ import annotations

import os
from typing import Collection

import paho.mqtt.client as mqtt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from kit.instrumentation.paho._wrappers import Telemetry, make_on_message_wrapper, make_publish_wrapper
from kit.instrumentation.paho.package import _instruments
from kit.instrumentation.paho.version import __version__

__all__ = ["PahoMqttInstrumentor", "__version__"]

_PER_CLIENT = "_kit_otel_telemetry"
_global: list[Telemetry] = []


def _options(kwargs) -> dict:
    json_payload = kwargs.get("json_payload")
    if json_payload is None:
        json_payload = os.environ.get("OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD", "").strip().lower() == "true"
    return dict(json_payload=bool(json_payload), links_only=bool(kwargs.get("links_only", False)),
                retained_as_link=bool(kwargs.get("retained_as_link", False)),
                publish_hook=kwargs.get("publish_hook"), process_hook=kwargs.get("process_hook"),
                message_body_size=bool(kwargs.get("message_body_size", False)))


def _class_telemetry(client):
    """Class-level wrappers step aside for a client instrumented on its own."""
    if _PER_CLIENT in client.__dict__:
        return None
    return _global[0] if _global else None


def _client_telemetry(client):
    return client.__dict__.get(_PER_CLIENT)


class PahoMqttInstrumentor(BaseInstrumentor):
    """Instruments paho-mqtt ≥ 2.0 (see the module's docstring for what and how)."""

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    def _instrument(self, **kwargs):
        _global[:] = [Telemetry(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), **_options(kwargs))]
        wrap_function_wrapper(mqtt.Client, "publish", make_publish_wrapper(_class_telemetry))
        wrap_function_wrapper(mqtt.Client, "_handle_on_message", make_on_message_wrapper(_class_telemetry))

    def _uninstrument(self, **kwargs):
        unwrap(mqtt.Client, "publish")
        unwrap(mqtt.Client, "_handle_on_message")
        _global.clear()

    @staticmethod
    def instrument_client(client: mqtt.Client, tracer_provider=None, meter_provider=None, **kwargs) -> None:
        """Instrument one client, with its own providers and options. Calling it
        again replaces them; it never doubles spans, with or without ``instrument()``."""
        client.__dict__[_PER_CLIENT] = Telemetry(tracer_provider, meter_provider, **_options(kwargs))
        if "publish" not in client.__dict__:
            wrap_function_wrapper(client, "publish", make_publish_wrapper(_client_telemetry))
            wrap_function_wrapper(client, "_handle_on_message", make_on_message_wrapper(_client_telemetry))

    @staticmethod
    def uninstrument_client(client: mqtt.Client) -> None:
        """Undo :meth:`instrument_client`: the client behaves as before."""
        for name in ("publish", "_handle_on_message", _PER_CLIENT):
            client.__dict__.pop(name, None)
