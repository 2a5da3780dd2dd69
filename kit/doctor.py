"""``python -m kit doctor``: is this machine ready for the lessons, and if not, what to do.

Run it first thing in a workshop (and as the instructor's pre-flight). It checks:

* Python and the packages, against the pins in ``requirements.txt``, and the paho-mqtt
  instrumentation (installed from the kit's ``instrumentation/`` folder, not from PyPI);
* that the embedded MQTT brokers (3.1.1 and v5) start and carry a message, and that the
  embedded OTLP receiver starts;
* which of the usual ports are taken (1883 MQTT, 4317/4318 OTLP, 8888/8889 collector,
  3000 Grafana, 9090 Prometheus, 16686 Jaeger, 9411 Zipkin) and, where the system can
  tell, by which program;
* whether the configured OTLP endpoint answers, and on which protocol (the 4317 gRPC /
  4318 HTTP mix-up);
* whether Docker and compose are there, for the real stack.

Every problem line says what to do. The exit status is 1 when something blocks the lessons
(Python, packages, embedded brokers or receiver), 0 otherwise: taken ports, a missing
collector or no Docker only matter beyond the lessons.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

USUAL_PORTS = {1883: "MQTT", 4317: "OTLP gRPC", 4318: "OTLP HTTP", 8888: "collector metrics",
               8889: "collector Prometheus exporter", 3000: "Grafana", 9090: "Prometheus", 16686: "Jaeger UI",
               9411: "Zipkin"}
FIX_INSTALL = "run: pip install -r requirements.txt (in the kit's folder, in the environment Jupyter uses)"


@dataclass
class Line:
    status: str  # "ok", "info", "warn", "fail"
    text: str

    def __str__(self):
        return {"ok": "✓", "info": "·", "warn": "!", "fail": "✗"}[self.status] + " " + self.text


def check_python() -> list[Line]:
    v = sys.version.split()[0]
    if sys.version_info >= (3, 11):
        return [Line("ok", f"Python {v}")]
    return [Line("fail", f"Python {v} is too old: the kit needs 3.11 or newer. Install a newer Python "
                         f"(python.org, pyenv, or your package manager) and make a new venv.")]


def requirements_pins(path: Path | None = None) -> dict[str, str]:
    path = path or Path(__file__).resolve().parent.parent / "requirements.txt"
    pins = {}
    if path.exists():
        for line in path.read_text().splitlines():
            m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)==([^\s;#]+).*", line)
            if m:
                pins[m.group(1)] = m.group(2)
    return pins


def check_packages(pins: dict[str, str] | None = None) -> list[Line]:
    pins = requirements_pins() if pins is None else pins
    missing, different = [], []
    for name, want in pins.items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        if have != want:
            different.append(f"{name} {have} (tested: {want})")
    lines = []
    if missing:
        lines.append(Line("fail", f"not installed: {', '.join(missing)}; {FIX_INSTALL}"))
    if different:
        lines.append(Line("warn", f"other versions than tested: {', '.join(different)}; if a lesson "
                                  f"misbehaves, {FIX_INSTALL}"))
    if not lines:
        lines.append(Line("ok", f"{len(pins)} packages at the tested versions"))
    return lines


def check_instrumentation() -> list[Line]:
    """The paho-mqtt instrumentation: not in requirements.txt's pins (it is installed from its folder)."""
    from kit.environment import INSTRUMENTATION, INSTRUMENTATION_MISSING, instrumentation_installed
    version = instrumentation_installed()
    if version is None:
        return [Line("fail", INSTRUMENTATION_MISSING)]
    return [Line("ok", f"{INSTRUMENTATION} {version} (from the kit's instrumentation/ folder)")]


def check_brokers() -> list[Line]:
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from kit.broker import start_broker
    from kit.inbox import Inbox

    lines = []
    for protocol, version in (("3.1.1", mqtt.MQTTv311), ("5", mqtt.MQTTv5)):
        start = time.perf_counter()
        try:
            broker = start_broker(protocol=protocol)
            inbox = Inbox()
            sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=version)
            subscribed = Inbox()
            sub.on_subscribe = lambda c, u, mid, rc, p: subscribed(c, u, mid)
            sub.on_message = inbox
            sub.on_connect = lambda c, u, f, rc, p: c.subscribe("doctor/#", qos=1)
            sub.connect(broker.host, broker.port)
            sub.loop_start()
            subscribed.wait(1, timeout_s=5)
            props = None
            if version == mqtt.MQTTv5:
                props = Properties(PacketTypes.PUBLISH)
                props.UserProperty = [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
            sub.publish("doctor/ping", b"ping", qos=1, properties=props)
            got = inbox.wait(1, timeout_s=5)
            sub.disconnect()
            sub.loop_stop()
            if not got:
                raise RuntimeError("no message came back within 5 s")
            if version == mqtt.MQTTv5 and ("traceparent", props.UserProperty[0][1]) not in got[0].properties.UserProperty:
                raise RuntimeError("the user property did not come back unchanged")
            ms = (time.perf_counter() - start) * 1000
            where = "external broker " + broker.url if not broker.embedded else f"embedded {broker.implementation}"
            lines.append(Line("ok", f"MQTT {protocol} broker ({where}): a message went round in {ms:.0f} ms"))
        except Exception as exc:  # the doctor reports, never crashes
            lines.append(Line("fail", f"MQTT {protocol} broker: {exc}. If MQTT_BROKER_URL is set, is that broker "
                                      f"up? Otherwise {FIX_INSTALL}"))
    return lines


def check_receiver() -> list[Line]:
    try:
        from kit.receiver import start_receiver
        receiver = start_receiver(grpc_port=0, http_port=0)
        receiver.stop()
        return [Line("ok", "embedded OTLP receiver starts (gRPC and HTTP)")]
    except Exception as exc:
        return [Line("fail", f"embedded OTLP receiver: {exc}; {FIX_INSTALL}")]


def who_listens(port: int) -> str | None:
    """The program listening on ``port``, where the system can tell (Linux /proc, or lsof)."""
    try:
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            if os.path.exists(table):
                for row in Path(table).read_text().splitlines()[1:]:
                    fields = row.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        if inodes:
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    for fd in os.listdir(f"/proc/{pid}/fd"):
                        link = os.readlink(f"/proc/{pid}/fd/{fd}")
                        if link.startswith("socket:[") and link[8:-1] in inodes:
                            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                            return f"{cmd[:80]} (pid {pid})"
                except OSError:
                    continue
        if shutil.which("lsof"):
            out = subprocess.run(["lsof", "-nP", f"-iTCP:{port}", "-sTCP:LISTEN"], capture_output=True,
                                 text=True, timeout=5).stdout.splitlines()
            if len(out) > 1:
                fields = out[1].split()
                return f"{fields[0]} (pid {fields[1]})"
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        pass
    return None


def check_ports() -> list[Line]:
    from kit.ports import is_listening
    lines, free = [], []
    for port, what in sorted(USUAL_PORTS.items()):
        if is_listening("127.0.0.1", port, timeout_s=0.3):
            who = who_listens(port)
            lines.append(Line("warn", f"port {port} ({what}) is taken" + (f" by {who}" if who else "")
                              + ": fine if that is your own stack; otherwise stop it before `docker compose up`. "
                                "The lessons use free ports and do not mind."))
        else:
            free.append(str(port))
    if free:
        lines.insert(0, Line("ok", f"free: {', '.join(free)}"))
    return lines


def check_otlp_endpoint() -> list[Line]:
    from kit.otlp import SettingError, check_endpoint, otlp_target
    wanted = [s for s in ("TRACES", "METRICS", "LOGS") if "otlp" in os.environ.get(f"OTEL_{s}_EXPORTER", "")]
    try:
        target = otlp_target("traces")
    except SettingError as exc:
        return [Line("fail" if wanted else "warn", str(exc))]
    base = target.endpoint.split("/v1/")[0]
    result = check_endpoint(base, target.protocol, timeout_s=1.0)
    if result.ok:
        return [Line("ok", f"OTLP endpoint {base} ({target.protocol}): {result.message}")]
    if not wanted:
        return [Line("info", f"OTLP endpoint {base}: {result.message.split('. ')[0]}; not needed, no "
                             f"OTEL_*_EXPORTER=otlp is set (the lessons keep telemetry in the notebook)")]
    return [Line("warn", f"OTLP endpoint {base} ({target.protocol}): {result.message}")]


def check_docker() -> list[Line]:
    if not shutil.which("docker"):
        return [Line("info", "Docker is not installed: only the real stack (lesson 10, docker compose) needs it")]
    try:
        version = subprocess.run(["docker", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        compose = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=10)
        engine = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                                text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return [Line("info", f"Docker did not answer ({exc})")]
    lines = [Line("ok" if compose.returncode == 0 else "warn",
                  f"{version}; compose: " + (compose.stdout.strip() if compose.returncode == 0
                                             else "missing (install the compose plugin)"))]
    if engine.returncode != 0 or not engine.stdout.strip():
        lines.append(Line("info", "the Docker engine is not reachable (is Docker Desktop running?); "
                                  "the lessons do not need it"))
    return lines


def run(checks=None) -> tuple[list[Line], int]:
    """Run the checks; return their lines and the exit status (1 if anything blocks the lessons)."""
    checks = checks or [check_python, check_packages, check_instrumentation, check_brokers, check_receiver,
                        check_ports, check_otlp_endpoint, check_docker]
    lines = []
    for check in checks:
        try:
            lines += check()
        except Exception as exc:  # a check that breaks is itself a finding
            lines.append(Line("fail", f"{check.__name__} could not run: {exc}"))
    return lines, int(any(line.status == "fail" for line in lines))


def main() -> int:
    print("kit doctor: is this machine ready for the lessons?", flush=True)
    lines, status = run()
    for line in lines:
        print(line, flush=True)
    problems = sum(line.status == "fail" for line in lines)
    print("ready for the lessons" if not status else f"{problems} problem(s) block the lessons: see the ✗ lines")
    from kit.broker import stop_all
    stop_all()
    return status
