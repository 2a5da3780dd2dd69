"""The capstone's greenhouse (lesson 12): run it as processes, and keep what it sent.

    >>> from kit.capstone import Greenhouse, copy_app
    >>> copy_app("my_greenhouse")                    # your copy of capstone/greenhouse, to instrument
    >>> lab = Greenhouse(broker, receiver)           # a kit.broker (MQTT v5) and a kit.receiver
    >>> run = lab.run("my_greenhouse")               # sensor.py, controller.py, vent.py as processes
    >>> run.spans, run.logs, run.metrics             # what they sent the receiver during this run
    >>> run.trace_ids                                # the traces of the two read requests the lab sent
    >>> print(run.console)                           # what the three programs printed

A run is a smoke test, as grafana/intro-to-mltp's checkpoint is one:

1. it names the greenhouse for this run (``GREENHOUSE_ID``), starts the app's three
   programs as processes, each pointed at the broker (``MQTT_BROKER_URL``) and at the
   receiver (``OTEL_EXPORTER_OTLP_ENDPOINT`` and ``OTEL_{TRACES,METRICS,LOGS}_EXPORTER=otlp``,
   as a deployment sets them), and waits until each prints "ready";
2. it listens to every message (``greenhouse/#`` on MQTT v5, user properties included)
   and sends the sensor two read requests (:data:`kit.greenhouse.READS`), each carrying a
   traceparent it made up, so it knows the trace each story must stay in: the morning's
   (16.5 °C: the vent closes, fine), then, once the vent has reported, the afternoon's
   (31.5 °C: the vent jams, the controller raises an alert), and waits for the alert;
3. it stops the programs with SIGTERM (they flush on the way out) and keeps what the
   receiver got meanwhile.

``command(service, script)`` returns ``(argv, env)`` to start a program another way:
zero-code is ``[opentelemetry-instrument, python, script]`` and the ``OTEL_*`` variables
it needs. The lab's own variables come first; ``env`` adds to them or replaces them.

The story itself (services, messages, hops) is :mod:`kit.greenhouse`; the checkpoint that
judges a run is :func:`kit.checks.check_checkpoint`.
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
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kit.greenhouse import GREENHOUSE, HOPS, READS, SENSOR, SERVICES, Hop, Message, Process, Request, Run

__all__ = ["Greenhouse", "Run", "Hop", "copy_app", "compare", "STARTING_APP", "SOLUTION", "SERVICES", "HOPS",
           "READS", "GREENHOUSE", "SENSOR"]

ROOT = Path(__file__).resolve().parent.parent
STARTING_APP = ROOT / "capstone" / "greenhouse"
SOLUTION = ROOT / "capstone" / "solution"


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


class LabError(Exception):
    """What the lab could not do with the command it was given (a Run's problem, not a traceback)."""


class _Abandon(Exception):
    pass


def _plan(command, service: str, script: str) -> tuple[list, dict]:
    """(argv, extra variables) to start ``service``: ``command(service, script)``'s, checked for its shape."""
    if command is None:
        return [sys.executable, script], {}
    got = command(service, script)
    name = getattr(command, "__name__", "command")
    how = "return [INSTRUMENT, sys.executable, script], {...}: the command as a list, then the variables as a dict"
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise LabError(f"{name}({service!r}, script) returned {str(got)[:120]!r}, not two things: {how}.")
    argv, extra = got
    if isinstance(argv, dict) and isinstance(extra, (list, tuple, str)):
        raise LabError(f"{name}({service!r}, script) returned the variables first and the command second: {how}.")
    if isinstance(argv, str):
        raise LabError(f"{name}({service!r}, script) returned the command as one string, {argv[:120]!r}: give it "
                       f"as a list, one item per word, [INSTRUMENT, sys.executable, script] (a path may hold spaces).")
    if not isinstance(argv, (list, tuple)) or not argv:
        raise LabError(f"{name}({service!r}, script) returned {str(argv)[:120]!r} as the command: {how}.")
    if any(a is None for a in argv):
        raise LabError(f"{name}({service!r}, script) returned a command with None in it, {list(argv)}: "
                       f"INSTRUMENT is None when opentelemetry-instrument is not installed in this Python's "
                       f"environment (pip install opentelemetry-distro).")
    if extra is not None and not isinstance(extra, dict):
        raise LabError(f"{name}({service!r}, script) returned {str(extra)[:120]!r} as the variables: {how}.")
    return [str(a) for a in argv], {str(k): str(v) for k, v in (extra or {}).items()}


class Greenhouse:
    """Runs a greenhouse app against ``broker`` (MQTT v5, kit.broker) and ``receiver``
    (kit.receiver). One run at a time."""

    def __init__(self, broker, receiver, ready_timeout_s: float = 60, alert_timeout_s: float = 15,
                 stop_timeout_s: float = 20):
        self.broker, self.receiver = broker, receiver
        self.ready_timeout_s, self.alert_timeout_s, self.stop_timeout_s = \
            ready_timeout_s, alert_timeout_s, stop_timeout_s

    def environment(self, greenhouse: str = GREENHOUSE) -> dict:
        """What every program gets: this environment without its OTEL_* variables, plus
        the greenhouse, the broker, the receiver and OTLP for every signal."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k != "MQTT_BROKER_URL"}
        env.update({"MQTT_BROKER_URL": self.broker.url, "PYTHONUNBUFFERED": "1", "GREENHOUSE_ID": greenhouse,
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
        greenhouse = f"gh-{100 + secrets.randbelow(900)}"
        sources = {s: (folder / f"{s}.py").read_text(encoding="utf-8", errors="replace") for s in SERVICES}
        requests = [Request(read, secrets.token_hex(16), secrets.token_hex(8)) for read in READS]
        topic = {hop.name: hop.topic_in(greenhouse) for hop in HOPS}
        mark = self.receiver.received.totals()
        messages, arrived, current = [], threading.Condition(), [0]

        def on_message(client, userdata, msg):
            pairs = getattr(msg.properties, "UserProperty", None) or []
            with arrived:
                messages.append(Message(msg.topic, bytes(msg.payload), [p for p in pairs if len(p) == 2],
                                        current[0]))
                arrived.notify_all()

        tap, subscribed = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"lab-{requests[0].span_id}",
                                      protocol=mqtt.MQTTv5), threading.Event()
        tap.on_message = on_message
        tap.on_subscribe = lambda *args: subscribed.set()
        tap.connect(self.broker.host, self.broker.port)
        tap.loop_start()
        tap.subscribe(f"greenhouse/{greenhouse}/#", qos=1)
        processes, problems = {}, []
        try:
            if not subscribed.wait(10):
                problems.append("the lab could not subscribe to the broker")
            try:
                processes = self._start(folder, command, greenhouse)
            except LabError as exc:
                problems.append(str(exc))
                raise _Abandon from None
            self._wait_ready(processes, problems)
            for i, request in enumerate(requests):
                with arrived:
                    current[0] = i
                requests[i] = request = Request(request.read, request.trace_id, request.span_id,
                                                datetime.now(timezone.utc))
                properties = Properties(PacketTypes.PUBLISH)
                properties.UserProperty = [("traceparent", f"00-{request.trace_id}-{request.span_id}-01")]
                tap.publish(topic["the read request"], json.dumps({"read": "celsius", "at": request.read.at}), qos=1,
                            properties=properties)
                awaited = "the alert" if request.read.outcome == "failed" else "the vent's report"
                if not self._await(arrived, messages, topic[awaited], i, processes):
                    stopped = any(p.crashed or p._popen.poll() is not None for p in processes.values())
                    problems.append(f"{awaited} ({topic[awaited]}) did not come after {request.name} request: "
                                    + ("a program stopped (see below)" if stopped else
                                       f"nothing within {self.alert_timeout_s:g} s") if not problems else
                                    f"{awaited} did not come after {request.name} request")
        except _Abandon:
            pass
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
        alerted = any(m.topic == topic["the alert"] for m in messages)
        return Run(str(app), greenhouse, requests, processes, list(messages), frames["spans"], frames["logs"],
                   frames["metrics"], alerted, problems, sources)

    def _await(self, arrived, messages, topic: str, request: int, processes: dict) -> bool:
        """Wait for a message on ``topic`` after request ``request``; False on a timeout or a crash."""
        deadline = time.monotonic() + self.alert_timeout_s
        with arrived:
            while not any(m.topic == topic and m.request == request for m in messages):
                if time.monotonic() > deadline or \
                        any(p.traceback_done or p._popen.poll() is not None for p in processes.values()):
                    return False
                arrived.wait(0.1)
        return True

    def _start(self, folder: Path, command, greenhouse: str) -> dict:
        plans = {service: _plan(command, service, str((folder / f"{service}.py").resolve())) for service in SERVICES}
        processes = {}
        for service, (argv, extra) in plans.items():
            env = {**self.environment(greenhouse), **extra}
            proc = Process(service, argv, extra)
            try:
                popen = subprocess.Popen(proc.argv, env=env, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace")
            except OSError as exc:  # no such command, not executable: the ones already started must stop
                self._stop(processes)
                raise LabError(f"{service} could not start: {exc.strerror or exc}: {proc.argv[0]!r} (the command "
                               f"was {proc.argv})") from None
            proc._popen, proc._ready, proc._printed = popen, threading.Event(), threading.Event()
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
        deadline = time.monotonic() + 2   # a thread still printing its traceback: let it finish first
        for p in processes.values():
            while p.crashed and not p.traceback_done and time.monotonic() < deadline:
                p._printed.wait(0.1)
                p._printed.clear()
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
        proc._printed.set()
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
        per = len(run.trace_ids) / len(run.requests) if not spans.empty else 0
        rows["traces per read request"] = int(per) if float(per).is_integer() else round(per, 1)
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
