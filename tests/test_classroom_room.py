"""A room of 60 learners against one class board, on loopback, and the board in Chromium.

The board is the real command, ``python -m kit classroom``, in a process of its own. The
learners are 60 processes (forked once the kit is imported: 60 kernels would not fit on two
cores), each joining as a learner does and running real self-checks (the lesson's blank,
typos, solutions: tests/classroom_wire.py's SCRIPTS). Every verdict must arrive and be
shown, in the board's JSON and on the page in Chromium (clicking a learner, an exercise);
a wrong room code is refused and counted; at Ctrl-C the CSV holds every check.

The board is also drawn with 100 learners (long, hostile names) and every exercise, at
1366×768 and 1024×768: the screenshots are in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from classroom_wire import SCRIPTS
from kit.classroom import record

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
N = 60
CODE = "ROOM60"


class Board:
    """``python -m kit classroom`` in a process of its own; its ready lines read."""

    def __init__(self, csv: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "KIT_CLASSROOM"))}
        self.process = subprocess.Popen([sys.executable, "-m", "kit", "classroom", "--port", "0", "--room", CODE,
                                         "--stuck-minutes", "60", "--csv", str(csv)], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.process.stdout], daemon=True).start()
        self.ready = []
        deadline = time.monotonic() + 60
        while not any("kit.classroom.join(" in line for line in self.ready):
            self.ready.append(self.lines.get(timeout=max(deadline - time.monotonic(), 0.1)))
        text = "".join(self.ready)
        self.endpoint = text.split('kit.classroom.join("')[1].split('"')[0]
        self.url = next(w for w in text.split() if "/board?key=" in w)
        self.cookie = f"kit_board_{self.endpoint.rsplit(':', 1)[1]}={self.url.split('key=')[1]}"

    def state(self, after: int | None = None) -> dict:
        url = f"{self.endpoint}/board/state" + (f"?after={after}" if after is not None else "")
        request = urllib.request.Request(url, headers={"Cookie": self.cookie})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(60)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return "".join(rest)


def expected_cells(verdicts: list[dict]) -> dict:
    """What the board must show for one learner: exercise → (state, attempts, reason)."""
    cells: dict = {}
    for v in verdicts:
        passed, attempts, reason = cells.get(v["exercise"], (False, 0, ""))
        cells[v["exercise"]] = (passed or v["passed"], attempts + 1, reason if v["passed"] else v["reason"])
    return {e: ("pass" if p else "fail", n, "" if p else r) for e, (p, n, r) in cells.items()}


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    out = tmp_path_factory.mktemp("room")
    board = Board(out / "room.csv")
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(ROOT / "tests/classroom_wire.py"), "room", board.endpoint, CODE,
                           str(N), str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and json.loads(done.stdout)["failed"] == 0, done.stderr[-3000:]
    learners = {p.stem: json.loads(p.read_text()) for p in out.glob("learner-*.json")}
    total = sum(len(lr["verdicts"]) for lr in learners.values())
    deadline, state = time.monotonic() + 60, board.state()
    while state["records"] < total and time.monotonic() < deadline:
        state = board.state(after=state["version"])
    figures = {"learners": len(learners), "checks": total, "on the board": state["records"],
               "learners' wall time s": round(json.loads(done.stdout)["seconds"], 1),
               "until all shown s": round(time.monotonic() - started, 1), "board RSS MB": round(board.rss_mb(), 1)}
    print("\nroom of", N, json.dumps(figures))
    yield board, learners, state, out
    if board.process.poll() is None:
        board.stop()


def test_sixty_learners_every_verdict_arrives_and_is_on_the_board(room):
    board, learners, state, _ = room
    assert len(learners) == N and all(lr["flushed"] and not lr["stats"].get("failed") for lr in learners.values())
    total = sum(len(lr["verdicts"]) for lr in learners.values())
    assert total == sum(len(SCRIPTS[i % len(SCRIPTS)]) for i in range(N)) and state["records"] == total
    shown = {lr["name"]: lr["cells"] for lr in state["learners"]}
    assert sorted(shown) == sorted(learners)
    for name, lr in learners.items():
        got = {e: (c["state"], c["attempts"], c["reason"]) for e, c in shown[name].items()}
        assert got == expected_cells(lr["verdicts"]), name
    assert state["refused"] == {}
    failing = {(e, r["reason"]): r["count"] for e, rs in state["reasons"].items() for r in rs}
    want: dict = {}
    for lr in learners.values():
        for e, (s, _, r) in expected_cells(lr["verdicts"]).items():
            if s == "fail":
                want[(e, r)] = want.get((e, r), 0) + 1
    assert failing == want and sum(want.values()) > 0


def test_a_wrong_room_code_is_refused_and_counted_in_a_full_room(room):
    board, *_ = room
    for code in ("", "WRONG1", CODE.lower() + "X"):
        request = urllib.request.Request(f"{board.endpoint}/v1/logs", data=b"", method="POST",
                                         headers={"Content-Type": "application/x-protobuf", record.HEADER: code})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401
    assert board.state()["refused"] == {"no room code": 1, "a wrong room code": 2}


# ---------------------------------------------------------------- the board in Chromium

@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium); CI installs it")
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


MEASURE = r"""
() => {
  const rgb = c => (c.match(/\d+(\.\d+)?/g) || []).slice(0, 3).map(Number);
  const bg = el => { for (let e = el; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
      if (c && c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return rgb(c); } return [255, 255, 255]; };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement; if (!n.textContent.trim() || el.closest('[hidden]')) continue;
    const r = el.getBoundingClientRect(); if (!r.width || r.bottom < 0 || r.top > innerHeight) continue;
    const s = getComputedStyle(el);
    texts.push({words: n.textContent.trim().slice(0, 30), size: parseFloat(s.fontSize), color: rgb(s.color), back: bg(el)});
  }
  const grid = document.getElementById('gridbox').getBoundingClientRect();
  return {pageOverflowX: document.documentElement.scrollWidth - innerWidth,
          pageOverflowY: document.documentElement.scrollHeight - innerHeight, texts,
          grid: [grid.left, grid.top, grid.right, grid.bottom]};
}
"""


def _problems(measured: dict) -> list[str]:
    from kit.views.common import contrast
    hexed = lambda c: "#%02x%02x%02x" % tuple(int(v) for v in c)  # noqa: E731
    found = []
    if measured["pageOverflowX"] > 0 or measured["pageOverflowY"] > 0:
        found.append(f"the page scrolls ({measured['pageOverflowX']} px wide, {measured['pageOverflowY']} px high)")
    for t in measured["texts"]:
        if t["size"] < 16:
            found.append(f"{t['words']!r} is {t['size']} px (a projector needs 16 or more)")
        ratio = contrast(hexed(t["color"]), hexed(t["back"]))
        if ratio < 4.5:
            found.append(f"{t['words']!r}: {hexed(t['color'])} on {hexed(t['back'])} is {ratio:.2f}:1")
    return found


def _open(chromium, url, width, height, ready="() => document.querySelectorAll('#grid tbody tr').length > 0"):
    page = chromium.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.wait_for_function(ready)
    return page


def test_an_empty_room_shows_the_join_line_large(chromium):
    from kit.classroom.room import Room
    room = Room(port=0, code="EMPTY1")
    try:
        page = _open(chromium, room.board_url, 1366, 768, "() => document.getElementById('join-big').textContent")
        try:
            assert page.text_content("#join-big") == \
                f'kit.classroom.join("{room.endpoint}", room="EMPTY1", name="your name")'
            assert page.evaluate("parseFloat(getComputedStyle(document.getElementById('join-big')).fontSize)") >= 24
            page.screenshot(path=str(ARTIFACTS / "classroom-board-empty-1366.png"))
            assert not _problems(page.evaluate(MEASURE)), _problems(page.evaluate(MEASURE))
        finally:
            page.close()
    finally:
        room.close()


def test_the_board_in_chromium_shows_every_verdict_and_opens_a_learner_and_an_exercise(room, chromium):
    board, learners, state, _ = room
    page = _open(chromium, board.url, 1366, 768)
    try:
        assert "key=" not in page.url, "the key leaves the address bar (the projector shows it)"
        page.wait_for_function(f"() => document.querySelectorAll('#grid tbody tr').length === {N}")
        columns = page.eval_on_selector_all("#grid thead th.ex .id", "els => els.map(e => e.textContent)")
        assert columns == state["columns"]
        shown = page.eval_on_selector_all("#grid tbody tr", "rows => rows.map(r => [r.dataset.learner, "
                                          "[...r.querySelectorAll('td')].map(td => td.textContent)])")
        for name, marks in shown:
            cells = expected_cells(learners[name]["verdicts"])
            want = [("✓" if cells[e][0] == "pass" else f"✗{cells[e][1]}") if e in cells else "·" for e in columns]
            assert marks == want, name
        assert page.text_content("#counts").startswith(f"{N} learners · {state['records']} checks")
        # a learner: the side panel lists their exercises
        name = next(n for n, lr in sorted(learners.items()) if len(lr["verdicts"]) == 5)
        page.click(f"#grid tbody th button[data-learner='{name}']")
        assert page.text_content("#detail-title") == name
        rows = page.eval_on_selector_all("#detail-body tr", "rs => rs.map(r => r.innerText)")
        assert [r.split("\t")[0] for r in rows[1:]] == ["0.1", "0.2"] and "✓" in rows[1]
        page.screenshot(path=str(ARTIFACTS / "classroom-board-60-learner-1366.png"))
        # an exercise: who fails it and why, labelled
        page.click("#grid thead button[data-exercise='0.1']")
        assert page.text_content("#detail-title") == "Exercise 0.1"
        p = state["progress"]["0.1"]
        body = page.text_content("#detail-body")
        assert f"{p['pass']} passed · {p['fail']} failing" in body
        from kit.classroom.reasons import label
        for r in state["reasons"]["0.1"]:
            assert label(r["reason"]) in body and r["names"][0] in body
        page.screenshot(path=str(ARTIFACTS / "classroom-board-60-exercise-1366.png"))
        assert not _problems(page.evaluate(MEASURE)), _problems(page.evaluate(MEASURE))
        page.set_viewport_size({"width": 1024, "height": 768})
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "classroom-board-60-exercise-1024.png"))
        assert not _problems(page.evaluate(MEASURE)), _problems(page.evaluate(MEASURE))
    finally:
        page.close()


def test_at_the_end_the_csv_holds_every_check(room):
    board, learners, state, out = room
    said = board.stop()
    assert board.process.returncode == 0 and f"{N} learners, {state['records']} checks, 3 refused" in said
    lines = (out / "room.csv").read_text().splitlines()
    assert lines[0].startswith("received_utc,learner,lesson,exercise,verdict,attempt")
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == state["records"]
    for name, lr in learners.items():
        mine = [(r[3], r[4], r[5], r[7]) for r in rows if r[1] == name]
        want = [(v["exercise"], "pass" if v["passed"] else "fail", str(i), v["reason"] if not v["passed"] else "")
                for e in dict.fromkeys(v["exercise"] for v in lr["verdicts"])
                for i, v in enumerate((v for v in lr["verdicts"] if v["exercise"] == e), 1)]
        assert sorted(mine) == sorted(want), name


# ---------------------------------------------------------------- a full room, every exercise, drawn

HOSTILE_NAMES = ["<img src=x onerror=alert(1)>", "Maximilian Alexander von Habsburg-Lothringen the Third", "李小龍",
                 "=HYPERLINK(\"http://x\")", "$\\href{https://x/}{x}$", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 👩‍🏫"]


def test_a_hundred_learners_and_every_exercise_fit_the_projector(chromium):
    """100 learners (long and hostile names among them) × every exercise of lessons 00–11:
    the page never scrolls, the grid scrolls inside its box under sticky headers, every text
    is large enough and at 4.5:1, and a name is shown as written (never run as HTML)."""
    from kit.classroom.room import Room
    from kit.checks.exercises import EXERCISES
    room = Room(port=0, code="FULL99", stuck_minutes=1)
    try:
        names = HOSTILE_NAMES + [f"learner {i:03d}" for i in range(100 - len(HOSTILE_NAMES))]
        rows, now = ([], []), time.time()
        for i, name in enumerate(names):
            for j, ex in enumerate(EXERCISES):
                if (i + j) % 4 == 3:
                    continue
                verdict = "pass" if (i * 7 + j) % 3 == 0 else "fail"
                rows[i % 2].append({"attributes": {record.LEARNER: name, record.EXERCISE: ex, record.VERDICT: verdict,
                                            record.ATTEMPT: 1 + (i + j) % 5, record.REASON: "" if verdict == "pass"
                                            else ["span-name", "span-parent-wrong", "baggage-value"][(i + j) % 3]}})
        room.progress.fold(rows[0], now=now - 120)   # half of them failing for 2 minutes: stuck
        room.progress.fold(rows[1], now=now)
        for width in (1366, 1024):
            page = _open(chromium, room.board_url, width, 768)
            try:
                page.wait_for_function("() => document.querySelectorAll('#grid tbody tr').length === 100")
                assert page.evaluate("window.alerted === undefined && !document.querySelector('#grid img')")
                shown = page.eval_on_selector_all("#grid tbody th button", "bs => bs.map(b => b.textContent)")
                assert sorted(shown) == sorted(record.pseudonym(n) for n in names)
                page.screenshot(path=str(ARTIFACTS / f"classroom-board-100-{width}.png"))
                assert not _problems(page.evaluate(MEASURE)), _problems(page.evaluate(MEASURE))
                # scrolled to the far corner: the exercises' row and the names' column stay in view
                page.eval_on_selector("#gridbox", "b => { b.scrollTop = b.scrollHeight; b.scrollLeft = b.scrollWidth; }")
                page.wait_for_timeout(100)
                box = page.eval_on_selector("#gridbox", "b => b.getBoundingClientRect().toJSON()")
                head = page.eval_on_selector("#grid thead th.ex:last-child", "t => t.getBoundingClientRect().toJSON()")
                name = page.eval_on_selector("#grid tbody tr:last-child th", "t => t.getBoundingClientRect().toJSON()")
                assert abs(head["top"] - box["top"]) <= 2 and abs(name["left"] - box["left"]) <= 2
                page.screenshot(path=str(ARTIFACTS / f"classroom-board-100-{width}-scrolled.png"))
            finally:
                page.close()
    finally:
        room.close()
