"""binder/: repo2docker files that agree with requirements.txt and adapt the kit to Binder."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parent.parent


def pins(path):
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return sorted(line for line in lines if line and not line.startswith("-"))


BINDER_ONLY = ["notebook==7.6.5"]   # repo2docker's base env has notebook 7.4.7, which refuses jupyterlab 4.6


def test_binder_requirements_are_the_same_pins():
    """Binder gets what a learner installs: requirements.txt, not the test tools; and one pin
    more, notebook, which repo2docker's own environment brings at a version that refuses the
    pinned JupyterLab."""
    assert pins(ROOT / "binder/requirements.txt") == sorted(pins(ROOT / "requirements.txt") + BINDER_ONLY)


def test_binder_pins_a_notebook_that_accepts_the_pinned_jupyterlab():
    """notebook 7.6.5 requires jupyterlab>=4.6.6,<4.7 (its wheel's metadata); the pin must stay in that range."""
    jupyterlab = next(p for p in pins(ROOT / "requirements.txt") if p.startswith("jupyterlab=="))
    major, minor, patch = (int(v) for v in jupyterlab.split("==")[1].split("."))
    assert "notebook==7.6.5" in pins(ROOT / "binder/requirements.txt")
    assert (4, 6, 6) <= (major, minor, patch) < (4, 7, 0), "notebook 7.6.5 refuses this jupyterlab: re-pin it"
    reason = (ROOT / "binder/requirements.txt").read_text()
    assert "7.4.7" in reason and "jupyterlab<4.5" in reason   # the file says why Binder differs


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
