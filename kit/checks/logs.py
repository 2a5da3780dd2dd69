"""Self-checks about log records: written in the right span, and sent over OTLP by hand."""

from __future__ import annotations

import logging
import time

import pandas as pd

from kit import attempts
from kit.checks._inspect import exporter_of, log_processors, queued
from kit.checks._result import Result, did_you_mean, names, ok, wrong
from kit.checks.exercises import judged
from kit.checks.spans import made

SEVERITY_CALL = {"TRACE": "debug", "DEBUG": "debug", "INFO": "info", "WARN": "warning", "ERROR": "error",
                 "FATAL": "critical"}


@judged
def check_log_in_span(text: str, span_name: str, severity: str | None = None) -> Result:
    """A log record containing ``text``, written by this cell inside the span
    ``span_name`` this cell made (same trace_id and span_id), with this severity."""
    logs = attempts.logs()
    mine = logs[logs.body.astype(str).str.contains(text, regex=False)]
    if mine.empty:
        bodies = logs.body.astype(str).tolist()
        said = f" This cell logged {names(bodies, 4)}." if bodies else " This cell logged nothing."
        return wrong(f"No log record of this cell contains {text!r}.{said} Log it with a logger, e.g. "
                     f"logging.getLogger('myapp').{SEVERITY_CALL.get(severity or 'INFO', 'info')}({text!r}); "
                     f"print() is not a log record.", "log-missing")
    span, missing = made(span_name)
    if missing is not None:
        return missing
    last = mine.iloc[-1]
    if last.trace_id is None:
        return wrong(f"The log {text!r} was written outside any span. Write it inside the "
                     f"`with ... {span_name!r}` block (indent the line).", "log-outside-span")
    if last.span_id != span.span_id:
        inside = attempts.spans()
        where = inside[inside.span_id == last.span_id]
        other = where.name.iloc[0] if not where.empty else "another span"
        if other == span_name:
            return wrong(f"The log {text!r} was written inside an earlier {span_name!r} of this cell; the check looks "
                         f"at the last one this cell made: write it in that one, or make only one.", "log-other-span")
        return wrong(f"The log {text!r} was written inside {other!r}, not inside {span_name!r}: write it in "
                     f"the `with ... {span_name!r}` block itself.", "log-other-span")
    end = span.start + pd.to_timedelta(span.duration_ms, unit="ms")
    if last.time is not None and not (span.start <= last.time <= end):
        return wrong(f"The log {text!r} carries the ids of {span_name!r}, but was written after it ended (the span "
                     f"made current again with trace.use_span?): write it inside the `with` block, while the "
                     f"span runs.", "log-after-span")
    if severity and last.severity != severity:
        return wrong(f"The log {text!r} has severity {last.severity}, expected {severity}: use "
                     f".{SEVERITY_CALL.get(severity, severity.lower())}(...).", "log-severity")
    same = mine[mine.span_id == last.span_id]
    doubled = _doubled_on_the_way(last.logger) if len(same) > 1 and isinstance(last.logger, str) else []
    if doubled:
        lower, _, upper = doubled[0]
        for logger, handler, _ in doubled:
            logger.removeHandler(handler)
        above = ("another one on it" if upper is lower else
                 "the one on the root logger" if upper is logging.getLogger() else f"the one on {upper.name!r}")
        which = "the root logger" if lower is logging.getLogger() else f"the logger {lower.name!r}"
        return wrong(f"{text!r} arrived {len(same)} times in {span_name!r}: {which} has a "
                     f"LoggingHandler of its own that sends to the same LoggerProvider as {above}, so every "
                     f"record it logs goes through both (an addHandler(LoggingHandler()), in this cell or an "
                     f"earlier one, as the blog does? The kit bridges logging already). The check took it off "
                     f"for you: run the cell again.", "handler-twice")
    if len(same) > 1:
        return wrong(f"This cell logged {text!r} {len(same)} times in {span_name!r}; the task asks for one record: "
                     f"log it once.", "log-twice")
    return ok(f"The log {text!r} carries the trace and span id of {span_name!r}.")


@judged
def check_otlp_logs(receiver, text: str, *, service: str, severity: str, logger: str,
                    provider, transport: str = "grpc", wait_s: float = 0.3) -> Result:
    """A log record containing ``text``, with this severity, from the logger called
    ``logger``, reached ``receiver`` over OTLP in this cell, sent by ``provider`` (the
    LoggerProvider you built) whose resource says ``service.name`` = ``service``.

    ``force_flush()`` returns once the receiver has the records, so the check waits
    only a moment: records still in a batch queue are not "sent now". ``transport``:
    ``"grpc"`` or ``"http"``, the OTLP transport the task asks for; the processor must
    be a ``BatchLogRecordProcessor``, and the record must arrive once."""
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    processors = log_processors(provider)
    if any(isinstance(p, SimpleLogRecordProcessor) for p in processors):
        return wrong("The provider sends through a SimpleLogRecordProcessor: it works, but it exports in your thread "
                     "at every record. The task (and production) uses a BatchLogRecordProcessor.", "simple-processor")
    handled_by = [h for h in _handlers(logging.getLogger(logger)) if getattr(h, "_logger_provider", None) is provider]
    own = [h for h in logging.getLogger(logger).handlers if getattr(h, "_logger_provider", None) is provider]
    if handled_by and not own:
        where = next(lg for lg in _loggers_up(logging.getLogger(logger))
                     if any(getattr(h, "_logger_provider", None) is provider for h in lg.handlers))
        label = "the root logger" if where is logging.getLogger() else f"the logger {where.name!r}"
        reaches = ("every record of every library" if where is logging.getLogger() else
                   f"every record of {where.name!r}'s other loggers")
        return wrong(f"The LoggingHandler for your provider is on {label}, not on {logger!r}: {reaches} now goes to "
                     f"{service!r} too. Put it on the "
                     f"logger the task names: logging.getLogger({logger!r}).handlers[:] = "
                     f"[LoggingHandler(logger_provider=provider)], and take it off {label}.", "handler-on-root")
    if not handled_by:
        from opentelemetry._logs import get_logger_provider
        elsewhere = [lg for lg in list(logging.Logger.manager.loggerDict.values()) if isinstance(lg, logging.Logger)
                     and any(getattr(h, "_logger_provider", None) is provider for h in lg.handlers)]
        if elsewhere:
            return wrong(f"The LoggingHandler for your provider is on the logger {elsewhere[0].name!r}, not on "
                         f"{logger!r}, the logger the task names.{did_you_mean(logger, [elsewhere[0].name])} Log "
                         f"with logging.getLogger({logger!r}), and put the handler there.", "log-logger")
        own = [h for h in logging.getLogger(logger).handlers if hasattr(h, "_logger_provider")]
        if any(h._logger_provider is get_logger_provider() for h in own):
            why = (f" Its LoggingHandler was made without logger_provider=, so it sends to the global provider "
                   f"(here the kit's): LoggingHandler(logger_provider=provider).")
        elif own:
            why = (" Its LoggingHandler sends to another LoggerProvider (one an earlier run of a cell made?): "
                   "replace it, logger.handlers[:] = [LoggingHandler(logger_provider=provider)].")
        else:
            why = " Put one there: logger.handlers[:] = [LoggingHandler(logger_provider=provider)]."
        return wrong(f"No handler on the logger {logger!r} sends to the LoggerProvider you built, so nothing "
                     f"you log there reaches it.{why}", "handler-missing")
    deadline = time.monotonic() + wait_s
    while True:
        got = attempts.received(receiver, "logs")
        mine = got[got.body.astype(str).str.contains(text, regex=False)]
        if not mine.empty or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if mine.empty:
        return wrong(_why_nothing_arrived(receiver, text, provider, got, logger, severity), "log-not-arrived")
    last = mine.iloc[-1]
    if len(mine) > 1:
        if len(handled_by) > 1:
            return wrong(f"The record arrived {len(mine)} times: the logger {logger!r} has {len(handled_by)} handlers "
                         f"for your provider (a cell with addHandler run again adds one each time). Replace them "
                         f"instead: logger.handlers[:] = [LoggingHandler(logger_provider=provider)].",
                         "log-arrived-twice")
        if len(processors) > 1:
            return wrong(f"The record arrived {len(mine)} times: your provider has {len(processors)} log record "
                         f"processors, and each sends every record. Give it one: one "
                         f"add_log_record_processor(BatchLogRecordProcessor(...)).", "log-arrived-twice")
        return wrong(f"The record arrived {len(mine)} times, through the one handler for your provider: the cell "
                     f"logged {text!r} {len(mine)} times. Log it once.", "log-twice")
    ways = set(mine.transport.dropna())
    if ways and transport not in ways:
        return wrong(f"The record came over {'/'.join(sorted(ways))}, not {transport}: the task asks for the "
                     f"{'gRPC' if transport == 'grpc' else 'HTTP'} OTLPLogExporter "
                     f"(opentelemetry.exporter.otlp.proto.{transport}._log_exporter).", "log-transport")
    if last.service != service:
        return wrong(f"The record arrived from service {last.service!r}, not {service!r}: give the "
                     f"LoggerProvider resource=Resource.create({{'service.name': {service!r}}}).", "log-service")
    if last.logger != logger:
        return wrong(f"The record came from the logger {last.logger!r}, not {logger!r}: log with "
                     f"logging.getLogger({logger!r}).", "log-logger")
    if last.severity != severity:
        return wrong(f"The record has severity {last.severity}, expected {severity}: use "
                     f".{SEVERITY_CALL.get(severity, severity.lower())}(...).", "log-severity")
    return ok(f"{text!r} ({severity}) from {service!r}/{logger!r} reached the receiver over OTLP.")


def _loggers_up(logger) -> list:
    out = []
    while logger is not None:
        out.append(logger)
        logger = logger.parent if logger.propagate else None
    return out


def _doubled_on_the_way(name: str) -> list:
    """(logger, handler, upper logger) for each LoggingHandler on the way up from the logger
    ``name`` that sends to the same LoggerProvider as a handler higher up (the upper logger's):
    a record logged there is then sent once per handler."""
    if name != "root" and not isinstance(logging.Logger.manager.loggerDict.get(name), logging.Logger):
        return []  # not a logger of the logging module (nor one to make now)
    # the one kept for each provider: the highest up (the root's, the kit's), on a logger the first added
    pairs = [(lg, h) for lg in reversed(_loggers_up(logging.getLogger(name))) for h in lg.handlers
             if getattr(h, "_logger_provider", None) is not None]
    kept, out = {}, []
    for lg, h in pairs:
        if id(h._logger_provider) in kept:
            out.append((lg, h, kept[id(h._logger_provider)]))
        else:
            kept[id(h._logger_provider)] = lg
    return out


def _handlers(logger) -> list:
    """The handlers a record logged on ``logger`` goes through (its own, then its parents')."""
    out = []
    while logger is not None:
        out += logger.handlers
        logger = logger.parent if logger.propagate else None
    return out


def _why_nothing_arrived(receiver, text, provider, got, logger: str | None = None, severity: str = "WARN") -> str:
    head = f"No log record containing {text!r} reached the receiver in this cell."
    processors = log_processors(provider)
    if not processors:
        return f"{head} The provider has no log record processor: add_log_record_processor(...)."
    waiting = sum(queued(p) for p in processors)
    if waiting:
        when = ("call it after logging, just before the check (a flush before the log sends nothing)"
                if attempts.cell_has(".force_flush()") else "call provider.force_flush() before the check")
        return (f"{head} {waiting} record(s) are still waiting in the BatchLogRecordProcessor: it sends "
                f"every few seconds, so {when}.")
    exporters = [exporter_of(p) for p in processors if exporter_of(p) is not None]
    for exporter in exporters:
        endpoint = str(getattr(exporter, "_endpoint", "") or "")
        grpc = ".grpc." in type(exporter).__module__
        if grpc and str(receiver.http_port) in endpoint:
            return (f"{head} The gRPC exporter sends to {endpoint}, the receiver's HTTP port: use "
                    f"endpoint=receiver.grpc_endpoint (4317 on a collector).")
        if grpc and str(receiver.grpc_port) in endpoint and not getattr(exporter, "_insecure", True):
            return (f"{head} The gRPC exporter tries TLS ({endpoint} has no http:// and insecure is not set), and the "
                    f"receiver speaks plain gRPC: pass insecure=True, or endpoint=receiver.grpc_endpoint.")
        if not (str(receiver.grpc_port) in endpoint or str(receiver.http_port) in endpoint):
            return (f"{head} The exporter sends to {endpoint or 'its default'}, which is not the receiver: use "
                    f"endpoint=receiver.grpc_endpoint.")
    level = logging.getLevelName(SEVERITY_CALL.get(severity, "warning").upper())
    if logger is not None and isinstance(level, int) and not logging.getLogger(logger).isEnabledFor(level):
        stops = logging.getLevelName(logging.getLogger(logger).getEffectiveLevel())
        return (f"{head} The logger {logger!r} lets only {stops} and above through (its level, or its parents'), so "
                f"a .{SEVERITY_CALL.get(severity, 'warning')}(...) is dropped before any handler sees it: set its "
                f"level back, logging.getLogger({logger!r}).setLevel(logging.NOTSET) (or INFO).")
    if logger is not None and isinstance(level, int):
        ours = [h for h in _handlers(logging.getLogger(logger)) if getattr(h, "_logger_provider", None) is provider]
        if ours and all(h.level > level for h in ours):
            return (f"{head} The LoggingHandler for your provider has level {logging.getLevelName(ours[0].level)}, "
                    f"so it drops a .{SEVERITY_CALL.get(severity, 'warning')}(...): leave its level= out.")
    if not got.empty:
        return f"{head} Other records arrived: {names(got.body.astype(str), 4)}."
    return (f"{head} Log it with the logger that has your LoggingHandler, at WARNING or above, and call "
            f"provider.force_flush().")
