"""The capstone's greenhouse (lesson 12): run it as processes, and keep what it sent.

    >>> from kit.capstone import Greenhouse, copy_app
    >>> copy_app("my_greenhouse")                    # your copy of capstone/greenhouse, to instrument
    >>> lab = Greenhouse(broker, receiver)           # a kit.broker (MQTT v5) and a kit.receiver
    >>> run = lab.run("my_greenhouse")               # sensor.py, controller.py, vent.py as processes
    >>> run.spans, run.logs, run.metrics             # what they sent the receiver during this run
    >>> run.trace_id                                 # the trace of the read request the lab sent
    >>> print(run.console)                           # what the three programs printed

A run is a smoke test, as grafana/intro-to-mltp's checkpoint is one:

1. it starts the app's three programs as processes, each pointed at the broker
   (``MQTT_BROKER_URL``) and at the receiver (``OTEL_EXPORTER_OTLP_ENDPOINT`` and
   ``OTEL_{TRACES,METRICS,LOGS}_EXPORTER=otlp``, as a deployment sets them), and waits
   until each prints "ready";
2. it listens to every message (``greenhouse/#`` on MQTT v5, user properties included),
   sends the sensor t-1 one read request carrying a traceparent it made up, so it knows
   the trace to look for, and waits for the controller's alert (the vent fails: that is
   the story);
3. it stops the programs with SIGTERM (they flush on the way out) and keeps what the
   receiver got meanwhile.

``command(service, script)`` returns ``(argv, env)`` to start a program another way:
zero-code is ``[opentelemetry-instrument, python, script]`` and the ``OTEL_*`` variables
it needs. The lab's own variables come first; ``env`` adds to them or replaces them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

__all__ = ["Greenhouse", "Run", "Hop", "copy_app", "compare", "STARTING_APP", "SOLUTION", "SERVICES", "HOPS",
           "GREENHOUSE", "SENSOR"]

ROOT = Path(__file__).resolve().parent.parent
STARTING_APP = ROOT / "capstone" / "greenhouse"
SOLUTION = ROOT / "capstone" / "solution"
SERVICES = ("sensor", "controller", "vent")
GREENHOUSE, SENSOR = "gh-1", "t-1"
REQUEST = f"greenhouse/{GREENHOUSE}/sensor/{SENSOR}/read"
ALERTS = f"greenhouse/{GREENHOUSE}/alerts"


@dataclass(frozen=True)
class Hop:
    """One message of the story: who sends it, who handles it, and where its context can travel."""

    name: str          # "the reading"
    topic: str
    producer: str      # a service, or "lab" for the read request
    consumer: str
    placement: str     # where the consumer can read a context: "user properties" (v5) or "json" (3.1.1)
    handler: str       # the consumer's function that handles it


HOPS = (
    Hop("the read request", REQUEST, "lab", "sensor", "user properties", "sensor.py's on_message"),
    Hop("the reading", f"greenhouse/{GREENHOUSE}/sensor/{SENSOR}/reading", "sensor", "controller", "user properties",
        "controller.py's on_reading"),
    Hop("the command to the vent", f"greenhouse/{GREENHOUSE}/vent/command", "controller", "vent", "json",
        "vent.py's on_message"),
    Hop("the vent's report", f"greenhouse/{GREENHOUSE}/vent/state", "vent", "controller", "json",
        "controller.py's on_vent_state"),
)


def copy_app(to: str | Path = "my_greenhouse") -> Path:
    """Copy the starting app (``capstone/greenhouse``) into ``to``. A file that is there
    already is kept: re-running never overwrites your work."""
    target = Path(to)
    target.mkdir(parents=True, exist_ok=True)
    for source in sorted(STARTING_APP.glob("*.py")):
        if not (target / source.name).exists():
            partial = target / f".{source.name}.{os.getpid()}"
            shutil.copyfile(source, partial)
            os.replace(partial, target / source.name)  # whole or not at all
    return target


@dataclass
class Message:
    """A message the lab saw on the broker."""

    topic: str
    payload: bytes
    user_properties: list  # [(key, value), ...], in order

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
        """The last line of a traceback it printed ("" if none)."""
        starts = [i for i, line in enumerate(self.lines) if line.startswith("Traceback")]
        if not starts:
            return ""
        after = [line for line in self.lines[starts[-1] + 1:] if line.strip() and not line.startswith(" ")]
        return after[0].strip() if after else "a traceback"


@dataclass
class Run:
    """What one run of the app did and sent (see the module's docstring)."""

    app: str
    trace_id: str
    request_span_id: str
    processes: dict
    messages: list
    spans: pd.DataFrame
    logs: pd.DataFrame
    metrics: pd.DataFrame
    alerted: bool
    problems: list

    def message(self, topic: str) -> Message | None:
        """The first message seen on ``topic``."""
        return next((m for m in self.messages if m.topic == topic), None)

    @property
    def console(self) -> str:
        """What each program printed, program by program."""
        return "\n".join(f"── {name}\n" + "\n".join(p.lines) for name, p in self.processes.items())

    @property
    def trace_ids(self) -> list[str]:
        """Every trace the run's spans belong to, the read request's first: one if all went well."""
        others = [t for t in dict.fromkeys(self.spans.sort_values("start").trace_id) if t != self.trace_id]
        return [self.trace_id, *others]

    def __repr__(self):
        got = (f"{len(self.spans)} spans, {len(self.logs)} log records, "
               f"metrics {', '.join(sorted(set(self.metrics.name))) or 'none'}")
        lines = [f"<greenhouse run of {self.app}: {', '.join(self.processes)} ran; "
                 f"{'the alert came' if self.alerted else 'no alert came'}; the receiver got {got}>"]
        return "\n".join(lines + [f"  problem: {p}" for p in self.problems])


class Greenhouse:
    """Runs a greenhouse app against ``broker`` (MQTT v5, kit.broker) and ``receiver``
    (kit.receiver). One run at a time."""

    def __init__(self, broker, receiver, ready_timeout_s: float = 60, alert_timeout_s: float = 15,
                 stop_timeout_s: float = 20):
        self.broker, self.receiver = broker, receiver
        self.ready_timeout_s, self.alert_timeout_s, self.stop_timeout_s = \
            ready_timeout_s, alert_timeout_s, stop_timeout_s

    def environment(self) -> dict:
        """What every program gets: this environment without its OTEL_* variables, plus
        the broker, the receiver and OTLP for every signal."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k != "MQTT_BROKER_URL"}
        env.update({"MQTT_BROKER_URL": self.broker.url, "PYTHONUNBUFFERED": "1",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": self.receiver.grpc_endpoint,
                    "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp", "OTEL_LOGS_EXPORTER": "otlp",
                    "OTEL_BSP_SCHEDULE_DELAY": "200"})
        return env

    def run(self, app: str | Path, command=None) -> Run:
        """Run ``app`` (a folder with sensor.py, controller.py, vent.py) once; see the module's docstring."""
        folder = Path(app)
        missing = [s for s in SERVICES if not (folder / f"{s}.py").is_file()]
        if missing:
            raise FileNotFoundError(f"{app}: no {', '.join(f'{s}.py' for s in missing)} in it "
                                    f"(a greenhouse app has {', '.join(f'{s}.py' for s in SERVICES)})")
        trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
        mark = self.receiver.received.totals()
        messages, alert = [], threading.Event()

        def on_message(client, userdata, msg):
            pairs = getattr(msg.properties, "UserProperty", None) or []
            messages.append(Message(msg.topic, bytes(msg.payload), [p for p in pairs if len(p) == 2]))
            if msg.topic == ALERTS:
                alert.set()

        tap, subscribed = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"lab-{span_id}",
                                      protocol=mqtt.MQTTv5), threading.Event()
        tap.on_message = on_message
        tap.on_subscribe = lambda *args: subscribed.set()
        tap.connect(self.broker.host, self.broker.port)
        tap.loop_start()
        tap.subscribe("greenhouse/#", qos=1)
        processes, problems = {}, []
        try:
            if not subscribed.wait(10):
                problems.append("the lab could not subscribe to the broker")
            processes = self._start(folder, command)
            self._wait_ready(processes, problems)
            request = Properties(PacketTypes.PUBLISH)
            request.UserProperty = [("traceparent", f"00-{trace_id}-{span_id}-01")]
            tap.publish(REQUEST, json.dumps({"read": "celsius"}), qos=1, properties=request)
            deadline = time.monotonic() + self.alert_timeout_s
            while not alert.wait(0.1) and time.monotonic() < deadline:
                if any(p.crashed or p._popen.poll() is not None for p in processes.values()):
                    break
            if not alert.is_set():
                problems.append(f"no alert came on {ALERTS} within {self.alert_timeout_s:g} s of the read "
                                f"request" if not problems else "no alert came")
        finally:
            self._stop(processes)
            tap.disconnect()
            tap.loop_stop()
        for p in processes.values():
            if p.crashed:
                problems.append(f"{p.service} printed a traceback: {p.crashed} (print(run.console) shows it)")
            elif p.returncode not in (0, None, -signal.SIGTERM):
                problems.append(f"{p.service} exited with code {p.returncode} (print(run.console) shows why)")
        frames = {s: self.receiver.frame(s, since=mark[s]) for s in ("spans", "logs", "metrics")}
        return Run(str(app), trace_id, span_id, processes, list(messages), frames["spans"], frames["logs"],
                   frames["metrics"], alert.is_set(), problems)

    def _start(self, folder: Path, command) -> dict:
        processes = {}
        for service in SERVICES:
            script = str((folder / f"{service}.py").resolve())
            argv, extra = (command(service, script) if command else ([sys.executable, script], {}))
            extra = {k: str(v) for k, v in (extra or {}).items()}
            env = {**self.environment(), **extra}
            proc = Process(service, [str(a) for a in argv], extra)
            popen = subprocess.Popen(proc.argv, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace")
            proc._popen, proc._ready = popen, threading.Event()
            proc._reader = threading.Thread(target=_read, args=(proc,), daemon=True, name=f"lab-{service}")
            proc._reader.start()
            processes[service] = proc
        return processes

    def _wait_ready(self, processes: dict, problems: list) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        for p in processes.values():
            while not p._ready.wait(0.1):
                if p._popen.poll() is not None or time.monotonic() > deadline:
                    problems.append(f"{p.service} never said it was ready" +
                                    (f" (it exited with code {p._popen.returncode})" if p._popen.poll() is not None
                                     else f" within {self.ready_timeout_s:g} s"))
                    break

    def _stop(self, processes: dict) -> None:
        for p in processes.values():
            if p._popen.poll() is None:
                p._popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout_s
        for p in processes.values():
            try:
                p._popen.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                p._popen.kill()
                p._popen.wait()
                p.lines.append(f"(the lab killed {p.service}: it did not stop within {self.stop_timeout_s:g} s "
                               f"of SIGTERM)")
            p._reader.join(5)
            p.returncode = p._popen.returncode


def _read(proc: Process) -> None:
    for line in proc._popen.stdout:
        proc.lines.append(line.rstrip("\n"))
        if line.strip() == f"{proc.service}: ready":
            proc.ready = True
            proc._ready.set()
    proc._popen.stdout.close()


def compare(by_hand: Run, zero_code: Run) -> pd.DataFrame:
    """The two runs side by side: the checkpoint's findings (zero code judged as such, ·
    where only code can do it), then what each trace holds."""
    from kit.checks.checkpoint import check_checkpoint

    columns = {"by hand": (by_hand, False), "zero code": (zero_code, True)}
    table = {}
    for column, (run, zero) in columns.items():
        rows = {f.name: f.status for f in check_checkpoint(run, zero_code=zero).findings}
        spans = run.spans
        kinds = spans.kind.value_counts()
        rows["traces the story is in"] = len(run.trace_ids) if not spans.empty else 0
        rows["spans"] = (f"{len(spans)}: " + ", ".join(f"{kinds[k]} {k}" for k in ("PRODUCER", "CONSUMER", "INTERNAL")
                                                         if k in kinds)) if not spans.empty else "0"
        reading = spans[(spans.service == "sensor") & (spans.kind == "PRODUCER")]
        attributes = sorted(reading.attributes.iloc[0]) if not reading.empty else []
        rows["attributes of the sensor's publish span"] = f"{len(attributes)}: {', '.join(attributes)}" \
            if attributes else "0"
        rows["metric names"] = ", ".join(sorted(set(run.metrics.name))) or "none"
        with_ids = run.logs.trace_id.notna().sum()
        rows["log records with a trace id"] = f"{with_ids} of {len(run.logs)}"
        table[column] = rows
    return pd.DataFrame(table)
