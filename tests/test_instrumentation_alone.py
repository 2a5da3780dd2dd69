"""The paho instrumentation installed on its own, as a user who wants only it does:
``pip install ".[instruments]"`` into a new venv. No lesson dependency comes with it
(pandas, matplotlib, amqtt, JupyterLab, the SDK); it instruments paho with the API
alone (no-op), then, once the user adds the SDK, makes its spans; ``opentelemetry-instrument``
finds its entry point. The install's size is printed (pytest -s) for the record."""

import subprocess
import textwrap
from pathlib import Path

import pytest

from fresh_checkout import fresh_checkout

NOT_WANTED = ["pandas", "matplotlib", "amqtt", "jupyterlab", "opentelemetry-sdk", "pyyaml", "numpy"]

APP = textwrap.dedent("""
    import sys
    import paho.mqtt.client as mqtt
    from kit.instrumentation.paho import PahoMqttInstrumentor
    from kit.loopback import LoopbackEcho

    with_sdk = sys.argv[1] == "sdk"
    if with_sdk:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        spans = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(spans))
        trace.set_tracer_provider(provider)
    PahoMqttInstrumentor().instrument()
    echo = LoopbackEcho(mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5))
    echo.one_message("alone/t", b"21.5")
    assert echo.delivered == 1 and echo.last.payload == b"21.5"
    if with_sdk:
        names = sorted((s.name, s.kind.name) for s in spans.get_finished_spans())
        assert names == [("process alone/t", "CONSUMER"), ("publish alone/t", "PRODUCER")], names
        assert dict(echo.last.properties.UserProperty)["traceparent"].startswith("00-")
    print("ok", sys.argv[1])
""")


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


@pytest.mark.slow
def test_the_instrumentation_installs_and_works_alone(tmp_path):
    checkout, python, env, site = fresh_checkout(tmp_path)
    empty = size_mb(site)

    def run(*args, **kwargs):
        out = subprocess.run([str(python), *args], env=env, capture_output=True, text=True, timeout=900, **kwargs)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return out.stdout

    run("-m", "pip", "install", "-q", f"{checkout}[instruments]")
    installed = {line.split("==")[0].lower() for line in run("-m", "pip", "freeze").split()}
    assert {"otel-mqtt-kit", "paho-mqtt", "opentelemetry-api", "opentelemetry-instrumentation"} <= installed
    assert not installed & set(NOT_WANTED), f"lesson dependencies in the instrumentation's install: " \
                                            f"{sorted(installed & set(NOT_WANTED))}"
    alone = size_mb(site) - empty
    print(f"\ninstrumentation alone: {len(installed)} distributions, {alone:.1f} MB installed "
          f"(an empty venv's pip: {empty:.1f} MB)")
    app = tmp_path / "app.py"
    app.write_text(APP)
    assert "ok api" in run(str(app), "api", cwd=tmp_path)  # the API alone: no-op, paho untouched
    run("-m", "pip", "install", "-q", "opentelemetry-sdk>=1.45,<2")
    assert "ok sdk" in run(str(app), "sdk", cwd=tmp_path)
    found = run("-c", "from importlib.metadata import entry_points; "
                      "print([e.value for e in entry_points(group='opentelemetry_instrumentor')])")
    assert "kit.instrumentation.paho:PahoMqttInstrumentor" in found
