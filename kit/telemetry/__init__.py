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

This file is ``setup`` (read it step by step: ``setup??``) and the ``Telemetry`` it
returns. The machinery behind the steps is in private modules, one job each:

    _switch          the one span and one log processor added to a provider, whose
                     contents re-running setup swaps (the SDK cannot remove a processor)
    _exporters       what each signal goes to: the in-memory capture and the exporters asked for
    _deadlines       flushes and shutdowns side by side, within their deadline
    _notices         background failures and warnings, held for the next flush() to report
    _globals         the global providers (routers to the service set up last), the propagator
    _logging_bridge  Python logging → OpenTelemetry logs
    _endpoints       one probe of each OTLP endpoint, at setup
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import uuid
from dataclasses import dataclass, field

from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from kit import attempts, capture, running
from kit.otlp import SettingError, exporter_names, otlp_target
from kit.telemetry import _deadlines, _endpoints, _exporters, _globals, _logging_bridge, _notices
from kit.telemetry._deadlines import EXPORT_TIMEOUT_S
from kit.telemetry._switch import SwitchLogProcessor, SwitchSpanProcessor

__all__ = ["setup", "Telemetry", "flush", "services", "SettingError", "EXPORT_TIMEOUT_S"]

_services: dict[str, "Telemetry"] = {}
_instance_ids: dict[str, str] = {}
_lock = threading.RLock()
_failed_exports = _notices.failed_exports  # the same Counter: tests watch it fill from a background thread


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
        self._span_switch = SwitchSpanProcessor()
        self._log_switch = SwitchLogProcessor()
        self.tracer_provider.add_span_processor(self._span_switch)
        self.logger_provider.add_log_record_processor(self._log_switch)
        self._extra_readers: list = []  # the exporters' metric readers (the capture's is the provider's own)
        self._deadline = _deadlines.Deadline()
        atexit.register(self._shutdown_extra_readers)  # runs before the SDK's own exit hook

    def _shutdown_extra_readers(self):
        readers, self._extra_readers = self._extra_readers, []
        if readers:  # the SDK's shutdown skips added readers too
            _deadlines.run_within([(f"metrics ({self._target('metrics')})", r.shutdown, self._deadline)
                                   for r in readers], 2.0)

    def _target(self, signal: str) -> str:
        names = [n for n in self.exporters.get(signal, []) if n != "memory"]
        return "+".join(names) or "memory"

    def _use_exporters(self, names: dict, otlp: dict):
        """The exporters named in ``names`` (per signal), in place of the previous ones."""
        old = self._span_switch.inner + self._log_switch.inner
        old_readers = self._extra_readers
        self._span_switch.inner = _exporters.span_processors(names["traces"], otlp.get("traces"), self._deadline)
        self._log_switch.inner = _exporters.log_processors(names["logs"], otlp.get("logs"), self._deadline)
        # re-running setup must not hang on a collector that is down: what the old exporters
        # still hold goes within a second, and their threads stop
        d = self._deadline
        _deadlines.run_within(
            [(f"{type(p).__name__} (the previous setup)", lambda ms, p=p: p.shutdown(), d) for p in old]
            + [("metrics (the previous setup)",
                lambda ms, r=r: _exporters.retire_reader(self.meter_provider, r, ms), d) for r in old_readers],
            1.0)
        _notices.report()
        self._extra_readers = _exporters.metric_readers(names["metrics"], otlp.get("metrics"), d)
        for reader in self._extra_readers:
            self.meter_provider.add_metric_reader(reader)
        self.exporters = {s: ["memory"] + names[s] for s in names}

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
        done = _deadlines.run_within(self._flush_jobs(), timeout_s)
        return _notices.report() and done

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Flush what is left and stop the exporters, within ``timeout_s`` (a service
        on its way out). The providers cannot be used after it."""
        for provider in (self.tracer_provider, self.meter_provider, self.logger_provider):
            atexit.unregister(provider.shutdown)  # done here, within the deadline, not again at exit
        readers, self._extra_readers = self._extra_readers, []
        d = self._deadline
        done = _deadlines.run_within(
            [(f"traces ({self._target('traces')})", lambda ms: self.tracer_provider.shutdown(), d),
             ("metrics (memory)", lambda ms: self.meter_provider.shutdown(timeout_millis=ms), d),
             (f"logs ({self._target('logs')})", lambda ms: self.logger_provider.shutdown(), d)]
            + [(f"metrics ({self._target('metrics')})", r.shutdown, d) for r in readers], timeout_s)
        return _notices.report() and done

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
    # 1. the settings: arguments first, then the OTEL_* variables (a wrong one raises SettingError)
    service_name = service_name or os.environ.get("OTEL_SERVICE_NAME") or "notebook"
    names = {s: exporter_names(s, exporters) for s in ("traces", "metrics", "logs")}
    otlp = {s: otlp_target(s, endpoint, protocol) for s in names if "otlp" in names[s]}
    with _lock:
        # 2. the Resource: who is sending (Resource.create adds OTEL_RESOURCE_ATTRIBUTES)
        instance = _instance_ids.setdefault(service_name, str(uuid.uuid4()))
        resource = Resource.create({"service.name": service_name, "service.instance.id": instance,
                                    **(resource_attributes or {})})
        # 3. the three providers, with the in-memory capture; kept while the resource is the same
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
        # 4. the exporters asked for, in place of the previous setup's
        tele._use_exporters(names, otlp)
        # 5. the process-wide globals, set once and then routed to the service set up last
        if make_global:
            _notices.listen()                     # OpenTelemetry's own warnings, held for flush()
            _globals.route_to(tele)               # trace.get_tracer(), metrics.get_meter(), ...
            _globals.use_w3c_propagators()        # traceparent + baggage, unless OTEL_PROPAGATORS
            _logging_bridge.bridge_root_logger()  # logging.info(...) becomes a log record
        _logging_bridge.set_level(log_level)
    # 6. a watermark at the start of each notebook cell, for the self-checks
    attempts.watch_cells()
    # 7. one probe of each OTLP endpoint: what is wrong with it, said now
    if check:
        tele.endpoint_checks = _endpoints.check(otlp.values())
    return tele


def services() -> dict[str, Telemetry]:
    """Every service set up in this process, by ``service.name``."""
    return dict(_services)


def flush(timeout_s: float = 5.0) -> bool:
    """Flush every service set up in this process, side by side, within ``timeout_s``
    (see :meth:`Telemetry.flush`)."""
    done = _deadlines.run_within([job for t in list(_services.values()) for job in t._flush_jobs()], timeout_s)
    return _notices.report() and done


def _retire(tele: Telemetry) -> None:
    tele.shutdown(timeout_s=1.0)
