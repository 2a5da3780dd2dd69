"""The paho instrumentation installed on its own, from its folder, as a user who wants only
it does: ``pip install "<folder>[instruments]"`` into a new venv. Neither the kit nor a
lesson dependency (pandas, matplotlib, amqtt, JupyterLab, the SDK) comes with it; it
instruments paho with the API alone (no-op); then, with the SDK and pytest added (the
README's command), its own tests pass there with no ``kit`` importable, the test of
``opentelemetry-instrument`` among them. The install's size is printed (pytest -s)."""

import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from fresh_checkout import fresh_checkout
from mqtt_helpers import MOSQUITTO

FOLDER = Path("instrumentation") / "opentelemetry-instrumentation-paho-mqtt"
NOT_WANTED = ["otel-mqtt-kit", "pandas", "matplotlib", "amqtt", "jupyterlab", "opentelemetry-sdk", "pyyaml", "numpy"]

API_ONLY_APP = textwrap.dedent("""
    import paho.mqtt.client as mqtt
    from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor
    from paho_mqtt_loopback import Loopback, new_client

    PahoMqttInstrumentor().instrument()
    assert PahoMqttInstrumentor().is_instrumented_by_opentelemetry
    message = Loopback(new_client()).send("alone/t", b"21.5")
    assert message.payload == b"21.5"
    print("ok api")
""")


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


@pytest.mark.slow
def test_the_instrumentation_installs_alone_and_its_own_tests_pass_without_the_kit(tmp_path):
    checkout, python, env, site = fresh_checkout(tmp_path)
    folder = checkout / FOLDER
    empty = size_mb(site)

    def run(*args, cwd=folder, extra_env=None):
        out = subprocess.run([str(python), *args], env={**env, **(extra_env or {})}, cwd=cwd, capture_output=True,
                             text=True, timeout=900)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return out.stdout

    run("-m", "pip", "install", "-q", f"{folder}[instruments]")
    installed = {line.split("==")[0].lower() for line in run("-m", "pip", "freeze").split()}
    assert {"opentelemetry-instrumentation-paho-mqtt", "paho-mqtt", "opentelemetry-api",
            "opentelemetry-instrumentation"} <= installed
    assert not installed & set(NOT_WANTED), f"not the instrumentation's: {sorted(installed & set(NOT_WANTED))}"
    alone = size_mb(site) - empty
    print(f"\ninstrumentation alone: {len(installed)} distributions, {alone:.1f} MB installed "
          f"(an empty venv's pip: {empty:.1f} MB)")
    # the installed copy is the one imported, not the folder's src/
    where = run("-c", "import opentelemetry.instrumentation.paho_mqtt as m; print(m.__file__)")
    assert where.startswith(str(site)), where
    assert run("-c", "import importlib.util; print(importlib.util.find_spec('kit'))").strip() == "None"

    app = tmp_path / "app.py"
    app.write_text(API_ONLY_APP)
    assert "ok api" in run(str(app), extra_env={"PYTHONPATH": str(folder / "tests")})  # no SDK: no-op, paho works

    run("-m", "pip", "install", "-q", "opentelemetry-sdk>=1.45,<2", "pytest")
    tests = run("-m", "pytest", "-p", "no:cacheprovider", "-v", "tests")
    summary = tests.strip().splitlines()[-1]
    print(f"its own tests, in that venv: {summary}")
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 60 and "failed" not in summary and "error" not in summary, tests[-3000:]
    assert re.search(r"test_opentelemetry_instrument_finds_it\[enabled\] PASSED", tests)
    if MOSQUITTO:
        assert re.search(r"test_paho_mqtt_mosquitto.py::test_one_trace_from_publisher_to_subscriber\[2\] PASSED", tests)
