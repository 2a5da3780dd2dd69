"""The class board reached by a name (``instructor.local``): like every kit receiver it answers
HTTP only to the names it knows (kit/receiver/hosts.py), so ``python -m kit classroom
--allow-host NAME`` (``Room(allowed_hosts=...)``) adds the room's name, and a name it was not
given is refused with the option to add."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kit.classroom import record
from kit.classroom.room import Room

ROOT = Path(__file__).resolve().parent.parent
NAME = "instructor.local"


def ask(port: int, method: str, path: str, host: str, headers=None) -> tuple[int, str]:
    """A request to 127.0.0.1:port as a learner's browser or exporter sends it to ``host``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request(method, path, body=b"" if method == "POST" else None,
                     headers={"Host": f"{host}:{port}", "Content-Type": "application/x-protobuf", **(headers or {})})
        answer = conn.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def board():
    """``python -m kit classroom --allow-host instructor.local`` in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KIT_CLASSROOM"))}
    process = subprocess.Popen([sys.executable, "-m", "kit", "classroom", "--port", "0", "--room", "NAMED1",
                                "--allow-host", NAME, "--csv", "", "--lessons", "0"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "By name" in line or "Only this machine" in line:
            break
    text = "".join(lines)
    endpoint = text.split('kit.classroom.join("')[1].split('"')[0]
    key = text.split("/board?key=")[1].split()[0]
    yield text, int(endpoint.rsplit(":", 1)[1]), key
    process.send_signal(2)
    process.communicate(timeout=30)


def test_the_ready_lines_say_the_name_works_in_place_of_the_address(board):
    text, port, _ = board
    assert f"By name, http://{NAME}:{port} works in place of http://127.0.0.1:{port}" in text, text


def test_a_learners_record_and_the_board_are_answered_under_the_name(board):
    _, port, key = board
    assert ask(port, "POST", "/v1/logs", NAME, {record.HEADER: "NAMED1"})[0] == 200
    assert ask(port, "POST", "/v1/logs", NAME)[0] == 401  # the name does not replace the room code
    assert ask(port, "GET", f"/board?key={key}", NAME)[0] in (200, 302, 303)


def test_a_name_it_was_not_given_is_refused_with_the_option_to_add(board):
    _, port, key = board
    status, body = ask(port, "POST", "/v1/logs", "elsewhere.local", {record.HEADER: "NAMED1"})
    assert status == 403 and "--allow-host elsewhere.local" in body, body
    assert ask(port, "GET", f"/board?key={key}", "elsewhere.local")[0] == 403


def test_a_room_object_takes_allowed_hosts_too():
    for allowed, status in (([NAME], 200), ((), 403)):
        room = Room(port=0, code="NAMED2", allowed_hosts=allowed)
        try:
            got = ask(int(room.endpoint.rsplit(":", 1)[1]), "POST", "/v1/logs", NAME, {record.HEADER: "NAMED2"})
            assert got[0] == status, got
        finally:
            room.close()


def test_a_learner_joining_by_a_name_the_board_was_not_given_is_told_why(capsys):
    """Joins over this machine's own name where it resolves to loopback (no other DNS here)."""
    import kit.classroom
    name = socket.gethostname()
    try:
        loopback = socket.gethostbyname(name).startswith("127.")
    except OSError:
        loopback = False
    if not loopback or "." in name and name.endswith("localhost"):
        pytest.skip(f"this machine's name {name!r} does not resolve to a loopback address")
    for allowed in ((), [name]):
        room = Room(port=0, code="NAMED3", allowed_hosts=allowed)
        try:
            endpoint = f"http://{name}:{room.endpoint.rsplit(':', 1)[1]}"
            joined = kit.classroom.join(endpoint, room="NAMED3", name="nel")
            said = capsys.readouterr().out
            if allowed:
                assert joined is not None and "✓ Joined room NAMED3" in said, said
            else:
                assert joined is None and f"does not answer to the name {name!r}" in said, said
                assert f"--allow-host {name}" in said and "refused room code" not in said
        finally:
            kit.classroom.leave()
            room.close()
