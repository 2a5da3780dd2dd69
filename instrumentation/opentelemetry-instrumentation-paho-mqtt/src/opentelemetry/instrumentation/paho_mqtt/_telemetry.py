"""The options (keyword, else environment variable, else default) and what the wrappers
record with them: a tracer, the four messaging instruments, and the per-topic cache of
span names and attributes.

The hot path is kept short: what does not change per message (span name and
attributes, metric attributes) is computed once per connection and topic and
cached; the two counters are totals under a lock, read by the SDK when it collects.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import NamedTuple

from opentelemetry import baggage, trace
from opentelemetry.metrics import Observation, get_meter
from paho.mqtt.client import MQTTv5, MQTTv31, MQTTv311, topic_matches_sub

from opentelemetry.instrumentation.paho_mqtt.version import __version__

_log = logging.getLogger(__name__)

SCOPE = "opentelemetry.instrumentation.paho_mqtt"  # the tracer's and the meter's name
SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
SPAN_NAME_FORMAT = "{operation} {topic}"
OPERATIONS = ("publish", "process")
# semconv bucket advisory for messaging durations, in seconds
DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
CARDINALITY_LIMIT = 2000  # attribute sets per counter, as the SDK's default; then the overflow set
OVERFLOW = {"otel.metric.overflow": True}  # the SDK's own overflow attribute set
METRIC_DESTINATIONS = ("template", "topic", "none")
FILTERS = "_otel_paho_mqtt_filters"  # on a client: the topic filters it subscribed to
_CACHE = "_otel_paho_mqtt_connection"  # on a client: its connection's attributes
_MAX_CACHED = 4096  # routes kept per PahoTelemetry (topics x QoS x retain); cleared beyond
_PROTOCOL_VERSION = {MQTTv5: "5", MQTTv311: "3.1.1", MQTTv31: "3.1"}
_ENV = "OTEL_PYTHON_PAHO_MQTT_"


def span_name(operation: str, topic: str) -> str:
    """The name of the span the instrumentation makes: ``span_name("publish", "sensors/temp")``
    is ``"publish sensors/temp"``. ``operation``: ``"publish"`` (PRODUCER) or ``"process"``
    (CONSUMER); ``topic``: the message's topic, as sent (never the filter it matched)."""
    if operation not in OPERATIONS:
        raise ValueError(f"operation={operation!r}: the instrumentation's spans are {' or '.join(OPERATIONS)}")
    return SPAN_NAME_FORMAT.format(operation=operation, topic=topic)


def _env(name: str, choices=None):
    """``OTEL_PYTHON_PAHO_MQTT_<name>``, stripped, lower case; None if unset, empty or not a choice."""
    value = os.environ.get(_ENV + name, "").strip()
    if not value:
        return None
    if choices is not None and value.lower() not in choices:
        _log.warning("%s%s=%r is not one of %s: ignored", _ENV, name, value, ", ".join(choices))
        return None
    return value.lower() if choices is not None else value


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def options(kwargs) -> dict:
    """The keyword arguments of ``instrument()``, else the environment, else the defaults."""
    def given(name, env, choices=None, convert=lambda v: v):
        if kwargs.get(name) is not None:
            return kwargs[name]
        value = _env(env, choices)
        return convert(value) if value is not None else None

    json_payload = given("json_payload", "JSON_PAYLOAD", ("true", "false"), lambda v: v == "true")
    histograms = given("duration_histograms", "DURATION_HISTOGRAMS", ("true", "false"), lambda v: v == "true")
    destination = given("metric_destination", "METRIC_DESTINATION", METRIC_DESTINATIONS)
    templates = given("destination_templates", "DESTINATION_TEMPLATES", convert=_names)
    incoming = given("incoming_baggage", "INCOMING_BAGGAGE",
                     convert=lambda v: v.lower() if v.lower() in ("keep", "drop") else frozenset(_names(v)))
    chosen = dict(json_payload=bool(json_payload), links_only=bool(kwargs.get("links_only", False)),
                  retained_as_link=bool(kwargs.get("retained_as_link", False)),
                  publish_hook=kwargs.get("publish_hook"), process_hook=kwargs.get("process_hook"),
                  message_body_size=bool(kwargs.get("message_body_size", False)),
                  duration_histograms=True if histograms is None else bool(histograms),
                  metric_destination=destination or "template",
                  destination_templates=(templates,) if isinstance(templates, str) else tuple(templates or ()),
                  network_protocol_attributes=bool(kwargs.get("network_protocol_attributes", False)),
                  incoming_baggage="keep" if incoming is None else incoming)
    if kwargs.get("cardinality_limit") is not None:
        chosen["cardinality_limit"] = int(kwargs["cardinality_limit"])
    return chosen


class PahoTelemetry:
    """A tracer, the four messaging instruments and the options, for all clients
    (``instrument()``) or for one (``instrument_client()``); see the package's
    docstring for the options."""

    def __init__(self, tracer_provider=None, meter_provider=None, *, json_payload=False, links_only=False,
                 retained_as_link=False, publish_hook=None, process_hook=None, message_body_size=False,
                 duration_histograms=True, metric_destination="template", destination_templates=(),
                 network_protocol_attributes=False, incoming_baggage="keep", cardinality_limit=CARDINALITY_LIMIT):
        if metric_destination not in METRIC_DESTINATIONS:
            raise ValueError(f"metric_destination={metric_destination!r}: use one of {', '.join(METRIC_DESTINATIONS)}")
        self.tracer = trace.get_tracer(SCOPE, __version__, tracer_provider, schema_url=SCHEMA_URL)
        meter = get_meter(SCOPE, __version__, meter_provider, schema_url=SCHEMA_URL)
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
        filters = client.__dict__.get(FILTERS, ()) if operation == "process" else ()
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
        return Route(span_name(operation, topic), span_attrs, metric_attrs, tuple(metric_attrs.items()))

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


def connection(client) -> Connection:
    """The attributes of the client's current connection: computed once per connection,
    cached on the client. Host, port and protocol are paho's public properties; paho has
    none for the client id (it may change on reconnect: a v5 broker assigns one)."""
    key = (client.host, client.port, client.protocol, client._client_id)
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
