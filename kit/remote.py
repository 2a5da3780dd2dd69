"""A notebook reading a receiver that runs elsewhere: ``python -m kit receiver`` in a terminal.

    >>> from kit.remote import connect
    >>> receiver = connect()                      # http://127.0.0.1:16686, the page's address
    >>> receiver.wait_for_spans(lambda df: len(df) >= 8, timeout_s=30)
    >>> waterfall(receiver.spans_df())            # the same DataFrames as an embedded receiver's
    >>> receiver.grpc_endpoint                    # where to point services' OTEL_EXPORTER_OTLP_ENDPOINT

A :class:`RemoteReceiver` has the reading side of :class:`kit.receiver.Receiver`:
``spans_df()``, ``logs_df()``, ``metric_points_df()``, ``requests_df()``, ``wait_for_spans()``,
its endpoints, and a ``stop()`` that only forgets the connection (the terminal's receiver goes
on). So lesson 09's views work on services started from a terminal, unchanged.

The rows travel as JSON from the page server's ``/api/`` (:mod:`kit.receiver_page`);
:func:`encode` and :func:`decode` are the two ends: datetimes as ISO text, tuples and
bytes marked so that they come back as tuples and bytes, span events as ``SpanEvent``.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from datetime import datetime

import pandas as pd

from kit import capture

DEFAULT_URL = "http://127.0.0.1:16686"
_TIME_KEYS = {"spans": ("start",), "logs": ("time",), "metrics": ("time",), "requests": ("time",)}


def _plain(value):
    if isinstance(value, tuple):
        return {"$tuple": [_plain(v) for v in value]}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _back(value):
    if isinstance(value, dict):
        if set(value) == {"$tuple"}:
            return tuple(_back(v) for v in value["$tuple"])
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"])
        return {k: _back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_back(v) for v in value]
    return value


def encode(signal: str, rows: list) -> list:
    """Rows of ``signal`` (spans, logs, metrics, requests) as JSON-ready values."""
    out = []
    for row in rows:
        row = dict(row)
        if signal == "spans":
            row["events"] = [[e.name, e.attributes, e.time] if isinstance(e, capture.SpanEvent)
                             else [e[0], e[1], None] for e in row["events"]]
            row["links"] = [list(link) for link in row["links"]]
        out.append(_plain(row))
    return out


def decode(signal: str, rows: list) -> list:
    """The other end of :func:`encode`."""
    out = []
    for row in rows:
        row = {k: _back(v) for k, v in row.items()}
        for key in _TIME_KEYS[signal]:
            row[key] = datetime.fromisoformat(row[key]) if row.get(key) else None
        if signal == "spans":
            row["events"] = [capture.SpanEvent(name, attrs, datetime.fromisoformat(t) if t else None)
                             for name, attrs, t in row["events"]]
            row["links"] = [tuple(link) for link in row["links"]]
        if signal == "metrics" and row.get("kind") == "summary" and isinstance(row.get("value"), dict):
            row["value"]["quantiles"] = {float(q): v for q, v in row["value"]["quantiles"].items()}
        out.append(row)
    return out


class RemoteReceiver:
    """A receiver running in another process, read over its page's ``/api/`` (see the module)."""

    def __init__(self, url: str = DEFAULT_URL, timeout_s: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        info = self._get("/api/info")
        self.grpc_endpoint, self.http_endpoint = info["grpc_endpoint"], info["http_endpoint"]

    def _get(self, path: str, timeout_s: float | None = None):
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout_s or self.timeout_s) as r:
                return json.loads(r.read())
        except (urllib.error.URLError, OSError) as err:
            raise ConnectionError(f"no kit receiver answers at {self.url} ({err}): start one with "
                                  f"`python -m kit receiver` and use the page address it prints") from None

    def totals(self) -> dict:
        """How many spans, logs, metric points and requests it has received so far."""
        return self._get("/api/totals")

    def frame(self, signal: str, since: int | None = None) -> pd.DataFrame:
        """``signal``'s rows (``"spans"``, ``"logs"``, ``"metrics"``, ``"requests"``), shaped as
        the embedded receiver's, those after the watermark ``since`` only, if given."""
        from kit.receiver import frame_of
        rows = decode(signal, self._get(f"/api/{signal}" + (f"?since={since}" if since is not None else "")))
        return frame_of(signal, rows)

    def spans_df(self) -> pd.DataFrame:
        return self.frame("spans")

    def logs_df(self) -> pd.DataFrame:
        return self.frame("logs")

    def metric_points_df(self) -> pd.DataFrame:
        return self.frame("metrics")

    def requests_df(self) -> pd.DataFrame:
        return self.frame("requests")

    def wait_for_spans(self, predicate, timeout_s: float = 10.0) -> bool:
        """Wait until ``predicate(spans_df)`` is true, re-checked each time the receiver gets a
        request (the server holds the question until then), at most ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            seen = self.totals()["requests"]
            if predicate(self.spans_df()):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._get(f"/api/changes?after={seen}&timeout_s={min(left, 5):.2f}", timeout_s=min(left, 5) + 5)

    def stop(self) -> None:
        """Nothing to stop here: the receiver runs in its own process (Ctrl-C there)."""


def connect(url: str = DEFAULT_URL) -> RemoteReceiver:
    """A receiver started with ``python -m kit receiver`` (its page's address, as printed)."""
    return RemoteReceiver(url)
