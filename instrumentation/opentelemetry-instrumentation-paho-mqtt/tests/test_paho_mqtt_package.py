"""The distribution as an installer and ``opentelemetry-instrument`` see it: what it
instruments (``instrumentation_dependencies()`` and the ``instruments`` extra agree), its
entry point, its one version, and zero-code instrumentation of an app that has no
OpenTelemetry in it."""

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
from opentelemetry.instrumentation.dependencies import get_dependency_conflicts, get_dist_dependency_conflicts
from packaging.requirements import Requirement

import opentelemetry.instrumentation.paho_mqtt as package
from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor

DIST = "opentelemetry-instrumentation-paho-mqtt"
TESTS = Path(__file__).parent


def instruments_extra() -> list[Requirement]:
    requirements = [Requirement(r) for r in metadata.requires(DIST) or []]
    return [r for r in requirements if r.marker is not None and r.marker.evaluate({"extra": "instruments"})
            and not r.marker.evaluate({"extra": ""})]


def test_instrumentation_dependencies_are_the_instruments_extra():
    declared = [Requirement(r) for r in PahoMqttInstrumentor().instrumentation_dependencies()]
    extra = instruments_extra()
    assert [(r.name, r.specifier) for r in declared] == [(r.name, r.specifier) for r in extra] != []


def test_the_installed_paho_satisfies_them_and_paho_1_or_3_would_not():
    dependencies = PahoMqttInstrumentor().instrumentation_dependencies()
    assert get_dependency_conflicts(dependencies) is None  # instrument() goes ahead
    assert get_dist_dependency_conflicts(metadata.distribution(DIST)) is None  # so does opentelemetry-instrument
    [paho] = [Requirement(d) for d in dependencies]
    assert paho.name == "paho-mqtt" and paho.specifier.contains(metadata.version("paho-mqtt"))
    assert not paho.specifier.contains("1.6.1")  # the 1.x Client API is not the one wrapped here
    assert not paho.specifier.contains("3.0.0")


def test_the_base_install_brings_no_paho_and_no_sdk():
    base = [Requirement(r) for r in metadata.requires(DIST) or [] if "extra" not in r]
    assert {r.name for r in base} == {"opentelemetry-api", "opentelemetry-instrumentation", "wrapt"}


def test_one_version_everywhere():
    assert package.__version__ == metadata.version(DIST)
    assert package.__name__ == "opentelemetry.instrumentation.paho_mqtt"


def test_registered_as_the_paho_mqtt_entry_point():
    [entry] = [e for e in metadata.entry_points(group="opentelemetry_instrumentor") if e.name == "paho_mqtt"]
    assert entry.load() is PahoMqttInstrumentor
    assert entry.dist.name == DIST


APP = textwrap.dedent("""
    # an app with no OpenTelemetry in it but these lines, which only look at the result
    import sys
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # no distro configured one
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(spans))

    # the app itself: plain paho
    from paho_mqtt_loopback import Loopback, new_client
    echo = Loopback(new_client())
    message = echo.send("zero/code", b"hello")
    assert message.payload == b"hello"
    print(sorted(f"{s.kind.name} {s.name}" for s in spans.get_finished_spans()))
""")


@pytest.mark.parametrize("disabled", [False, True], ids=["enabled", "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"])
def test_opentelemetry_instrument_finds_it(tmp_path, disabled):
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {**os.environ, "PYTHONPATH": str(TESTS), "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
           "OTEL_LOGS_EXPORTER": "none"}
    if disabled:
        env["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] = "paho_mqtt"
    command = os.path.join(os.path.dirname(sys.executable), "opentelemetry-instrument")
    out = subprocess.run([command, sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-3000:]
    expected = "[]" if disabled else "['CONSUMER process zero/code', 'PRODUCER publish zero/code']"
    assert out.stdout.strip() == expected, out.stderr[-3000:]
