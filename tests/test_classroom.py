"""The class board (kit.classroom): what a learner sends, on the wire; what the board takes,
refuses and shows; that nothing is sent without the opt-in; that the lesson never sees the
classroom's telemetry; that a board down or a black hole never prints into a cell.

The learners here are processes of their own running real self-checks
(tests/classroom_wire.py); a few are real Jupyter kernels. The room of 60 and the board in
Chromium are tests/test_classroom_room.py.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from classroom_wire import MARKER, BlackHole, Wire, attributes, down_url, log_records
from kit.classroom import record
from kit.classroom.progress import Progress
from kit.classroom.reasons import LABELS
from kit.classroom.room import Room

ROOT = Path(__file__).resolve().parent.parent
ATTEMPTS = ["0.1 blank", "0.1 typo", "0.1 solution", "7.1 marker", "7.1 solution"]


def learner(endpoint: str, room: str, name: str, attempts=ATTEMPTS, env=None, timeout_s: float = 120) -> dict:
    """A learner's process: join (endpoint "-": never), run real checks, print the verdicts."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KIT_CLASSROOM"))}
    done = subprocess.run([sys.executable, str(ROOT / "tests/classroom_wire.py"), "learner", endpoint, room, name,
                           *attempts], env={**base, **(env or {})}, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout_s)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["stdout"], out["stderr"] = done.stdout, done.stderr
    return out


@pytest.fixture
def room():
    r = Room(port=0, code="TEST42")
    yield r
    r.close()


def post(url: str, body: bytes = b"", headers=None) -> int:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/x-protobuf", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as err:
        return err.code


# ---------------------------------------------------------------- one place for the reasons' labels

def _reason_codes() -> set[str]:
    """Every literal reason code given to a ✗ in kit/checks (wrong(..., "code"), reason="code")."""
    codes = set()
    for path in (ROOT / "kit/checks").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            for kw in node.keywords:
                if kw.arg == "reason" and isinstance(kw.value, ast.Constant) and kw.value.value:
                    codes.add(kw.value.value)
            if name == "wrong" and len(node.args) >= 2 and isinstance(node.args[-1], ast.Constant):
                codes.add(node.args[-1].value)
    return codes


def test_every_reason_code_of_the_checks_has_a_label_and_no_label_is_stale():
    codes = _reason_codes()
    assert len(codes) > 100, "the scan found too few codes: has kit/checks changed how it names reasons?"
    assert not codes - set(LABELS), f"reason codes with no label in kit/classroom/reasons.py: {sorted(codes - set(LABELS))}"
    assert not set(LABELS) - codes, f"labels for codes no check gives: {sorted(set(LABELS) - codes)}"
    assert all(len(label) <= 50 for label in LABELS.values()), "a label fits a projector's side panel"


# ---------------------------------------------------------------- on the wire

def test_a_record_carries_the_verdict_and_none_of_the_learners_code_output_or_machine(tmp_path):
    """Captured raw: the lesson's OTEL_* settings (an API key, host attributes, a proxy) and the
    learner's code and messages (MARKER) never reach the board; each record holds exactly what
    kit/classroom/record.py says, inside a span (trace context)."""
    secrets = {"OTEL_EXPORTER_OTLP_HEADERS": "api-key=SECRET-KEY-4711", "OTEL_RESOURCE_ATTRIBUTES":
               "host.name=SECRET-HOST-4711,user.name=SECRET-USER-4711", "OTEL_SERVICE_NAME": "SECRET-SERVICE-4711",
               "HTTP_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    with Wire() as wire:
        out = learner(wire.url, "room42", "ada", env=secrets)
        raw = b"".join(r.raw for r in wire.requests)
    assert [v["passed"] for v in out["verdicts"]] == [False, False, True, False, True]
    assert MARKER in out["verdicts"][1]["message"] and MARKER in out["verdicts"][3]["message"], \
        "the learner's attempts hold the marker (else this test proves nothing)"
    assert out["flushed"] and out["stats"].get("failed", 0) == 0 and out["stats"]["sent"] >= 11
    assert MARKER.encode() not in raw
    for secret in (b"SECRET-", os.getcwd().encode(), str(Path.home()).encode(), b"python-requests"):
        assert secret not in raw, secret
    host = socket.gethostname().encode()
    if len(host) >= 6:
        assert host not in raw

    otlp = [r for r in wire.requests if r.body]
    assert {r.path for r in otlp} == {"/v1/logs", "/v1/traces"}
    for r in wire.requests:
        assert r.headers[record.HEADER] == "ROOM42"
        assert set(r.headers) <= {"host", "content-type", "content-length", "content-encoding", "user-agent",
                                  "connection", "accept-encoding", record.HEADER}, r.headers
    records = log_records(wire.requests)
    assert {json.dumps(resource, sort_keys=True) for resource, _ in records} == \
        {json.dumps({"service.name": {"stringValue": "kit-classroom"}})}
    joined, *checks = [attributes(rec) for _, rec in records]
    assert joined == {record.LEARNER: "ada"}
    expected = [("0.1", "fail", 1, out["verdicts"][0]["reason"]), ("0.1", "fail", 2, out["verdicts"][1]["reason"]),
                ("0.1", "pass", 3, ""), ("7.1", "fail", 1, out["verdicts"][3]["reason"]), ("7.1", "pass", 2, "")]
    assert [(a[record.EXERCISE], a[record.VERDICT], int(a[record.ATTEMPT]), a[record.REASON]) for a in checks] == expected
    for a in checks:
        assert set(a) == {record.LEARNER, record.LESSON, record.ELAPSED, record.EXERCISE, record.VERDICT,
                          record.ATTEMPT, record.REASON}
        assert a[record.LEARNER] == "ada" and int(a[record.LESSON]) == int(a[record.EXERCISE].split(".")[0])
        assert 0 <= int(a[record.ELAPSED]) < 600
    bodies = [rec.body.string_value for _, rec in records[1:]]
    assert bodies == ["self-check 0.1 ✗", "self-check 0.1 ✗", "self-check 0.1 ✓", "self-check 7.1 ✗", "self-check 7.1 ✓"]
    spans = {s.span_id: s for m in (m for r in wire.requests if r.path == "/v1/traces"
                                    for m in __import__("classroom_wire").decoded([r])["traces"])
             for rs in m.resource_spans for ss in rs.scope_spans for s in ss.spans}
    for _, rec in records[1:]:  # each record was written in its check's span, a root of its own
        span = spans[rec.span_id]
        assert span.trace_id == rec.trace_id and span.name == f"self-check {attributes(rec)[record.EXERCISE]}"
        assert not span.parent_span_id


def test_nothing_is_sent_without_joining(tmp_path):
    """A learner who did not join: checks run, KIT_CLASSROOM is set but the process is not a
    Jupyter kernel (a service the lesson starts inherits it), OTEL_EXPORTER_OTLP_* point at the
    wire: not one connection. Then one who joins and leaves: nothing after leave()."""
    with Wire() as wire:
        env = {"KIT_CLASSROOM": f"{wire.url},room=ROOM42,name=ada", "OTEL_EXPORTER_OTLP_ENDPOINT": wire.url,
               "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": f"{wire.url}/v1/logs"}
        out = learner("-", "ROOM42", "ada", env=env)
        assert [v["passed"] for v in out["verdicts"]] == [False, False, True, False, True]
        assert wire.connections == 0 and wire.requests == []
    script = ("import sys; sys.path.insert(0, 'tests'); import classroom_wire as w, kit.classroom as c\n"
              "m = c.join(sys.argv[1], room='ROOM42', name='bo'); w.run_attempts(['0.1 blank']); m.flush(10)\n"
              "c.leave(); print('sent', m.stats['sent'], flush=True)\n"
              "w.run_attempts(['0.1 solution', '7.1 solution'])\n")
    with Wire() as wire:
        done = subprocess.run([sys.executable, "-c", script, wire.url], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        bodies = [rec.body.string_value for _, rec in log_records(wire.requests)]
    assert bodies == ["joined", "self-check 0.1 ✗"], "after leave(), nothing more is sent"


def test_the_lessons_telemetry_never_sees_the_classrooms(room):
    """In one learner's process, joined and with the lesson's logging bridge on: the kit's
    capture holds no classroom span or log record, the watermark and the checks judge as if
    no classroom were there (the solution twice: ✓ ✓, no 'self-check' span extra), and a
    board that then goes away (its queue overflowing) leaves no warning in the lesson's logs, on
    stderr, or held for the lesson's next ``flush()`` to report."""
    script = """
import json, logging, sys
sys.path.insert(0, "tests")
import classroom_wire as w, kit.classroom as c
from kit import capture
member = c.join(sys.argv[1], room=sys.argv[2], name="cy")
verdicts = w.run_attempts(["0.1 solution", "0.1 solution", "7.1 solution"])
flushed = member.flush(10)
c.leave()
import kit.classroom.learner as L
from kit.telemetry import _notices
L.QUEUE, L.BATCH = 2, 1                       # the board goes away, and its queue overflows:
dead = L.Membership(L.record.Invitation(sys.argv[3], sys.argv[2], "cy"), timeout_s=0.5)
dead.start(); w.run_attempts(["0.1 blank"] * 6); dead.flush(5); dead.leave()
held = dict(_notices.notices.pending)         # what the lesson's next flush() would report
_notices.report()
spans, logs = capture.spans_df(), capture.logs_df()
print(json.dumps({"verdicts": [v["passed"] for v in verdicts], "flushed": flushed, "failed": dead.stats["failed"],
                  "held": held,
                  "span_names": sorted(set(spans.name)), "services": sorted(set(spans.service) | set(logs.service)),
                  "log_bodies": [str(b) for b in logs.body]}))
"""
    done = subprocess.run([sys.executable, "-c", script, room.endpoint, room.code, down_url()], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["verdicts"] == [True, True, True] and out["flushed"]
    assert out["failed"] >= 1, "the dead board's exports failed (else the test saw no warning to keep out)"
    assert not any(n.startswith("self-check") for n in out["span_names"]) and "kit-classroom" not in out["services"]
    assert not any("export" in b.lower() or "kit-classroom" in b for b in out["log_bodies"]), out["log_bodies"]
    assert out["held"] == {} and done.stderr.strip() == "", done.stderr   # no "Queue full", no failed export
    assert room.wait_for(lambda p: len(p.records) == 3, 10)  # and the live board got every check


# ---------------------------------------------------------------- the room's gate

def test_a_wrong_or_missing_room_code_is_refused_before_the_body_and_counted(room, capsys):
    assert post(f"{room.endpoint}/v1/logs") == 401
    assert post(f"{room.endpoint}/v1/logs", headers={record.HEADER: "WRONG1"}) == 401
    assert post(f"{room.endpoint}/v1/traces", b"x" * 100_000, headers={record.HEADER: "TEST4"}) == 401
    assert post(f"{room.endpoint}/api/v2/spans", b"[]", {"Content-Type": "application/json"}) == 401
    assert post(f"{room.endpoint}/v1/logs", headers={record.HEADER: "test42"}) == 200  # the code, any case
    assert room.refused == {"no room code": 2, "a wrong room code": 2}
    statuses = list(room.receiver.requests_df().status)
    assert statuses.count(401) == 4 and statuses.count(200) == 1

    import kit.classroom
    assert kit.classroom.join(room.endpoint, room="WRONG1", name="eve") is None
    said = capsys.readouterr().out
    assert "Not joined" in said and "refused room code 'WRONG1'" in said and "Nothing is sent" in said
    assert kit.classroom.current() is None and "Not in a classroom" in kit.classroom.status()
    assert room.refused["a wrong room code"] == 3 and room.progress.learners == {}


def test_the_gate_holds_over_grpc_too():
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    r = Room(port=0, grpc_port=0, code="GRPC42")
    try:
        for headers, kept in (({}, 0), ({record.HEADER: "NOPE99"}, 0), ({record.HEADER: "GRPC42"}, 1)):
            provider = LoggerProvider(shutdown_on_exit=False)
            provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(
                endpoint=r.receiver.grpc_endpoint, insecure=True, headers=headers, timeout=5)))
            provider.get_logger("t").emit(body="hello", attributes={record.LEARNER: "gus"})
            provider.shutdown()
            assert len(r.receiver.received.logs) == kept
        assert r.refused == {"no room code": 1, "a wrong room code": 1}
        assert list(r.receiver.requests_df().status)[:2] == ["UNAUTHENTICATED", "UNAUTHENTICATED"]
    finally:
        r.close()


# ---------------------------------------------------------------- the board's page: its key, its answers

def _get(url, cookie=None):
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=15) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_the_board_opens_only_with_its_key_and_takes_it_out_of_the_address(room):
    for path in ("/board", "/board/state", "/board.csv", "/board?key=nope"):
        status, _, body = _get(room.endpoint + path)
        assert status == 401 and b"learner" not in body
    status, headers, _ = _get(room.board_url)
    assert status == 303 and headers["Location"] == "/board"
    cookie = headers["Set-Cookie"].split(";")[0]
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    status, headers, page = _get(room.endpoint + "/board", cookie)
    assert status == 200 and b"<script src=\"/board/board.js\">" in page
    assert "script-src 'self'" in headers["Content-Security-Policy"] and "unsafe-inline" not in \
        headers["Content-Security-Policy"]
    assert room.refused["board requests without its key"] == 4
    status, _, body = _get(room.endpoint + "/board/state", cookie)
    state = json.loads(body)
    assert status == 200 and state["room"]["code"] == "TEST42" and state["learners"] == []
    assert state["room"]["join"] == f'kit.classroom.join("{room.endpoint}", room="TEST42", name="…")'


def _row(name, exercise=None, verdict=None, attempt=1, reason="", **more):
    attrs = {record.LEARNER: name}
    if exercise is not None:
        attrs.update({record.EXERCISE: exercise, record.VERDICT: verdict, record.ATTEMPT: attempt,
                      record.REASON: reason, record.LESSON: 0, record.ELAPSED: 12})
    attrs.update(more)
    return {"time": None, "body": "self-check", "attributes": attrs, "service": "kit-classroom"}


def test_the_grid_says_passed_failing_stuck_and_not_tried_and_the_reasons_right_now():
    p = Progress(["0.1", "0.2", "1.1"], stuck_s=300)
    p.fold([_row("ada"), _row("bo", "0.1", "fail", 1, "span-name"), _row("bo", "0.1", "fail", 2, "span-order"),
            _row("cy", "0.1", "fail", 1, "span-name"), _row("ada", "0.1", "fail", 1, "span-name"),
            _row("ada", "0.1", "pass", 2), _row("ada", "0.1", "fail", 3, "span-missing")], now=1000)
    p.fold([_row("dee", "0.2", "fail", 1, "span-parent-wrong")], now=1200)
    state = p.state(now=1000 + 301)
    cells = {lr["name"]: lr["cells"] for lr in state["learners"]}
    assert [lr["name"] for lr in state["learners"]] == ["ada", "bo", "cy", "dee"]
    assert cells["ada"]["0.1"]["state"] == "pass" and cells["ada"]["0.1"]["attempts"] == 3  # a ✗ after ✓ keeps ✓
    assert cells["bo"]["0.1"] == {"state": "stuck", "attempts": 2, "reason": "span-order",
                                  "label": "spans in the wrong order", "minutes": 5}
    assert cells["dee"]["0.2"]["state"] == "fail" and "0.2" not in cells["bo"]
    assert state["columns"] == ["0.1", "0.2"], "lesson 1 has no check in yet"
    assert state["progress"]["0.1"] == {"pass": 1, "fail": 0, "stuck": 2, "idle": 1}
    assert [(r["reason"], r["count"], r["names"]) for r in state["reasons"]["0.1"]] == \
        [("span-order", 1, ["bo"]), ("span-name", 1, ["cy"])] or \
        [(r["reason"], r["count"], r["names"]) for r in state["reasons"]["0.1"]] == \
        [("span-name", 1, ["cy"]), ("span-order", 1, ["bo"])]
    assert state["reasons"]["0.2"][0]["label"] == "a span under the wrong parent"


HOSTILE = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "=cmd|' /C calc'!A0", "a\x00b\x1b[31m",
           "x" * 1_000_000, "$\\href{https://x/}{\\text{Restart}}$", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👩‍🏫", " ", ""]


def test_one_bad_record_never_takes_the_board_down_and_every_name_stays_text(room):
    odd_values = [42, 4.2, True, None, ["a"], {"k": "v"}, b"bytes", float("nan"), float("inf"), -1, 10**30]
    rows = [_row(n, "0.1", "fail", 1, "span-name") for n in HOSTILE]
    rows += [_row("ok", "0.1", "fail", v, v) for v in odd_values]
    rows += [_row(v, "0.1", "fail") for v in odd_values]
    rows += [_row("ok", v, "fail") for v in odd_values + ["0.1; DROP", "1.2.3", "99.99", "x"]]
    rows += [_row("ok", "0.1", v) for v in odd_values + ["PASS", "maybe"]]
    rows += [{"attributes": None}, {"attributes": "x"}, {}, {"attributes": {record.LEARNER: "n", record.EXERCISE: []}}]
    room.progress.fold(rows)
    state = room.progress.state()
    names = [lr["name"] for lr in state["learners"]]
    assert "<script>alert(1)</script>" in names and "x" * 40 in names and "ab [31m" not in names
    assert all(len(n) <= record.MAX_NAME and n.isprintable() for n in names)
    assert state["refused"]["malformed records"] >= 30
    assert "99.99" in state["columns"], "an exercise the kit does not know is shown (as text), within a cap"
    json.dumps(state, allow_nan=False)   # the page's JSON stays strict
    csv = room.progress.csv()
    assert ",'=cmd|" in csv and ",=cmd" not in csv, "a name is never a spreadsheet formula"


def test_the_board_stays_bounded_and_counts_what_it_refuses(monkeypatch):
    from kit.classroom import progress
    monkeypatch.setattr(progress, "MAX_LEARNERS", 5)
    monkeypatch.setattr(progress, "MAX_RECORDS", 20)
    monkeypatch.setattr(progress, "MAX_EXTRA_EXERCISES", 2)
    monkeypatch.setattr(progress, "MAX_REASONS", 3)
    p = Progress(["0.1"])
    p.fold([_row(f"l{i}", "0.1", "fail", 1, f"r-{i}") for i in range(8)])
    p.fold([_row("l0", f"{i}.{i}", "fail") for i in range(20, 25)])
    p.fold([_row("l1", "0.1", "fail") for _ in range(30)])
    state = p.state()
    assert len(state["learners"]) == 5 and state["refused"]["learners over the cap"] == 3
    assert state["refused"]["exercises the kit does not know, over the cap"] == 3
    assert len(p.records) == 20 and state["refused"]["records over the cap"] == 30 - (20 - 5 - 2)
    assert {r["reason"] for r in state["reasons"]["0.1"]} <= {"r-0", "r-1", "r-2", "other", ""}


# ---------------------------------------------------------------- joining

def test_kit_classroom_reads_like_otel_exporter_otlp_headers():
    inv = record.parse("http://10.0.0.5:4318/, room=k7qx2m ,name=Ada%20L%2C")
    assert inv == record.Invitation("http://10.0.0.5:4318", "K7QX2M", "Ada L,")
    assert record.parse(inv.environment()) == inv
    for bad in ("room=K7QX2M", "http://10.0.0.5:4318", "ftp://x,room=K7QX2M", "http://x,room=no!", "http://x,room=ABCD,pw=1"):
        with pytest.raises(ValueError):
            record.parse(bad)


def test_joining_says_once_whether_the_board_answered(capsys):
    import kit.classroom
    for url, said in ((down_url(), "cannot be reached now"),):
        member = kit.classroom.join(url, room="ABCD12", name="fay")
        assert member is not None and said in capsys.readouterr().out
        kit.classroom.leave()
    with BlackHole() as hole:
        started = time.monotonic()
        member = kit.classroom.join(hole.url, room="ABCD12", name="fay")
        assert time.monotonic() - started < 5 and "cannot be reached now" in capsys.readouterr().out
        kit.classroom.leave()


# ---------------------------------------------------------------- real kernels

def _kernel(env: dict):
    from lesson_kernel import LessonKernel
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        kernel = LessonKernel().__enter__()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return kernel


SETUP = "from kit.telemetry import setup\nfrom kit.checks import check_trace\ntele = setup('welcome')"
SOLUTION = (ROOT / "notebooks/solutions/ex_0.1.py").read_text()


def test_kit_classroom_joins_a_kernel_and_its_checks_reach_the_board(room):
    kernel = _kernel({"KIT_CLASSROOM": room.invitation("gil").environment()})
    try:
        first = kernel.run(SETUP)
        assert f"Joined room {room.code}" in first.stdout and "'gil'" in first.stdout, first
        assert kernel.run("check_trace('0.1')").verdict == "✗"
        assert kernel.run(SOLUTION).verdict == "✓"
        assert room.wait_for(lambda p: len(p.records) == 2, 15)
        cell = room.progress.state()["learners"][0]["cells"]["0.1"]
        assert cell["state"] == "pass" and cell["attempts"] == 2
        services = kernel.run("import subprocess, sys\nprint(subprocess.run([sys.executable, '-c', 'import kit'], "
                              "capture_output=True, text=True).stdout or 'quiet')")
        assert services.stdout.strip() == "quiet", "a process the kernel starts inherits KIT_CLASSROOM and stays out"
        assert len(room.progress.learners) == 1
    finally:
        kernel.__exit__(None, None, None)


def test_a_black_hole_board_never_slows_or_prints_into_a_later_cell():
    """A kernel joined to a board that takes connections and never answers, with the learner's
    own logging to stderr (lesson 03's basicConfig): the join says so once; every later cell
    shows only its own result, also while the exports time out and retry."""
    with BlackHole() as hole:
        kernel = _kernel({"KIT_CLASSROOM": f"{hole.url},room=HOLE42,name=hal"})
        try:
            mine = kernel.run("import logging\nlogging.basicConfig(level=logging.INFO)  # a learner's own logging")
            assert not (mine.stdout or mine.stderr or mine.error), mine
            first = kernel.run(SETUP)
            assert "cannot be reached now" in first.stdout and not first.stderr, first
            outs = [kernel.run("check_trace('0.1')") for _ in range(3)] + [kernel.run(SOLUTION)]
            waited = kernel.run("import time, kit.classroom as c\nm = c.current()\ndeadline = time.monotonic() + 30\n"
                                "while m.stats['failed'] == 0 and time.monotonic() < deadline:\n"
                                "    time.sleep(0.1)\nm.stats['failed'] > 0")
            assert waited.result == "True", "the exports to the black hole failed by now"
            later = [kernel.run("check_trace('0.1')"), kernel.run(SOLUTION), kernel.run("tele.flush(); 1 + 1")]
            for out in outs + later:
                assert out.stdout == "" and out.stderr == "" and not out.displays, out
            assert [o.verdict for o in outs + later[:2]] == ["✗", "✗", "✗", "✓", "✗", "✓"]
            assert hole.connections >= 1
        finally:
            kernel.__exit__(None, None, None)


def test_joined_for_a_with_block_leaves_the_room_joined_before_out_of_it(room, capsys):
    """Lesson 10's demo: a learner in a workshop joins a local board for one check; the
    workshop's board hears nothing of it, and everything after."""
    import kit.classroom
    from kit.checks import verdicts
    from kit.checks._result import Result
    demo = Room(port=0, code="DEMO42")
    try:
        kit.classroom.join(room.endpoint, room=room.code, name="outer")
        with kit.classroom.joined(demo.endpoint, room=demo.code, name="inner") as member:
            verdicts.publish("0.1", Result(False, "no span", reason="span-missing"), time.time_ns(), time.time_ns())
            assert member.flush(10)
        verdicts.publish("0.2", Result(True, "ok"), time.time_ns(), time.time_ns())
        assert kit.classroom.current().flush(10)
        assert demo.wait_for(lambda p: len(p.records) == 1, 10) and room.wait_for(lambda p: len(p.records) == 1, 10)
        assert [r[1:5] for r in demo.progress.records] == [("inner", 0, "0.1", "fail")]
        assert [r[1:5] for r in room.progress.records] == [("outer", 0, "0.2", "pass")]
        assert repr(kit.classroom.status()).startswith(f"in room {room.code}")
    finally:
        kit.classroom.leave()
        demo.close()
    assert repr(kit.classroom.status()).startswith("Not in a classroom: nothing is sent.")


def test_the_benchmark_runs_and_reports_every_board(capsys):
    """benchmarks/bench_classroom.py still runs (its figures are for people: never asserted)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_classroom
    times = bench_classroom.run(cells=2, rounds=1, checks=20)
    assert set(times) == {"baseline", "up", "down", "black hole", "slow"} and all(len(t) == 2 for t in times.values())
    out = capsys.readouterr().out
    for board in ("up", "down", "black hole", "slow"):
        assert f"joined, board {board}" in out and f"board {board}" in out.split("per check")[1]


def test_python_m_kit_classroom_on_the_lan_address_takes_a_learner_there(capsys):
    """``--host lan``: the board listens on this machine's network address, prints the join line
    with it, and a learner joining that address (Host: that address) gets through."""
    from kit.__main__ import _lan_address
    import kit.classroom
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KIT_CLASSROOM"))}
    board = subprocess.Popen([sys.executable, "-m", "kit", "classroom", "--host", "lan", "--port", "0", "--room",
                              "LAN123", "--csv", "", "--lessons", "0"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             text=True)
    try:
        lines = []
        for line in board.stdout:
            lines.append(line)
            if "kit.classroom.join(" in line:
                break
        endpoint = "".join(lines).split('kit.classroom.join("')[1].split('"')[0]
        assert endpoint.startswith(f"http://{_lan_address()}:")
        assert kit.classroom.join(endpoint, room="LAN123", name="lan") is not None
        assert "✓ Joined room LAN123" in capsys.readouterr().out
    finally:
        kit.classroom.leave()
        board.send_signal(2)
        out, _ = board.communicate(timeout=30)
    assert "board stopped: 1 learner, 0 checks, 0 refused" in out


def test_a_board_started_again_with_the_same_code_gets_the_records_of_learners_still_joined():
    import kit.classroom
    from kit.checks import verdicts
    from kit.checks._result import Result
    first = Room(port=0, code="AGAIN1")
    port = first.receiver.http_port
    try:
        member = kit.classroom.join(first.endpoint, room="AGAIN1", name="ida", say=lambda text: None)
        first.close()
        verdicts.publish("0.1", Result(False, "x", reason="span-name"), time.time_ns(), time.time_ns())
        member.flush(10)   # fails: the board is down (the record is lost, the notebook unaffected)
        again = Room(port=port, code="AGAIN1")
        try:
            verdicts.publish("0.2", Result(True, "ok"), time.time_ns(), time.time_ns())
            member.flush(10)
            assert again.wait_for(lambda p: len(p.records) == 1, 10)
            assert [r[1:5] for r in again.progress.records] == [("ida", 0, "0.2", "pass")]
        finally:
            again.close()
    finally:
        kit.classroom.leave()


def test_the_records_go_to_any_otlp_endpoint_as_to_a_collector():
    """No board needed to receive them: an OTLP/HTTP endpoint that knows nothing of rooms (the
    kit's plain receiver, as a Collector's otlp receiver would) takes the records, each joined
    to its span by the trace context."""
    from kit.receiver import start_receiver
    receiver = start_receiver(grpc_port=None, http_port=0)
    try:
        out = learner(receiver.http_endpoint, "ANY123", "jo", attempts=["0.1 blank", "0.1 solution"])
        assert "✓ Joined room ANY123" in out["stdout"] and out["flushed"]
        logs, spans = receiver.logs_df(), receiver.spans_df()
        checks = logs[logs.body.str.startswith("self-check")]
        assert list(checks.body) == ["self-check 0.1 ✗", "self-check 0.1 ✓"] and set(logs.service) == {"kit-classroom"}
        joined = checks.merge(spans, on=["trace_id", "span_id"])
        assert list(joined.name) == ["self-check 0.1", "self-check 0.1"]
    finally:
        receiver.stop()


def test_the_classroom_never_presents_the_lessons_client_certificate(monkeypatch):
    """OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE / _KEY / _CERTIFICATE are the lesson's (they say who
    the learner is, to the lesson's collector): the classroom's exporters never take them."""
    from kit.classroom import learner as L
    for name in ("", "_LOGS", "_TRACES"):
        monkeypatch.setenv(f"OTEL_EXPORTER_OTLP{name}_CLIENT_CERTIFICATE", "/home/ada/me.pem")
        monkeypatch.setenv(f"OTEL_EXPORTER_OTLP{name}_CLIENT_KEY", "/home/ada/me.key")
        monkeypatch.setenv(f"OTEL_EXPORTER_OTLP{name}_CERTIFICATE", "/home/ada/company-ca.pem")
    member = L.Membership(record.Invitation("https://10.0.0.5:4318", "ROOM42", "ada"))
    try:
        assert [(s.cert, s.verify, s.trust_env) for s in member._sessions] == [(None, True, False)] * 2
    finally:
        member.active = True
        member.leave(0.5)
