"""The rows behind every DataFrame of the kit: their columns, their DataFrames, their JSON.

A span, a log record or a metric point is one row (a dict) with the same columns wherever it
comes from: :mod:`kit.capture` (this kernel's SDK), :mod:`kit.receiver` (OTLP or Zipkin
from other processes) and :mod:`kit.remote` (a receiver in another process, over JSON). So
the views draw any of them.

    SPAN_COLUMNS     trace_id, span_id, parent_span_id (None for a root), name, kind, service,
                     start (UTC datetime), duration_ms, status, attributes (dict),
                     events (list of SpanEvent), links (list of SpanLink: (trace_id, span_id)),
                     parent_remote (True/False, None when unknown), scope (the tracer's name),
                     and what the SDK sends besides (the views show it in a span's details):
                     resource (dict: every resource attribute, service.name too, typed as
                     sent), scope_version, status_message ("" when none), trace_state (the
                     W3C tracestate text, "" when none), dropped_attributes_count,
                     dropped_events_count, dropped_links_count (what the SDK's limits cut)
    LOG_COLUMNS      time, severity, body, logger, service, trace_id, span_id, attributes,
                     severity_number (OTLP's 1-24, 0 unspecified), observed_time (UTC datetime
                     or None), event_name ("" when none), resource
    METRIC_COLUMNS   time, service, name, kind, unit, attributes, value, description,
                     start_time (UTC datetime or None: where a cumulative sum starts counting),
                     temporality ("cumulative", "delta"; None for a gauge or a summary, which
                     have none), resource
    REQUEST_COLUMNS  a receiver's log of requests: time, transport, path, signal, status,
                     items, names, note

Each link is a :class:`SpanLink`: a ``(trace_id, span_id)`` pair that also has ``.attributes``.
A receiver adds ``transport`` (``"grpc"`` or ``"http"``) to spans and logs
(:data:`RECEIVED_COLUMNS`), right after the columns the first lessons show (``scope``,
``attributes``), before the ones added since.

What a sender may put in them, and what the rows hold whatever it sent (a receiver keeps
any valid OTLP, :mod:`kit.receiver.decode`):

    service              always text: a service.name sent as 7, 1.5, true, an array, a map or
                         bytes is its text ("7", "1.5", "true", JSON, base64), as the Collector's
                         AsString writes it; the receiver's requests_df() note says it came so
    start                always a UTC datetime: 0, "unknown" in OTLP, is 1970-01-01
    time                 a UTC datetime, or None for a log record or metric point sent with
                         none (0) and for the row of a metric that has no points; a span
                         event's time may be None too
    duration_ms          a float, negative for a span that ends before it starts
    attributes, body     any value as sent: str, int, float (NaN and infinities too), bool,
                         bytes, None, a tuple for an array, a dict for a map, nested
    name, kind, status   text
    status_message, trace_state, scope_version, event_name, description
                         text (OTLP strings; Zipkin's tags are text too)
    resource             a dict of any values as sent, like attributes; service.name in it is
                         as sent (7 stays 7), the service column is its text

    >>> frame_of("spans", rows)                   # the DataFrame the views draw
    >>> json.dumps(encode("spans", rows), allow_nan=False)   # the rows as strict JSON (the receiver's /api/)
    >>> decode("spans", json.loads(text))         # and back: the same rows, whatever they hold
"""

from __future__ import annotations

import base64
import math
from datetime import datetime

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where a frame is built: a service that only sends pays nothing for it
    import pandas as pd

MAX_ITEMS = 50_000  # rows of each signal a store keeps (the newest): the kit's capture and a receiver's

_SPAN_FIRST = ["trace_id", "span_id", "parent_span_id", "name", "kind", "service",
               "start", "duration_ms", "status", "attributes", "events", "links", "parent_remote", "scope"]
SPAN_MORE = ["resource", "scope_version", "status_message", "trace_state", "dropped_attributes_count",
             "dropped_events_count", "dropped_links_count"]
_LOG_FIRST = ["time", "severity", "body", "logger", "service", "trace_id", "span_id", "attributes"]
LOG_MORE = ["severity_number", "observed_time", "event_name", "resource"]
METRIC_COLUMNS = ["time", "service", "name", "kind", "unit", "attributes", "value",
                  "description", "start_time", "temporality", "resource"]
SPAN_COLUMNS = _SPAN_FIRST + SPAN_MORE
LOG_COLUMNS = _LOG_FIRST + LOG_MORE
REQUEST_COLUMNS = ["time", "transport", "path", "signal", "status", "items", "names", "note"]
# a receiver's: transport right after the columns the lessons were first shown, the rest after it
RECEIVED_COLUMNS = {"spans": _SPAN_FIRST + ["transport"] + SPAN_MORE, "logs": _LOG_FIRST + ["transport"] + LOG_MORE,
                    "metrics": METRIC_COLUMNS, "requests": REQUEST_COLUMNS}
_MISSING = {"spans": ["parent_span_id", "parent_remote", "scope", "scope_version"],
            "logs": ["trace_id", "span_id", "observed_time"], "metrics": ["start_time", "temporality"]}
_TIME_KEYS = {"spans": ("start",), "logs": ("time", "observed_time"), "metrics": ("time", "start_time"),
              "requests": ("time",)}


class SpanEvent(tuple):
    """A span event as a plain ``(name, attributes)`` pair (it compares, unpacks and
    prints as one) that also knows when it happened: ``.time``, a UTC datetime or None."""

    def __new__(cls, name: str, attributes: dict, time: datetime | None = None):
        event = super().__new__(cls, (name, attributes))
        event.time = time
        return event

    def __getnewargs__(self):  # copy and pickle keep the time
        return (self[0], self[1], self.time)

    name = property(lambda self: self[0])
    attributes = property(lambda self: self[1])


class SpanLink(tuple):
    """A link as a plain ``(trace_id, span_id)`` pair (it compares, unpacks and prints as
    one) that also has the link's ``.attributes`` (a dict, empty when none were sent)."""

    def __new__(cls, trace_id: str, span_id: str, attributes: dict | None = None):
        link = super().__new__(cls, (trace_id, span_id))
        link.attributes = {} if attributes is None else attributes
        return link

    def __getnewargs__(self):  # copy and pickle keep the attributes
        return (self[0], self[1], self.attributes)

    trace_id = property(lambda self: self[0])
    span_id = property(lambda self: self[1])


# ---------------------------------------------------------------- DataFrames

def none_for_missing(df: pd.DataFrame, columns) -> pd.DataFrame:
    """Missing ids as None (not NaN), so ``row.parent_span_id is None`` reads as it should."""
    for col in columns:
        df[col] = df[col].astype(object).where(df[col].notna(), None)
    return df


def frame_of(signal: str, rows: list, columns: list | None = None) -> pd.DataFrame:
    """Rows of ``signal`` (``"spans"``, ``"logs"``, ``"metrics"``, ``"requests"``) as the DataFrame
    the views draw: spans in start order, missing ids as None. ``columns``: a receiver's
    (:data:`RECEIVED_COLUMNS`) unless given."""
    import pandas as pd
    df = pd.DataFrame(rows, columns=RECEIVED_COLUMNS[signal] if columns is None else columns)
    if signal == "spans":
        df = df.sort_values("start", kind="stable").reset_index(drop=True)
    return none_for_missing(df, _MISSING.get(signal, ()))


class ReceivedFrames:
    """The DataFrames of a receiver, the same whether it runs in this process
    (:class:`kit.receiver.Receiver`) or in another (:class:`kit.remote.RemoteReceiver`):
    each is ``frame(signal)``, which the receiver defines."""

    def frame(self, signal: str, since: int | None = None) -> pd.DataFrame:
        """``signal``'s rows received after the watermark ``since`` (all, for None)."""
        raise NotImplementedError

    def spans_df(self) -> pd.DataFrame:
        """Spans received, shaped like :func:`kit.capture.spans_df` (so the views draw them),
        plus ``transport``: how each came, ``"grpc"`` or ``"http"``."""
        return self.frame("spans")

    def logs_df(self) -> pd.DataFrame:
        """Log records received, shaped like :func:`kit.capture.logs_df`, plus ``transport``."""
        return self.frame("logs")

    def metric_points_df(self) -> pd.DataFrame:
        """Metric points received, shaped like :func:`kit.capture.metric_points_df`."""
        return self.frame("metrics")

    def requests_df(self) -> pd.DataFrame:
        """One row per request, refused ones too: ``transport`` (grpc/http), ``path``,
        ``signal``, ``status`` (200, or the error code), ``items``, span/metric ``names``, ``note``."""
        return self.frame("requests")


# ---------------------------------------------------------------- JSON
#
# Strict JSON (no NaN or Infinity tokens) that brings every value back as it was. What JSON
# has no word for is a one-key object whose key starts with "$", the kit's marks:
#
#     {"$tuple": [...]}    a tuple (an OTLP array)     {"$bytes": "<base64>"}   bytes
#     {"$float": "NaN"}    also "Infinity", "-Infinity" (as OTLP/JSON writes them)
#     {"$map": {...}}      a map of the sender's that has one key starting with "$" itself,
#                          so that {"$bytes": "not base64!"} stays the user's map
#
# Any other object is a map as it is. Datetimes are ISO text in the time columns.

_MARK = "$"
_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"}
    if isinstance(value, tuple):
        return {"$tuple": [_plain(v) for v in value]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        plain = {str(k): _plain(v) for k, v in value.items()}
        return {"$map": plain} if len(plain) == 1 and next(iter(plain)).startswith(_MARK) else plain
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _back(value):
    if isinstance(value, dict):
        if len(value) == 1:
            [(mark, inner)] = value.items()
            if mark == "$tuple":
                return tuple(_back(v) for v in inner)
            if mark == "$bytes":
                return base64.b64decode(inner, validate=True)
            if mark == "$float":
                return _NON_FINITE[inner]
            if mark == "$map":
                return {k: _back(v) for k, v in inner.items()}
        return {k: _back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_back(v) for v in value]
    return value


def encode(signal: str, rows: list) -> list:
    """Rows of ``signal`` (spans, logs, metrics, requests) as values for strict JSON
    (``json.dumps(..., allow_nan=False)``): datetimes as ISO text; tuples, bytes, NaN and
    infinities marked so that they come back as they were (see the marks above)."""
    out = []
    for row in rows:
        row = dict(row)
        if signal == "spans":
            row["events"] = [[e.name, e.attributes, e.time] if isinstance(e, SpanEvent)
                             else [e[0], e[1], None] for e in row["events"]]
            row["links"] = [[link[0], link[1], getattr(link, "attributes", {})] for link in row["links"]]
        out.append(_plain(row))
    return out


def decode(signal: str, rows: list) -> list:
    """The other end of :func:`encode` (span events come back as :class:`SpanEvent`)."""
    out = []
    for row in rows:
        row = {k: _back(v) for k, v in row.items()}
        for key in _TIME_KEYS[signal]:
            if key in row:   # (a row from an older receiver has no observed_time, no start_time)
                row[key] = datetime.fromisoformat(row[key]) if row[key] else None
        if signal == "spans":
            row["events"] = [SpanEvent(name, attrs, datetime.fromisoformat(t) if t else None)
                             for name, attrs, t in row["events"]]
            row["links"] = [SpanLink(link[0], link[1], link[2] if len(link) > 2 else {}) for link in row["links"]]
        if signal == "metrics" and row.get("kind") == "summary" and isinstance(row.get("value"), dict):
            row["value"]["quantiles"] = {float(q): v for q, v in row["value"]["quantiles"].items()}
        out.append(row)
    return out
