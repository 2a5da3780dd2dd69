"""What the cell being run made: the part of the telemetry a self-check judges.

A learner re-runs cells, runs them out of order, runs the solution and then the
blank again. A self-check that looked at *everything* captured in the kernel
would judge an earlier attempt. So, when a cell starts (IPython's
``pre_run_cell`` event), the kit takes a **watermark**: how many spans, log
records and metric points were captured so far, a fresh reading of every
metric, how much each running receiver had received, and what the cell starts
with (the current context, the paho clients alive, each logger's handlers).
A check then reads only what came after it:

    >>> from kit import attempts
    >>> attempts.spans()                       # spans that ended since this cell started
    >>> attempts.logs()                        # log records written since then
    >>> attempts.metric_changes("messages_received")   # how much each stream grew in this cell
    >>> attempts.received(receiver, "spans")   # what a kit.receiver got since then

Counters are cumulative, so a metric is judged by its *change* over the cell:
running a correct cell twice adds 3 twice, and each run still shows "+3".

Every cell takes the whole watermark, whatever its text: when a cell starts, nothing
tells whether it will run a check (under its own name, another name, or in a function
an earlier cell defined), and a check that runs at the end of the cell is too late to
take it. In a lesson's kernel it costs about 20 ms a cell, most of it finding the paho
clients (the reading is held to ``READ_BUDGET_S``).

Outside Jupyter (a script, a test) nothing takes the watermark for you: call
``attempts.start()`` just before the attempt. With no watermark at all, the
functions return everything captured so far.
"""

from __future__ import annotations

import sys
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from kit import capture, running

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["start", "current", "spans", "unfinished_spans", "logs", "metric_points", "metric_changes",
           "read_metrics", "received", "watch_cells", "thread_errors", "paho_clients", "new_clients", "cell_has"]


@dataclass
class Watermark:
    """Where the store stood when the attempt started."""

    cell: int | None                 # IPython's execution count of the cell, None if set by hand
    spans: int
    started: int
    logs: int
    points: int
    readings: int | None = None      # points total right after the fresh metric reading, if one was taken
    receivers: dict = field(default_factory=dict)  # id(receiver store) -> {"spans": n, ...}
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    paho_instrumented: bool = False  # was PahoMqttInstrumentor on when the attempt started?
    context: object = None           # the OpenTelemetry context current when it started (empty, unless leaked)
    clients: object = None           # the paho clients alive when it started (a WeakSet; None if not looked)
    handlers: dict | None = None     # logger name -> ids of its handlers when it started (None if not looked)
    thread_errors: int = 0           # how many thread failures were recorded before it started
    source: str = ""                 # the cell's code, when IPython runs it (a ✗ never suggests what is there)


_mark: list[Watermark] = []
_lock = threading.Lock()


def start(cell: int | None = None, read: bool = True, source: str = "") -> Watermark:
    """Take the watermark now: what comes after it is this attempt's.

    ``read`` (every cell's watermark does) first reads every service's metrics into the
    store (a collection, as the kit does every second anyway), so a counter's change can
    be measured from this moment exactly; and notes the paho clients and logging handlers
    that exist, so a check can tell what the attempt left behind. ``read=False`` notes
    only the counts and the context."""
    from opentelemetry import context

    readings = None
    if read and _read_in_time():
        readings = capture.total("points")
    stores = running.receivers()  # each receiver's store adds itself there (kit.running)
    mark = Watermark(cell, capture.total("spans"), capture.total("started"), capture.total("logs"), capture.total("points"),
                     readings, {id(s): s.totals() for s in stores}, paho_instrumented=_paho_instrumented(),
                     context=context.get_current(), thread_errors=len(_thread_errors),
                     clients=weakref.WeakSet(paho_clients()) if read else None,
                     handlers=_handlers_now() if read else None, source=source)
    _mark[:] = [mark]
    return mark


def current() -> Watermark | None:
    """The watermark of the cell being run (or the one set by hand); None if there is none."""
    if not _mark:
        return None
    mark = _mark[0]
    if mark.cell is not None and mark.cell != _execution_count():
        return None  # taken for another cell (the hook was not on when this one started)
    return mark


def spans(trace_id: str | None = None) -> pd.DataFrame:
    """Spans that ended in this attempt (as :func:`kit.capture.spans_df`)."""
    mark = current()
    return capture.spans_df(trace_id=trace_id, since=mark.spans if mark else None)


def unfinished_spans() -> list[str]:
    """Names of the spans started in this attempt that have not ended (yet)."""
    mark = current()
    ended = {s.context.span_id for s in capture.finished_spans(mark.spans if mark else None)}
    return [name for span_id, name in capture.started_spans(mark.started if mark else None)
            if span_id not in ended]


def logs() -> pd.DataFrame:
    """Log records written in this attempt (as :func:`kit.capture.logs_df`)."""
    mark = current()
    return capture.logs_df(since=mark.logs if mark else None)


def metric_points(name: str | None = None) -> pd.DataFrame:
    """Metric points collected in this attempt."""
    mark = current()
    return capture.metric_points_df(name, since=mark.points if mark else None)


def metric_changes(name: str | None = None) -> pd.DataFrame:
    """How much each stream of metric ``name`` (of every metric, for None) changed in this attempt.

    One row per stream that changed (service, attributes): ``before`` and
    ``after`` are the cumulative values, ``change`` their difference. For a
    histogram each is its number of measurements (``count``), and
    ``sum_change`` and ``buckets_change`` say what the new measurements added up to and in
    which buckets they fell. Read the metrics first (:func:`read_metrics`) for an exact answer."""
    mark = current()
    reading = None if mark is None else (mark.readings if mark.readings is not None else mark.points)
    before = {} if mark is None else _latest(capture.metric_points_df(name, until=reading))
    after = _latest(capture.metric_points_df(name))
    rows = []
    for key, point in after.items():
        old = before.get(key)
        if old is not None and isinstance(old["value"], dict) != isinstance(point["value"], dict):
            old = None  # another kind of instrument under the same name
        value, old_value = _count(point["value"]), _count(old["value"]) if old is not None else 0
        if value == old_value:
            continue
        row = {"service": point["service"], "name": point["name"], "kind": point["kind"],
               "unit": point["unit"], "attributes": point["attributes"],
               "before": old_value, "after": value, "change": value - old_value}
        if isinstance(point["value"], dict):
            old_buckets = old["value"]["buckets"] if old is not None else [0] * len(point["value"]["buckets"])
            row["bounds"] = point["value"]["bounds"]
            row["buckets_change"] = [a - b for a, b in zip(point["value"]["buckets"], old_buckets)]
            row["sum_change"] = point["value"]["sum"] - (old["value"]["sum"] if old is not None else 0)
        rows.append(row)
    import pandas as pd
    return pd.DataFrame(rows, columns=["service", "name", "kind", "unit", "attributes", "before", "after",
                                       "change", "sum_change", "bounds", "buckets_change"])


def received(receiver, signal: str = "spans") -> pd.DataFrame:
    """What ``receiver`` (a :mod:`kit.receiver` Receiver) received in this attempt:
    ``"spans"``, ``"logs"``, ``"metrics"`` or ``"requests"``, as its ``spans_df()`` and friends.

    Other processes (or an earlier cell's batch processor) may send late: spans that
    *started*, and log records *written*, before this attempt are left out."""
    mark = current()
    since = None
    if mark is not None:
        since = mark.receivers.get(id(receiver.received), {}).get(signal, 0)
    frame = receiver.frame(signal, since=since)
    if mark is not None and signal in ("spans", "logs"):
        times = frame["start" if signal == "spans" else "time"]
        frame = frame[times.notna() & (times >= mark.time)].reset_index(drop=True)
    return frame


def _latest(points: pd.DataFrame) -> dict:
    out = {}
    for row in points.to_dict("records"):
        out[(row["service"], row["name"], row["kind"], row["unit"], repr(sorted(row["attributes"].items())))] = row
    return out


def _count(value):
    return value["count"] if isinstance(value, dict) else value


def _paho_instrumented() -> bool:
    import sys
    module = sys.modules.get("opentelemetry.instrumentation.paho_mqtt")  # never imported here just to look
    try:
        return bool(module and module.PahoMqttInstrumentor().is_instrumented_by_opentelemetry)
    except Exception:  # a half-imported or changed module: unknown is "no"
        return False


# ---------------------------------------------------------------- what an attempt leaves behind

def paho_clients() -> list:
    """Every paho ``Client`` alive in this process (none if paho was never imported)."""
    import gc
    import sys
    module = sys.modules.get("paho.mqtt.client")
    if module is None:
        return []
    kinds = _subclasses(module.Client)
    # an object refers to its class: asking the collector for what refers to the classes walks
    # the objects in C, three times quicker than a Python loop over gc.get_objects()
    return [o for o in gc.get_referrers(*kinds) if type(o) in kinds]


def _subclasses(kind) -> tuple:
    found, todo = [], [kind]
    while todo:
        each = todo.pop()
        if each not in found:
            found.append(each)
            todo += each.__subclasses__()
    return tuple(found)


def cell_has(fragment: str) -> bool:
    """Does the code of the cell being judged contain ``fragment`` (spaces and quote marks
    aside)? False when the code is unknown (outside IPython)."""
    mark = current()
    if mark is None or not mark.source:
        return False
    return _squeeze(fragment) in _squeeze(mark.source)


def _squeeze(text: str) -> str:
    return "".join(text.split()).replace("'", '"')


def new_clients() -> list:
    """The paho clients made in this attempt (after the watermark), oldest first as far as known."""
    mark = current()
    if mark is None or mark.clients is None:
        return []
    return [c for c in paho_clients() if c not in mark.clients]


def _handlers_now() -> dict:
    import logging
    loggers = [logging.getLogger()] + [lg for lg in list(logging.Logger.manager.loggerDict.values())
                                       if isinstance(lg, logging.Logger)]
    return {lg.name: [id(h) for h in lg.handlers] for lg in loggers}


_thread_errors: list = []   # (time, thread name, exception) of each thread that died of an exception
_MAX_THREAD_ERRORS = 1000


def thread_errors() -> list:
    """``(thread name, exception)`` of each thread that died of an exception in this attempt:
    a paho callback (``on_connect``, ``on_message``, …) that raised stops that client's
    network thread, and its traceback only reaches stderr."""
    mark = current()
    start = mark.thread_errors if mark is not None else 0
    with _lock:
        return [(name, exc) for _, name, exc in _thread_errors[start:]]


def _note_thread_error(args) -> None:
    try:
        with _lock:
            if len(_thread_errors) < _MAX_THREAD_ERRORS:
                _thread_errors.append((datetime.now(timezone.utc), getattr(args.thread, "name", "?"), args.exc_value))
    finally:
        _previous_hook[0](args)


_previous_hook: list = []


def _watch_threads() -> None:
    """Note every thread that dies of an exception (and let Python print it, as before)."""
    if getattr(threading.excepthook, "__name__", "") == "_note_thread_error":
        return
    _previous_hook[:] = [threading.excepthook]
    threading.excepthook = _note_thread_error


READ_BUDGET_S = 1.5  # all services together: a slow gauge callback must not stall every cell
_reading: list[threading.Thread] = []


def _read_in_time() -> bool:
    """Read the metrics in a helper thread, waiting at most the budget: a callback that
    blocks cannot be interrupted, so the cell goes on without it (and the check then
    counts from the last reading before the cell)."""
    if _reading and _reading[0].is_alive():
        return False  # the last reading is still stuck: do not pile up threads behind it
    worker = threading.Thread(target=read_metrics, name="kit-attempt-read", daemon=True)
    _reading[:] = [worker]
    worker.start()
    worker.join(READ_BUDGET_S)
    return not worker.is_alive()


def read_metrics(budget_s: float = READ_BUDGET_S) -> None:
    """Read every service's metrics into the kit's store now (the exporters are not called),
    within ``budget_s`` for all of them; a service left out keeps its last reading."""
    import time

    deadline = time.monotonic() + budget_s
    for tele in running.services().values():  # kit.telemetry.setup adds each service there
        left = deadline - time.monotonic()
        if left <= 0:
            break
        tele.read_metrics(timeout_s=left)


# ---------------------------------------------------------------- Jupyter

def _execution_count() -> int | None:
    shell = _shell()
    return getattr(shell, "execution_count", None) if shell is not None else None


def _shell():
    if "IPython" not in sys.modules:  # a running IPython shell has imported it; a script need not pay for it
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _on_cell(info) -> None:
    try:  # the whole watermark for every cell: whether it runs a check is known only at its end
        start(_execution_count(), source=getattr(info, "raw_cell", "") or "")
    except Exception:  # a watermark must never break the learner's cell
        _mark.clear()


def watch_cells() -> bool:
    """Take a watermark at the start of every cell of this IPython kernel (done
    on import; safe to call again). False outside IPython."""
    shell = _shell()
    if shell is None or not hasattr(shell, "events"):
        return False
    callbacks = shell.events.callbacks.get("pre_run_cell", [])
    for cb in list(callbacks):
        if getattr(cb, "__name__", "") == "_on_cell" and getattr(cb, "__module__", "") == __name__:
            shell.events.unregister("pre_run_cell", cb)  # a reloaded module replaces its hook
    shell.events.register("pre_run_cell", _on_cell)
    return True


watch_cells()
_watch_threads()
