"""The process-wide OpenTelemetry globals: providers that route to a service, and the propagator.

OpenTelemetry lets a process set its global providers once: a second
``trace.set_tracer_provider`` is ignored with "Overriding of current TracerProvider is not
allowed". So the globals are set once (:func:`route_to`, the first time) to small routers,
and each later ``setup`` only changes where they route: ``trace.get_tracer()``,
``metrics.get_meter()`` and the logging bridge reach the service set up last.
"""

from __future__ import annotations

import functools
import os
import sys

from opentelemetry import _logs, metrics, propagate, trace

_current: list = []  # [the Telemetry the routers forward to]


def _now():
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


def route_to(tele) -> None:
    """The global providers forward to ``tele`` from now on (they are set the first time)."""
    _current[:] = [tele]
    _set_routers()


@functools.cache  # once per process
def _set_routers() -> None:
    for setter, getter, value, what in (
            (trace.set_tracer_provider, trace.get_tracer_provider, _RouterTracerProvider(), "TracerProvider"),
            (metrics.set_meter_provider, metrics.get_meter_provider, _RouterMeterProvider(), "MeterProvider"),
            (_logs.set_logger_provider, _logs.get_logger_provider, _RouterLoggerProvider(), "LoggerProvider")):
        setter(value)
        if getter() is not value:
            print(f"kit: a global {what} was already set (by opentelemetry-instrument or an earlier "
                  f"set_*_provider call). Use tele.tracer / tele.meter / tele.logger; the global "
                  f"getters keep using the other one.", file=sys.stderr)


@functools.cache  # once per process
def use_w3c_propagators() -> None:
    """W3C ``traceparent``/``tracestate`` and ``baggage``, unless ``OTEL_PROPAGATORS`` names others
    (then the API has already set those)."""
    if "OTEL_PROPAGATORS" not in os.environ:
        from opentelemetry.baggage.propagation import W3CBaggagePropagator
        from opentelemetry.propagators.composite import CompositePropagator
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
        propagate.set_global_textmap(CompositePropagator(
            [TraceContextTextMapPropagator(), W3CBaggagePropagator()]))
