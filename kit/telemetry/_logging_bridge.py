"""Python ``logging`` bridged to OpenTelemetry logs, with the handler of
``opentelemetry-instrumentation-logging`` (the SDK's own ``LoggingHandler`` is deprecated).

:func:`bridge_root_logger` adds one handler to the root logger, so every logger of the app
(``logging.getLogger("myapp")``) becomes log records of the global ``LoggerProvider``,
carrying the current span's trace and span ids; the kit's, the exporters' and a few noisy
libraries' own lines are left out (no feedback loop). :func:`set_level` lowers the root
logger's level so that ``logging.info`` is recorded at all.
"""

from __future__ import annotations

import functools
import logging

from opentelemetry import _logs
from opentelemetry.instrumentation.logging.handler import LoggingHandler

NOT_BRIDGED = ("opentelemetry", "grpc", "urllib3", "asyncio", "kit", "matplotlib", "PIL")


class _SkipInternal(logging.Filter):
    """Keep the exporters' own log lines out of the log pipeline (no feedback loop)."""

    def filter(self, record):
        return not record.name.startswith(NOT_BRIDGED)


@functools.cache  # once per process
def bridge_root_logger() -> None:
    handler = LoggingHandler(logger_provider=_logs.get_logger_provider())
    handler.addFilter(_SkipInternal())
    logging.getLogger().addHandler(handler)


def set_level(level: int | str) -> None:
    """Lower the root logger's level to ``level`` (never raise it)."""
    level = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    root = logging.getLogger()
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
