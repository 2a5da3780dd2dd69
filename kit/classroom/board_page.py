"""The class board in a browser: the routes a :class:`~kit.classroom.room.Room` adds to its receiver.

    GET /board?key=…     the instructor's link: sets a cookie and sends to /board (the key leaves
                         the address bar, so the projector never shows it)
    GET /board           the page (with the cookie); without it, a page saying how to open it
    GET /board/state     the room's progress as JSON (?after=N waits up to 8 s for a change)
    GET /board.csv       every record, for the end of the day
    GET /board/board.js, /board/board.css   the page's script and style (no data in them)

The page draws the JSON with DOM calls that take text (``textContent``, never HTML), so a
learner's name is shown as written, whatever it holds; the Content-Security-Policy allows
no inline script either. It updates itself as records arrive and fits a 1366×768
projector: large text, the grid scrolling inside its box under sticky headers.
"""

from __future__ import annotations

import hmac
import json
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlsplit

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
WAIT_S = 8.0

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Class board</title><link rel="stylesheet" href="/board/board.css"></head>
<body>
<header>
  <div class="room">Room <b id="code"></b></div>
  <div class="join">Join: <code id="join"></code></div>
  <div class="counts" id="counts"></div>
</header>
<main>
  <section id="gridbox" aria-label="Learners by exercise">
    <table class="grid" id="grid"><thead></thead><tbody></tbody></table>
    <div id="empty"><p>No one has joined yet. Learners run, in a notebook:</p>
      <pre>import kit.classroom
<span id="join-big"></span></pre></div>
  </section>
  <aside id="side">
    <section><h2>Stop and explain</h2><ol id="hot"></ol></section>
    <section id="detail"><h2 id="detail-title">Click a learner or an exercise</h2><div id="detail-body"></div></section>
  </aside>
</main>
<footer><span class="c pass">✓</span> passed <span class="c fail">✗2</span> failing, 2 attempts
  <span class="c stuck">✗4</span> stuck: failing for over <span id="stuck-min"></span> min
  <span class="c idle">·</span> not tried <span id="status"></span>
  <a id="csv" href="/board.csv" download>Download CSV</a></footer>
<script src="/board/board.js"></script>
</body></html>
"""

LOCKED = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Class board</title><link rel="stylesheet" href="/board/board.css">
</head><body><main class="locked"><p>This board opens with the link <code>python -m kit classroom</code> printed
in the instructor's terminal.</p></main></body></html>
"""

CSS = """
:root { --ink: #111; --muted: #4a4a4a; --line: #c8ccd0; --pass: #1b7f3b; --fail-bg: #fde4e4; --fail: #8e1b1b;
        --stuck: #a31515; --head: #1f2d3d; --pick: #fff3c4; }
html, body { margin: 0; height: 100%; }
body { display: flex; flex-direction: column; font: 18px/1.35 system-ui, "Segoe UI", Helvetica, Arial, sans-serif;
       color: var(--ink); background: #fff; }
header { background: var(--head); color: #fff; padding: 8px 16px; display: flex; flex-wrap: wrap;
         gap: 4px 24px; align-items: baseline; }
header .room { font-size: 24px; } header .room b { letter-spacing: 2px; }
header code { font-size: 17px; overflow-wrap: anywhere; }
header a { color: #fff; margin-left: auto; }
main { flex: 1; min-height: 0; display: flex; gap: 14px; padding: 10px 14px 4px; }
main.locked { display: block; padding: 40px; font-size: 22px; }
#gridbox { flex: 0 1 auto; min-width: 0; overflow: auto; border: 1px solid var(--line); }
#empty { padding: 16px 24px; font-size: 24px; }
#empty pre { font-size: 26px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 8px 0; }
table.grid { border-collapse: separate; border-spacing: 0; }
.grid th, .grid td { border-bottom: 1px solid var(--line); border-right: 1px solid var(--line); padding: 0;
                     text-align: center; white-space: nowrap; }
.grid thead th { position: sticky; top: 0; z-index: 2; background: #f2f4f6; vertical-align: bottom; }
.grid thead th.name { left: 0; z-index: 3; text-align: left; padding: 4px 8px; font-weight: 400; color: var(--muted); }
.grid tbody th { position: sticky; left: 0; z-index: 1; background: #fff; text-align: left; }
.grid button { font: inherit; color: inherit; background: none; border: 0; cursor: pointer; width: 100%; }
.grid th.ex button { padding: 4px 6px 2px; min-width: 64px; }
.grid th.ex .id { font-weight: 700; display: block; }
.grid th.ex .done { font-size: 16px; color: var(--muted); display: block; }
.grid .bar { height: 5px; background: #dde1e5; margin: 2px 6px 4px; }
.grid .bar i { display: block; height: 100%; background: var(--pass); }
.grid tbody th button { padding: 4px 10px; max-width: 210px; overflow: hidden; text-overflow: ellipsis;
                        text-align: left; display: block; }
.grid td { font-weight: 700; height: 34px; cursor: pointer; }
.c { display: inline-block; min-width: 40px; padding: 1px 4px; text-align: center; font-weight: 700; }
.pass { background: var(--pass); color: #fff; }
.fail { background: var(--fail-bg); color: var(--fail); }
.stuck { background: var(--stuck); color: #fff; outline: 3px solid #111; outline-offset: -3px; }
.idle { color: var(--muted); font-weight: 400; }
.grid .picked { box-shadow: inset 0 0 0 3px #1a4fa0; }
.grid tr.picked th { background: var(--pick); }
aside { flex: 1 0 360px; overflow: auto; }
aside h2 { font-size: 20px; margin: 4px 0 6px; }
aside ol { margin: 0 0 12px; padding-left: 0; list-style: none; }
aside li { margin: 0 0 10px; }
aside li button { font: inherit; font-weight: 700; background: none; border: 0; padding: 0; cursor: pointer;
                  color: #1a4fa0; text-decoration: underline; }
aside .why { display: flex; gap: 8px; margin-left: 14px; }
aside .why .n { flex: 0 0 2.2em; text-align: right; font-weight: 700; }
aside .names { margin-left: 14px; color: var(--muted); font-size: 16px; overflow-wrap: anywhere; }
aside table { border-collapse: collapse; width: 100%; }
aside td, aside th { border-bottom: 1px solid var(--line); padding: 3px 6px; text-align: left; vertical-align: top; }
#detail-title { overflow-wrap: anywhere; }
.note { color: var(--muted); margin: 12px; }
footer { padding: 4px 14px 8px; font-size: 16px; color: var(--muted); display: flex; flex-wrap: wrap;
         align-items: baseline; gap: 4px; }
footer a { margin-left: auto; color: #1a4fa0; }
footer .c { margin-left: 12px; }
#status { margin-left: 16px; color: var(--fail); }
@media (max-width: 1150px) {
  aside { flex-basis: 290px; }
  .grid tbody th button { max-width: 170px; }
}
@media (max-width: 900px) {
  main { flex-direction: column; }
  #gridbox { flex: 1 1 60%; }
  aside { flex: 0 1 40%; display: flex; gap: 20px; }
  aside > section { flex: 1; min-width: 0; overflow: auto; }
}
"""

SCRIPT = r"""
"use strict";
let state = null, picked = null;   // picked: {kind: "learner" | "exercise", id}
const $ = id => document.getElementById(id);
function el(tag, cls, ...children) {     // text only: a learner's name is never parsed as HTML
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function mark(cell) {
  if (!cell) return ["·", "idle"];
  if (cell.state === "pass") return ["✓", "pass"];
  return ["✗" + cell.attempts, cell.state];
}
function describe(cell) {
  if (!cell) return "not tried";
  if (cell.state === "pass") return "passed";
  return (cell.state === "stuck" ? "stuck, " : "failing, ") + cell.attempts + " attempts: " + cell.label;
}
function head() {
  const tr = el("tr", "", el("th", "name", state.learners.length + " learners"));
  for (const ex of state.columns) {
    const p = state.progress[ex], n = state.learners.length;
    const bar = el("div", "bar", el("i")); bar.firstChild.style.width = (n ? 100 * p.pass / n : 0) + "%";
    const b = el("button", "", el("span", "id", ex), el("span", "done", p.pass + "/" + n), bar);
    b.dataset.exercise = ex; b.title = "Exercise " + ex + ": " + p.pass + " passed, " + p.fail + " failing, "
      + p.stuck + " stuck, " + p.idle + " not tried";
    const th = el("th", "ex", b); th.dataset.exercise = ex;
    if (picked && picked.kind === "exercise" && picked.id === ex) th.classList.add("picked");
    tr.append(th);
  }
  return tr;
}
function row(learner) {
  const b = el("button", "", learner.name); b.dataset.learner = learner.name; b.title = learner.name;
  const tr = el("tr", "", el("th", "", b)); tr.dataset.learner = learner.name;
  if (picked && picked.kind === "learner" && picked.id === learner.name) tr.classList.add("picked");
  for (const ex of state.columns) {
    const cell = learner.cells[ex], [text, cls] = mark(cell);
    const td = el("td", cls, text); td.dataset.exercise = ex; td.title = learner.name + " · " + ex + ": " + describe(cell);
    if (picked && picked.kind === "exercise" && picked.id === ex) td.classList.add("picked");
    tr.append(td);
  }
  return tr;
}
function hot() {
  const list = $("hot"); list.replaceChildren();
  const ranked = Object.keys(state.reasons).map(ex => [ex, state.progress[ex]])
    .sort((a, b) => (b[1].stuck - a[1].stuck) || (b[1].fail - a[1].fail)).slice(0, 5);
  if (!ranked.length) { list.append(el("li", "note", "No one is failing an exercise right now.")); return; }
  for (const [ex, p] of ranked) {
    const b = el("button", "", ex); b.dataset.exercise = ex;
    const li = el("li", "", b, " · " + (p.fail + p.stuck) + " failing" + (p.stuck ? " (" + p.stuck + " stuck)" : ""));
    for (const r of state.reasons[ex].slice(0, 3)) li.append(el("div", "why", el("span", "n", r.count), el("span", "", r.label)));
    list.append(li);
  }
}
function detail() {
  const title = $("detail-title"), body = $("detail-body"); body.replaceChildren();
  if (!picked) { title.textContent = "Click a learner or an exercise"; return; }
  if (picked.kind === "learner") {
    const learner = state.learners.find(l => l.name === picked.id);
    title.textContent = picked.id;
    if (!learner) { body.append(el("p", "note", "Not on the board any more.")); return; }
    const table = el("table", "", el("tr", "", el("th", "", "Exercise"), el("th", "", "Result"), el("th", "", "Tries")));
    for (const ex of state.columns) {
      const cell = learner.cells[ex]; if (!cell) continue;
      const [text, cls] = mark(cell);
      const what = cell.state === "pass" ? "" : cell.label + (cell.minutes !== null ? " (" + cell.minutes + " min)" : "");
      table.append(el("tr", "", el("td", "", ex), el("td", "", el("span", "c " + cls, text), " ", what), el("td", "", cell.attempts)));
    }
    body.append(table.rows.length > 1 ? table : el("p", "note", "No self-check yet."));
    return;
  }
  const ex = picked.id, p = state.progress[ex];
  title.textContent = "Exercise " + ex;
  if (!p) { body.append(el("p", "note", "Not shown any more.")); return; }
  body.append(el("p", "", p.pass + " passed · " + p.fail + " failing · " + p.stuck + " stuck · " + p.idle + " not tried"));
  for (const r of state.reasons[ex] || []) {
    body.append(el("div", "why", el("span", "n", r.count), el("span", "", r.label)));
    body.append(el("div", "names", r.names.join(", ") + (r.count > r.names.length ? " …" : "")));
  }
}
function render() {
  $("code").textContent = state.room.code;
  $("join").textContent = state.room.join;
  $("join-big").textContent = state.room.join.replace('name="…"', 'name="your name"');
  $("stuck-min").textContent = state.stuck_minutes;
  const refused = Object.values(state.refused).reduce((a, b) => a + b, 0);
  $("counts").textContent = state.learners.length + " learners · " + state.records + " checks"
    + (refused ? " · " + refused + " refused" : "");
  $("counts").title = Object.entries(state.refused).map(([k, v]) => v + " " + k).join("\n");
  $("empty").hidden = state.learners.length > 0;
  $("grid").hidden = state.learners.length === 0;
  $("grid").tHead.replaceChildren(head());
  $("grid").tBodies[0].replaceChildren(...state.learners.map(row));
  hot(); detail();
}
document.addEventListener("click", e => {
  const t = e.target.closest("[data-learner], [data-exercise]");
  if (!t || !state) return;
  const learnerRow = t.closest("tr[data-learner]");
  if (t.dataset.learner !== undefined) picked = {kind: "learner", id: t.dataset.learner};
  else if (t.tagName === "TD" && learnerRow) picked = {kind: "learner", id: learnerRow.dataset.learner};
  else picked = {kind: "exercise", id: t.dataset.exercise};
  render();
});
const pause = ms => new Promise(ok => setTimeout(ok, ms));
async function follow() {
  let version = -1;
  for (;;) {
    try {
      const r = await fetch("/board/state?after=" + version, {cache: "no-store"});
      if (r.status === 401) { $("status").textContent = "Open the board again with the link in the terminal."; return; }
      state = await r.json(); version = state.version; render(); $("status").textContent = "";
      await pause(1000);    // at most one redraw a second, however busy the room
    } catch (err) { $("status").textContent = "The board's server does not answer: retrying."; await pause(2000); }
  }
}
follow();
"""


def _cookie(room) -> str:
    return f"kit_board_{room.receiver.http_port}"


def _send(handler, status: int, body: str | bytes, content_type: str, headers=()) -> None:
    data = body.encode("utf-8") if isinstance(body, str) else body
    handler.send_response(status)
    for name, value in [("Content-Type", content_type), ("Content-Length", str(len(data))),
                        ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
                        ("Referrer-Policy", "no-referrer"), ("Content-Security-Policy", CSP), *headers]:
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def _has_key(room, handler) -> bool:
    try:
        jar = SimpleCookie()
        jar.load(handler.headers.get("Cookie", "") or "")
    except CookieError:
        return False
    morsel = jar.get(_cookie(room))
    return morsel is not None and _same(morsel.value, room.key)


def _query(handler) -> dict:
    return {k: v[-1] for k, v in parse_qs(urlsplit(handler.path).query).items()}


def _locked(room, handler) -> None:
    with room._lock:
        room.refused["board requests without its key"] += 1
    _send(handler, 401, LOCKED, "text/html; charset=utf-8")


def routes(room) -> dict:
    """The board's GET routes for ``room``'s receiver (see the module)."""

    def board(handler):
        key = _query(handler).get("key")
        if key is not None:
            if not _same(key, room.key):
                return _locked(room, handler)
            return _send(handler, 303, "", "text/plain", [
                ("Location", "/board"),
                ("Set-Cookie", f"{_cookie(room)}={room.key}; Path=/; HttpOnly; SameSite=Strict")])
        if not _has_key(room, handler):
            return _locked(room, handler)
        _send(handler, 200, PAGE, "text/html; charset=utf-8")

    def state(handler):
        if not _has_key(room, handler):
            return _locked(room, handler)
        after = _query(handler).get("after", "")
        progress = room.progress
        if after.lstrip("-").isdigit() and len(after) < 20:
            with progress.changed:
                progress.changed.wait_for(lambda: progress.version != int(after), timeout=WAIT_S)
        body = progress.state()
        body["room"] = {"code": room.code, "endpoint": room.endpoint,
                        "join": f'kit.classroom.join("{room.endpoint}", room="{room.code}", name="…")'}
        with room._lock:
            for why, n in room.refused.items():
                body["refused"][why] = n
        _send(handler, 200, json.dumps(body, allow_nan=False), "application/json")

    def export(handler):
        if not _has_key(room, handler):
            return _locked(room, handler)
        name = f"classroom-{room.code}-{datetime.now().strftime('%Y%m%d-%H%M')}.csv"
        _send(handler, 200, room.progress.csv(), "text/csv; charset=utf-8",
              [("Content-Disposition", f'attachment; filename="{name}"')])

    def static(text, content_type):
        return lambda handler: _send(handler, 200, text, content_type)

    return {"/board": board, "/board/state": state, "/board.csv": export,
            "/board/board.js": static(SCRIPT, "text/javascript; charset=utf-8"),
            "/board/board.css": static(CSS, "text/css; charset=utf-8")}

