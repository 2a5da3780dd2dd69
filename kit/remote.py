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

The rows travel as strict JSON from the page server's ``/api/`` (:mod:`kit.receiver.page`);
:func:`kit.rows.encode` and :func:`kit.rows.decode` are the two ends: datetimes as ISO text,
tuples, bytes, NaN and infinities marked so that they come back as they were (a sender's own
map that looks like a mark, ``{"$bytes": "…"}``, comes back as that map), span events as
``SpanEvent``, links as ``SpanLink`` (with their attributes). The DataFrames are built as the
embedded receiver's are (:mod:`kit.rows`), so this module needs neither gRPC nor the
receiver's servers.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pandas as pd

from kit.rows import ReceivedFrames, decode, encode, frame_of  # noqa: F401  (encode: kept here too)

DEFAULT_URL = "http://127.0.0.1:16686"


class RemoteReceiver(ReceivedFrames):
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
        rows = decode(signal, self._get(f"/api/{signal}" + (f"?since={since}" if since is not None else "")))
        return frame_of(signal, rows)

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
