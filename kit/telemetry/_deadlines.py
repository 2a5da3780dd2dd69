"""Flushes and shutdowns that return within their deadline, whatever the exporters do.

The SDK's providers flush one signal after another, and its OTLP exporters wait their own
timeout at every export, whatever deadline the flush was given (opentelemetry-python
issues 4555 and 4568): against a collector that accepts connections and never answers,
``flush()`` would take each exporter's timeout in turn. So:

* :func:`run_within` runs each flush or shutdown in a thread of its own, all side by side,
  waits for them at most the deadline, and says in one line what did not finish or failed;
* while a flush runs, its service's :class:`Deadline` is set, and an export cuts its
  timeout to what is left of it (:meth:`Deadline.export_timeout_s`, :func:`set_timeout`).
"""

from __future__ import annotations

import sys
import threading
import time

EXPORT_TIMEOUT_S = 5.0  # one export, when no flush deadline is nearer


class Deadline:
    """The deadline of the flushes (or shutdowns) of one service in progress, if any."""

    def __init__(self):
        self.at: float | None = None  # time.monotonic()
        self._active = 0
        self._lock = threading.Lock()

    def left_s(self) -> float | None:
        at = self.at
        return None if at is None else at - time.monotonic()

    def export_timeout_s(self) -> float:
        """The timeout of an export starting now: a tenth of what is left is kept back, so a
        failed export is reported, not late."""
        left = self.left_s()
        return EXPORT_TIMEOUT_S if left is None else min(EXPORT_TIMEOUT_S, max(0.9 * left, 0.01))

    def begin(self, at: float) -> None:
        with self._lock:
            self.at = at if self.at is None else max(self.at, at)
            self._active += 1

    def end(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0:
                self.at = None


def set_timeout(exporter, seconds: float) -> None:
    """The SDK's OTLP exporters read their timeout at every export, the gRPC ones from
    ``_timeout``, the HTTP ones from their client's; they ignore a flush's own deadline
    (opentelemetry-python issues 4555 and 4568). Both kinds are tested against a black hole."""
    client = getattr(exporter, "_client", None)
    target = client if hasattr(client, "_timeout") else exporter
    if hasattr(target, "_timeout"):
        target._timeout = seconds


class _Job(threading.Thread):
    """One flush or shutdown call, in a thread of its own, so that the caller can stop
    waiting at the deadline whatever the call does."""

    def __init__(self, what: str, call, timeout_ms: float, deadline: Deadline):
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


def run_within(jobs: list[tuple[str, object, Deadline]], timeout_s: float) -> bool:
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
