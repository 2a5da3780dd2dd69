"""The environment check of notebook 00: is this Python and this install able to run the lessons?

    >>> from kit.environment import check_environment
    >>> check_environment()
    ✓ Python 3.11 or newer
    ✓ opentelemetry-sdk 1.45.2
    ...

Each line says what is fine, or what is wrong and the command that fixes it.
``python -m kit doctor`` (a later module) goes further: ports, brokers, endpoints.
"""

from __future__ import annotations

import os
import sys
from importlib import metadata

REQUIRED = ["opentelemetry-api", "opentelemetry-sdk", "opentelemetry-exporter-otlp",
            "opentelemetry-instrumentation", "opentelemetry-instrumentation-logging", "paho-mqtt", "amqtt",
            "pandas", "matplotlib", "pyyaml"]
MAJOR = {"paho-mqtt": 2}  # the lessons use paho 2.x's callback API
FIX = "pip install -r requirements.txt (from the kit's folder, in the environment Jupyter runs)"


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
