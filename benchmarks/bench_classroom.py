"""What joining a class board adds to a checked cell: the board up, down, a black hole, slow.

A "checked cell" is what a learner runs for exercise 0.1: the watermark the kit takes as
the cell starts, the three spans of the solution, and ``check_trace("0.1")``. It is timed
with no classroom joined (the baseline) and joined to:

    up          a real board, ``python -m kit classroom``, in a process of its own
    down        an address where nothing listens (connection refused)
    black hole  a server that takes the connection and never answers
    slow        a server that answers after 2 s

Rounds take turns (each round: every condition, starting one further along), so the
machine's noise falls on all alike; the kit's capture is cleared before each cell (a check
reads everything captured, so cells would grow slower as they pile up); each figure is the
median (and 90th percentile) of a condition's cells. The figure that matters
is the time *added* to a cell (budget: 5 ms), printed with the ratio to the baseline.
Black hole and slow also fill the classroom's bounded queue, so the cells after the
first hundred or so are timed with records being dropped.

    python benchmarks/bench_classroom.py [cells per round] [rounds] [checks for the listener alone]
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 5.0
CELL = """with tele.tracer.start_as_current_span("hello"):
    with tele.tracer.start_as_current_span("say hello to MQTT"):
        pass
    with tele.tracer.start_as_current_span("say goodbye"):
        pass

check_trace("0.1")
"""


class _Server:
    """A TCP server on loopback: ``answer`` is None (a black hole), else the seconds before a 200."""

    def __init__(self, answer: float | None):
        self.answer, self.held = answer, []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)
            if self.answer is not None:
                threading.Thread(target=self._reply, args=(conn,), daemon=True).start()

    def _reply(self, conn):
        time.sleep(self.answer)  # a slow board: the point of this server
        try:
            while conn.recv(65536):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                break
        except OSError:
            pass
        conn.close()


def _down() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def _board():
    process = subprocess.Popen([sys.executable, "-m", "kit", "classroom", "--port", "0", "--room", "BENCH1",
                                "--csv", ""], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        if "kit.classroom.join(" in line:
            return process, line.split('join("')[1].split('"')[0]
    raise RuntimeError("the board did not start")


def run(cells: int = 40, rounds: int = 5, checks: int = 2000) -> dict:
    """Time the checked cell in every condition; return {condition: [seconds per cell]}."""
    from kit import attempts, capture
    from kit.checks import check_trace, verdicts
    from kit.classroom import learner, record
    from kit.telemetry import setup

    tele = setup("bench-classroom")
    board, up = _board()
    hole, slow = _Server(None), _Server(2.0)
    members = {}
    for name, url in (("up", up), ("down", _down()), ("black hole", hole.url), ("slow", slow.url)):
        member = learner.Membership(record.Invitation(url, "BENCH1", f"bench {name}"))
        member.start()
        verdicts.unsubscribe(member.on_checked)
        members[name] = member
    namespace = {"tele": tele, "check_trace": check_trace}
    code = compile(CELL, "<cell>", "exec")

    def cell() -> float:
        capture.clear()  # the same kernel state for every cell: a check reads everything captured
        started = time.perf_counter()
        attempts.start(read=True, source=CELL)
        exec(code, namespace)
        return time.perf_counter() - started

    for _ in range(10):
        cell()  # warm up
    times = {name: [] for name in ["baseline", *members]}
    try:
        order = list(times)
        for i in range(rounds):
            for name in order[i % len(order):] + order[:i % len(order)]:  # each round starts elsewhere
                member = members.get(name)
                if member is not None:
                    verdicts.subscribe(member.on_checked)
                times[name] += [cell() for _ in range(cells)]
                if member is not None:
                    verdicts.unsubscribe(member.on_checked)
        _report(times, members)
        _listener_cost(members, verdicts, checks)
    finally:
        for member in members.values():
            member.leave(0.2)
        board.terminate()
        board.wait(10)
    return times


def _report(times: dict, members: dict) -> None:
    base = statistics.median(times["baseline"])
    p90 = lambda xs: sorted(xs)[int(0.9 * (len(xs) - 1))]  # noqa: E731
    print(f"a checked cell (exercise 0.1's solution and its check), {len(times['baseline'])} cells per condition:")
    print(f"  {'baseline, not joined':<24} median {base * 1000:6.2f} ms   p90 {p90(times['baseline']) * 1000:6.2f} ms")
    for name, member in members.items():
        med = statistics.median(times[name])
        added = (med - base) * 1000
        s = member.stats
        print(f"  {'joined, board ' + name:<24} median {med * 1000:6.2f} ms   p90 {p90(times[name]) * 1000:6.2f} ms   "
              f"x{med / base:.3f}   added {added:+.2f} ms ({'within' if added <= BUDGET_MS else 'OVER'} the "
              f"{BUDGET_MS:g} ms budget)   records queued {s['queued']}, items sent {s['sent']}, failed {s['failed']}")


def _listener_cost(members: dict, verdicts, n: int = 2000) -> None:
    """What a check does in the cell once joined, alone: the listener's span and log record,
    queued (the rest is the background thread's)."""
    now = time.time_ns()
    checked = verdicts.Checked("0.1", False, "span-missing", now - 1_000_000, now)
    print(f"the classroom's work in the cell, per check ({n} checks, median of 5 runs):")
    for name, member in members.items():
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(n):
                member.on_checked(checked)
            runs.append((time.perf_counter() - started) / n)
        print(f"  board {name:<11} {statistics.median(runs) * 1e6:7.1f} µs")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    run(*args)
