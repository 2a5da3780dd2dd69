"""The environment check of notebook 00: is this Python and this install able to run the lessons?

    >>> from kit.environment import check_environment
    >>> check_environment()
    ✓ Python 3.11 or newer
    ✓ opentelemetry-sdk 1.45.2
    ...

Each line says what is fine, or what is wrong and the command that fixes it.
``python -m kit doctor`` (a later module) goes further: ports, brokers, endpoints.

The paho-mqtt instrumentation is a distribution of its own, not on PyPI
(``instrumentation/`` in the kit's folder): ``pip install -e .`` alone does not install it.
Then the check says so, and so does every lesson that imports it: once ``kit`` is
imported, ``import opentelemetry.instrumentation.paho_mqtt`` fails with
:class:`InstrumentationMissing` (an ``ImportError``), which names the fix instead of
showing a traceback.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from importlib import metadata

REQUIRED = ["opentelemetry-api", "opentelemetry-sdk", "opentelemetry-exporter-otlp",
            "opentelemetry-instrumentation", "opentelemetry-instrumentation-logging", "paho-mqtt", "amqtt",
            "pandas", "matplotlib", "pyyaml"]
MAJOR = {"paho-mqtt": 2}  # the lessons use paho 2.x's callback API
FIX = "pip install -r requirements.txt (from the kit's folder, in the environment Jupyter runs)"

INSTRUMENTATION = "opentelemetry-instrumentation-paho-mqtt"
INSTRUMENTATION_MODULE = "opentelemetry.instrumentation.paho_mqtt"
INSTRUMENTATION_MISSING = (
    f"{INSTRUMENTATION} is not installed: the paho-mqtt instrumentation is a distribution of its own, in "
    f"the kit's instrumentation/ folder and not on PyPI, so `pip install -e .` alone does not install it. "
    f"Run {FIX}")


class InstrumentationMissing(ModuleNotFoundError):
    """``import opentelemetry.instrumentation.paho_mqtt`` where it is not installed: says how to
    install it (in Jupyter, that sentence alone, without a traceback)."""

    def __init__(self, name: str = INSTRUMENTATION_MODULE):
        super().__init__(f"No module named {name!r}. {INSTRUMENTATION_MISSING}", name=name)

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines in place of the traceback
        return [f"{type(self).__name__}: {INSTRUMENTATION_MISSING}"]


class _SayWhatIsMissing:
    """Last on ``sys.meta_path``: asked only when no other finder has the instrumentation."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == INSTRUMENTATION_MODULE:  # (its modules are looked for once it is found)
            raise InstrumentationMissing(name)
        return None


def say_what_is_missing() -> None:
    """From now on, importing the instrumentation where it is not installed says how to install it
    (done when ``kit`` is imported; safe to call again)."""
    if not any(getattr(f, "__name__", "") == "_SayWhatIsMissing" for f in sys.meta_path):
        sys.meta_path.append(_SayWhatIsMissing)


def instrumentation_installed() -> str | None:
    """The instrumentation's version if it can be imported here (None if not)."""
    try:
        found = importlib.util.find_spec(INSTRUMENTATION_MODULE) is not None
    except ImportError:  # InstrumentationMissing, or a namespace above it missing
        found = False
    if not found:
        return None
    try:
        return metadata.version(INSTRUMENTATION)
    except metadata.PackageNotFoundError:  # importable from a folder on sys.path, not installed
        return "(not installed, found on the path)"


class Report(list):
    """Lines of ✓/✗; ``report.ok`` is True when nothing blocks the lessons."""

    @property
    def ok(self) -> bool:
        return all(line.startswith("✓") or line.startswith("·") for line in self)

    def __repr__(self):
        return "\n".join(self)


def check_environment() -> Report:
    report = Report()
    if sys.version_info >= (3, 11):
        report.append(f"✓ Python {sys.version.split()[0]} (3.11 or newer needed)")
    else:
        report.append(f"✗ Python {sys.version.split()[0]} is too old: the kit needs 3.11 or newer.")
    for name in REQUIRED:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            report.append(f"✗ {name} is not installed: {FIX}")
            continue
        major = MAJOR.get(name)
        if major is not None and not version.startswith(f"{major}."):
            report.append(f"✗ {name} {version} is installed, the lessons need {major}.x: {FIX}")
        else:
            report.append(f"✓ {name} {version}")
    version = instrumentation_installed()
    report.append(f"✓ {INSTRUMENTATION} {version}" if version else f"✗ {INSTRUMENTATION_MISSING}")
    if os.environ.get("KIT_ON_BINDER"):
        report.append("· on Binder: everything runs embedded (no Docker, no outbound network); "
                      "the session ends after about 10 idle minutes, so download what you want to keep")
    chosen = {s: os.environ.get(f"OTEL_{s}_EXPORTER") for s in ("TRACES", "METRICS", "LOGS")}
    if any(chosen.values()):
        report.append("· exporters from the environment: "
                      + ", ".join(f"{s.lower()}={v}" for s, v in chosen.items() if v))
    else:
        report.append("· no OTEL_*_EXPORTER set: telemetry stays in this notebook (in-memory)")
    return report
