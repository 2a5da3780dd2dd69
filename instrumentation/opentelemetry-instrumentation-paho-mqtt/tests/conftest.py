"""Fixtures: the SDK with in-memory exporters, the instrumentation switched on with them
(and off again after the test), paho clients on the loopback echo, and a real Mosquitto
when one is installed. Nothing here needs more than this distribution, paho-mqtt, the
SDK and pytest."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor

sys.path.insert(0, os.path.dirname(__file__))

from paho_mqtt_loopback import Loopback, new_client  # noqa: E402

MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


class Sdk:
    """A tracer provider and a meter provider of the SDK, recording in memory."""

    def __init__(self):
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self, kind: str | None = None) -> list:
        """The finished spans, oldest first (``kind``: "PRODUCER" or "CONSUMER" only)."""
        return [s for s in self.exporter.get_finished_spans() if kind is None or s.kind.name == kind]

    def points(self) -> dict:
        """{metric name: (metric, [data points])} as the SDK collects them now."""
        out = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    out[metric.name] = (metric, list(metric.data.data_points))
        return out


@pytest.fixture
def sdk():
    yield (s := Sdk())
    s.tracer_provider.shutdown()
    s.meter_provider.shutdown()


@pytest.fixture(autouse=True)
def no_paho_variables(monkeypatch):
    """Each test starts with no OTEL_PYTHON_PAHO_MQTT_* variable, and paho uninstrumented."""
    for name in list(os.environ):
        if name.startswith("OTEL_PYTHON_PAHO_MQTT_"):
            monkeypatch.delenv(name)
    yield
    if PahoMqttInstrumentor().is_instrumented_by_opentelemetry:
        PahoMqttInstrumentor().uninstrument()


@pytest.fixture
def instrument(sdk):
    """instrument(**options): every paho client, recorded by ``sdk``."""
    def go(**options):
        PahoMqttInstrumentor().instrument(tracer_provider=sdk.tracer_provider, meter_provider=sdk.meter_provider,
                                          **options)
    return go


@pytest.fixture
def echo():
    """echo(protocol=MQTTv5, on_message=None, client_id="the-client"): a client on the loopback, closed after the test."""
    made = []

    def go(protocol=mqtt.MQTTv5, on_message=None, client_id="the-client", instrumented_client=None):
        made.append(Loopback(instrumented_client or new_client(protocol, client_id), on_message))
        return made[-1]
    yield go
    for loopback in made:
        loopback.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory):
    """(host, port) of a Mosquitto of this module's own, on a free port."""
    if MOSQUITTO is None:
        pytest.skip("Mosquitto is not installed (Debian: apt-get install mosquitto): the real-broker tests need it")
    port = _free_port()
    conf = tmp_path_factory.mktemp("mosquitto") / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    log = Path(conf.parent / "mosquitto.log").open("w+")
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 10
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            pytest.fail(f"Mosquitto did not start on port {port}: {log.read()[-2000:]}")
        time.sleep(0.02)  # poll for the listening socket, with the deadline above
    yield "127.0.0.1", port
    proc.terminate()
    proc.wait(10)
    log.close()
