"""The paho instrumentation as the self-checks see it, in one place: where it is imported
from (its own distribution, opentelemetry-instrumentation-paho-mqtt), the scope its spans
carry, the span names it makes, whether it is on."""

from __future__ import annotations

import sys

MODULES = ("opentelemetry.instrumentation.paho_mqtt",)
LABEL = "the paho instrumentation (PahoMqttInstrumentor)"


def _loaded():
    """The instrumentation's module if something imported it already (never imported just to look)."""
    return next((sys.modules[m] for m in MODULES if m in sys.modules), None)


def instrumentor():
    """The ``PahoMqttInstrumentor`` class, or None when it cannot be imported."""
    module = _loaded()
    if module is None:
        for name in MODULES:
            try:
                module = __import__(name, fromlist=["PahoMqttInstrumentor"])
                break
            except ImportError:
                continue
    return getattr(module, "PahoMqttInstrumentor", None)


def scope() -> str:
    """The start of the tracer name (instrumentation scope) of every span it makes."""
    cls = instrumentor()
    return cls.__module__.rsplit("._", 1)[0] if cls is not None else MODULES[-1]


def span_name(operation: str, topic: str) -> str:
    """The name the instrumentation gives its span for ``operation`` (``"publish"`` or
    ``"process"``) on ``topic``: asked of it, so a check never copies its format."""
    from opentelemetry.instrumentation.paho_mqtt import span_name as name
    return name(operation, topic)


def instrumented() -> bool:
    """Is paho instrumented right now (globally, by ``instrument()``)?"""
    module = _loaded()
    try:
        return bool(module and module.PahoMqttInstrumentor().is_instrumented_by_opentelemetry)
    except Exception:  # a half-imported or changed module: unknown is "no"
        return False
