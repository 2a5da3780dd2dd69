"""What each signal of a service goes to: the in-memory capture, always, and the exporters
asked for (``"console"``, ``"otlp"``).

    span_processors(names, otlp, deadline)   -> what the span switch holds
    log_processors(names, otlp, deadline)    -> what the log switch holds
    metric_readers(names, otlp, deadline)    -> readers added to the MeterProvider
    retire_reader(meter_provider, reader, ms) -> an old reader stopped, then removed

Each OTLP exporter is watched: its failed exports are counted for the next ``flush()`` to
report (:mod:`kit.telemetry._notices`) and its timeout is cut to the deadline of a flush
in progress (:mod:`kit.telemetry._deadlines`). The in-memory capture of metrics is not
here: it is the ``MeterProvider``'s own reader, made with the provider.
"""

from __future__ import annotations

import math
import os
import sys
import threading

from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    ConsoleLogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

from kit import capture
from kit.otlp import make_exporter
from kit.telemetry import _notices
from kit.telemetry._deadlines import EXPORT_TIMEOUT_S, Deadline, set_timeout


class _Watched:
    """Wraps an OTLP exporter to count failed exports, so ``flush()`` can say
    in one line what went wrong instead of returning as if all was well; and
    to cut an export's timeout to the deadline of a flush in progress."""

    def __init__(self, exporter, target, deadline: Deadline):
        self._exporter, self._target, self._deadline = exporter, target, deadline

    def export(self, *args, **kwargs):
        set_timeout(self._exporter, self._deadline.export_timeout_s())
        result = self._exporter.export(*args, **kwargs)
        if getattr(result, "name", "") == "FAILURE":
            _notices.count_failed_export(f"{self._target.signal} to {self._target.endpoint} "
                                         f"({self._target.protocol})")
        return result

    def __getattr__(self, name):
        return getattr(self._exporter, name)


def _otlp(target, deadline: Deadline):
    return _Watched(make_exporter(target, timeout_s=EXPORT_TIMEOUT_S), target, deadline)


class _Stdout:
    """Whatever ``sys.stdout`` is when the console exporter writes (the SDK's
    default is the one of import time, which misses Jupyter's and pytest's)."""

    def write(self, text):
        return sys.stdout.write(text)

    def flush(self):
        sys.stdout.flush()


def span_processors(names, otlp, deadline: Deadline) -> list:
    out = [capture.CaptureSpanProcessor()]
    for name in names:
        if name == "console":  # synchronous, so it prints in the cell that ended the span
            out.append(SimpleSpanProcessor(ConsoleSpanExporter(out=_Stdout())))
        else:
            out.append(BatchSpanProcessor(_otlp(otlp, deadline)))
    return out


def metric_readers(names, otlp, deadline: Deadline) -> list:
    out = []
    for name in names:
        if name == "console":  # prints only on flush(), never from a background thread
            out.append(PeriodicExportingMetricReader(ConsoleMetricExporter(out=_Stdout()),
                                                    export_interval_millis=math.inf))
        else:
            interval = float(os.environ.get("OTEL_METRIC_EXPORT_INTERVAL", 10_000))
            out.append(PeriodicExportingMetricReader(_otlp(otlp, deadline), export_interval_millis=interval))
    return out


def log_processors(names, otlp, deadline: Deadline) -> list:
    out = [SimpleLogRecordProcessor(capture.CaptureLogExporter())]
    for name in names:
        if name == "console":
            out.append(SimpleLogRecordProcessor(ConsoleLogRecordExporter(out=_Stdout())))
        else:
            out.append(BatchLogRecordProcessor(_otlp(otlp, deadline)))
    return out


def retire_reader(meter_provider, reader, timeout_ms: float) -> None:
    """Stopped first, then removed once its thread has ended: removed while that thread
    still has a collection to make (its last one comes after an export still running,
    to a collector that does not answer), the SDK raises a KeyError in it. Removing
    calls shutdown again, which only warns."""
    reader.shutdown(timeout_millis=timeout_ms)
    ticker = getattr(reader, "_daemon_thread", None)  # the SDK's collecting thread
    if ticker is not None and ticker.is_alive():
        threading.Thread(target=_remove_when_ended, args=(meter_provider, reader, ticker), daemon=True,
                         name="kit metrics (the previous setup)").start()
    else:
        meter_provider.remove_metric_reader(reader)


def _remove_when_ended(meter_provider, reader, ticker) -> None:
    ticker.join()
    meter_provider.remove_metric_reader(reader)
