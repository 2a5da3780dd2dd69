"""The four messaging metrics: names, instruments, units, buckets, attributes, the options
that shape them, and the cardinality bound."""

import paho.mqtt.client as mqtt
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.metrics.export import Histogram, Sum

from opentelemetry.instrumentation.paho_mqtt import DURATION_BUCKETS, PahoMqttInstrumentor

SENT, CONSUMED = "messaging.client.sent.messages", "messaging.client.consumed.messages"
OPERATION, PROCESS = "messaging.client.operation.duration", "messaging.process.duration"


def test_three_messages_make_the_four_metrics(sdk, instrument, echo):
    instrument()
    loop = echo()
    for _ in range(3):
        loop.send("metrics/t", b"x")
    points = sdk.points()
    assert set(points) == {SENT, CONSUMED, OPERATION, PROCESS}
    expected_attributes = {"messaging.system": "mqtt", "server.address": "127.0.0.1", "server.port": loop.client.port}
    for name, operation in ((SENT, "publish"), (CONSUMED, "process")):
        metric, [point] = points[name]
        assert isinstance(metric.data, Sum) and metric.data.is_monotonic and metric.unit == "{message}"
        assert point.value == 3
        assert dict(point.attributes) == {**expected_attributes, "messaging.operation.name": operation}
    for name in (OPERATION, PROCESS):
        metric, [point] = points[name]
        assert isinstance(metric.data, Histogram) and metric.unit == "s"
        assert point.count == 3 and list(point.explicit_bounds) == DURATION_BUCKETS


@pytest.mark.parametrize("destination, expected", [
    ("template", {"messaging.destination.template": "devices/+/temp"}),
    ("topic", {"messaging.destination.name": "devices/d-1/temp"}),
    ("none", {}),
])
def test_metric_destination_names_the_destination_as_asked(sdk, instrument, echo, destination, expected):
    instrument(metric_destination=destination, destination_templates="devices/+/temp")
    echo().send("devices/d-1/temp", b"x")
    _, [point] = sdk.points()[SENT]
    named = {k: v for k, v in point.attributes.items() if k.startswith("messaging.destination.")}
    assert named == expected


def test_an_unknown_metric_destination_is_refused_with_the_choices(sdk):
    with pytest.raises(ValueError, match="template, topic, none"):
        PahoMqttInstrumentor().instrument(meter_provider=sdk.meter_provider, metric_destination="topics")


def test_errors_are_counted_with_their_type(sdk, instrument):
    instrument()
    mqtt.Client(mqtt.CallbackAPIVersion.VERSION2).publish("t/lost", b"x", qos=0)  # never connected
    _, [point] = sdk.points()[SENT]
    assert point.attributes["error.type"] == "MQTT_ERR_NO_CONN" and point.value == 1


def test_without_duration_histograms_the_counters_stay(sdk, instrument, echo):
    instrument(duration_histograms=False)
    echo().send("t/x", b"x")
    assert set(sdk.points()) == {SENT, CONSUMED}


def test_the_counters_are_bounded_by_the_cardinality_limit(sdk, instrument, echo):
    instrument(metric_destination="topic", cardinality_limit=5)
    loop = echo()
    for i in range(12):
        loop.send(f"devices/{i}", b"x")
    _, points = sdk.points()[SENT]
    assert len(points) == 6  # five topics, then the overflow set
    overflow = [p for p in points if p.attributes.get("otel.metric.overflow")]
    assert [p.value for p in overflow] == [7] and sum(p.value for p in points) == 12


def test_counting_goes_on_after_instrumenting_again(sdk, instrument, echo):
    instrument()
    loop = echo()
    loop.send("t/x", b"x")
    PahoMqttInstrumentor().uninstrument()
    instrument()
    loop.send("t/x", b"x")
    _, [point] = sdk.points()[SENT]
    assert point.value == 2


def test_suppressed_messages_are_not_counted(sdk, instrument, echo):
    instrument()
    loop = echo()
    loop.send("t/x", b"x")
    with suppress_instrumentation():
        loop.send("t/x", b"x")
    _, [point] = sdk.points()[SENT]
    assert point.value == 1
