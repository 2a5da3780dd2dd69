"""PahoMqttInstrumentor's metrics: the conventions' four by default, the duration histograms
switched off for hot paths, attributes of bounded cardinality by default, and counters whose
memory stays bounded whatever the topics (the SDK's cardinality limit idea: an overflow
attribute set)."""

import paho.mqtt.client as mqtt
import pytest
from mqtt_helpers import V5
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor

SENT, CONSUMED = "messaging.client.sent.messages", "messaging.client.consumed.messages"
OPERATION, PROCESS = "messaging.client.operation.duration", "messaging.process.duration"
OVERFLOW = {"otel.metric.overflow": True}


class Recorded:
    """A client instrumented with its own providers, and what its metrics read."""

    def __init__(self, **options):
        self.reader = InMemoryMetricReader()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="metrics-app", protocol=V5)
        self.client.on_message = lambda c, u, m: None
        PahoMqttInstrumentor.instrument_client(self.client, TracerProvider(),
                                               MeterProvider(metric_readers=[self.reader]), **options)

    def deliver(self, topic: str):
        """A message handed to the client as paho's network loop does."""
        msg = mqtt.MQTTMessage(1, topic.encode())
        msg.payload, msg.properties = b"x", Properties(PacketTypes.PUBLISH)
        self.client._handle_on_message(msg)

    def points(self) -> dict[str, list]:
        """metric name -> [(attributes, value)]"""
        data = self.reader.get_metrics_data()
        out: dict = {}
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    out[metric.name] = [(dict(p.attributes), getattr(p, "value", getattr(p, "count", None)))
                                        for p in metric.data.data_points]
        return out


def test_by_default_metrics_carry_no_topic_but_the_subscription_filter():
    rec = Recorded()
    rec.client.subscribe("sensors/+/temp")  # not connected: paho refuses, the filter is still the app's
    for i in range(50):
        rec.deliver(f"sensors/device-{i}/temp")
    points = rec.points()
    [(attributes, value)] = points[CONSUMED]
    assert value == 50
    assert attributes.get("messaging.destination.template") == "sensors/+/temp"
    assert "messaging.destination.name" not in attributes
    assert len(points[PROCESS]) == 1


def test_a_template_option_names_published_topics_too():
    rec = Recorded(destination_templates=["sensors/+/temp"])
    for i in range(5):
        rec.deliver(f"sensors/d{i}/temp")
        rec.deliver(f"other/d{i}")
    by_template = {a.get("messaging.destination.template"): v for a, v in rec.points()[CONSUMED]}
    assert by_template == {"sensors/+/temp": 5, None: 5}


def test_the_topic_itself_on_metrics_is_an_option_for_few_topics():
    rec = Recorded(metric_destination="topic")
    for topic in ("a/1", "a/2", "a/1"):
        rec.deliver(topic)
    assert sorted((a["messaging.destination.name"], v) for a, v in rec.points()[CONSUMED]) == [("a/1", 2), ("a/2", 1)]


@pytest.mark.parametrize("how", ["keyword", "environment"])
def test_the_duration_histograms_can_be_switched_off(monkeypatch, how):
    if how == "environment":
        monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_DURATION_HISTOGRAMS", "false")
    rec = Recorded(**({"duration_histograms": False} if how == "keyword" else {}))
    rec.deliver("t/1")
    points = rec.points()
    assert OPERATION not in points and PROCESS not in points
    assert points[CONSUMED][0][1] == 1  # the counters stay


def test_the_keyword_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_DURATION_HISTOGRAMS", "false")
    rec = Recorded(duration_histograms=True)
    rec.deliver("t/1")
    assert PROCESS in rec.points()


def test_counters_keep_at_most_the_cardinality_limit_then_count_in_an_overflow_set():
    rec = Recorded(metric_destination="topic", cardinality_limit=100)
    for i in range(5_000):
        rec.deliver(f"devices/{i}")
    points = rec.points()[CONSUMED]
    assert len(points) == 101
    assert sum(v for _, v in points) == 5_000
    assert [v for a, v in points if a == OVERFLOW] == [4_900]
    assert all(a != OVERFLOW for a, _ in points[:100])


def test_memory_stays_bounded_with_unique_topics():
    """300,000 unique topics grew the counters' totals without bound (+161 MB): now they stop
    at the cardinality limit, and so do the per-topic caches."""
    rec = Recorded(metric_destination="topic")  # the default limit: 2000 attribute sets per counter
    for i in range(30_000):
        rec.deliver(f"devices/{i}/temp")
    telemetry = rec.client.__dict__["_otel_paho_mqtt_telemetry"]
    assert sum(len(t) for t in telemetry._totals.values()) <= 2001
    assert len(telemetry._routes) <= 4096 + 1


def test_a_collection_holds_the_publishing_lock_only_to_copy_a_bounded_set():
    """The counters' lock, which every message takes, is held during a collection only while
    the totals are copied (at most the cardinality limit of them), never while the SDK works."""
    from opentelemetry.instrumentation.paho_mqtt import _telemetry
    rec = Recorded(metric_destination="topic", cardinality_limit=50)
    for i in range(1_000):
        rec.deliver(f"devices/{i}")
    telemetry = rec.client.__dict__["_otel_paho_mqtt_telemetry"]
    held = []

    class Spy:
        def __init__(self, lock):
            self.lock = lock

        def __enter__(self):
            self.lock.__enter__()
            held.append(sum(len(t) for t in telemetry._totals.values()))

        def __exit__(self, *exc):
            return self.lock.__exit__(*exc)

    telemetry._counters.lock = Spy(telemetry._counters.lock)
    created_under_lock = []
    real = _telemetry.Observation
    _telemetry.Observation = lambda *a: created_under_lock.append(telemetry._counters.lock.lock.locked()) or real(*a)
    try:
        rec.points()
    finally:
        _telemetry.Observation = real
    assert held and max(held) <= 2 * 51  # publish + process totals, each bounded
    assert created_under_lock and not any(created_under_lock)
