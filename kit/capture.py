"""What the kit keeps in memory, and the pandas DataFrames you read it through.

Every service set up with :func:`kit.telemetry.setup` writes into the same
store, so one DataFrame holds a trace that crosses several services in one
kernel. The store is bounded (the newest ``MAX_ITEMS`` of each signal are
kept), so a long-running script does not grow without end. Each DataFrame's
columns are those of :mod:`kit.rows`, as a receiver's are.

    >>> from kit import capture
    >>> capture.spans_df()      # one row per finished span
    >>> capture.metrics_df()    # latest value of each metric stream
    >>> capture.logs_df()       # one row per log record
    >>> capture.clear()         # forget everything captured so far
    >>> capture.spans_df(since=capture.total("spans"))   # only what comes after this moment

The exporters here are ordinary OpenTelemetry SDK exporters; you could write
them yourself by subclassing ``SpanExporter``, ``MetricExporter`` and
``LogRecordExporter``.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import (
    Gauge,
    Histogram,
    MetricExporter,
    MetricExportResult,
    Sum,
)
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import format_span_id, format_trace_id

if TYPE_CHECKING:
    import pandas as pd

from kit.rows import (  # noqa: F401  (none_for_missing: kept here too, as before)
    LOG_COLUMNS,
    MAX_ITEMS,
    METRIC_COLUMNS,
    SPAN_COLUMNS,
    SpanEvent,
    SpanLink,
    frame_of,
    none_for_missing,
)

_lock = threading.Lock()
_spans: deque = deque(maxlen=MAX_ITEMS)
_metric_points: deque = deque(maxlen=MAX_ITEMS)
_logs: deque = deque(maxlen=MAX_ITEMS)
_started: deque = deque(maxlen=MAX_ITEMS)  # (span id, name) of every span started: one never ended shows
_totals = {"spans": 0, "points": 0, "logs": 0, "started": 0}  # how many were ever kept: a watermark survives the bound


def _keep(store: deque, kind: str, items) -> None:
    items = list(items)
    with _lock:
        store.extend(items)
        _totals[kind] += len(items)


def total(kind: str) -> int:
    """How many ``"spans"``, ``"points"`` or ``"logs"`` were captured so far (ever, not only
    those still kept): a watermark for :func:`spans_df` and friends' ``since``."""
    with _lock:
        return _totals[kind]


def _since(store: deque, kind: str, since: int | None, until: int | None = None) -> list:
    """The items captured after the watermark ``since`` (all of them for None) and
    up to the watermark ``until`` (now, for None), oldest first."""
    with _lock:
        items, now = list(store), _totals[kind]

    def index(mark):  # where a watermark falls in what is still kept
        return len(items) - min(max(now - mark, 0), len(items))

    return items[0 if since is None else index(since):len(items) if until is None else index(until)]


class CaptureSpanExporter(SpanExporter):
    """Keeps finished spans in the kit's store."""

    def export(self, spans):
        _keep(_spans, "spans", spans)
        return SpanExportResult.SUCCESS


class CaptureSpanProcessor(SimpleSpanProcessor):
    """Keeps each span in the store when it ends, and notes each span that starts
    (so a self-check can say "started but never ended")."""

    def __init__(self):
        super().__init__(CaptureSpanExporter())

    def on_start(self, span, parent_context=None):
        _keep(_started, "started", [(span.context.span_id, span.name)])


def started_spans(since: int | None = None) -> list:
    """``(span_id, name)`` of the spans started after the watermark ``since``, oldest first."""
    return _since(_started, "started", since)


class CaptureLogExporter(LogRecordExporter):
    """Keeps log records in the kit's store."""

    def export(self, batch):
        _keep(_logs, "logs", batch)
        return LogRecordExportResult.SUCCESS

    def shutdown(self):
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class CaptureMetricExporter(MetricExporter):
    """Keeps every collected data point, with the time it was collected, so a
    metric can be drawn over time."""

    def __init__(self):
        super().__init__(preferred_temporality={})  # cumulative for every kind

    def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs):
        rows = []
        for rm in metrics_data.resource_metrics:
            service = rm.resource.attributes.get("service.name", "")
            resource = dict(rm.resource.attributes)
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    kind = _metric_kind(metric.data)
                    temporality = getattr(metric.data, "aggregation_temporality", None)
                    for point in metric.data.data_points:
                        rows.append({
                            "time": _ns_to_datetime(point.time_unix_nano),
                            "service": service,
                            "name": metric.name,
                            "kind": kind,
                            "unit": metric.unit or "",
                            "attributes": dict(point.attributes or {}),
                            "value": _point_value(point),
                            "description": metric.description or "",
                            "start_time": _ns_to_datetime(getattr(point, "start_time_unix_nano", None) or None),
                            "temporality": temporality.name.lower() if temporality is not None else None,
                            "resource": resource,
                        })
        _keep(_metric_points, "points", rows)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        pass


def _metric_kind(data) -> str:
    if isinstance(data, Sum):
        if not data.is_monotonic:
            return "up_down_counter"
        return "counter"
    if isinstance(data, Histogram):
        return "histogram"
    if isinstance(data, Gauge):
        return "gauge"
    return type(data).__name__.lower()


def _point_value(point):
    if hasattr(point, "bucket_counts"):
        return {"count": point.count, "sum": point.sum, "min": point.min, "max": point.max,
                "bounds": list(point.explicit_bounds), "buckets": list(point.bucket_counts)}
    return point.value


def _ns_to_datetime(ns):
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)


def _enum_name(value) -> str:
    """An enum's name; anything else (a learner's ``kind="PRODUCER"`` string) as its repr
    (``"'PRODUCER'"``), so one odd span never breaks the DataFrames and still shows as odd."""
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else repr(value)


def _hex_or_none(value, fmt):
    return fmt(value) if value else None


def clear() -> None:
    """Forget every span, metric point and log record captured so far."""
    with _lock:
        _spans.clear()
        _metric_points.clear()
        _logs.clear()
        _started.clear()


def finished_spans(since: int | None = None) -> list:
    """The SDK's ``ReadableSpan`` objects, oldest first (those after the watermark ``since``)."""
    return _since(_spans, "spans", since)


def spans_df(trace_id: str | None = None, service: str | None = None,
             since: int | None = None) -> pd.DataFrame:
    """One row per finished span, in start order (only those finished after the
    watermark ``since``, a :func:`total`, if given).

    Ids are lower-case hex as in a ``traceparent``; ``parent_span_id`` is None for
    a root span, and ``parent_remote`` says whether the parent came from another process
    (an extracted context) or was a span current here; ``scope`` names the tracer (the
    instrumentation library) that made it; ``duration_ms`` is a float; ``attributes`` a dict; ``events`` a
    list of ``(name, attributes)`` (each a :class:`SpanEvent`: its ``.time`` says when);
    ``links`` a list of ``(trace_id, span_id)`` (each a :class:`kit.rows.SpanLink`: its
    ``.attributes`` too); then ``resource`` (the resource's attributes), ``scope_version``,
    ``status_message``, ``trace_state`` and the ``dropped_*_count`` of the SDK's limits.
    """
    rows = []
    for span in finished_spans(since):
        ctx = span.context
        rows.append({
            "trace_id": format_trace_id(ctx.trace_id),
            "span_id": format_span_id(ctx.span_id),
            "parent_span_id": _hex_or_none(span.parent.span_id if span.parent else 0,
                                           format_span_id),
            "name": span.name,
            "kind": _enum_name(span.kind),
            "service": span.resource.attributes.get("service.name", ""),
            "start": _ns_to_datetime(span.start_time),
            "duration_ms": (span.end_time - span.start_time) / 1e6,
            "status": _enum_name(span.status.status_code),
            "attributes": dict(span.attributes or {}),
            "events": [SpanEvent(e.name, dict(e.attributes or {}), _ns_to_datetime(e.timestamp))
                       for e in span.events],
            "links": [SpanLink(format_trace_id(link.context.trace_id), format_span_id(link.context.span_id),
                               dict(link.attributes or {})) for link in span.links],
            "parent_remote": bool(span.parent.is_remote) if span.parent else None,
            "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
            "resource": dict(span.resource.attributes),
            "scope_version": (span.instrumentation_scope.version or None) if span.instrumentation_scope else None,
            "status_message": span.status.description or "",
            "trace_state": ctx.trace_state.to_header() if ctx.trace_state else "",
            "dropped_attributes_count": span.dropped_attributes, "dropped_events_count": span.dropped_events,
            "dropped_links_count": span.dropped_links,
        })
    df = frame_of("spans", rows, SPAN_COLUMNS)
    if trace_id is not None:
        df = df[df.trace_id == trace_id]
    if service is not None:
        df = df[df.service == service]
    return df.reset_index(drop=True)


def metric_points_df(name: str | None = None, since: int | None = None,
                     until: int | None = None) -> pd.DataFrame:
    """Every collected point of every metric stream: the history a chart draws
    (only the points collected between the watermarks ``since`` and ``until``, if given)."""
    df = frame_of("metrics", _since(_metric_points, "points", since, until), METRIC_COLUMNS)
    if name is not None:
        df = df[df.name == name].reset_index(drop=True)
    return df


def metrics_df(name: str | None = None) -> pd.DataFrame:
    """The latest value of each metric stream (service, name and attributes).

    Counters are cumulative: ``value`` is the total so far. A histogram's value
    is a dict with ``count``, ``sum``, ``min``, ``max``, ``bounds`` and ``buckets``.
    The columns are ``service, name, kind, unit, attributes, value``: each point's
    description, start time, temporality and resource are in :func:`metric_points_df`.
    """
    df = metric_points_df(name).drop(columns=["description", "start_time", "temporality", "resource"])
    if df.empty:
        return df.drop(columns="time")
    key = df.service + "\x00" + df.name + "\x00" + df.attributes.map(
        lambda a: repr(sorted(a.items())))
    latest = df.groupby(key, sort=False).tail(1)
    return latest.drop(columns="time").reset_index(drop=True)


def logs_df(trace_id: str | None = None, since: int | None = None) -> pd.DataFrame:
    """One row per log record. ``trace_id``/``span_id`` are hex, or None when the
    record was written outside any span (only records after the watermark ``since``, if given)."""
    rows = []
    for readable in _since(_logs, "logs", since):
        rec = readable.log_record
        rows.append({
            "time": _ns_to_datetime(rec.timestamp),
            "severity": rec.severity_text,
            "body": rec.body,
            "logger": readable.instrumentation_scope.name if readable.instrumentation_scope else "",
            "service": readable.resource.attributes.get("service.name", ""),
            "trace_id": _hex_or_none(rec.trace_id, format_trace_id),
            "span_id": _hex_or_none(rec.span_id, format_span_id),
            "attributes": dict(rec.attributes or {}),
            "severity_number": getattr(rec.severity_number, "value", rec.severity_number or 0),
            "observed_time": _ns_to_datetime(rec.observed_timestamp),
            "event_name": getattr(rec, "event_name", None) or "",
            "resource": dict(readable.resource.attributes),
        })
    df = frame_of("logs", rows, LOG_COLUMNS)
    if trace_id is not None:
        df = df[df.trace_id == trace_id].reset_index(drop=True)
    return df


__all__ = ["clear", "total", "SpanEvent", "finished_spans", "spans_df", "metrics_df",
           "metric_points_df", "logs_df", "CaptureSpanExporter", "CaptureMetricExporter",
           "CaptureLogExporter"]
