"""The page's shell: its HTML, its style, its script and its icon (served as they are).

The shell holds no telemetry: the script fills it from the parts (:mod:`kit.receiver.page_parts`)
and keeps what it shows in the address (``#trace=…&span=…``, ``#compare=A,B``, ``#map=1``,
and the search's fields), so a reload or a link opens the same view. What the script does:

* the search form (service, operation, tags ``key=value``, lookback, min/max duration, limit,
  a trace id) lists the matching traces with a duration scatter; a click on a trace or a dot
  opens it; newer / older pages; ☐ beside two traces, then "compare", opens the comparison;
* the open trace: each row of the waterfall opens its span (its details, then what the page
  adds: Process, status message, trace state, links, whole values, a permalink), ▾ folds the
  spans under a row away, and a drag across the strip above the waterfall (or its time axis),
  or the from/to fields, zooms into a time range;
* it follows new telemetry: ``/api/changes`` answers when the receiver gets a request, and the
  parts are asked again at most once a second, each answering 204 when it has not changed.
"""

from __future__ import annotations

import struct

CSS = r"""
* { box-sizing: border-box; }
html, body { height: 100%; }
body { margin: 0; display: flex; flex-direction: column; font: 13px/1.4 Helvetica, Arial, sans-serif; color: #222222;
  background: #ffffff; }
a { color: #1a5fb4; }
code { font-family: Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; }
button { font: 12px/1.3 Helvetica, Arial, sans-serif; color: #222222; background: #ffffff; border: 1px solid #767f88;
  border-radius: 4px; padding: 3px 8px; cursor: pointer; }
button:disabled { color: #595959; background: #eceef1; cursor: default; }
button.primary { background: #1a5fb4; border-color: #1a5fb4; color: #ffffff; font-weight: bold; }
header.top { flex: none; display: flex; flex-wrap: wrap; align-items: center; gap: 4px 18px; padding: 6px 16px;
  background: #1f2d3a; color: #ffffff; }
header.top .brand { font-size: 15px; }
header.top nav { display: flex; gap: 4px; }
header.top nav a { color: #ffffff; text-decoration: none; padding: 3px 10px; border-radius: 4px; font-size: 13px; }
header.top nav a.active { background: #3b5670; }
#summary { margin-left: auto; font-size: 12px; color: #e8ecf0; }
#summary code { color: #ffffff; font-size: 12px; }
#app { flex: 1; min-height: 0; display: grid; grid-template-columns: clamp(270px, 24vw, 380px) minmax(0, 1fr); }
#side { overflow-y: auto; overflow-x: hidden; background: #f6f7f9; border-right: 1px solid #d0d4da; padding: 8px 12px 24px; }
#view { overflow-y: auto; overflow-x: hidden; padding: 10px 18px 48px; min-width: 0; }
h1 { font-size: 18px; margin: 0 0 2px; }
h2 { font-size: 14px; margin: 16px 0 6px; color: #333333; }
#side h2 { margin: 2px 0 6px; }
.dim, .kit-empty, .kit-more { color: #595959; }
.kit-empty, .kit-more { font-size: 12px; }
.kit-error { color: #b3261e; font-size: 12px; }
.err { color: #b3261e; }
form#search label { display: block; font-size: 12px; color: #333333; margin: 0 0 6px; }
form#search input, form#search select { display: block; width: 100%; font: 13px Helvetica, Arial, sans-serif; color: #222222;
  padding: 3px 5px; border: 1px solid #8a939c; border-radius: 4px; background: #ffffff; margin-top: 2px; }
form#search .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
form#search .buttons { display: flex; gap: 8px; margin: 4px 0 8px; }
.compare-bar { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; margin: 6px 0; font-size: 12px; }
.results-head { font-size: 12px; margin: 6px 0 4px; }
svg.scatter { display: block; width: 100%; height: auto; margin: 2px 0 6px; border: 1px solid #e1e4e8; }
svg.scatter g.dot.selected circle { stroke: #111111; stroke-width: 2.5; }
.trace-list { list-style: none; margin: 0; padding: 0; }
.trace-item { display: grid; grid-template-columns: 22px minmax(0, 1fr); align-items: start; border-bottom: 1px solid #e1e4e8;
  padding: 5px 4px 5px 0; }
.trace-item.selected { background: #e2ebf7; box-shadow: inset 3px 0 #1a5fb4; }
.trace-item .pick { padding: 2px 0 0 3px; }
.trace-item a.open { display: block; color: #222222; text-decoration: none; min-width: 0; }
.trace-item a.open:hover .root { text-decoration: underline; }
.line1 { display: flex; gap: 8px; align-items: baseline; }
.root { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-weight: bold; }
.root-svc { font-weight: normal; color: #444444; }
.dur { flex: none; font-variant-numeric: tabular-nums; }
.line2 { display: block; color: #595959; font-size: 12px; }
.line3 { display: block; font-size: 12px; color: #222222; overflow-wrap: anywhere; }
.svc { display: inline-block; white-space: nowrap; margin-right: 10px; max-width: 100%; overflow: hidden; text-overflow: ellipsis;
  vertical-align: bottom; }
i.dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 5px; vertical-align: 0; }
.pagers { display: flex; justify-content: space-between; gap: 8px; margin: 8px 0; }
.trace-head h1 { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.trace-id { font-size: 12px; color: #595959; overflow-wrap: anywhere; }
.trace-id button { margin-left: 2px; padding: 1px 6px; }
dl.facts { display: flex; flex-wrap: wrap; gap: 2px 22px; margin: 8px 0 4px; }
dl.facts div { display: flex; gap: 6px; align-items: baseline; }
dl.facts dt { color: #595959; font-size: 12px; }
dl.facts dd { margin: 0; font-weight: bold; }
.trace-services { font-size: 12px; margin: 2px 0 6px; }
.tools { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; margin: 8px 0 4px; font-size: 12px; }
.tools span { display: inline-flex; flex-wrap: wrap; align-items: center; gap: 6px; }
.tools input { width: 80px; font: 12px Helvetica, Arial, sans-serif; padding: 2px 4px; border: 1px solid #8a939c; border-radius: 4px; }
.minimap { position: relative; height: 40px; border: 1px solid #c3c9d0; background: #ffffff; cursor: crosshair;
  margin: 4px 0 6px; touch-action: none; user-select: none; }
.minimap .mm-bar { position: absolute; min-width: 1px; border-radius: 1px; pointer-events: none; }
.minimap .mm-window { position: absolute; top: -1px; bottom: -1px; border: 2px solid #1a5fb4; background: rgba(26, 95, 180, 0.08);
  pointer-events: none; }
.minimap .mm-select { position: absolute; top: 0; bottom: 0; background: rgba(26, 95, 180, 0.25); pointer-events: none; display: none; }
.waterfall-box { min-width: 0; }
.waterfall-box > .kit-waterfall > div:nth-child(1), .waterfall-box > .kit-waterfall > div:nth-child(2) { display: none; }
.kit-waterfall > details.folded-away { display: none; }
.kit-waterfall > details.permalinked > summary { outline: 2px solid #1a5fb4; outline-offset: -2px; }
.kit-waterfall.zoomed > details > summary > span:nth-child(4), .kit-waterfall.zoomed > div > span:nth-child(4) {
  overflow: hidden; clip-path: inset(0 0 0 18px); }
.kit-waterfall.zoomed > div > span:nth-child(4) > span:first-child { visibility: hidden; }
.kit-waterfall > div > span:nth-child(4) { cursor: crosshair; }
.zoom-ticks { position: absolute; left: 18px; right: 0; top: 0; bottom: 0; color: #595959; }
.zoom-lines { position: absolute; left: 18px; right: 0; top: 0; bottom: 0; pointer-events: none; }
.zoom-lines i { position: absolute; top: 0; bottom: 0; border-left: 1px solid #D0D4DA; }
.kit-waterfall.zoomed i.kit-t { display: none; }
.zoom-ticks span { position: absolute; top: 0; white-space: nowrap; }
button.fold { font: 11px/13px Helvetica, Arial, sans-serif; padding: 0 3px; margin: 0 4px 0 0; min-width: 18px; border-color: #767f88;
  border-radius: 3px; vertical-align: 1px; }
.extra-box { padding: 0 0 8px 22px; margin-top: -6px; }
table.span-extra { border-collapse: collapse; font-size: 12px; width: 100%; table-layout: fixed; }
table.span-extra th { width: 76px; text-align: left; vertical-align: top; font-weight: normal; color: #595959; padding: 1px 10px 1px 0;
  overflow-wrap: anywhere; }
table.span-extra td { vertical-align: top; padding: 1px 0; overflow-wrap: anywhere; }
.picture svg { display: block; max-width: 100%; height: auto; }
table.kit-logs { width: 100%; border-collapse: collapse; font-size: 12px; table-layout: fixed; }
table.kit-logs th, table.kit-logs td { text-align: left; vertical-align: top; padding: 3px 8px 3px 0; border-bottom: 1px solid #e8eaed;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
table.kit-logs th { color: #595959; font-weight: normal; }
table.kit-logs col.t { width: 96px; } table.kit-logs col.sev { width: 66px; } table.kit-logs col.service { width: 17%; }
table.kit-logs col.span { width: 24%; }
table.kit-logs td.t { font-variant-numeric: tabular-nums; }
table.kit-logs td.body { white-space: normal; overflow-wrap: anywhere; }
.sev-err { color: #b3261e; font-weight: bold; }
.sev-warn { color: #8a5300; font-weight: bold; }
.cmp-form { display: flex; flex-wrap: wrap; align-items: end; gap: 8px 12px; margin: 0 0 10px; font-size: 12px; }
.cmp-form label { display: flex; flex-direction: column; gap: 2px; }
.cmp-form input { width: 290px; max-width: 100%; font: 12px Menlo, Consolas, monospace; padding: 3px 5px; border: 1px solid #8a939c;
  border-radius: 4px; }
.cmp-heads { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 10px; }
.cmp-head { padding: 6px 10px; border: 1px solid #d0d4da; border-radius: 6px; overflow-wrap: anywhere; }
.cmp-legend { display: flex; flex-wrap: wrap; gap: 6px; font-size: 12px; }
.chip { padding: 2px 8px; border-radius: 10px; background: #eef0f3; color: #222222; }
table.compare-table { width: 100%; border-collapse: collapse; font-size: 12px; }
table.compare-table th, table.compare-table td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e8eaed; vertical-align: top; }
table.compare-table th { color: #595959; font-weight: normal; }
table.compare-table .n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.compare-table td.path { overflow-wrap: anywhere; }
table.compare-table td.side { white-space: nowrap; }
.only-a { background: #fde7e7; color: #7a1a1a; }
.only-b { background: #e1f3e5; color: #14532d; }
.differs { background: #fff3d1; color: #574000; }
.cmp-sides { display: grid; grid-template-columns: repeat(auto-fit, minmax(620px, 1fr)); gap: 16px; }
.cmp-side { min-width: 0; }
"""

JS = r"""
"use strict";
const $ = (s, r = document) => r.querySelector(s);
const $$ = (s, r = document) => [...r.querySelectorAll(s)];
const SEARCH = ["service", "operation", "tags", "lookback", "minDuration", "maxDuration", "limit", "traceID", "offset"];
const enc = encodeURIComponent;
const sleep = ms => new Promise(ok => setTimeout(ok, ms));
let seen = -1, lastRefresh = 0, chain = Promise.resolve();
const shown = {results: null, key: null, width: null, view: null, version: null, span: null, options: null};
const ui = {open: new Set(), folded: new Set(), zoom: [0, 1], rows: [], tree: [], under: [], extras: new Map(), total: 0};
let picked = [];

function params() { return new URLSearchParams(location.hash.slice(1)); }
function hashOf(changes) {
  const p = params();
  for (const [k, v] of Object.entries(changes)) { if (v === null || v === undefined || v === "") p.delete(k); else p.set(k, v); }
  const s = p.toString();
  return s ? "#" + s : "";
}
function go(changes) {   // a new view: a new entry in the history (back returns to the last one)
  const h = hashOf(changes);
  if (h === location.hash) return later(route);
  if (h) { location.hash = h; return; }
  history.pushState(null, "", location.pathname + location.search);
  later(route);
}
function quietly(changes) { history.replaceState(null, "", hashOf(changes) || location.pathname + location.search); }
function later(fn) { chain = chain.then(fn, fn).catch(err => console.error(err)); return chain; }
async function text(url) { const r = await fetch(url, {cache: "no-store"}); return {status: r.status, text: r.status === 204 ? "" : await r.text()}; }
function mode() { const p = params(); return p.has("compare") ? "compare" : p.has("map") ? "map" : p.get("trace") ? "trace" : "none"; }

// -- the search ---------------------------------------------------------------------------
function fillForm() {
  const p = params(), f = $("#search");
  for (const k of SEARCH) { const el = f.elements[k]; if (el) el.value = p.get(k) || (k === "limit" ? "20" : k === "lookback" ? "all" : ""); }
}
function fillSelect(select, items, all, want) {   // redrawn only when the names change (an open list stays open)
  const key = JSON.stringify(items.map(([name]) => name)) + "|" + (want || "");
  if (select.dataset.key === key) return;
  select.dataset.key = key; select.textContent = "";
  select.add(new Option(all, ""));
  for (const [name, n] of items) { const o = new Option(name.length > 120 ? name.slice(0, 119) + "…" : name, name);
    o.title = n + " span" + (n === 1 ? "" : "s"); select.add(o); }
  if (want && !items.some(([name]) => name === want)) select.add(new Option(want + " (none kept)", want));
  select.value = want || "";
}
async function refreshOptions() {
  const p = params(), service = p.get("service") || "";
  const same = shown.options && shown.options.service === service;
  const r = await fetch("/part/options?service=" + enc(service) + (same ? "&v=" + shown.options.version : ""), {cache: "no-store"});
  if (r.status !== 200) return;
  const o = await r.json(), f = $("#search");
  shown.options = {service, version: o.version};
  fillSelect(f.elements.service, o.services, "every service", p.get("service"));
  fillSelect(f.elements.operation, o.operations, "every operation", p.get("operation"));
}
async function refreshResults(force) {
  const p = params(), q = new URLSearchParams();
  for (const k of SEARCH) if (p.get(k)) q.set(k, p.get(k));
  const key = q.toString(), w = Math.round($("#results").clientWidth) || 300;
  const same = !force && key === shown.key && w === shown.width;
  const r = await text("/part/results?" + (key ? key + "&" : "") + "w=" + w + "&open=" + enc(p.get("trace") || "")
                       + (same ? "&v=" + shown.results : ""));
  if (r.status === 200) {
    $("#results").innerHTML = r.text;
    const box = $("#results .results");
    shown.results = box ? box.dataset.version : null; shown.key = key; shown.width = w;
  }
  markResults();
}
function markResults() {
  const open = params().get("trace") || "";
  for (const li of $$("#results .trace-item")) {
    li.classList.toggle("selected", li.dataset.traceId === open);
    const box = $("input[type=checkbox]", li); if (box) box.checked = picked.includes(li.dataset.traceId);
  }
  for (const g of $$("#results g.dot")) g.classList.toggle("selected", g.dataset.traceId === open);
  const b = $("#compare-picked");
  b.disabled = picked.length !== 2;
  $("#picked-note").textContent = picked.length ? picked.length + " picked: " + picked.map(t => t.slice(0, 8)).join(", ")
                                               : "☐ pick two traces to compare them";
}

// -- the view: a trace, two traces, the map ---------------------------------------------------
async function refreshView(force) {
  const p = params(), m = mode(), view = $("#view");
  for (const a of $$("header.top nav a")) a.classList.toggle("active", a.dataset.nav === (m === "none" ? "trace" : m));
  if (m === "trace") {
    const id = p.get("trace"), same = shown.view === "trace:" + id;
    const r = await text("/part/trace/" + enc(id) + (same && !force ? "?v=" + shown.version : ""));
    if (r.status === 200) {
      const top = view.scrollTop;
      if (!same) { ui.open = new Set(); ui.folded = new Set(); ui.zoom = [0, 1]; shown.span = null; }
      view.innerHTML = r.text;
      const head = $(".trace-head", view);
      shown.view = "trace:" + id; shown.version = head ? head.dataset.version : null;
      setupTrace(view);
      if (same) view.scrollTop = top;
    }
    const span = p.get("span");
    if (span && span !== shown.span) { shown.span = span; openSpan(span); }
    if (!span) shown.span = null;
  } else if (m === "compare") {
    const [a = "", b = ""] = (p.get("compare") || "").split(",");
    const key = "compare:" + a + "," + b, same = shown.view === key;
    const r = await text("/part/compare?a=" + enc(a) + "&b=" + enc(b) + (same && !force ? "&v=" + shown.version : ""));
    if (r.status === 200) {
      view.innerHTML = compareForm(a, b) + r.text;
      const box = $("[data-version]", view);
      shown.view = key; shown.version = box ? box.dataset.version : null;
    }
  } else if (m === "map") {
    const same = shown.view === "map";
    const r = await text("/part/map" + (same && !force ? "?v=" + shown.version : ""));
    if (r.status === 200) {
      view.innerHTML = r.text;
      const box = $("[data-version]", view);
      shown.view = "map"; shown.version = box ? box.dataset.version : null;
    }
  } else {
    const first = $("#results .trace-item");
    if (first) { quietly({trace: first.dataset.traceId}); markResults(); return refreshView(true); }
    view.innerHTML = '<p class="kit-empty">Pick a trace in the list to open it. New traces are listed as they arrive.</p>';
    shown.view = null;
  }
}
function esc(s) { return String(s).replace(/[&<>"']/g, c => "&#" + c.charCodeAt(0) + ";"); }
function compareForm(a, b) {
  return '<form class="cmp-form"><label>trace A <input name="a" value="' + esc(a) + '" placeholder="a trace id"></label>'
    + '<label>trace B <input name="b" value="' + esc(b) + '" placeholder="a trace id, or pick one in the list"></label>'
    + '<button type="submit" class="primary">compare</button></form>';
}

// -- one trace: the rows, their details, folding, zooming ------------------------------------------
function setupTrace(view) {
  const wf = $(".kit-waterfall", view);
  const data = $(".kit-tree", view);
  ui.tree = data ? JSON.parse(data.textContent) : [];
  ui.rows = wf ? $$(":scope > details", wf) : [];
  const head = $(".trace-head", view);
  ui.total = head ? parseFloat(head.dataset.totalMs) || 0 : 0;
  const seenIds = new Map();
  ui.under = ui.tree.map(() => 0);
  for (let i = ui.tree.length - 1; i >= 0; i--) { const parent = ui.tree[i][2]; if (parent >= 0) ui.under[parent] += 1 + ui.under[i]; }
  ui.rows.forEach((d, i) => {
    const n = seenIds.get(d.dataset.spanId) || 0; seenIds.set(d.dataset.spanId, n + 1);
    d.dataset.key = d.dataset.spanId + "#" + n;
    if (ui.tree[i]) d.dataset.serial = ui.tree[i][0];
    if (ui.under[i]) {
      const cell = $(":scope > summary", d).children[2];
      const b = document.createElement("button");
      b.type = "button"; b.className = "fold"; b.dataset.row = i;
      cell.prepend(b);
    }
    if (ui.open.has(d.dataset.key)) { d.open = true; loadExtra(d); }
  });
  applyFolds();
  buildMinimap();
  applyZoom();
}
function applyFolds() {
  const hidden = [];
  ui.rows.forEach((d, i) => {
    const parent = ui.tree[i] ? ui.tree[i][2] : -1;
    hidden[i] = parent >= 0 && (hidden[parent] || ui.folded.has(ui.rows[parent].dataset.key));
    d.classList.toggle("folded-away", hidden[i]);
    const b = $(":scope > summary button.fold", d);
    if (b) {
      const folded = ui.folded.has(d.dataset.key), n = ui.under[i];
      b.textContent = folded ? "▸ " + n : "▾";
      b.setAttribute("aria-expanded", String(!folded));
      b.title = (folded ? "show the " : "hide the ") + n + " span" + (n === 1 ? "" : "s") + " under this one";
    }
  });
}
async function loadExtra(d) {
  const serial = d.dataset.serial;
  if (!serial || $(".extra-box", d)) return;
  const box = document.createElement("div");
  box.className = "extra-box";
  ($(":scope > div", d) || d).append(box);
  let html = ui.extras.get(serial);
  if (html === undefined) { html = (await text("/part/span/" + serial)).text; ui.extras.set(serial, html); }
  box.innerHTML = html;
  if ($("tr.extra-links", box))   // the page's links (each a link, with its attributes) stand for the waterfall's row
    for (const th of $$("table:not(.span-extra) th", d)) if (th.textContent === "links") th.parentElement.remove();
}
function openSpan(spanId) {
  const d = ui.rows.find(r => r.dataset.spanId === spanId);
  if (!d) return;
  const row = ui.rows.indexOf(d);
  for (let i = ui.tree[row] ? ui.tree[row][2] : -1; i >= 0; i = ui.tree[i][2]) ui.folded.delete(ui.rows[i].dataset.key);
  applyFolds();
  d.open = true;
  for (const o of $$(".permalinked")) o.classList.remove("permalinked");
  d.classList.add("permalinked");
  d.scrollIntoView({block: "center", inline: "nearest"});
}
function timeline(wf) {
  const head = [...wf.children].find(c => c.tagName === "DIV" && c.style.display === "grid");
  const cells = head && head.children[3] ? [head.children[3]] : [];
  for (const d of ui.rows) { const s = $(":scope > summary", d); if (s && s.children[3]) cells.push(s.children[3]); }
  return {head: head ? head.children[3] : null, cells};
}
function gutter(cell) { return parseFloat(getComputedStyle(cell).paddingLeft) || 0; }
function niceTicks(lo, hi, most) {
  const span = Math.max(hi - lo, 1e-9);
  let scale = 1e-3, unit = "µs";
  for (const [s, u] of [[1e-3, "µs"], [1, "ms"], [1000, "s"]]) if (span >= s) { scale = s; unit = u; }
  const raw = span / scale / Math.max(most, 1), mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw) * scale;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 && out.length < 50; v += step) out.push(v);
  return {values: out, label: v => String(+(v / scale).toFixed(6)) + " " + unit};
}
function fmtMs(ms) { return ms < 1000 ? ms.toFixed(2) + " ms" : (ms / 1000).toFixed(2) + " s"; }
function applyZoom() {
  const wf = $("#view .kit-waterfall");
  if (!wf) return;
  const [a, b] = ui.zoom, k = b - a, zoomed = k < 0.9999;
  wf.classList.toggle("zoomed", zoomed);
  const {head, cells} = timeline(wf);
  for (const cell of cells) {
    const inner = $(":scope > span:not(.zoom-lines):not(.zoom-ticks)", cell);
    if (!inner) continue;
    if (inner.dataset.css === undefined) inner.dataset.css = inner.style.cssText;
    inner.style.cssText = inner.dataset.css;
    if (zoomed) {
      const g = gutter(cell);
      inner.style.right = "auto";
      inner.style.width = "calc((100% - " + g + "px) / " + k + ")";
      inner.style.left = "calc(" + g + "px - (100% - " + g + "px) * " + (a / k) + ")";
    }
  }
  for (const old of $$(".zoom-ticks, .zoom-lines", wf)) old.remove();
  if (head && zoomed && ui.total > 0) {   // round ticks for the range shown, and their lines down the rows
    const lo = a * ui.total, hi = b * ui.total, room = head.clientWidth - gutter(head);
    const t = niceTicks(lo, hi, Math.max(2, Math.floor(room / 90)));
    const xs = t.values.map(v => (v - lo) / (hi - lo) * 100);
    const box = document.createElement("span");
    box.className = "zoom-ticks";
    box.style.left = gutter(head) + "px";
    t.values.forEach((v, i) => {
      const s = document.createElement("span"), x = xs[i];
      s.textContent = t.label(v);
      if (x < 8) s.style.left = x + "%"; else if (x > 92) s.style.right = (100 - x) + "%";
      else { s.style.left = x + "%"; s.style.transform = "translateX(-50%)"; }
      box.append(s);
    });
    head.append(box);
    for (const cell of cells.slice(1)) {
      const lines = document.createElement("span");
      lines.className = "zoom-lines";
      lines.style.left = gutter(cell) + "px";
      for (const x of xs) { const i = document.createElement("i"); i.style.left = x + "%"; lines.append(i); }
      cell.prepend(lines);
    }
  }
  const from = $("#view .zoom-from"), to = $("#view .zoom-to"), note = $("#view .zoom-note");
  if (from && ui.total > 0) {
    from.value = +(a * ui.total).toFixed(4); to.value = +(b * ui.total).toFixed(4);
    note.textContent = zoomed ? "showing " + fmtMs(a * ui.total) + " – " + fmtMs(b * ui.total) + " of " + fmtMs(ui.total)
                              : "drag across the strip below (or the time axis) to zoom";
  }
  const win = $("#view .minimap .mm-window");
  if (win) { win.style.left = (a * 100) + "%"; win.style.width = (k * 100) + "%"; }
}
function setZoom(a, b) {
  a = Math.min(Math.max(a, 0), 1); b = Math.min(Math.max(b, 0), 1);
  if (b - a < 1e-5) return;
  ui.zoom = [a, b];
  applyZoom();
}
function buildMinimap() {
  const mm = $("#view .minimap");
  if (!mm) return;
  mm.textContent = "";
  const n = Math.max(ui.rows.length, 1), h = mm.clientHeight || 40, row = (h - 6) / n;
  ui.rows.forEach((d, i) => {
    const bar = $(":scope > summary .kit-bar", d);
    if (!bar) return;
    const m = document.createElement("i");
    m.className = "mm-bar";
    m.style.left = bar.style.left; m.style.width = bar.style.width; m.style.background = bar.style.background;
    m.style.top = (3 + i * row) + "px"; m.style.height = Math.max(1, row - (row > 3 ? 1 : 0)) + "px";
    mm.append(m);
  });
  for (const c of ["mm-window", "mm-select"]) { const el = document.createElement("div"); el.className = c; mm.append(el); }
  alignMinimap();
}
function alignMinimap() {
  const mm = $("#view .minimap"), wf = $("#view .kit-waterfall");
  if (!mm || !wf) return;
  const {head} = timeline(wf);
  if (!head) return;
  const outer = mm.parentElement.getBoundingClientRect(), cell = head.getBoundingClientRect(), g = gutter(head);
  mm.style.marginLeft = Math.max(cell.left + g - outer.left, 0) + "px";
  mm.style.width = Math.max(cell.width - g, 40) + "px";
}
function startDrag(ev, toWhole) {
  if (ev.button !== 0) return;
  ev.preventDefault();
  const sel = $("#view .minimap .mm-select"), f0 = toWhole(ev.clientX);
  const show = f1 => { if (sel) { sel.style.display = "block"; sel.style.left = Math.min(f0, f1) * 100 + "%"; sel.style.width = Math.abs(f1 - f0) * 100 + "%"; } };
  const move = e2 => show(toWhole(e2.clientX));
  const up = e2 => {
    window.removeEventListener("pointermove", move);
    if (sel) sel.style.display = "none";
    const f1 = toWhole(e2.clientX);
    if (Math.abs(f1 - f0) > 0.002) setZoom(Math.min(f0, f1), Math.max(f0, f1));
  };
  window.addEventListener("pointermove", move);
  window.addEventListener("pointerup", up, {once: true});
}

// -- events ----------------------------------------------------------------------------------------
document.addEventListener("pointerdown", ev => {
  const mm = ev.target.closest && ev.target.closest("#view .minimap");
  if (mm) {
    const r = mm.getBoundingClientRect();
    return startDrag(ev, x => Math.min(Math.max((x - r.left) / r.width, 0), 1));
  }
  const wf = ev.target.closest && ev.target.closest("#view .kit-waterfall");
  if (wf) {
    const {head} = timeline(wf);
    if (head && head.contains(ev.target)) {
      const r = head.getBoundingClientRect(), g = gutter(head), [a, b] = ui.zoom;
      return startDrag(ev, x => a + Math.min(Math.max((x - r.left - g) / (r.width - g), 0), 1) * (b - a));
    }
  }
});
document.addEventListener("click", ev => {
  const t = ev.target;
  const fold = t.closest("button.fold");
  if (fold) {
    ev.preventDefault(); ev.stopPropagation();
    const key = ui.rows[+fold.dataset.row].dataset.key;
    if (ui.folded.has(key)) ui.folded.delete(key); else ui.folded.add(key);
    return applyFolds();
  }
  if (t.closest("button.fold-all")) { ui.rows.forEach((d, i) => { if (ui.under[i]) ui.folded.add(d.dataset.key); }); return applyFolds(); }
  if (t.closest("button.unfold-all")) { ui.folded.clear(); return applyFolds(); }
  if (t.closest("button.zoom-reset")) return setZoom(0, 1);
  if (t.closest("button.zoom-apply")) {
    const from = parseFloat($("#view .zoom-from").value), to = parseFloat($("#view .zoom-to").value);
    if (ui.total > 0 && isFinite(from) && isFinite(to)) setZoom(Math.min(from, to) / ui.total, Math.max(from, to) / ui.total);
    return;
  }
  const open = t.closest("a[data-open], g.dot[data-trace-id]");
  if (open && !(ev.ctrlKey || ev.metaKey || ev.shiftKey)) { ev.preventDefault(); return go({trace: open.dataset.open || open.dataset.traceId, span: null, compare: null, map: null}); }
  const pager = t.closest("button.pager");
  if (pager) return go({offset: pager.dataset.offset === "0" ? null : pager.dataset.offset});
  const cmp = t.closest("button.compare-with");
  if (cmp) return go({compare: cmp.dataset.traceId + ",", trace: null, span: null, map: null});
  const nav = t.closest("header.top nav a");
  if (nav) {
    ev.preventDefault();
    const m = nav.dataset.nav, p = params();
    if (m === "trace") return go({compare: null, map: null});
    if (m === "map") return go({map: "1", compare: null, span: null});
    return go({compare: p.get("compare") || (p.get("trace") || "") + ",", map: null, span: null});
  }
});
document.addEventListener("change", ev => {
  const box = ev.target.closest("#results input[type=checkbox]");
  if (!box) return;
  picked = picked.filter(t => t !== box.value);
  if (box.checked) { picked.push(box.value); if (picked.length > 2) picked.shift(); }
  markResults();
  if (mode() === "compare" && box.checked) {
    const [a = "", b = ""] = (params().get("compare") || "").split(",");
    if (!a) go({compare: box.value + "," + b}); else if (!b && box.value !== a) go({compare: a + "," + box.value});
  }
});
document.addEventListener("toggle", ev => {
  const d = ev.target;
  if (!(d instanceof HTMLDetailsElement) || !d.dataset.key || !d.closest("#view .trace")) return;
  if (d.open) {
    ui.open.add(d.dataset.key);
    loadExtra(d);
    shown.span = d.dataset.spanId;
    quietly({span: d.dataset.spanId});
  } else {
    ui.open.delete(d.dataset.key);
    d.classList.remove("permalinked");
    if (params().get("span") === d.dataset.spanId) { shown.span = null; quietly({span: null}); }
  }
}, true);
$("#compare-picked").addEventListener("click", () => { if (picked.length === 2) go({compare: picked.join(","), trace: null, span: null, map: null}); });
$("#search").addEventListener("submit", ev => {
  ev.preventDefault();
  const f = ev.target, changes = {offset: null};
  for (const k of SEARCH) if (f.elements[k]) changes[k] = f.elements[k].value.trim();
  if (changes.limit === "20") changes.limit = null;
  if (changes.lookback === "all") changes.lookback = null;
  go(changes);
});
$("#search").elements.service.addEventListener("change", ev => {
  const p = params(); p.set("service", ev.target.value);
  fetch("/part/options?service=" + enc(ev.target.value), {cache: "no-store"}).then(r => r.json()).then(o =>
    fillSelect($("#search").elements.operation, o.operations, "every operation", ""));
});
$("#reset").addEventListener("click", () => { const c = {offset: null}; for (const k of SEARCH) c[k] = null; go(c); });
document.addEventListener("submit", ev => {
  const f = ev.target.closest(".cmp-form");
  if (!f) return;
  ev.preventDefault();
  go({compare: f.elements.a.value.trim() + "," + f.elements.b.value.trim(), trace: null, map: null});
});
window.addEventListener("hashchange", () => later(route));
window.addEventListener("resize", () => { alignMinimap(); applyZoom(); clearTimeout(window.kitResize);
  window.kitResize = setTimeout(() => later(() => refreshResults(false)), 300); });

async function route() { fillForm(); await refresh(true); }
async function refresh(force) {
  lastRefresh = Date.now();
  const [s] = await Promise.all([text("/part/summary"), refreshOptions()]);
  if (s.status === 200) $("#summary").innerHTML = s.text;
  await refreshResults(force);
  await refreshView(force);
}
async function follow() {
  for (;;) {
    try {
      const r = await fetch("/api/changes?after=" + seen + "&timeout_s=10", {cache: "no-store"});
      const totals = await r.json();
      if (totals.requests !== seen) {
        const first = seen === -1;
        seen = totals.requests;
        if (!first) {
          const wait = lastRefresh + 1000 - Date.now();
          if (wait > 0) await sleep(wait);
          await later(() => refresh(false));
        }
      }
    } catch (err) { await sleep(2000); }   // the receiver stopped: try again
  }
}
async function start() {   // the count of requests first, so one arriving while the page loads is followed
  try { seen = (await (await fetch("/api/changes?after=-1&timeout_s=0", {cache: "no-store"})).json()).requests; }
  catch (err) { seen = -1; }
  await later(route);
  follow();
}
start();
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>kit receiver · traces</title><link rel="icon" href="/favicon.ico"><style>__CSS__</style></head>
<body><header class="top"><b class="brand">kit receiver</b>
<nav><a href="#" data-nav="trace" class="active">Traces</a><a href="#" data-nav="compare">Compare</a>
<a href="#" data-nav="map">Service map</a></nav><span id="summary">__SUMMARY__</span></header>
<div id="app"><aside id="side"><form id="search" autocomplete="off"><h2>Search</h2>
<label>Service<select name="service"><option value="">every service</option></select></label>
<label>Operation<select name="operation"><option value="">every operation</option></select></label>
<label>Tags<input name="tags" placeholder="key=value error=true" spellcheck="false"></label>
<label>Lookback<select name="lookback">__LOOKBACK__</select></label>
<div class="pair"><label>Min duration<input name="minDuration" placeholder="e.g. 1.2ms"></label>
<label>Max duration<input name="maxDuration" placeholder="e.g. 2s"></label></div>
<div class="pair"><label>Limit results<input name="limit" type="number" min="1" max="1500" value="20"></label>
<label>Trace id<input name="traceID" placeholder="or its start" spellcheck="false"></label></div>
<div class="buttons"><button type="submit" class="primary">Find traces</button><button type="button" id="reset">clear</button></div>
</form><div class="compare-bar"><button type="button" id="compare-picked" disabled>compare the 2 picked</button>
<span id="picked-note" class="dim">☐ pick two traces to compare them</span></div>
<div id="results"><p class="kit-empty">Loading the traces…</p></div></aside>
<main id="view"><p class="kit-empty">Loading…</p></main></div>
<script>__JS__</script></body></html>
"""


def shell(summary: str, lookback_options: str) -> str:
    """The page as ``GET /`` sends it: no telemetry in it but the totals."""
    return (PAGE.replace("__CSS__", CSS).replace("__JS__", JS).replace("__LOOKBACK__", lookback_options)
            .replace("__SUMMARY__", summary))


def _favicon() -> bytes:
    """A 16×16 icon of three bars, as a waterfall draws them (an .ico holding one 32-bit bitmap)."""
    size = 16
    bars = [(3, 2, 10, (0xA8, 0x78, 0x4C)), (7, 5, 13, (0x18, 0x85, 0xF5)), (11, 8, 15, (0x4B, 0xA2, 0x54))]
    pixels = bytearray()
    for y in range(size - 1, -1, -1):   # bottom-up, as a bitmap stores its rows
        for x in range(size):
            color = next(((b, g, r) for top, x0, x1, (b, g, r) in bars if top <= y < top + 3 and x0 <= x < x1), None)
            pixels += bytes((*color, 255)) if color else bytes(4)
    mask = bytes(4 * size)
    image = struct.pack("<IiiHHIIiiII", 40, size, 2 * size, 1, 32, 0, len(pixels) + len(mask), 0, 0, 0, 0) + pixels + mask
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), 22) + image


FAVICON = _favicon()
