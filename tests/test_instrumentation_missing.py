"""Where the paho-mqtt instrumentation is not installed (``pip install -e .`` alone, or a venv
made before it became a distribution of its own), the environment check, the doctor and
the lessons say so and name the fix, instead of an ImportError's traceback.

The instrumentation is hidden from a Python of its own (a subprocess, a kernel) the way
such an install looks: its import finder and its distribution's metadata are gone
(a ``sitecustomize`` on ``PYTHONPATH``, run after the venv's ``.pth`` files)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lesson_kernel import LessonKernel

HIDE = '''
import importlib.metadata as _md
import sys

sys.meta_path[:] = [f for f in sys.meta_path if "opentelemetry_instrumentation_paho_mqtt" not in
                    (getattr(f, "__module__", "") or "")]
_discover = _md.Distribution.discover.__func__


def _without_it(cls, **kwargs):
    return (d for d in _discover(cls, **kwargs)
            if (d.metadata["Name"] or "").lower() != "opentelemetry-instrumentation-paho-mqtt")


_md.Distribution.discover = classmethod(_without_it)
'''
FIX = "pip install -r requirements.txt"
SAID = "opentelemetry-instrumentation-paho-mqtt is not installed"


@pytest.fixture(scope="module")
def hidden(tmp_path_factory):
    """An environment (for subprocess.run) in which the instrumentation is not installed."""
    folder = tmp_path_factory.mktemp("hide-paho-instrumentation")
    (folder / "sitecustomize.py").write_text(HIDE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MQTT_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(folder)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    return env


def run(code: str, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)


def test_the_hiding_works(hidden):
    out = run("import importlib.util, importlib.metadata as md\n"
              "try:\n    md.version('opentelemetry-instrumentation-paho-mqtt'); print('metadata')\n"
              "except md.PackageNotFoundError:\n    print('no metadata')\n"
              "import opentelemetry.instrumentation.paho_mqtt", hidden)
    assert out.stdout.strip() == "no metadata" and "ModuleNotFoundError" in out.stderr, out.stdout + out.stderr


def test_lesson_00s_environment_check_says_it_is_missing_and_how_to_fix_it(hidden):
    out = run("from kit.environment import check_environment\nr = check_environment()\nprint(repr(r))\n"
              "print(r.ok)", hidden)
    assert not out.stderr, out.stderr
    [line] = [line for line in out.stdout.splitlines() if "opentelemetry-instrumentation-paho-mqtt" in line]
    assert line.startswith(f"✗ {SAID}") and FIX in line and "pip install -e ." in line, line
    assert out.stdout.splitlines()[-1] == "False"


def test_the_doctor_says_it_is_missing_and_exits_one(hidden):
    out = subprocess.run([sys.executable, "-m", "kit", "doctor"], capture_output=True, text=True, timeout=180,
                         env=hidden)
    [line] = [line for line in out.stdout.splitlines() if "paho-mqtt instrumentation" in line]
    assert line.startswith(f"✗ {SAID}") and FIX in line, line
    assert out.returncode == 1 and "problem(s) block the lessons" in out.stdout


def test_installed_it_is_a_line_of_its_own():
    from kit import doctor
    from kit.environment import check_environment
    assert any(line.startswith("✓ opentelemetry-instrumentation-paho-mqtt 0.") for line in check_environment())
    [line] = doctor.check_instrumentation()
    assert line.status == "ok" and "opentelemetry-instrumentation-paho-mqtt" in line.text


@pytest.mark.parametrize("cell", [
    "from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor",  # lessons 08, 11
    "from kit.propagation import UserPropertiesGetter",                                # lessons 06, 07 (kit's re-export)
])
def test_a_lesson_that_needs_it_says_what_to_run_instead_of_a_traceback(hidden, monkeypatch, cell):
    monkeypatch.setenv("PYTHONPATH", hidden["PYTHONPATH"])
    with LessonKernel() as kernel:
        assert not kernel.run("from kit.telemetry import setup\ntele = setup('lesson')").error
        out = kernel.run(cell)
    assert out.error.startswith(f"InstrumentationMissing: {SAID}") and FIX in out.error, out.error
    assert "Traceback" not in out.error and "---" not in out.error and "\n" not in out.error.strip(), out.error


def test_in_a_script_it_is_an_import_error_that_says_the_fix(hidden):
    out = run("import kit\ntry:\n    import opentelemetry.instrumentation.paho_mqtt\n"
              "except ImportError as exc:\n    print(type(exc).__name__, exc.name, '|', exc)", hidden)
    assert out.stdout.startswith("InstrumentationMissing opentelemetry.instrumentation.paho_mqtt |"), out.stderr
    assert SAID in out.stdout and FIX in out.stdout


def test_where_it_is_installed_nothing_else_changes():
    import importlib.util

    import kit  # noqa: F401  (installs the finder)
    from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor  # noqa: F401
    assert importlib.util.find_spec("opentelemetry.instrumentation.no_such_thing_xyz") is None
    with pytest.raises(ModuleNotFoundError) as raised:
        import opentelemetry.instrumentation.paho_mqtt.no_such_module  # noqa: F401
    assert type(raised.value) is ModuleNotFoundError  # a real missing submodule is what it always was
