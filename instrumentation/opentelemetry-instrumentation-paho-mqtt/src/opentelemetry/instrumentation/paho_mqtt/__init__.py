"""OpenTelemetry instrumentation for paho-mqtt 2.x: a PRODUCER span for every
publish, a CONSUMER span for every message delivered, W3C trace context carried
in the message, and the messaging metrics, as the messaging semantic conventions
say.

Usage
-----
In code::

    import paho.mqtt.client as mqtt
    from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor

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

Install (the API, opentelemetry-instrumentation and wrapt; paho-mqtt with ``[instruments]``;
add ``opentelemetry-sdk`` or a distro to export anything)::

    pip install "opentelemetry-instrumentation-paho-mqtt[instruments]"

What you get
------------
The tracer and the meter are named ``opentelemetry.instrumentation.paho_mqtt``.
Span names are :func:`span_name`'s: ``span_name("publish", "sensors/temp")`` is
``"publish sensors/temp"`` (tests and checks can ask it instead of copying the format).

* ``publish {topic}``, kind PRODUCER, with the conventions' Required and
  Conditionally required attributes ``messaging.system="mqtt"``,
  ``messaging.operation.name="publish"``, ``messaging.operation.type="send"``,
  ``messaging.destination.name`` (the topic), ``messaging.destination.template``
  (when one is known, see below), ``error.type`` (on failure); the Recommended
  ``messaging.client.id``, ``server.address``, ``server.port``; and MQTT's own
  ``messaging.mqtt.qos``, ``messaging.mqtt.retain``. Its context goes into the
  message: MQTT v5 user properties ``traceparent``/``tracestate`` (and
  ``baggage``); on 3.1.1, into a JSON payload's outermost object if you opt in.
  The span covers the ``publish()`` call; paho sends asynchronously. A QoS 1 or 2
  publish while the client is offline is one paho queues and sends once connected
  (it returns ``MQTT_ERR_NO_CONN``): the span says ``messaging.mqtt.queued=true``,
  and it is not an error. A QoS 0 publish while offline is lost: status ERROR,
  ``error.type="MQTT_ERR_NO_CONN"``.
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
* Metrics, all four Recommended by the conventions and on by default:
  ``messaging.client.sent.messages`` and ``messaging.client.consumed.messages``
  (counters, ``{message}``), ``messaging.client.operation.duration`` and
  ``messaging.process.duration`` (histograms, ``s``, with the conventions'
  buckets). Their attributes: ``messaging.system``, ``messaging.operation.name``,
  ``server.address``, ``server.port``, ``error.type`` on failure, and the
  destination only as ``messaging.destination.template`` by default (MQTT topics
  often carry device ids: a topic per device would be a metric series per device).
  The counters keep at most ``cardinality_limit`` attribute sets each, then count
  in the SDK's overflow set ``{"otel.metric.overflow": true}``: their memory is
  bounded whatever the topics.

The context the application already wrote
-----------------------------------------
A **valid** ``traceparent`` the application set (user property, or JSON field)
is kept, with its ``tracestate``, and the publish span links to it. Otherwise --
none, or one the W3C propagator rejects -- the context written is the publish
span's, whole: the application's invalid ``traceparent`` is replaced and its
``tracestate`` removed, because a ``tracestate`` belongs to the ``traceparent``
beside it, never to another parent. The application's own ``baggage`` is never
replaced by the context's. Every other property or JSON field, and every other
byte of a JSON payload, stays as it was.

Options (keyword arguments of ``instrument()`` / ``instrument_client()``)
---------------------------------------------------------------------------
A keyword wins over its environment variable; the options without one are keyword only.
A variable set to a value that is not one of its choices is ignored, with a warning.

``tracer_provider``, ``meter_provider``
    default: the global ones.
``duration_histograms: bool`` (``OTEL_PYTHON_PAHO_MQTT_DURATION_HISTOGRAMS``)
    ``False`` (or the variable ``false``) records no duration histograms, for hot
    paths: they are most of what metrics cost per message. The counters stay.
    Default: on.
``metric_destination`` (``OTEL_PYTHON_PAHO_MQTT_METRIC_DESTINATION``)
    how metrics name the destination: ``"template"`` (default; the
    ``messaging.destination.template`` when known, else nothing), ``"topic"``
    (``messaging.destination.name``: only when your topics are few), ``"none"``.
``destination_templates`` (``OTEL_PYTHON_PAHO_MQTT_DESTINATION_TEMPLATES``, comma-separated)
    topic filters such as ``["sensors/+/temp"]``: a topic they match gets that
    filter as ``messaging.destination.template``, on publish and process. A
    delivered message also matches the filters its client subscribed to (first
    subscribed, first matched). Span names keep the topic.
``incoming_baggage`` (``OTEL_PYTHON_PAHO_MQTT_INCOMING_BAGGAGE``: ``keep``, ``drop`` or names, comma-separated)
    what a delivered message's baggage may bring in, at a trust boundary:
    ``"keep"`` (default: all of it, forwarded by your publishes downstream),
    ``"drop"`` (none; the trace context still joins the trace), or a collection of
    entry names to let in, e.g. ``{"tenant.id"}``.
``json_payload: bool`` (``OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD=true``)
    on MQTT 3.1.1 connections, put the context into JSON-object payloads and
    read it from them (W3C recommendation for 3.1.1). Default off. A payload that
    is not a JSON object is sent as it is.
``links_only: bool``
    process spans link to the publisher instead of being its children.
``retained_as_link: bool``
    the same, for retained messages only.
``publish_hook(span, client, topic, payload)``, ``process_hook(span, client, message)``
    add your own attributes; called for recorded (sampled) spans only; an
    exception in a hook is logged, never raised.
``message_body_size: bool``
    add the opt-in ``messaging.message.body.size``.
``network_protocol_attributes: bool``
    add ``network.protocol.name="mqtt"`` and ``network.protocol.version`` to the
    spans (Recommended when not the default; off as they cost time on every span
    and say what ``messaging.system`` already says).
``cardinality_limit: int``
    attribute sets per counter before the overflow set; default 2000, the SDK's.

Sampling and suppression
------------------------
Unsampled spans (a ``ParentBased(TraceIdRatioBased(r))`` sampler said no) get no
attribute work and no hooks, but their context still travels in the message, so
the services downstream follow the decision. The metrics count every message,
sampled or not.

Inside ``opentelemetry.instrumentation.utils.suppress_instrumentation()`` nothing is
recorded on either path: no span, no metric, no context written into the message.

When telemetry goes wrong
-------------------------
Telemetry never costs a message: a malformed ``traceparent``, a payload that is
not JSON or not UTF-8, an exporter that is down -- the message goes through
unchanged (apart from the context added on publish) and, where the context
cannot be read, the process span starts a new trace. A hook that raises is logged;
an error inside the instrumentation is logged at DEBUG and the call goes on without it.

Propagating by hand
-------------------
:mod:`opentelemetry.instrumentation.paho_mqtt.propagation` has the Getter/Setter pairs
the instrumentation uses (``user_properties_getter``/``user_properties_setter`` for v5,
``inject_json_payload``/``extract_json_payload`` for 3.1.1 JSON payloads), for code that
makes its own spans.
"""

from __future__ import annotations

from typing import Collection

import paho.mqtt.client as mqtt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from opentelemetry.instrumentation.paho_mqtt._telemetry import DURATION_BUCKETS, SPAN_NAME_FORMAT, PahoTelemetry, \
    options, span_name
from opentelemetry.instrumentation.paho_mqtt._wrappers import make_on_message_wrapper, make_publish_wrapper, \
    make_subscribe_wrapper
from opentelemetry.instrumentation.paho_mqtt.package import _instruments
from opentelemetry.instrumentation.paho_mqtt.version import __version__

__all__ = ["PahoMqttInstrumentor", "span_name", "SPAN_NAME_FORMAT", "DURATION_BUCKETS", "__version__"]

_PER_CLIENT = "_otel_paho_mqtt_telemetry"  # on a client instrumented on its own: its PahoTelemetry
# what is wrapped on paho's Client (subscribe only to learn the topic filters)
_WRAPPERS = {"publish": make_publish_wrapper, "_handle_on_message": make_on_message_wrapper,
             "subscribe": make_subscribe_wrapper}
_global: list[PahoTelemetry] = []


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
        _global[:] = [PahoTelemetry(kwargs.get("tracer_provider"), kwargs.get("meter_provider"), **options(kwargs))]
        for name, make in _WRAPPERS.items():
            wrap_function_wrapper(mqtt.Client, name, make(_class_telemetry))

    def _uninstrument(self, **kwargs):
        for name in _WRAPPERS:
            unwrap(mqtt.Client, name)
        _global.clear()

    @staticmethod
    def instrument_client(client: mqtt.Client, tracer_provider=None, meter_provider=None, **kwargs) -> None:
        """Instrument one client, with its own providers and options. Calling it
        again replaces them; it never doubles spans, with or without ``instrument()``."""
        client.__dict__[_PER_CLIENT] = PahoTelemetry(tracer_provider, meter_provider, **options(kwargs))
        if "publish" not in client.__dict__:
            for name, make in _WRAPPERS.items():
                wrap_function_wrapper(client, name, make(_client_telemetry))

    @staticmethod
    def uninstrument_client(client: mqtt.Client) -> None:
        """Undo :meth:`instrument_client`: the client behaves as before."""
        for name in (*_WRAPPERS, _PER_CLIENT):
            client.__dict__.pop(name, None)
