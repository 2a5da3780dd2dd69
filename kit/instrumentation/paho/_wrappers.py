"""The wrappers around paho's ``Client``: ``publish``, ``_handle_on_message`` and
``subscribe`` (only to learn the topic filters), and the telemetry they record.

Every delivery path of paho 2.x (QoS 0 and 1 from ``_handle_publish``, QoS 2
from ``_handle_pubrel``; ``on_message`` and ``message_callback_add`` filters)
passes through ``Client._handle_on_message``, so one wrapper sees them all.

The hot path is kept short: what does not change per message (span name and
attributes, metric attributes) is computed once per connection and topic and
cached; an unsampled span gets no attribute work; nothing telemetry does may
raise into the application or change its message beyond adding the context.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
import weakref
from typing import NamedTuple

from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.metrics import Observation
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from paho.mqtt.client import MQTTv5, MQTTv311, MQTTv31, MQTTErrorCode, topic_matches_sub
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties, VariableByteIntegers

from kit.instrumentation.paho.version import __version__
from kit.propagation import UserPropertiesSetter, _pairs, inject_json_payload, json_getter, json_object

_log = logging.getLogger(__name__)
_PROTOCOL_VERSION = {MQTTv5: "5", MQTTv311: "3.1.1", MQTTv31: "3.1"}
# semconv bucket advisory for messaging durations, in seconds
DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
CARDINALITY_LIMIT = 2000  # attribute sets per counter, as the SDK's default; then the overflow set
OVERFLOW = {"otel.metric.overflow": True}  # the SDK's own overflow attribute set
METRIC_DESTINATIONS = ("template", "topic", "none")
_CACHE = "_kit_otel_connection"
_FILTERS = "_kit_otel_filters"
_MAX_CACHED = 4096  # routes kept per Telemetry (topics x QoS x retain); cleared beyond


class Telemetry:
    """A tracer, the four messaging instruments and the options, for all clients
    (``instrument()``) or for one (``instrument_client()``); see the package's
    docstring for the options."""

    def __init__(self, tracer_provider=None, meter_provider=None, *, json_payload=False, links_only=False,
                 retained_as_link=False, publish_hook=None, process_hook=None, message_body_size=False,
                 duration_histograms=True, metric_destination="template", destination_templates=(),
                 network_protocol_attributes=False, incoming_baggage="keep", cardinality_limit=CARDINALITY_LIMIT):
        from opentelemetry.metrics import get_meter
        if metric_destination not in METRIC_DESTINATIONS:
            raise ValueError(f"metric_destination={metric_destination!r}: use one of {', '.join(METRIC_DESTINATIONS)}")
        self.tracer = trace.get_tracer(__name__, __version__, tracer_provider,
                                       schema_url="https://opentelemetry.io/schemas/1.37.0")
        meter = get_meter(__name__, __version__, meter_provider)
        self._counters = _counters_for(meter, cardinality_limit)
        self._totals = self._counters.totals
        self.operation_duration = self.process_duration = None
        if duration_histograms:
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
        self.metric_destination = metric_destination
        self.destination_templates = (destination_templates,) if isinstance(destination_templates, str) \
            else tuple(destination_templates)
        self.network_protocol_attributes = network_protocol_attributes
        self.allowed_baggage = _baggage_policy(incoming_baggage)

    def route(self, client, conn, operation, topic, qos, retain) -> Route:
        """What does not change from one message to the next on this topic: the
        span's name and attributes, the metric attributes, the counter's key."""
        filters = client.__dict__.get(_FILTERS, ()) if operation == "process" else ()
        key = (conn.key, operation, topic, qos, retain, filters)
        route = self._routes.get(key)
        if route is None:
            if len(self._routes) >= _MAX_CACHED:
                self._routes.clear()
            route = self._routes[key] = self._new_route(conn, operation, topic, qos, retain, filters)
        return route

    def _new_route(self, conn, operation, topic, qos, retain, filters) -> Route:
        template = next((f for f in self.destination_templates + filters if _matches(f, topic)), None)
        span_attrs = {**conn.span_attrs, "messaging.operation.type": "send" if operation == "publish" else "process",
                      "messaging.operation.name": operation, "messaging.destination.name": topic}
        metric_attrs = {**conn.metric_attrs, "messaging.operation.name": operation}
        if template is not None:
            span_attrs["messaging.destination.template"] = template
        if self.metric_destination == "topic":
            metric_attrs["messaging.destination.name"] = topic
        elif self.metric_destination == "template" and template is not None:
            metric_attrs["messaging.destination.template"] = template
        span_attrs["messaging.mqtt.qos"] = qos
        span_attrs["messaging.mqtt.retain"] = bool(retain)
        if self.network_protocol_attributes:
            span_attrs["network.protocol.name"] = "mqtt"
            span_attrs["network.protocol.version"] = conn.protocol_version
        return Route(f"{operation} {topic}", span_attrs, metric_attrs, tuple(metric_attrs.items()))

    def record(self, route: Route, operation, seconds, error=None):
        """One message more on the counter, and its duration on the histogram."""
        try:
            attrs, key = route.metric_attrs, route.count_key
            if error:
                attrs, key = {**attrs, "error.type": error}, key + (("error.type", error),)
            self._counters.add(operation, key, attrs)
            histogram = self.operation_duration if operation == "publish" else self.process_duration
            if histogram is not None:
                histogram.record(seconds, attrs)
        except Exception:
            _log.debug("paho instrumentation: metrics not recorded", exc_info=True)

    def trusted(self, ctx):
        """The message's context with only the baggage entries allowed in."""
        allowed = self.allowed_baggage
        if allowed is None or ctx is None:
            return ctx
        entries = baggage.get_all(ctx)
        if not entries:
            return ctx
        ctx = baggage.clear(ctx)
        for key, value in entries.items():
            if key in allowed:
                ctx = baggage.set_baggage(key, value, ctx)
        return ctx


class Route(NamedTuple):
    name: str
    span_attrs: dict
    metric_attrs: dict
    count_key: tuple


def _baggage_policy(value):
    """None (keep every entry), or the frozenset of the entry names let in."""
    if value == "keep":
        return None
    if value == "drop":
        return frozenset()
    if isinstance(value, str) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"incoming_baggage={value!r}: use 'keep', 'drop' or a collection of baggage names "
                         f"to let in, e.g. {{'tenant.id'}}")
    return frozenset(value)


def _matches(topic_filter, topic) -> bool:
    try:
        return topic_matches_sub(topic_filter, topic)
    except (ValueError, TypeError):
        return False


class _Counters:
    """The totals behind the two observable counters of one meter. Each message adds 1
    under a lock (far cheaper per message than a synchronous ``Counter.add``); the SDK
    reads the totals when it collects. At most ``limit`` attribute sets per counter:
    beyond, messages are counted in the overflow set, as the SDK's own cardinality
    limit does, so memory stays bounded whatever the topics. The lock is held only to
    add one, or to copy the (bounded) totals for a collection."""

    def __init__(self, limit: int):
        self.lock = threading.Lock()
        self.totals: dict[str, dict] = {"publish": {}, "process": {}}
        self.limit = limit

    def add(self, operation: str, key: tuple, attributes: dict) -> None:
        totals = self.totals[operation]
        with self.lock:
            entry = totals.get(key)
            if entry is None:
                if len(totals) >= self.limit:
                    key, attributes = _OVERFLOW_KEY, OVERFLOW
                    entry = totals.get(key)
                if entry is None:
                    entry = totals[key] = [attributes, 0]
            entry[1] += 1

    def observer(self, operation: str):
        totals = self.totals[operation]

        def observe(options):
            with self.lock:
                values = [(attributes, count) for attributes, count in totals.values()]
            return [Observation(count, attributes) for attributes, count in values]
        return observe


_OVERFLOW_KEY = ("otel.metric.overflow",)
_meters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # meter -> its counters, while it lives


def _counters_for(meter, limit: int) -> _Counters:
    """The totals behind the two observable counters of ``meter``. They are registered
    once per meter (a second registration would be ignored by the SDK), so instrumenting
    again keeps counting where it was."""
    counters = _meters.get(meter)
    if counters is None:
        counters = _Counters(limit)
        meter.create_observable_counter(
            "messaging.client.sent.messages", [counters.observer("publish")], unit="{message}",
            description="Number of messages producer attempted to send to the broker.")
        meter.create_observable_counter(
            "messaging.client.consumed.messages", [counters.observer("process")], unit="{message}",
            description="Number of messages that were delivered to the application.")
        _meters[meter] = counters
    counters.limit = limit
    return counters


class Connection(NamedTuple):
    key: tuple
    span_attrs: dict
    metric_attrs: dict
    is_v5: bool
    protocol_version: str


def _connection(client) -> Connection:
    """The attributes of the client's current connection: computed once per connection, cached on the client."""
    key = (client._host, client._port, client._protocol, client._client_id)
    cached = client.__dict__.get(_CACHE)
    if cached is None or cached.key != key:
        host, port, protocol, client_id = key
        metric = {"messaging.system": "mqtt", "server.address": host or "", "server.port": port}
        span = dict(metric)
        client_id = client_id.decode("utf-8", "replace") if isinstance(client_id, bytes) else str(client_id)
        if client_id:  # empty on v5 until the broker assigns one
            span["messaging.client.id"] = client_id
        cached = Connection(key, span, metric, protocol == MQTTv5, _PROTOCOL_VERSION.get(protocol, str(protocol)))
        client.__dict__[_CACHE] = cached
    return cached


class _CarrierGetter(Getter):
    """Reads the dict :func:`_carrier` makes: every value of a key, in order."""

    def get(self, carrier: dict, key: str):
        return carrier.get(key)

    def keys(self, carrier: dict):
        return list(carrier)


_carrier_getter = _CarrierGetter()


def _carrier(properties) -> dict[str, list[str]]:
    """A message's user properties as {key: [values in order]}: read once, not once per
    header the propagators ask for (as kit.propagation's getter does, for any carrier)."""
    carrier: dict = {}
    for key, value in _pairs(properties):
        if isinstance(value, str):
            values = carrier.get(key)
            if values is None:
                carrier[key] = [value]
            else:
                values.append(value)
    return carrier


def _existing_context(properties, payload, is_v5: bool, json_on: bool):
    """A valid traceparent the application already put on the message, as a span context (or None)."""
    if is_v5:
        carrier = _carrier(properties) if properties is not None else {}
        if "traceparent" not in carrier:
            return None
        ctx = propagate.extract(carrier, getter=_carrier_getter)
    elif json_on and payload and b"traceparent" in payload:
        obj = json_object(payload)
        if not obj or "traceparent" not in obj:
            return None
        ctx = propagate.extract(obj, getter=json_getter)
    else:
        return None
    span_context = trace.get_current_span(ctx).get_span_context()
    return span_context if span_context.is_valid else None


class _ContextSetter(UserPropertiesSetter):
    """Writes the context's user properties, replacing the earlier values of a key,
    except the application's own ``baggage``: that one stays as the application set it."""

    def set(self, carrier, key: str, value: str) -> None:
        if key == "baggage" and any(k == "baggage" for k, _ in _pairs(carrier)):
            return
        super().set(carrier, key, value)


_context_setter = _ContextSetter()


def _with_context(properties, ctx):
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
    pairs = _pairs(properties)
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
            is_v5 = conn.is_v5
            json_on = tel.json_payload and not is_v5
            if json_on:
                payload = _payload_bytes(payload)
            existing = _existing_context(properties, payload, is_v5, json_on) \
                if properties is not None or json_on else None
            route = tel.route(instance, conn, "publish", topic, qos, retain)
            span = tel.tracer.start_span(route.name, kind=SpanKind.PRODUCER, attributes=route.span_attrs,
                                         links=[Link(existing)] if existing else None)
            recording = span.is_recording()
            if recording and tel.message_body_size:
                span.set_attribute("messaging.message.body.size", len(_payload_bytes(payload)))
            ctx = trace.set_span_in_context(span)
            token = otel_context.attach(ctx)
        except Exception:  # telemetry must not stop the publish
            _log.debug("paho instrumentation: publish span not started", exc_info=True)
            return wrapped(*args, **kwargs)

        start = time.perf_counter()
        error = None
        try:
            if existing is None:  # an unsampled span's context goes too: downstream follows the decision
                try:
                    if is_v5:
                        properties = _with_context(properties, ctx)
                    elif json_on:
                        payload = inject_json_payload(payload, ctx)
                except Exception:
                    _log.debug("paho instrumentation: context not injected", exc_info=True)
            if recording and tel.publish_hook is not None:
                _call_hook(tel.publish_hook, "publish", span, instance, topic, payload)
            info = wrapped(topic, payload, qos, retain, properties)
            if info.rc:
                if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos > 0:
                    span.set_attribute("messaging.mqtt.queued", True)  # paho sends it once connected
                else:
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
    if conn.is_v5:
        return propagate.extract(_carrier(message.properties), getter=_carrier_getter) \
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
            ctx = tel.trusted(_remote_context(tel, conn, message))
            remote = trace.get_current_span(ctx).get_span_context() if ctx is not None else None
            valid = remote is not None and remote.is_valid
            link = valid and (tel.links_only or (message.retain and tel.retained_as_link))
            if valid and not link:
                parent = ctx  # the publisher's span, and the message's baggage
            else:
                parent = otel_context.get_current()
                for key, value in (baggage.get_all(ctx).items() if ctx is not None else ()):
                    parent = baggage.set_baggage(key, value, parent)
            route = tel.route(instance, conn, "process", message._topic.decode("utf-8", "replace"), message.qos,
                              message.retain)
            span = tel.tracer.start_span(route.name, context=parent, kind=SpanKind.CONSUMER,
                                         attributes=route.span_attrs, links=[Link(remote)] if link else None)
            recording = span.is_recording()
            if recording and tel.message_body_size:
                span.set_attribute("messaging.message.body.size", len(message.payload))
            token = otel_context.attach(trace.set_span_in_context(span, parent))
        except Exception:
            _log.debug("paho instrumentation: process span not started", exc_info=True)
            return wrapped(*args, **kwargs)

        start = time.perf_counter()
        error = None
        try:
            if recording and tel.process_hook is not None:
                _call_hook(tel.process_hook, "process", span, instance, message)
            return wrapped(*args, **kwargs)
        except Exception as exc:  # the user's callback raised: record it, then behave as paho does
            error = _fail(span, exc)
            raise
        finally:
            _finish(tel, route, "process", span, token, start, error)

    return handle_on_message


def _filters_of(topic) -> list[str]:
    """The topic filters of one ``subscribe()`` argument: a string, a (filter, qos or
    options) pair, or a list of pairs. A shared subscription ``$share/group/f`` gives ``f``."""
    items = [topic] if isinstance(topic, (str, tuple)) else list(topic)
    out = []
    for item in items:
        name = item[0] if isinstance(item, tuple) else item
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        if isinstance(name, str) and name:
            if name.startswith("$share/") and name.count("/") >= 2:
                name = name.split("/", 2)[2]
            out.append(name)
    return out


def make_subscribe_wrapper(get_telemetry):
    """Remembers the topic filters the application subscribes to: a delivered message's
    ``messaging.destination.template`` is the first of them that matches its topic."""
    def subscribe(wrapped, instance, args, kwargs):
        result = wrapped(*args, **kwargs)
        try:
            if get_telemetry(instance) is not None:
                topic = args[0] if args else kwargs.get("topic")
                known = instance.__dict__.get(_FILTERS, ())
                instance.__dict__[_FILTERS] = tuple(dict.fromkeys(known + tuple(_filters_of(topic))))
        except Exception:
            _log.debug("paho instrumentation: subscription filters not recorded", exc_info=True)
        return result

    return subscribe
