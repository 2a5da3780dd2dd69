"""What goes over the wire to a class board, byte for byte, and boards that misbehave.

    with Wire() as wire:                # an HTTP server keeping every request it gets, raw
        ... wire.url ...
        wire.requests                   # [Request(raw, method, path, headers, body)]

    with BlackHole() as hole:           # accepts connections and never answers
    with Slow(delay_s=2) as slow:       # answers 200 after delay_s

A learner's process for the tests (``python tests/classroom_wire.py learner ...``) is
below: it runs real self-checks, each the way a cell does (a watermark, then the code and
its check), and prints its verdicts as JSON.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Request:
    raw: bytes
    method: str = ""
    path: str = ""
    headers: dict = field(default_factory=dict)
    body: bytes = b""


def _read_request(conn) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = (lines[0].split(" ") + ["", "", ""])[:3]
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Request(head + b"\r\n\r\n" + rest[:length], method, path, headers, rest[:length])


class _Server:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[Request] = []
        self.connections = 0
        self.changed = threading.Condition()
        self.closing = False
        self.held: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.closing = True
        for conn in self.held:
            try:
                conn.close()
            except OSError:
                pass
        self.sock.close()

    def _accept(self):
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.changed:
                self.connections += 1
                self.changed.notify_all()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        raise NotImplementedError

    def wait(self, predicate, timeout_s: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: predicate(self), timeout=timeout_s)


class Wire(_Server):
    """Answers every request 200 (an empty OTLP response), keeping it."""

    def _serve(self, conn):
        with conn:
            while True:
                try:
                    request = _read_request(conn)
                except OSError:
                    return
                if request is None:
                    return
                with self.changed:
                    self.requests.append(request)
                    self.changed.notify_all()
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    return
                if request.headers.get("connection", "").lower() == "close":
                    return


class BlackHole(_Server):
    """Takes every connection and never answers (nor reads)."""

    def _serve(self, conn):
        self.held.append(conn)


class Slow(Wire):
    """Answers, but only after ``delay_s``."""

    def __init__(self, delay_s: float = 2.0):
        self.delay_s = delay_s
        self.gate = threading.Event()
        super().__init__()

    def _serve(self, conn):
        self.gate.wait(self.delay_s)
        super()._serve(conn)


def down_url() -> str:
    """An address where nothing listens (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


# ---------------------------------------------------------------- decoding what was sent

def decoded(requests: list[Request]) -> dict:
    """The OTLP requests among ``requests``: {"logs": [ExportLogsServiceRequest...], "traces": [...]}."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    out = {"logs": [], "traces": []}
    for r in requests:
        if r.path.endswith("/v1/logs"):
            out["logs"].append(ExportLogsServiceRequest.FromString(r.body))
        elif r.path.endswith("/v1/traces"):
            out["traces"].append(ExportTraceServiceRequest.FromString(r.body))
    return out


def log_records(requests: list[Request]) -> list[tuple]:
    """(resource attributes, log record) of every log record sent."""
    from google.protobuf.json_format import MessageToDict
    out = []
    for message in decoded(requests)["logs"]:
        for rl in message.resource_logs:
            resource = {a.key: MessageToDict(a.value) for a in rl.resource.attributes}
            for sl in rl.scope_logs:
                out += [(resource, r) for r in sl.log_records]
    return out


def attributes(rec) -> dict:
    from google.protobuf.json_format import MessageToDict
    values = {}
    for a in rec.attributes:
        v = MessageToDict(a.value)
        values[a.key] = next(iter(v.values())) if v else None
    return values


# ---------------------------------------------------------------- a learner's process

ROOT = Path(__file__).resolve().parent.parent
MARKER = "Zq9-LEARNER-CODE-7xK"   # in the learner's code, span names and the checks' messages: never on the wire


def learner_attempts(tele) -> dict:
    """Exercise 0.1 and 7.1 tried as a learner does (blank, a typo holding MARKER, the solution),
    with the lesson's own names."""
    solution_01 = (ROOT / "notebooks/solutions/ex_0.1.py").read_text()
    solution_02 = (ROOT / "notebooks/solutions/ex_0.2.py").read_text()
    solution_71 = (ROOT / "notebooks/solutions/ex_7.1.py").read_text()
    blank_01 = ('with tele.tracer.start_as_current_span("hello"):\n'
                '    with tele.tracer.start_as_current_span("say hello to MQTT"):\n        pass\n\ncheck_trace("0.1")\n')
    return {
        "0.1 blank": blank_01,
        "0.1 typo": solution_01.replace('"say goodbye"', f'"say goodbye {MARKER}"'),
        "0.1 solution": solution_01,
        "0.2 blank": '# your code here\n\ncheck_trace("0.2")\n',
        "0.2 solution": solution_02,
        "7.1 marker": solution_71.replace("return payload\n    if not isinstance",
                                          f"return payload + b'{MARKER}'\n    if not isinstance", 1)
                                 .replace("propagate.inject(obj)", f"obj['{MARKER}'] = 1\n    propagate.inject(obj)"),
        "7.1 solution": solution_71,
    }


def run_attempts(names: list[str]) -> list[dict]:
    """Run the named attempts as cells (a watermark first), returning each verdict."""
    from kit import attempts
    from kit.checks import check_trace
    from kit.telemetry import setup
    tele = setup("welcome")
    cells = learner_attempts(tele)
    out = []
    for name in names:
        attempts.start(source=cells[name])
        namespace = {"tele": tele, "check_trace": check_trace, "time": __import__("time"), "__name__": "__main__"}
        code = cells[name].rstrip().splitlines()
        *body, last = code
        exec("\n".join(body), namespace)
        result = eval(last, namespace)
        out.append({"attempt": name, "exercise": name.split()[0], "passed": result.passed, "reason": result.reason,
                    "message": result.message})
    return out


def main(argv: list[str]) -> int:
    """``learner ENDPOINT ROOM NAME ATTEMPT...``: join (unless ENDPOINT is "-"), run the attempts, flush,
    print the verdicts and the membership's stats as JSON."""
    _, endpoint, room, name, *names = argv
    import kit.classroom
    member = kit.classroom.join(endpoint, room=room, name=name) if endpoint != "-" else None
    verdicts = run_attempts(names)
    flushed = member.flush(10) if member is not None else None
    kit.classroom.leave()
    print(json.dumps({"verdicts": verdicts, "flushed": flushed, "stats": dict(member.stats) if member else {}}))
    return 0


# ---------------------------------------------------------------- a room of learners

SCRIPTS = [  # what learner i tries: SCRIPTS[i % 6]
    ["0.1 blank", "0.1 solution"],
    ["0.1 blank", "0.1 typo", "0.1 solution", "0.2 blank", "0.2 solution"],
    ["0.1 typo", "0.1 typo", "0.1 blank"],
    ["7.1 marker", "7.1 marker"],
    ["0.1 solution", "0.2 blank", "7.1 solution"],
    [],
]


def room(endpoint: str, code: str, n: int, out_dir: str) -> int:
    """``room ENDPOINT CODE N OUT_DIR``: N learners, each a process of its own (forked once the
    kit is imported, so that 60 fit on two cores), join and try SCRIPTS; each writes its
    verdicts to OUT_DIR/learner-NN.json. Prints the wall time."""
    import os
    import time

    import kit.checks  # noqa: F401  imported once, before the fork
    import kit.classroom
    import kit.telemetry  # noqa: F401
    started = time.monotonic()
    children = []
    for i in range(n):
        pid = os.fork()
        if pid == 0:  # the learner
            code_ = 1
            try:
                name = f"learner-{i:02d}"
                member = kit.classroom.join(endpoint, room=code, name=name, say=lambda text: None)
                verdicts = run_attempts(SCRIPTS[i % len(SCRIPTS)])
                flushed = member.flush(30)
                stats = dict(member.stats)
                kit.classroom.leave()
                Path(out_dir, f"{name}.json").write_text(json.dumps(
                    {"name": name, "verdicts": verdicts, "flushed": flushed, "stats": stats}))
                code_ = 0
            finally:
                os._exit(code_)
        children.append(pid)
    failed = sum(os.waitpid(pid, 0)[1] != 0 for pid in children)
    print(json.dumps({"seconds": time.monotonic() - started, "failed": failed}), flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "notebooks"))
    if sys.argv[1] == "room":
        sys.exit(room(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))
    sys.exit(main(sys.argv[1:]))
