"""The one span processor and the one log processor that :func:`kit.telemetry.setup` adds
to a service's providers; re-running ``setup`` swaps what is inside them.

The SDK can add a processor to a provider but never remove one: a learner who re-runs
``setup(exporters="console")`` after ``setup(exporters="otlp")`` would keep both. So each
provider gets a switch once, and ``inner`` (the processors doing the work) is replaced.
"""

from __future__ import annotations

from opentelemetry.sdk.trace import SpanProcessor


class SwitchSpanProcessor(SpanProcessor):
    """Passes every call on to the processors in ``inner``, a list ``setup`` replaces."""

    def __init__(self):
        self.inner: list = []

    def on_start(self, span, parent_context=None):
        for p in self.inner:
            p.on_start(span, parent_context=parent_context)

    def on_end(self, span):
        for p in self.inner:
            p.on_end(span)

    def shutdown(self):
        for p in self.inner:
            p.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all([p.force_flush(timeout_millis) for p in self.inner])


class SwitchLogProcessor(SwitchSpanProcessor):
    """The same for a ``LoggerProvider``'s log record processors."""

    def on_emit(self, log_record):
        for p in self.inner:
            p.on_emit(log_record)

    def emit(self, log_record):  # older name of on_emit
        self.on_emit(log_record)
