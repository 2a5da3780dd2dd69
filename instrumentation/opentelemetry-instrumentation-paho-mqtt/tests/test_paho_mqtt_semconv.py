"""Every attribute and metric the instrumentation records, checked against
opentelemetry-semantic-conventions (its incubating registry, where the messaging
conventions are): the names exist and are not deprecated, the values are the
conventions' own, the metrics have the conventions' instrument, unit and description.
Only MQTT's own attributes (the conventions define none for MQTT) are the
instrumentation's, and they must not clash with a name the conventions gave meaning to."""

import ast
import importlib
import pkgutil
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from opentelemetry.sdk.metrics.export import Histogram, Sum
from opentelemetry.semconv import attributes as stable_attributes
from opentelemetry.semconv._incubating import attributes as incubating_attributes
from opentelemetry.semconv._incubating.attributes.messaging_attributes import MessagingOperationTypeValues
from opentelemetry.semconv._incubating.metrics import messaging_metrics

MQTT_OWN = {"messaging.mqtt.qos", "messaging.mqtt.retain", "messaging.mqtt.queued"}
SDK_OWN = {"otel.metric.overflow"}  # the SDK's cardinality overflow set


def documented(module) -> dict:
    """{value: docstring} of a semconv module's constants (the docstring follows each one)."""
    body = ast.parse(Path(module.__file__).read_text(encoding="utf-8")).body
    out = {}
    for statement, following in zip(body, body[1:] + [None]):
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.value, ast.Constant) \
                and isinstance(statement.value.value, str):
            doc = following.value.value if isinstance(following, ast.Expr) and \
                isinstance(following.value, ast.Constant) else ""
            out[statement.value.value] = str(doc).strip()
    return out


def registry() -> dict:
    """Every attribute name of the conventions with its docstring: the stable ones (whose
    incubating copies say "Deprecated in favor of stable"), then the incubating ones."""
    out = {}
    for package in (incubating_attributes, stable_attributes):
        for info in pkgutil.iter_modules(package.__path__):
            out.update(documented(importlib.import_module(f"{package.__name__}.{info.name}")))
    return out


@pytest.fixture(scope="module")
def conventions():
    return registry()


def everything_recorded(sdk, instrument, echo):
    """Spans and metrics with every option that adds an attribute, and every error path."""
    instrument(message_body_size=True, network_protocol_attributes=True, destination_templates=["t/+"],
               metric_destination="topic")
    echo().send("t/a", b"x", retain=True)

    def boom(c, u, m):
        raise RuntimeError("callback")
    with pytest.raises(RuntimeError):
        echo(mqtt.MQTTv311, on_message=boom).send("t/b", b"x")
    offline = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="offline")
    offline.publish("t/c", b"x", qos=0)  # lost: an error
    offline.publish("t/c", b"x", qos=1)  # queued
    attributes = {}
    for span in sdk.spans():
        attributes.update(span.attributes)
    points = sdk.points()
    for _, data_points in points.values():
        for point in data_points:
            attributes.update(point.attributes)
    return attributes, points


def test_every_attribute_is_a_current_convention_or_mqtts_own(sdk, instrument, echo, conventions):
    attributes, _ = everything_recorded(sdk, instrument, echo)
    assert MQTT_OWN <= set(attributes)  # the run above made them all
    for name in set(attributes) - MQTT_OWN - SDK_OWN:
        assert name in conventions, f"{name} is not an attribute of the semantic conventions"
        assert not conventions[name].startswith("Deprecated"), f"{name}: {conventions[name]}"
    for name in MQTT_OWN:
        assert name not in conventions, f"the conventions now define {name}: use theirs"


def test_attribute_values_are_the_conventions(sdk, instrument, echo):
    attributes, _ = everything_recorded(sdk, instrument, echo)
    types = {sp.attributes["messaging.operation.type"] for sp in sdk.spans()}
    assert types == {MessagingOperationTypeValues.SEND.value, MessagingOperationTypeValues.PROCESS.value}
    assert attributes["messaging.system"] == "mqtt"  # not in the conventions' list: a custom value, lower case
    assert attributes["network.protocol.name"] == "mqtt"


def test_metrics_have_the_conventions_name_instrument_unit_and_description(sdk, instrument, echo):
    _, points = everything_recorded(sdk, instrument, echo)
    conventions = documented(messaging_metrics)
    assert len(points) == 4
    for name, (metric, _) in points.items():
        assert name in conventions, f"{name} is not a messaging metric of the conventions"
        doc = conventions[name]
        assert not doc.startswith("Deprecated"), f"{name}: {doc}"
        lines = doc.splitlines()
        assert metric.description == lines[0].rstrip(".") + "."
        assert f"Unit: {metric.unit}" in lines
        instrument_kind = "histogram" if isinstance(metric.data, Histogram) else \
            "counter" if isinstance(metric.data, Sum) and metric.data.is_monotonic else "other"
        assert f"Instrument: {instrument_kind}" in lines, (name, lines)
