"""What went wrong in the background, said by the next ``flush()`` rather than in a later cell.

An exporter fails in its own thread, long after the cell that made the span has finished:
printed there, the message would land under whatever cell runs next. So failed exports are
counted (:func:`count_failed_export`) and OpenTelemetry's own warnings from other threads
are held (:data:`notices`, listening to the ``opentelemetry`` loggers once :func:`listen`
is called); :func:`report` sums them up in one line per destination, and is called by
``flush()``, ``shutdown()`` and re-running ``setup``.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections import Counter

failed_exports: Counter = Counter()  # "traces to http://... (grpc)" -> exports failed since the last report


def count_failed_export(where: str) -> None:
    failed_exports[where] += 1


class NoticeHandler(logging.Handler):
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


notices = NoticeHandler()


@functools.cache  # once per process
def listen() -> None:
    """OpenTelemetry's loggers write to :data:`notices` only (not to the root logger, which
    is bridged to OpenTelemetry logs: no feedback loop)."""
    otel_logger = logging.getLogger("opentelemetry")
    otel_logger.addHandler(notices)
    otel_logger.propagate = False


def report() -> bool:
    """Say in one line per destination what failed since the last report; False if anything did."""
    failed, failed_copy = bool(failed_exports), dict(failed_exports)
    pending = dict(notices.pending)
    failed_exports.clear()
    notices.pending.clear()
    for where, count in sorted(failed_copy.items()):
        print(f"kit: {count} export{'s' * (count > 1)} of {where} failed. Is the collector up, "
              f"and on this protocol? Check with kit.otlp.check_endpoint(...); the app itself is "
              f"unaffected.", file=sys.stderr)
    if pending and not failed:
        print(f"kit: the exporters logged {sum(pending.values())} warning(s) since the last flush "
              f"({', '.join(sorted(pending))}).", file=sys.stderr)
    return not failed
