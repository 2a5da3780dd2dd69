"""Every option its environment variable: the variable works alone, a keyword wins over
it, a value that is not a choice is ignored with a warning; and the README and the
module's docstring document every option and variable."""

import logging
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from opentelemetry import baggage, context

import opentelemetry.instrumentation.paho_mqtt as package
from opentelemetry.instrumentation.paho_mqtt import _telemetry

README = Path(__file__).parent.parent / "README.md"
SENT = "messaging.client.sent.messages"
VARIABLES = ["OTEL_PYTHON_PAHO_MQTT_DURATION_HISTOGRAMS", "OTEL_PYTHON_PAHO_MQTT_METRIC_DESTINATION",
             "OTEL_PYTHON_PAHO_MQTT_DESTINATION_TEMPLATES", "OTEL_PYTHON_PAHO_MQTT_INCOMING_BAGGAGE",
             "OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD"]
KEYWORDS = ["tracer_provider", "meter_provider", "duration_histograms", "metric_destination", "destination_templates",
            "incoming_baggage", "json_payload", "links_only", "retained_as_link", "publish_hook", "process_hook",
            "message_body_size", "network_protocol_attributes", "cardinality_limit"]


def test_every_keyword_is_an_option():
    defaults = _telemetry.options({})
    assert set(defaults) | {"tracer_provider", "meter_provider", "cardinality_limit"} == set(KEYWORDS)
    assert _telemetry.options({"cardinality_limit": "7"})["cardinality_limit"] == 7


@pytest.mark.parametrize("where", ["the package's docstring", "the README"])
def test_every_option_and_variable_is_documented(where):
    text = package.__doc__ if where == "the package's docstring" else README.read_text(encoding="utf-8")
    for name in KEYWORDS + VARIABLES + ["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "suppress_instrumentation"]:
        assert name in text, f"{name} is not in {where}"


def test_duration_histograms_variable(sdk, instrument, echo, monkeypatch):
    monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_DURATION_HISTOGRAMS", "FALSE ")
    instrument()
    echo().send("t/x", b"x")
    assert "messaging.client.operation.duration" not in sdk.points() and SENT in sdk.points()


def test_a_keyword_wins_over_its_variable(sdk, instrument, echo, monkeypatch):
    monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_DURATION_HISTOGRAMS", "false")
    monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_METRIC_DESTINATION", "none")
    instrument(duration_histograms=True, metric_destination="topic")
    echo().send("t/x", b"x")
    assert "messaging.client.operation.duration" in sdk.points()
    assert sdk.points()[SENT][1][0].attributes["messaging.destination.name"] == "t/x"


def test_metric_destination_and_templates_variables(sdk, instrument, echo, monkeypatch):
    monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_METRIC_DESTINATION", "template")
    monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_DESTINATION_TEMPLATES", " rooms/+/temp , devices/# ")
    instrument()
    echo().send("devices/d-1/x", b"x")
    [span] = sdk.spans("PRODUCER")
    assert span.attributes["messaging.destination.template"] == "devices/#"
    assert sdk.points()[SENT][1][0].attributes["messaging.destination.template"] == "devices/#"


@pytest.mark.parametrize("value, expected", [("keep", {"tenant.id": "acme", "secret": "x"}), ("drop", {}),
                                             ("tenant.id, other", {"tenant.id": "acme"})])
def test_incoming_baggage_variable(instrument, echo, monkeypatch, value, expected):
    monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_INCOMING_BAGGAGE", value)
    instrument()
    seen = []
    loop = echo(on_message=lambda c, u, m: seen.append(dict(baggage.get_all())))
    token = context.attach(baggage.set_baggage("secret", "x", baggage.set_baggage("tenant.id", "acme")))
    try:
        loop.send("t/bag", b"x")
    finally:
        context.detach(token)
    assert seen == [expected]


def test_a_value_that_is_not_a_choice_is_ignored_with_a_warning(sdk, instrument, echo, monkeypatch, caplog):
    monkeypatch.setenv("OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD", "yes please")
    with caplog.at_level(logging.WARNING):
        instrument()
    assert "OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD='yes please' is not one of true, false: ignored" in caplog.text
    message = echo(mqtt.MQTTv311).send("t/json", b'{"t": 1}')
    assert message.payload == b'{"t": 1}'  # the default: off


def test_a_wrong_incoming_baggage_keyword_is_refused_with_an_example(sdk):
    from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor
    with pytest.raises(ValueError, match="tenant.id"):
        PahoMqttInstrumentor().instrument(tracer_provider=sdk.tracer_provider, incoming_baggage="tenant.id")
