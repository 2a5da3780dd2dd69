"""The two wrappers around paho's ``Client``: ``publish`` and ``_handle_on_message``.

Every delivery path of paho 2.x (QoS 0 and 1 from ``_handle_publish``, QoS 2
from ``_handle_pubrel``; ``on_message`` and ``message_callback_add`` filters)
passes through ``Client._handle_on_message``, so one wrapper sees them all.

The hot path is kept short: attributes that do not change per message are
computed once per connection and cached on the client; nothing telemetry
does may raise into the application or change its message beyond adding the
context.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from typing import NamedTuple

from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import Observation
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from paho.mqtt.client import MQTTv5, MQTTv311, MQTTv31
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties, VariableByteIntegers

from kit.instrumentation.paho.version import __version__
from kit.propagation import inject_json_payload, json_getter, json_object, user_properties_getter, \
    user_properties_setter

_log = logging.getLogger(__name__)
_PROTOCOL_VERSION = {MQTTv5: "5", MQTTv311: "3.1.1", MQTTv31: "3.1"}
# semconv bucket advisory for messaging durations, in seconds
DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
_CACHE = "_kit_otel_connection"
_MAX_CACHED = 4096  # attribute dicts kept per Telemetry (topics x QoS x retain); cleared beyond


class Telemetry:
    """A tracer, the four messaging instruments and the options, for all clients
    (``instrument()``) or for one (``instrument_client()``).

    The two counters are observable: each message adds 1 to a plain dict (under
    a lock) and the SDK reads the totals when it collects, which costs far less
    per message than a synchronous ``Counter.add``. Exported, they are the same
    monotonic sums. The attribute dicts are built once per topic and reused."""

    def __init__(self, tracer_provider=None, meter_provider=None, *, json_payload=False, links_only=False,
                 retained_as_link=False, publish_hook=None, process_hook=None, message_body_size=False):
        from opentelemetry.metrics import get_meter
        self.tracer = trace.get_tracer(__name__, __version__, tracer_provider,
                                       schema_url="https://opentelemetry.io/schemas/1.37.0")
        meter = get_meter(__name__, __version__, meter_provider)
        self._lock, self._totals = _totals_for(meter)
        self.operation_duration = meter.create_histogram(
            "messaging.client.operation.duration", unit="s", explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
            description="Duration of messaging operation initiated by a producer or consumer client.")
        self.process_duration = meter.create_histogram(
            "messaging.process.duration", unit="s", explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
            description="Duration of processing operation.")
        self._routes: dict = {}
        self.json_payload = json_payload
        self.links_only = links_only
        self.retained_as_link = retained_as_link
        self.publish_hook = publish_hook
        self.process_hook = process_hook
        self.message_body_size = message_body_size

    def route(self, conn, operation, topic, qos, retain) -> Route:
        """What does not change from one message to the next on this topic: the
        span's name and attributes, the metric attributes, the counter's key."""
        key = (conn[0], operation, topic, qos, retain)
        route = self._routes.get(key)
        if route is None:
            if len(self._routes) > _MAX_CACHED:
                self._routes.clear()
            span_attrs = {**conn[1], "messaging.operation.type": "send" if operation == "publish" else "process",
                          "messaging.operation.name": operation, "messaging.destination.name": topic,
                          "messaging.mqtt.qos": qos, "messaging.mqtt.retain": bool(retain)}
            metric_attrs = {**conn[2], "messaging.operation.name": operation, "messaging.destination.name": topic}
            route = self._routes[key] = Route(f"{operation} {topic}", span_attrs, metric_attrs,
                                              (conn[0], operation, topic))
        return route

    def record(self, route: Route, operation, seconds, error=None):
        """One message more on the counter, and its duration on the histogram."""
        try:
            attrs, key = route.metric_attrs, route.count_key
            if error:
                attrs, key = {**attrs, "error.type": error}, key + (error,)
            totals = self._totals[operation]
            with self._lock:
                entry = totals.get(key)
                totals[key] = (attrs, entry[1] + 1) if entry else (attrs, 1)
            (self.operation_duration if operation == "publish" else self.process_duration).record(seconds, attrs)
        except Exception:
            _log.debug("paho instrumentation: metrics not recorded", exc_info=True)


class Route(NamedTuple):
    name: str
    span_attrs: dict
    metric_attrs: dict
    count_key: tuple


_meters: dict = {}  # id(meter) -> (meter, lock, totals): one pair of observable counters per meter


def _totals_for(meter):
    """The message totals behind the two observable counters of ``meter``. They
    are registered once per meter (a second registration would be ignored by the
    SDK), so instrumenting again keeps counting where it was."""
    entry = _meters.get(id(meter))
    if entry is None or entry[0] is not meter:
        lock, totals = threading.Lock(), {"publish": {}, "process": {}}

        def observer(operation):
            def observe(options):
                with lock:
                    values = list(totals[operation].values())
                return [Observation(count, attrs) for attrs, count in values]
            return observe

        meter.create_observable_counter(
            "messaging.client.sent.messages", [observer("publish")], unit="{message}",
            description="Number of messages producer attempted to send to the broker.")
        meter.create_observable_counter(
            "messaging.client.consumed.messages", [observer("process")], unit="{message}",
            description="Number of messages that were delivered to the application.")
        entry = _meters[id(meter)] = (meter, lock, totals)
    return entry[1], entry[2]


def _connection(client) -> tuple:
    """(key, span attributes, metric attributes, is_v5) of the client's current
    connection: computed once per connection, cached on the client."""
    key = (client._host, client._port, client._protocol, client._client_id)
    cached = client.__dict__.get(_CACHE)
    if cached is None or cached[0] != key:
        host, port, protocol, client_id = key
        metric = {"messaging.system": "mqtt", "server.address": host or "", "server.port": port}
        span = dict(metric)
        client_id = client_id.decode("utf-8", "replace") if isinstance(client_id, bytes) else str(client_id)
        if client_id:  # empty on v5 until the broker assigns one
            span["messaging.client.id"] = client_id
        span["network.protocol.name"] = "mqtt"
        span["network.protocol.version"] = _PROTOCOL_VERSION.get(protocol, str(protocol))
        cached = (key, span, metric, protocol == MQTTv5)
        client.__dict__[_CACHE] = cached
    return cached


def _existing_context(properties, payload, is_v5: bool, json_on: bool):
    """A traceparent the application already put on the message, as a span context (or None)."""
    if is_v5:
        if properties is None or not user_properties_getter.get(properties, "traceparent"):
            return None
        ctx = propagate.extract(properties, getter=user_properties_getter)
    elif json_on and payload and b"traceparent" in payload:
        obj = json_object(payload)
        if not obj or "traceparent" not in obj:
            return None
        ctx = propagate.extract(obj, getter=json_getter)
    else:
        return None
    span_context = trace.get_current_span(ctx).get_span_context()
    return span_context if span_context.is_valid else None


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


def _bind_publish(topic, payload=None, qos=0, retain=False, properties=None):
    return topic, payload, qos, retain, properties


def _payload_bytes(payload) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (int, float)):
        return str(payload).encode("ascii")
    return payload  # paho raises its own TypeError for anything else


def _fail(span, exc) -> str:
    error = type(exc).__qualname__
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{error}: {exc}"))
    span.set_attribute("error.type", error)
    return error


def _call_hook(hook, operation, *args) -> None:
    """A user's hook: what it adds stays, what it raises is logged, never raised."""
    try:
        hook(*args)
    except Exception:
        _log.warning("paho instrumentation: %s_hook raised", operation, exc_info=True)


def _finish(tel, route, operation, span, token, start, error) -> None:
    """The end of both wrappers: the span's context off, the span ended, the metrics recorded."""
    seconds = time.perf_counter() - start
    otel_context.detach(token)
    span.end()
    tel.record(route, operation, seconds, error)


def make_publish_wrapper(get_telemetry):
    def publish(wrapped, instance, args, kwargs):
        tel = get_telemetry(instance)
        if tel is None or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        try:
            topic, payload, qos, retain, properties = _bind_publish(*args, **kwargs)
            conn = _connection(instance)
            is_v5 = conn[3]
            json_on = tel.json_payload and not is_v5
            if json_on:
                payload = _payload_bytes(payload)
            existing = _existing_context(properties, payload, is_v5, json_on) \
                if properties is not None or json_on else None
            route = tel.route(conn, "publish", topic, qos, retain)
            attributes = route.span_attrs
            if tel.message_body_size:
                attributes = {**attributes, "messaging.message.body.size": len(_payload_bytes(payload))}
            span = tel.tracer.start_span(route.name, kind=SpanKind.PRODUCER, attributes=attributes,
                                         links=[Link(existing)] if existing else None)
            ctx = trace.set_span_in_context(span)
            token = otel_context.attach(ctx)
        except Exception:  # telemetry must not stop the publish
            _log.debug("paho instrumentation: publish span not started", exc_info=True)
            return wrapped(*args, **kwargs)

        start = time.perf_counter()
        error = None
        try:
            if existing is None:
                try:
                    if is_v5:
                        properties = copy.copy(properties) if properties is not None else _new_publish_properties()
                        propagate.inject(properties, ctx, user_properties_setter)
                    elif json_on:
                        payload = inject_json_payload(payload, ctx)
                except Exception:
                    _log.debug("paho instrumentation: context not injected", exc_info=True)
            if tel.publish_hook is not None:
                _call_hook(tel.publish_hook, "publish", span, instance, topic, payload)
            info = wrapped(topic, payload, qos, retain, properties)
            if info.rc:
                error = getattr(info.rc, "name", str(info.rc))
                span.set_status(Status(StatusCode.ERROR, f"publish returned {error}"))
                span.set_attribute("error.type", error)
            return info
        except Exception as exc:  # paho's own errors (bad topic, QoS, payload) go on to the caller
            error = _fail(span, exc)
            raise
        finally:
            _finish(tel, route, "publish", span, token, start, error)

    return publish


def _remote_context(tel, conn, message):
    """The context the message carries (None when it carries none)."""
    if conn[3]:
        return propagate.extract(message.properties, getter=user_properties_getter) \
            if message.properties is not None else None
    if tel.json_payload:
        obj = json_object(message.payload)
        return propagate.extract(obj, getter=json_getter) if obj and "traceparent" in obj else None
    return None


def make_on_message_wrapper(get_telemetry):
    def handle_on_message(wrapped, instance, args, kwargs):
        tel = get_telemetry(instance)
        if tel is None or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        try:
            message = args[0] if args else kwargs["message"]
            conn = _connection(instance)
            ctx = _remote_context(tel, conn, message)
            remote = trace.get_current_span(ctx).get_span_context() if ctx is not None else None
            valid = remote is not None and remote.is_valid
            link = valid and (tel.links_only or (message.retain and tel.retained_as_link))
            if valid and not link:
                parent = ctx  # the publisher's span, and the message's baggage
            else:
                parent = otel_context.get_current()
                for key, value in (baggage.get_all(ctx).items() if ctx is not None else ()):
                    parent = baggage.set_baggage(key, value, parent)
            route = tel.route(conn, "process", message._topic.decode("utf-8", "replace"), message.qos,
                              message.retain)
            attributes = route.span_attrs
            if tel.message_body_size:
                attributes = {**attributes, "messaging.message.body.size": len(message.payload)}
            span = tel.tracer.start_span(route.name, context=parent, kind=SpanKind.CONSUMER,
                                         attributes=attributes, links=[Link(remote)] if link else None)
            token = otel_context.attach(trace.set_span_in_context(span, parent))
        except Exception:
            _log.debug("paho instrumentation: process span not started", exc_info=True)
            return wrapped(*args, **kwargs)

        start = time.perf_counter()
        error = None
        try:
            if tel.process_hook is not None:
                _call_hook(tel.process_hook, "process", span, instance, message)
            return wrapped(*args, **kwargs)
        except Exception as exc:  # the user's callback raised: record it, then behave as paho does
            error = _fail(span, exc)
            raise
        finally:
            _finish(tel, route, "process", span, token, start, error)

    return handle_on_message
