"""One call sets up a service's traces, metrics and logs for a notebook or a script.

    >>> from kit.telemetry import setup
    >>> tele = setup("sensor")                 # service.name = "sensor"
    >>> with tele.tracer.start_as_current_span("read"):
    ...     tele.logger.info("reading taken")
    >>> tele.flush()                           # everything finished is now visible
    >>> tele.spans()                           # a pandas DataFrame

What it does for you (each step is what you would otherwise write by hand, as
notebook 01 shows):

* a ``Resource`` with ``service.name`` (argument, else ``OTEL_SERVICE_NAME``),
  a stable ``service.instance.id`` and anything in ``OTEL_RESOURCE_ATTRIBUTES``;
* a ``TracerProvider``, ``MeterProvider`` and ``LoggerProvider`` for it, with
  the in-memory capture always on (so :mod:`kit.views` can draw it) plus the
  exporters you ask for: ``exporters="otlp"`` / ``"console"``, or
  ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` / ``OTEL_LOGS_EXPORTER``;
* the W3C ``tracecontext`` + ``baggage`` propagators (or ``OTEL_PROPAGATORS``);
* Python ``logging`` bridged to OpenTelemetry logs with the current handler
  from ``opentelemetry-instrumentation-logging`` (the SDK's own is deprecated).

Re-running the cell is safe. OpenTelemetry lets a process set its global
providers only once (a second ``trace.set_tracer_provider`` is ignored with
"Overriding of current TracerProvider is not allowed"). The kit sets them once,
to small routers that forward to the service set up last, and re-running
``setup`` for the same service re-uses its providers and swaps the exporters,
so a ``tracer`` you made before keeps working. Several services can live in one
kernel: each ``Telemetry`` has its own ``tracer``, ``meter`` and ``logger``.

Telemetry never hurts the app: an OTLP endpoint that is down or speaks the
other protocol is reported once, in the cell that called ``setup``; export
errors from background threads are summed up by the next ``flush()``. And
``flush(timeout_s)`` and ``shutdown(timeout_s)`` return within their deadline,
even against a collector that accepts connections and never answers: the
three signals are flushed side by side, each export's timeout cut to what is
left (the SDK's exporters would each wait their own 10 s, one after another).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from opentelemetry import _logs, metrics, propagate, trace
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    ConsoleLogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

from kit import attempts, capture, running
from kit.otlp import SettingError, check_endpoint, exporter_names, make_exporter, otlp_target

__all__ = ["setup", "Telemetry", "flush", "services", "SettingError", "EXPORT_TIMEOUT_S"]

_services: dict[str, "Telemetry"] = {}
_instance_ids: dict[str, str] = {}
_current: list["Telemetry"] = []  # the service the global providers route to
_failed_exports: Counter = Counter()
_lock = threading.RLock()


# ---------------------------------------------------------------- exporters

class _SwitchSpanProcessor(SpanProcessor):
    """The one processor the kit adds to a TracerProvider; re-running ``setup``
    swaps what is inside it (the SDK has no way to remove a processor)."""

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


class _SwitchLogProcessor(_SwitchSpanProcessor):
    def on_emit(self, log_record):
        for p in self.inner:
            p.on_emit(log_record)

    def emit(self, log_record):  # older name of on_emit
        self.on_emit(log_record)


EXPORT_TIMEOUT_S = 5.0  # one export, when no flush deadline is nearer


class _Deadline:
    """The deadline of the flushes (or shutdowns) of one service in progress, if any."""

    def __init__(self):
        self.at: float | None = None  # time.monotonic()
        self._active = 0
        self._lock = threading.Lock()

    def left_s(self) -> float | None:
        at = self.at
        return None if at is None else at - time.monotonic()

    def begin(self, at: float) -> None:
        with self._lock:
            self.at = at if self.at is None else max(self.at, at)
            self._active += 1

    def end(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0:
                self.at = None


def _set_timeout(exporter, seconds: float) -> None:
    """The SDK's OTLP exporters read their timeout at every export, the gRPC ones from
    ``_timeout``, the HTTP ones from their client's; they ignore a flush's own deadline
    (opentelemetry-python issues 4555 and 4568). Both kinds are tested against a black hole."""
    client = getattr(exporter, "_client", None)
    target = client if hasattr(client, "_timeout") else exporter
    if hasattr(target, "_timeout"):
        target._timeout = seconds


class _Watched:
    """Wraps an OTLP exporter to count failed exports, so ``flush()`` can say
    in one line what went wrong instead of returning as if all was well; and
    to cut an export's timeout to the deadline of a flush in progress."""

    def __init__(self, exporter, target, deadline: _Deadline):
        self._exporter, self._target, self._deadline = exporter, target, deadline

    def export(self, *args, **kwargs):
        left = self._deadline.left_s()  # a tenth kept back, so a failed export is reported, not late
        _set_timeout(self._exporter, EXPORT_TIMEOUT_S if left is None else min(EXPORT_TIMEOUT_S, max(0.9 * left, 0.01)))
        result = self._exporter.export(*args, **kwargs)
        if getattr(result, "name", "") == "FAILURE":
            _failed_exports[f"{self._target.signal} to {self._target.endpoint} ({self._target.protocol})"] += 1
        return result

    def __getattr__(self, name):
        return getattr(self._exporter, name)


def _otlp(target, deadline: _Deadline):
    return _Watched(make_exporter(target, timeout_s=EXPORT_TIMEOUT_S), target, deadline)


class _Stdout:
    """Whatever ``sys.stdout`` is when the console exporter writes (the SDK's
    default is the one of import time, which misses Jupyter's and pytest's)."""

    def write(self, text):
        return sys.stdout.write(text)

    def flush(self):
        sys.stdout.flush()


def _span_processors(names, otlp, deadline):
    out = [capture.CaptureSpanProcessor()]
    for name in names:
        if name == "console":  # synchronous, so it prints in the cell that ended the span
            out.append(SimpleSpanProcessor(ConsoleSpanExporter(out=_Stdout())))
        else:
            out.append(BatchSpanProcessor(_otlp(otlp, deadline)))
    return out


def _metric_readers(names, otlp, interval_s, deadline):
    out = []
    for name in names:
        if name == "console":  # prints only on flush(), never from a background thread
            out.append(PeriodicExportingMetricReader(ConsoleMetricExporter(out=_Stdout()),
                                                    export_interval_millis=math.inf))
        else:
            interval = float(os.environ.get("OTEL_METRIC_EXPORT_INTERVAL", 10_000))
            out.append(PeriodicExportingMetricReader(_otlp(otlp, deadline), export_interval_millis=interval))
    return out


def _log_processors(names, otlp, deadline):
    out = [SimpleLogRecordProcessor(capture.CaptureLogExporter())]
    for name in names:
        if name == "console":
            out.append(SimpleLogRecordProcessor(ConsoleLogRecordExporter(out=_Stdout())))
        else:
            out.append(BatchLogRecordProcessor(_otlp(otlp, deadline)))
    return out


class _Job(threading.Thread):
    """One flush or shutdown call, in a thread of its own, so that the caller can stop
    waiting at the deadline whatever the call does."""

    def __init__(self, what: str, call, timeout_ms: float, deadline: _Deadline):
        super().__init__(name=f"kit {what}", daemon=True)
        self.what, self.call, self.timeout_ms, self.deadline = what, call, timeout_ms, deadline
        self.result, self.error = None, None
        deadline.begin(time.monotonic() + timeout_ms / 1000)
        self.start()

    def run(self):
        try:
            self.result = self.call(self.timeout_ms)
        except Exception as exc:  # e.g. MetricsTimeoutError from a collection: reported, never raised
            self.error = exc
        finally:
            self.deadline.end()


def _within(jobs: list[tuple[str, object, _Deadline]], timeout_s: float) -> bool:
    """Run ``(what, call(timeout_ms), deadline)`` side by side, wait for them at most
    ``timeout_s``, and say in one line what did not finish or failed. True if all did."""
    end = time.monotonic() + timeout_s
    running = [_Job(what, call, timeout_s * 1000, deadline) for what, call, deadline in jobs]
    for job in running:
        job.join(max(end - time.monotonic(), 0))
    late = [job.what for job in running if job.is_alive()]
    failed = [f"{job.what} ({type(job.error).__name__})" for job in running if job.error is not None]
    if late:
        print(f"kit: the telemetry flush did not finish within {timeout_s:g} s ({', '.join(late)}): is the "
              f"collector slow or not answering? What could not be sent is dropped; the app goes on.",
              file=sys.stderr)
    if failed:
        print(f"kit: flushing failed for {', '.join(failed)}; the app goes on.", file=sys.stderr)
    return not late and not failed and all(job.result is not False for job in running)


# ---------------------------------------------------------------- telemetry

@dataclass
class Telemetry:
    """A service's providers, its ``tracer``/``meter``/``logger``, and views of what it captured."""

    service_name: str
    resource: Resource
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    exporters: dict = field(default_factory=dict)
    endpoint_checks: list = field(default_factory=list)

    def __post_init__(self):
        self.tracer = self.tracer_provider.get_tracer(self.service_name)
        self.meter = self.meter_provider.get_meter(self.service_name)
        self.logger = logging.getLogger(self.service_name)
        self.logger.propagate = False  # its records go to this service only
        self._log_handler = LoggingHandler(logger_provider=self.logger_provider)
        self.logger.handlers[:] = [self._log_handler]
        self._span_switch = _SwitchSpanProcessor()
        self._log_switch = _SwitchLogProcessor()
        self.tracer_provider.add_span_processor(self._span_switch)
        self.logger_provider.add_log_record_processor(self._log_switch)
        self._extra_readers: list = []
        self._deadline = _Deadline()
        atexit.register(self._shutdown_extra_readers)  # runs before the SDK's own exit hook

    def _shutdown_extra_readers(self):
        readers, self._extra_readers = self._extra_readers, []
        if readers:  # the SDK's shutdown skips added readers too
            _within([(f"metrics ({self._target('metrics')})", r.shutdown, self._deadline) for r in readers], 2.0)

    def _target(self, signal: str) -> str:
        names = [n for n in self.exporters.get(signal, []) if n != "memory"]
        return "+".join(names) or "memory"

    def _configure(self, names: dict, otlp: dict, interval_s: float):
        old = self._span_switch.inner + self._log_switch.inner
        old_readers = self._extra_readers
        self._span_switch.inner = _span_processors(names["traces"], otlp.get("traces"), self._deadline)
        self._log_switch.inner = _log_processors(names["logs"], otlp.get("logs"), self._deadline)
        # re-running setup must not hang on a collector that is down: what the old exporters
        # still hold goes within a second, and their threads stop
        _within([(f"{type(p).__name__} (the previous setup)", lambda ms, p=p: p.shutdown(), self._deadline)
                 for p in old] + [("metrics (the previous setup)", lambda ms, r=r: self._retire_reader(r, ms),
                                   self._deadline) for r in old_readers], 1.0)
        _report_notices()
        self._extra_readers = _metric_readers(names["metrics"], otlp.get("metrics"), interval_s, self._deadline)
        for reader in self._extra_readers:
            self.meter_provider.add_metric_reader(reader)
        self.exporters = {s: ["memory"] + names[s] for s in names}

    def _retire_reader(self, reader, timeout_ms: float) -> None:
        """Stopped first, then removed once its thread has ended: removed while that thread
        still has a collection to make (its last one comes after an export still running,
        to a collector that does not answer), the SDK raises a KeyError in it. Removing
        calls shutdown again, which only warns."""
        reader.shutdown(timeout_millis=timeout_ms)
        ticker = getattr(reader, "_daemon_thread", None)  # the SDK's collecting thread
        if ticker is not None and ticker.is_alive():
            threading.Thread(target=self._remove_when_ended, args=(reader, ticker), daemon=True,
                             name="kit metrics (the previous setup)").start()
        else:
            self.meter_provider.remove_metric_reader(reader)

    def _remove_when_ended(self, reader, ticker) -> None:
        ticker.join()
        self.meter_provider.remove_metric_reader(reader)

    def _flush_jobs(self) -> list:
        # MeterProvider.force_flush() skips readers added after it was built (SDK 1.45),
        # so the exporters' readers are flushed one by one.
        d = self._deadline
        return ([(f"traces ({self._target('traces')})", self.tracer_provider.force_flush, d),
                 ("metrics (memory)", self.meter_provider.force_flush, d)]
                + [(f"metrics ({self._target('metrics')})", r.force_flush, d) for r in self._extra_readers]
                + [(f"logs ({self._target('logs')})", self.logger_provider.force_flush, d)])

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Export everything finished, now, and wait at most ``timeout_s``.

        After it returns, the DataFrames and views show every span that has
        ended, every log written and a fresh point of every metric. Returns
        False (and says why) if an exporter failed or did not finish in time:
        traces, metrics and logs are flushed side by side, each export's timeout
        cut to the deadline, so a collector that never answers costs
        ``timeout_s``, not each exporter's own timeout in turn.
        """
        done = _within(self._flush_jobs(), timeout_s)
        return _report_notices() and done

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Flush what is left and stop the exporters, within ``timeout_s`` (a service
        on its way out). The providers cannot be used after it."""
        for provider in (self.tracer_provider, self.meter_provider, self.logger_provider):
            atexit.unregister(provider.shutdown)  # done here, within the deadline, not again at exit
        readers, self._extra_readers = self._extra_readers, []
        d = self._deadline
        done = _within([(f"traces ({self._target('traces')})", lambda ms: self.tracer_provider.shutdown(), d),
                        ("metrics (memory)", lambda ms: self.meter_provider.shutdown(timeout_millis=ms), d),
                        (f"logs ({self._target('logs')})", lambda ms: self.logger_provider.shutdown(), d)]
                       + [(f"metrics ({self._target('metrics')})", r.shutdown, d) for r in readers], timeout_s)
        return _report_notices() and done

    def read_metrics(self, timeout_s: float = 2.0) -> None:
        """Read this service's metrics into the in-memory store now (the kit does it every
        second anyway); the exporters you configured are not called. Never raises."""
        reader = getattr(self, "_capture_reader", None)
        if reader is not None and not getattr(reader, "_shutdown", False):
            try:
                reader.force_flush(timeout_millis=max(timeout_s, 0.05) * 1000)
            except Exception:  # a slow or failing callback: the check works with the last points
                pass

    def spans(self):
        """This service's finished spans (see :func:`kit.capture.spans_df`)."""
        return capture.spans_df(service=self.service_name)

    def metrics(self):
        """This service's metrics, latest value per stream (flush first for a fresh point)."""
        df = capture.metrics_df()
        return df[df.service == self.service_name].reset_index(drop=True)

    def logs(self):
        """This service's log records."""
        df = capture.logs_df()
        return df[df.service == self.service_name].reset_index(drop=True)

    def __repr__(self):
        exp = ", ".join(f"{s}→{'+'.join(v)}" for s, v in self.exporters.items())
        return f"<Telemetry service.name={self.service_name!r} {exp}>"


def setup(service_name: str | None = None, *, exporters=None, endpoint: str | None = None,
          protocol: str | None = None, resource_attributes: dict | None = None,
          log_level: int | str = logging.INFO, metric_interval_s: float = 1.0,
          make_global: bool = True, check: bool = True) -> Telemetry:
    """Set up (or set up again) the telemetry of one service and return it.

    ``exporters``: ``"otlp"``, ``"console"``, ``"none"`` or a comma list; by
    default read from ``OTEL_<SIGNAL>_EXPORTER``. The in-memory capture is
    always on. ``endpoint``/``protocol`` default to the ``OTEL_EXPORTER_OTLP_*``
    variables, then ``http://localhost:4317`` over gRPC. ``log_level`` lowers the
    root logger's level so ``logging.info`` is recorded. ``metric_interval_s`` is
    how often the in-memory capture reads the metrics. ``make_global`` routes
    ``trace.get_tracer()`` and friends to this service. ``check`` probes an
    OTLP endpoint once and says what is wrong with it. An unknown exporter,
    protocol or malformed endpoint raises :class:`SettingError` naming the setting.
    """
    service_name = service_name or os.environ.get("OTEL_SERVICE_NAME") or "notebook"
    names = {s: exporter_names(s, exporters) for s in ("traces", "metrics", "logs")}
    otlp = {s: otlp_target(s, endpoint, protocol) for s in names if "otlp" in names[s]}
    with _lock:
        instance = _instance_ids.setdefault(service_name, str(uuid.uuid4()))
        resource = Resource.create({"service.name": service_name, "service.instance.id": instance,
                                    **(resource_attributes or {})})
        tele = _services.get(service_name)
        if tele is None or tele.resource.attributes != resource.attributes:
            if tele is not None:  # new resource: the SDK fixes it per provider
                _retire(tele)
            capture_reader = PeriodicExportingMetricReader(capture.CaptureMetricExporter(),
                                                           export_interval_millis=metric_interval_s * 1000)
            tele = Telemetry(service_name, resource, TracerProvider(resource=resource),
                             MeterProvider(resource=resource, metric_readers=[capture_reader]),
                             LoggerProvider(resource=resource))
            tele._capture_reader = capture_reader
            _services[service_name] = tele
            running.add_service(service_name, tele)  # where kit.attempts finds it, to read its metrics
        tele._configure(names, otlp, metric_interval_s)
        if make_global:
            _current[:] = [tele]
            _install_globals()
        _set_log_level(log_level)
    attempts.watch_cells()  # a watermark at the start of each notebook cell, for the self-checks
    if check:
        tele.endpoint_checks = _check_endpoints(otlp.values())
    return tele


def services() -> dict[str, Telemetry]:
    """Every service set up in this process, by ``service.name``."""
    return dict(_services)


def flush(timeout_s: float = 5.0) -> bool:
    """Flush every service set up in this process, side by side, within ``timeout_s``
    (see :meth:`Telemetry.flush`)."""
    done = _within([job for t in list(_services.values()) for job in t._flush_jobs()], timeout_s)
    return _report_notices() and done


def _retire(tele: Telemetry) -> None:
    tele.shutdown(timeout_s=1.0)


def _check_endpoints(targets) -> list:
    results = []
    for key in sorted({(t.protocol, t.endpoint.split("/v1/")[0]) for t in targets}):
        result = check_endpoint(key[1], key[0])
        results.append(result)
        if not result.ok:
            print(f"kit: OTLP endpoint problem: {result.message}", file=sys.stderr)
    return results


def _set_log_level(level) -> None:
    level = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    root = logging.getLogger()
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)


# ---------------------------------------------------------------- globals

def _now() -> Telemetry:
    return _current[0]


class _RouterTracerProvider(trace.TracerProvider):
    """Global tracer provider: forwards to the service set up last."""

    def get_tracer(self, *args, **kwargs):
        return _now().tracer_provider.get_tracer(*args, **kwargs)

    def __getattr__(self, name):  # add_span_processor, force_flush, resource, ...
        return getattr(_now().tracer_provider, name)


class _RouterMeterProvider(metrics.MeterProvider):
    def get_meter(self, *args, **kwargs):
        return _now().meter_provider.get_meter(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(_now().meter_provider, name)


class _RouterLoggerProvider(_logs.LoggerProvider):
    def get_logger(self, *args, **kwargs):
        return _now().logger_provider.get_logger(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(_now().logger_provider, name)


_NOT_BRIDGED = ("opentelemetry", "grpc", "urllib3", "asyncio", "kit", "matplotlib", "PIL")


class _SkipInternal(logging.Filter):
    """Keep the exporters' own log lines out of the log pipeline (no feedback loop)."""

    def filter(self, record):
        return not record.name.startswith(_NOT_BRIDGED)


class _NoticeHandler(logging.Handler):
    """OpenTelemetry's own warnings. Those from background threads (exporters,
    an MQTT client's network loop) and export errors are counted and summed up
    by the next ``flush()``, so they never land in a later cell; a warning
    caused by the cell being run is shown at once."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.pending: Counter = Counter()

    # a removed reader's last collect; removing a reader stopped first
    HARMLESS = ("until it is registered on a MeterProvider", "Can't shutdown multiple times")

    def emit(self, record):
        if any(h in record.getMessage() for h in self.HARMLESS):
            return
        if threading.current_thread() is not threading.main_thread() or "export" in record.name \
                or "export" in record.getMessage().lower():
            self.pending[record.name] += 1
        else:
            print(f"{record.name}: {record.getMessage().splitlines()[0]}", file=sys.stderr)


_notices = _NoticeHandler()
_globals_done: list = []


def _install_globals() -> None:
    if _globals_done:
        return
    _globals_done.append(True)
    otel_logger = logging.getLogger("opentelemetry")
    otel_logger.addHandler(_notices)
    otel_logger.propagate = False
    router = _RouterTracerProvider()
    for setter, getter, value, what in (
            (trace.set_tracer_provider, trace.get_tracer_provider, router, "TracerProvider"),
            (metrics.set_meter_provider, metrics.get_meter_provider, _RouterMeterProvider(), "MeterProvider"),
            (_logs.set_logger_provider, _logs.get_logger_provider, _RouterLoggerProvider(), "LoggerProvider")):
        setter(value)
        if getter() is not value:
            print(f"kit: a global {what} was already set (by opentelemetry-instrument or an earlier "
                  f"set_*_provider call). Use tele.tracer / tele.meter / tele.logger; the global "
                  f"getters keep using the other one.", file=sys.stderr)
    if "OTEL_PROPAGATORS" not in os.environ:
        from opentelemetry.baggage.propagation import W3CBaggagePropagator
        from opentelemetry.propagators.composite import CompositePropagator
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
        propagate.set_global_textmap(CompositePropagator(
            [TraceContextTextMapPropagator(), W3CBaggagePropagator()]))
    handler = LoggingHandler(logger_provider=_logs.get_logger_provider())
    handler.addFilter(_SkipInternal())
    logging.getLogger().addHandler(handler)


def _report_notices() -> bool:
    """Say in one line per destination what failed since the last flush; False if anything did."""
    failed, _failed_exports_copy = bool(_failed_exports), dict(_failed_exports)
    pending = dict(_notices.pending)
    _failed_exports.clear()
    _notices.pending.clear()
    for where, count in sorted(_failed_exports_copy.items()):
        print(f"kit: {count} export{'s' * (count > 1)} of {where} failed. Is the collector up, "
              f"and on this protocol? Check with kit.otlp.check_endpoint(...); the app itself is "
              f"unaffected.", file=sys.stderr)
    if pending and not failed:
        print(f"kit: the exporters logged {sum(pending.values())} warning(s) since the last flush "
              f"({', '.join(sorted(pending))}).", file=sys.stderr)
    return not failed
