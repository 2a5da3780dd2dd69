"""The learner's side of the class board: after ``join()``, each self-check sends one record.

    >>> import kit.classroom
    >>> kit.classroom.join("http://10.0.0.5:4318", room="K7QX2M", name="ada")
    ✓ Joined room K7QX2M at http://10.0.0.5:4318 as 'ada'. …
    >>> kit.classroom.status()      # what was sent, what failed
    >>> kit.classroom.leave()

Or, for every kernel, before Jupyter starts: ``KIT_CLASSROOM=http://10.0.0.5:4318,room=K7QX2M,name=ada``
(:mod:`kit.classroom.record` says what a record holds).

How a verdict travels: :func:`kit.checks.exercises.judged` publishes it
(:mod:`kit.checks.verdicts`); :class:`Membership` listens, starts a span ``self-check 4.2``
and emits the log record inside it, both with **providers of its own** (never the lesson's
``setup()`` ones, so the lesson's captured telemetry, its watermark and its checks never see
them), and a ``BatchSpanProcessor`` / ``BatchLogRecordProcessor`` send them in a background
thread with the SDK's ``OTLPSpanExporter`` / ``OTLPLogExporter`` over HTTP.

A board that is down, slow or a black hole never slows a cell: the cell only queues (a
bounded queue: beyond ``QUEUE`` waiting records, the oldest are dropped) and never
prints: the exporters' warnings are kept out of the notebook (``status()`` shows the last
one). Joining says once whether the board answered.

What is sent is only what the record holds; the exporters are given exactly their
headers (never ``OTEL_EXPORTER_OTLP_HEADERS``, whose API keys are not the board's
business), no proxy, and a resource with ``service.name`` alone.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from contextlib import contextmanager

import requests
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import set_span_in_context

from kit.checks import verdicts
from kit.classroom import record

EXPORT_TIMEOUT_S = 4.0   # one export, its retries included (the SDK's default: 10 s)
PROBE_TIMEOUT_S = 2.0    # join's one question to the board
LEAVE_TIMEOUT_S = 1.0    # leave() (and the kernel's exit) waits at most this for what is queued
QUEUE = 256              # records (and spans) waiting to be sent; beyond, the oldest are dropped
BATCH = 64
DELAY_MS = 500           # how long a record waits for others to share its request


# ---------------------------------------------------------------- the exporters' warnings, kept out of cells

_local = threading.local()
_last_warning: list[str] = []


class _KeptOut(logging.Filter):
    """Drops what the SDK logs while it works for the classroom (and keeps the last line for status())."""

    def filter(self, rec: logging.LogRecord) -> bool:
        if not getattr(_local, "classroom", False):
            return True
        try:
            _last_warning[:] = [rec.getMessage()[:300]]
        except Exception:  # noqa: BLE001  a message that cannot be formatted
            pass
        return False


_FILTER = _KeptOut()


def _keep_sdk_logs_out() -> None:
    """Put the filter on every logger of the SDK, its exporters and their HTTP stack."""
    for name in list(logging.Logger.manager.loggerDict):
        if name.split(".")[0] in ("opentelemetry", "urllib3", "requests"):
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


@contextmanager
def _classroom_work():
    before = getattr(_local, "classroom", False)
    _local.classroom = True
    try:
        yield
    finally:
        _local.classroom = before


class _Session(requests.Session):
    """Exactly the headers the classroom means, one connection per request (a board serves a
    room of learners), no proxy and no ``.netrc`` (the board is on the room's network), and
    never the lesson's ``OTEL_EXPORTER_OTLP_*CERTIFICATE`` / ``CLIENT_KEY`` (a client
    certificate says who you are): the system's CAs, no client certificate."""

    def __init__(self, room: str):
        super().__init__()
        self.trust_env = False
        self.headers.clear()
        self._mine = {record.HEADER: room, "User-Agent": "kit-classroom", "Connection": "close"}

    cert = property(lambda self: None, lambda self, value: None)     # the exporter's setting is ignored
    verify = property(lambda self: True, lambda self, value: None)

    def request(self, method, url, headers=None, **kwargs):
        kept = {k: v for k, v in (headers or {}).items() if k.lower() in ("content-type", "content-encoding")}
        return super().request(method, url, headers={**kept, **self._mine}, **kwargs)


class _Counted:
    """An exporter run as the classroom's work (its warnings kept out), counting what it sent."""

    def __init__(self, inner, stats: Counter, failure):
        self.inner, self.stats, self.failure = inner, stats, failure

    def export(self, batch):
        with _classroom_work():
            try:
                result = self.inner.export(batch)
            except Exception:  # noqa: BLE001
                result = self.failure
        self.stats["sent" if result != self.failure else "failed"] += len(batch)
        return result

    def shutdown(self, *args, **kwargs):
        with _classroom_work():
            try:
                self.inner.shutdown()
            except Exception:  # noqa: BLE001
                pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


class _Spans(_Counted, SpanExporter):
    pass


class _Logs(_Counted, LogRecordExporter):
    pass


# ---------------------------------------------------------------- a membership

def _lesson_started() -> float:
    """When this kernel (this lesson) started: its process's start time, else now."""
    try:
        import psutil
        return psutil.Process().create_time()
    except Exception:  # noqa: BLE001  no psutil: from the join on
        return time.time()


def probe(invitation: record.Invitation, timeout_s: float = PROBE_TIMEOUT_S) -> tuple[bool | None, str]:
    """Ask the board once (an empty OTLP logs request with the room code): ``(True, "")`` if it
    took it, ``(False, why)`` if it refused (wrong code, not a board), ``(None, why)`` if it
    could not be reached."""
    request = urllib.request.Request(f"{invitation.endpoint}/v1/logs", data=b"", method="POST", headers={
        "Content-Type": "application/x-protobuf", record.HEADER: invitation.room, "User-Agent": "kit-classroom"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout_s) as answer:
            answer.read(1024)
        return True, ""
    except urllib.error.HTTPError as err:
        if err.code == 401:
            return False, f"it refused room code {invitation.room!r}"
        if err.code == 403:  # the receiver's Host check (kit.receiver.hosts): a name it was not given
            name = urllib.parse.urlsplit(invitation.endpoint).hostname
            return False, (f"it does not answer to the name {name!r}: use the address on the screen, or the "
                           f"instructor adds --allow-host {name} to python -m kit classroom")
        return False, f"it answered {err.code} {err.reason}: is that the board's address (its OTLP/HTTP port)?"
    except (OSError, ValueError) as err:
        why = getattr(err, "reason", None) or err
        return None, f"{getattr(why, 'strerror', None) or why}"


class Membership:
    """This kernel in a room: each judged self-check becomes a span and a log record, sent in the background."""

    def __init__(self, invitation: record.Invitation, timeout_s: float = EXPORT_TIMEOUT_S):
        self.invitation = invitation
        self.stats: Counter = Counter()
        self.attempts: Counter = Counter()
        self.started = _lesson_started()
        resource = Resource({"service.name": record.SERVICE})  # Resource.create would add env, host, versions
        quiet_meters = NoOpMeterProvider()  # the SDK's own metrics never reach the lesson's meter provider
        self._tracer_provider = TracerProvider(sampler=ALWAYS_ON, resource=resource, shutdown_on_exit=False,
                                               meter_provider=quiet_meters)
        self._logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False, meter_provider=quiet_meters)
        url = invitation.endpoint
        self._sessions = (_Session(invitation.room), _Session(invitation.room))
        with _classroom_work():
            spans = OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=timeout_s, session=self._sessions[0],
                                     compression=Compression.NoCompression, meter_provider=quiet_meters)
            logs = OTLPLogExporter(endpoint=f"{url}/v1/logs", timeout=timeout_s, session=self._sessions[1],
                                   compression=Compression.NoCompression, meter_provider=quiet_meters)
        self._tracer_provider.add_span_processor(BatchSpanProcessor(
            _Spans(spans, self.stats, SpanExportResult.FAILURE), max_queue_size=QUEUE, max_export_batch_size=BATCH,
            schedule_delay_millis=DELAY_MS, meter_provider=quiet_meters))
        self._logger_provider.add_log_record_processor(BatchLogRecordProcessor(
            _Logs(logs, self.stats, LogRecordExportResult.FAILURE), max_queue_size=QUEUE, max_export_batch_size=BATCH,
            schedule_delay_millis=DELAY_MS, meter_provider=quiet_meters))
        self.tracer = self._tracer_provider.get_tracer("kit.classroom")
        self.logger = self._logger_provider.get_logger("kit.classroom")
        _keep_sdk_logs_out()
        self.active = False

    def start(self) -> None:
        """Say hello to the board and listen to the self-checks."""
        with _classroom_work():
            self.logger.emit(body="joined", attributes={record.LEARNER: self.invitation.name},
                             severity_number=SeverityNumber.INFO, severity_text="INFO")
        verdicts.subscribe(self.on_checked)
        atexit.register(self.leave)
        self.active = True

    def on_checked(self, checked: verdicts.Checked) -> None:
        """One verdict → one span and the log record inside it, queued (called in the learner's cell)."""
        exercise = checked.exercise
        if not record.EXERCISE_ID.fullmatch(exercise):
            return
        with _classroom_work():
            self.attempts[exercise] += 1
            reason = checked.reason if record.REASON_CODE.fullmatch(checked.reason or "") else ""
            attributes = {record.LEARNER: self.invitation.name, record.LESSON: int(exercise.split(".")[0]),
                          record.ELAPSED: max(0, int(time.time() - self.started)), record.EXERCISE: exercise,
                          record.VERDICT: record.PASS if checked.passed else record.FAIL,
                          record.ATTEMPT: self.attempts[exercise], record.REASON: "" if checked.passed else reason}
            span = self.tracer.start_span(f"self-check {exercise}", context=Context(), attributes=attributes,
                                          start_time=checked.started_ns)
            self.logger.emit(timestamp=checked.ended_ns, context=set_span_in_context(span, Context()),
                             severity_number=SeverityNumber.INFO if checked.passed else SeverityNumber.WARN,
                             severity_text="INFO" if checked.passed else "WARN",
                             body=f"self-check {exercise} {'✓' if checked.passed else '✗'}", attributes=attributes,
                             event_name="kit.self_check")
            span.end(end_time=max(checked.ended_ns, checked.started_ns))
            self.stats["queued"] += 1

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Send what is queued now; True if it was done within ``timeout_s`` (sent or failed)."""
        return _within(timeout_s, lambda: (self._tracer_provider.force_flush(), self._logger_provider.force_flush()))

    def leave(self, timeout_s: float = LEAVE_TIMEOUT_S) -> None:
        """Stop listening; send what is queued, waiting at most ``timeout_s``."""
        verdicts.unsubscribe(self.on_checked)
        if not self.active:
            return
        self.active = False
        atexit.unregister(self.leave)
        _within(timeout_s, lambda: (self._tracer_provider.shutdown(), self._logger_provider.shutdown()))

    def status(self) -> str:
        s, inv = self.stats, self.invitation
        state = "in" if self.active else "left"
        text = (f"{state} room {inv.room} at {inv.endpoint} as {inv.name!r}: {s['queued']} self-checks recorded; "
                f"sent {s['sent']} items (spans and log records), {s['failed']} failed")
        return text + (f"; last trouble: {_last_warning[0]}" if s["failed"] and _last_warning else "")

    def __repr__(self):
        return f"Membership({self.status()})"


def _within(timeout_s: float, work) -> bool:
    """Run ``work`` as the classroom's work in a helper thread; wait at most ``timeout_s``."""
    def run():
        with _classroom_work():
            try:
                work()
            except Exception:  # noqa: BLE001
                pass
    worker = threading.Thread(target=run, name="kit-classroom-flush", daemon=True)
    worker.start()
    worker.join(timeout_s)
    return not worker.is_alive()


# ---------------------------------------------------------------- join, leave, status

_current: list[Membership] = []


def current() -> Membership | None:
    return _current[0] if _current else None


def join(endpoint: str, room: str, name: str | None = None, *, say=print) -> Membership | None:
    """Join the class board at ``endpoint`` with the room's code; ``name``: how the board shows
    you (a pseudonym is fine; none: a random one). Says whether the board answered. Joining
    again leaves the room joined before. None if the board refused the code."""
    invitation = _invitation(endpoint, room, name)
    leave()
    member = _open(invitation, say)
    if member is not None:
        _current.append(member)
    return member


@contextmanager
def joined(endpoint: str, room: str, name: str | None = None, *, say=print):
    """Joined for a ``with`` block only; the room joined before (if any) hears nothing meanwhile
    and everything after."""
    outer = current()
    if outer is not None:
        verdicts.unsubscribe(outer.on_checked)
    member = _open(_invitation(endpoint, room, name), say)
    try:
        yield member
    finally:
        if member is not None:
            member.leave()
        if outer is not None and outer.active:
            verdicts.subscribe(outer.on_checked)


def _invitation(endpoint, room, name) -> record.Invitation:
    return record.Invitation(record.endpoint(endpoint), record.room_code(room),
                             record.pseudonym(name or "") or f"learner-{secrets.token_hex(2)}")


def _open(invitation: record.Invitation, say) -> Membership | None:
    took, why = probe(invitation)
    where = f"the class board at {invitation.endpoint}"
    if took is False:
        say(f"✗ Not joined: {where} did not take it ({why}). Check the address and the room code on the "
            f"screen, then join again. Nothing is sent.")
        return None
    member = Membership(invitation)
    member.start()
    sent = ("each self-check also sends one record: the exercise, ✓ or ✗, which ✗ (its code), the attempt and "
            "the seconds since the lesson started. Never your code, its output or this machine's details.")
    if took:
        say(f"✓ Joined room {invitation.room} at {invitation.endpoint} as {invitation.name!r}: {sent} "
            f"kit.classroom.leave() stops it.")
    else:
        say(f"! Joined room {invitation.room} as {invitation.name!r}, but {where} cannot be reached now ({why}). "
            f"Your checks work as before; their records are sent once the board answers (a few are kept "
            f"meanwhile). Is the address right, and are you on the room's network?")
    return member


def leave() -> None:
    """Leave the room: nothing more is sent."""
    while _current:
        _current.pop().leave()


class Said(str):
    """A sentence that shows as itself in a notebook (no quotes)."""

    def __repr__(self):
        return str(self)


def status() -> Said:
    """What this kernel sends to a class board (and has sent), or that it sends nothing."""
    member = current()
    if member is None:
        return Said("Not in a classroom: nothing is sent. In a workshop, join the class board with the line your "
                    "instructor shows: kit.classroom.join(\"http://…:4318\", room=\"…\", name=\"…\").")
    return Said(member.status())


def join_from_environment(say=print) -> Membership | None:
    """Join as ``KIT_CLASSROOM`` says, in a Jupyter kernel only (a service this kernel starts
    inherits the variable, and is not a learner). Never raises: a bad value is said."""
    value = os.environ.get(record.ENVIRONMENT, "").strip()
    if not value or current() is not None or not _in_a_kernel():
        return None
    try:
        invitation = record.parse(value)
        return join(invitation.endpoint, invitation.room, invitation.name, say=say)
    except Exception as err:  # noqa: BLE001  import kit must not fail over a classroom
        say(f"✗ {record.ENVIRONMENT} was not used: {err}")
        return None


def _in_a_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")
