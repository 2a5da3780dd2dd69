"""binder/: repo2docker files that agree with requirements.txt and adapt the kit to Binder."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parent.parent


def pins(path):
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return sorted(line for line in lines if line and not line.startswith("-"))


def test_binder_requirements_are_the_same_pins():
    """Binder gets what a learner installs: requirements.txt, not the test tools."""
    assert pins(ROOT / "binder/requirements.txt") == pins(ROOT / "requirements.txt")


def test_binder_installs_mosquitto_and_the_kit():
    assert {"mosquitto", "mosquitto-clients"} <= set((ROOT / "binder/apt.txt").read_text().split())
    post = ROOT / "binder/postBuild"
    assert os.access(post, os.X_OK) and "pip install --no-deps -e ." in post.read_text()
    installs = [line for line in post.read_text().splitlines() if line.startswith("pip install")]
    assert installs == ["pip install --no-deps -e ./instrumentation/opentelemetry-instrumentation-paho-mqtt",
                        "pip install --no-deps -e ."], "Binder installs the instrumentation, then the kit"
    assert (ROOT / "binder/runtime.txt").read_text().strip() == "python-3.11"


def test_start_switches_to_embedded_mode_and_runs_the_command():
    start = ROOT / "binder/start"
    assert os.access(start, os.X_OK)
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "otlp", "MQTT_BROKER_URL": "mqtt://far-away:1883"}
    out = subprocess.run([str(start), "sh", "-c", 'echo "$KIT_ON_BINDER|${OTEL_TRACES_EXPORTER:-}|${MQTT_BROKER_URL:-}"'],
                         env=env, capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "1||"


def test_the_welcome_check_mentions_binder(monkeypatch):
    from kit.environment import check_environment
    monkeypatch.setenv("KIT_ON_BINDER", "1")
    assert any(line.startswith("· on Binder") for line in check_environment())


def test_readme_has_a_binder_badge_for_the_first_lesson():
    readme = (ROOT / "README.md").read_text()
    assert "mybinder.org/badge_logo.svg" in readme and "labpath=notebooks%2F00_welcome.ipynb" in readme
