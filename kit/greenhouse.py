"""The capstone's greenhouse (lesson 12): its programs, the messages of its story, and what
the lab saw of one run. :mod:`kit.capstone` runs the app; :mod:`kit.checks.checkpoint`
judges a run; both read the story from here.

    >>> from kit.greenhouse import HOPS, READS
    >>> [hop.name for hop in HOPS]
    ['the read request', 'the reading', 'the command to the vent', "the vent's report", 'the alert']
    >>> [(read.name, read.celsius, read.command, read.outcome) for read in READS]
    [('the morning read', 16.5, 'close', 'ok'), ('the afternoon read', 31.5, 'open', 'failed')]

The lab asks sensor t-1 for two readings. In the morning it reads 16.5 °C: the controller
closes the vent, which works. In the afternoon it reads 31.5 °C: the controller opens the
vent fully, the hinge jams, the vent reports the failure and the controller raises an
alert. So both outcomes of every command happen in every run. Each read request carries a
traceparent the lab made up, so the lab knows the trace each story must stay in.

Every run names the greenhouse anew (``GREENHOUSE_ID``, read by the app's ``common.py``):
a value typed into the code instead of read from the baggage shows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

__all__ = ["SERVICES", "SENSOR", "GREENHOUSE", "Hop", "HOPS", "Read", "READS", "LOGGED", "Request", "Message",
           "Process", "Run"]

SERVICES = ("sensor", "controller", "vent")
_EXCEPTION_LINE = re.compile(r"\b[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Jammed)\b(?::.*)?$")
SENSOR = "t-1"
GREENHOUSE = "gh-1"    # the app's greenhouse when nobody names it (the lab names one per run)


@dataclass(frozen=True)
class Hop:
    """One message of the story: who sends it, who handles it, where its context can travel."""

    name: str          # "the reading"
    topic: str         # with {greenhouse} and {sensor} to fill in
    producer: str      # a service, or "lab"
    consumer: str      # a service, or "lab"
    placement: str     # where the consumer reads a context: "user properties" (MQTT v5) or "json" (3.1.1)
    sends: str         # the producer's code that publishes it
    handles: str       # the consumer's code that handles it
    when: str = ""     # "failed": only when the command failed

    def topic_in(self, greenhouse: str) -> str:
        return self.topic.format(greenhouse=greenhouse, sensor=SENSOR)


HOPS = (
    Hop("the read request", "greenhouse/{greenhouse}/sensor/{sensor}/read", "lab", "sensor", "user properties",
        "the lab", "sensor.py's on_message"),
    Hop("the reading", "greenhouse/{greenhouse}/sensor/{sensor}/reading", "sensor", "controller", "user properties",
        "sensor.py's on_message", "controller.py's on_reading"),
    Hop("the command to the vent", "greenhouse/{greenhouse}/vent/command", "controller", "vent", "json",
        "controller.py's on_reading", "vent.py's on_message"),
    Hop("the vent's report", "greenhouse/{greenhouse}/vent/state", "vent", "controller", "json",
        "vent.py's on_message", "controller.py's on_vent_state"),
    Hop("the alert", "greenhouse/{greenhouse}/alerts", "controller", "lab", "user properties",
        "controller.py's on_vent_state", "the lab", when="failed"),
)


@dataclass(frozen=True)
class Read:
    """A read request the lab sends, and what must follow from it."""

    name: str          # "the morning read"
    at: str            # the hour it asks the probe about
    celsius: float     # what the probe reads then
    command: str       # what the controller tells the vent
    outcome: str       # how the vent's command ends: "ok" or "failed"

    @property
    def hops(self) -> tuple:
        return tuple(h for h in HOPS if h.when in ("", self.outcome))


LOGGED = {"sensor": 1, "controller": 2, "vent": 1}   # records each program writes per read request, as given
LOGGED_ERRORS = {"controller": 1, "vent": 1}       # ERROR records each writes about a failed command, as given

READS = (Read("the morning read", "08:00", 16.5, "close", "ok"),
         Read("the afternoon read", "14:02", 31.5, "open", "failed"))


@dataclass(frozen=True)
class Request:
    """One read request of a run: the read, the traceparent the lab sent with it, when."""

    read: Read
    trace_id: str
    span_id: str
    sent: datetime | None = None   # when the lab sent it (UTC)

    @property
    def name(self) -> str:
        return self.read.name


@dataclass
class Message:
    """A message the lab saw on the broker, and the request it followed (its index)."""

    topic: str
    payload: bytes
    user_properties: list  # [(key, value), ...], in order
    request: int = 0

    def json(self) -> dict:
        try:
            value = json.loads(self.payload)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def context(self, placement: str) -> tuple[str, str] | None:
        """(trace id, span id) of the ``traceparent`` in the user properties or the JSON payload."""
        if placement == "json":
            value = self.json().get("traceparent")
        else:
            value = next((v for k, v in self.user_properties if k == "traceparent"), None)
        parts = value.split("-") if isinstance(value, str) else []
        if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
            return None
        return parts[1], parts[2]

    def baggage(self, placement: str) -> dict:
        """The W3C baggage it carries there, as {key: value}."""
        if placement == "json":
            values = [self.json().get("baggage")]
        else:
            values = [v for k, v in self.user_properties if k == "baggage"]
        out = {}
        for header in values:
            for item in header.split(",") if isinstance(header, str) else ():
                key, _, value = item.split(";")[0].partition("=")
                out[key.strip()] = value.strip()
        return out


@dataclass
class Process:
    """One program of the app: how it was started, what it printed, how it ended."""

    service: str
    argv: list
    env: dict = field(default_factory=dict)   # what ``command`` added to the lab's environment
    lines: list = field(default_factory=list)
    ready: bool = False
    returncode: int | None = None

    @property
    def crashed(self) -> str:
        """The exception line of the last traceback it printed ("" if none). Its other output may be
        interleaved with the traceback (a thread's traceback, a print at SIGTERM): the exception line is
        the one that names an exception."""
        starts = [i for i, line in enumerate(self.lines) if line.lstrip().startswith("Traceback")]
        if not starts:
            return ""
        after = self.lines[starts[-1] + 1:]
        for line in after:
            named = _EXCEPTION_LINE.search(line)
            if named:
                return named.group(0).strip()
        plain = [line for line in after if line.strip() and not line.startswith(" ")]
        return plain[0].strip() if plain else "a traceback"

    @property
    def traceback_done(self) -> bool:
        """True once a traceback it printed has reached its exception line (a thread still printing one is not)."""
        starts = [i for i, line in enumerate(self.lines) if line.lstrip().startswith("Traceback")]
        return bool(starts) and any(_EXCEPTION_LINE.search(line) for line in self.lines[starts[-1] + 1:])


@dataclass
class Run:
    """What one run of the app did and sent (see :mod:`kit.capstone`)."""

    app: str
    greenhouse: str
    requests: list          # [Request], in the order sent
    processes: dict
    messages: list
    spans: pd.DataFrame
    logs: pd.DataFrame
    metrics: pd.DataFrame
    alerted: bool
    problems: list
    sources: dict = field(default_factory=dict)   # {service: the program's text, as it ran}

    @property
    def trace_id(self) -> str:
        """The trace of the afternoon read: the story of the jam and the alert."""
        return self.requests[-1].trace_id

    @property
    def request_span_id(self) -> str:
        return self.requests[-1].span_id

    def topic(self, hop: Hop) -> str:
        return hop.topic_in(self.greenhouse)

    def message(self, topic: str, request: int | None = None) -> Message | None:
        """The first message seen on ``topic`` (after request number ``request``, if given)."""
        return next((m for m in self.messages if m.topic == topic and request in (None, m.request)), None)

    def during(self, frame: pd.DataFrame, request: int, column: str = "start") -> pd.DataFrame:
        """The rows of ``frame`` (spans, logs) from request number ``request`` being sent to the next one."""
        start = self.requests[request].sent
        end = self.requests[request + 1].sent if request + 1 < len(self.requests) else None
        if frame.empty or start is None:
            return frame
        times = pd.to_datetime(frame[column], utc=True)
        keep = times >= pd.Timestamp(start)
        if end is not None:
            keep &= times < pd.Timestamp(end)
        return frame[keep]

    @property
    def console(self) -> str:
        """What each program printed, program by program."""
        return "\n".join(f"── {name}\n" + "\n".join(p.lines) for name, p in self.processes.items())

    @property
    def trace_ids(self) -> list[str]:
        """The read requests' traces, then every other trace the run's spans belong to: one per
        request if all went well."""
        mine = [r.trace_id for r in self.requests]
        others = [t for t in dict.fromkeys(self.spans.sort_values("start").trace_id) if t not in mine] \
            if not self.spans.empty else []
        return [*mine, *others]

    def __repr__(self):
        got = (f"{len(self.spans)} spans, {len(self.logs)} log records, "
               f"metrics {', '.join(sorted(set(self.metrics.name))) or 'none'}")
        lines = [f"<greenhouse {self.greenhouse}, run of {self.app}: {', '.join(self.processes)} ran; "
                 f"{len(self.requests)} read requests; {'the alert came' if self.alerted else 'no alert came'}; "
                 f"the receiver got {got}>"]
        return "\n".join(lines + [f"  problem: {p}" for p in self.problems])
