"""What a reader sees of a view in Chromium, measured with the browser's own boxes.

:func:`audit` runs in the page (``page.evaluate(AUDIT, selector)``) and returns, for the
container ``selector``:

* ``overflow``: how far anything sticks out of the container to the right (px);
* ``texts``: every visible piece of text (an SVG ``<text>``, or an HTML text node cut to
  the boxes that clip it): its words, box, size on screen (px, an SVG's scale included),
  colour, the colour under it, whether something is painted over it, and whether it sits
  on one background.

:func:`problems` turns that into the sentences a test asserts empty: overflow, texts that
overlap, text covered by a shape or across a shape's edge, under 11 px, under 4.5:1.
"""

from __future__ import annotations

from kit.views.common import contrast

AUDIT = r"""
(selector) => {
  const box = document.querySelector(selector);
  const outer = box.getBoundingClientRect();
  const rgb = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return (p.length > 3 && p[3] === 0) ? null : p.slice(0, 3); };
  const bg = el => { for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor); if (c) return c; } return [255, 255, 255]; };
  const svgFill = el => { const f = getComputedStyle(el).fill; return rgb(f); };
  const visible = el => {   // drawn: not inside a closed <details> (its summary excepted), not hidden
    for (let d = el.closest('details'); d; d = d.parentElement && d.parentElement.closest('details')) {
      const summary = d.querySelector(':scope > summary');
      if (!d.open && !(summary && summary.contains(el))) return false;
    }
    return el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  const clipOf = node => { let r = {left: -1e9, top: -1e9, right: 1e9, bottom: 1e9};
    for (let e = node.parentElement; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.overflowX !== 'visible' || s.overflowY !== 'visible') { const b = e.getBoundingClientRect();
        r = {left: Math.max(r.left, b.left), top: Math.max(r.top, b.top), right: Math.min(r.right, b.right),
             bottom: Math.min(r.bottom, b.bottom)}; } }
    return r; };
  let overflow = 0;
  for (const el of box.querySelectorAll('*')) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const clip = clipOf(el);
    overflow = Math.max(overflow, Math.min(r.right, clip.right) - outer.right);
  }
  overflow = Math.max(overflow, box.scrollWidth - box.clientWidth);
  const texts = [];
  const hitsOwn = (el, x, y) => { const top = document.elementFromPoint(x, y);
    return top && (top === el || el.contains(top) || top.contains(el)); };
  const under = (el, x, y) => { const all = document.elementsFromPoint(x, y);
    const i = all.findIndex(e => e === el || el.contains(e));
    for (const e of all.slice(i + 1)) { if (e.contains(el)) continue; if (e.tagName === 'svg') return 'svg'; return e; }
    return null; };
  const sample = (r, el) => { const pts = [[0.5, 0.5], [0.15, 0.5], [0.85, 0.5], [0.5, 0.3], [0.5, 0.7]];
    return pts.map(([fx, fy]) => [r.left + fx * r.width, r.top + fy * r.height]); };
  // SVG texts
  for (const t of box.querySelectorAll('svg text')) {
    if (!visible(t) || !t.textContent.trim()) continue;
    const r = t.getBoundingClientRect();
    const scale = t.getScreenCTM().a;
    const size = parseFloat(getComputedStyle(t).fontSize) * scale;
    const pts = sample(r, t);
    const below = pts.map(([x, y]) => under(t, x, y));
    const fills = [t, ...t.querySelectorAll('tspan')].filter(e => e.textContent.trim() && (e === t ? [...t.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()) : true)).map(svgFill);
    const back = below[0] === 'svg' || !below[0] ? [255, 255, 255] : (below[0].namespaceURI.endsWith('svg') ? svgFill(below[0]) : bg(below[0]));
    texts.push({words: t.textContent.slice(0, 40), box: [r.left, r.top, r.right, r.bottom], size, colors: fills,
                back, covered: pts.some(([x, y]) => !hitsOwn(t, x, y)),
                oneBackground: below.every(b => b === below[0]), kind: 'svg'});
  }
  // HTML text nodes
  const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || el.closest('svg') || !visible(el)) continue;
    const range = document.createRange(); range.selectNodeContents(n);
    const clip = clipOf(n);
    const lines = {};   // one box per line of the text (an ellipsis adds a rect of its own)
    for (const q of range.getClientRects()) {
      const k = Math.round(q.top); const l = lines[k];
      lines[k] = l ? {left: Math.min(l.left, q.left), top: Math.min(l.top, q.top), right: Math.max(l.right, q.right),
                      bottom: Math.max(l.bottom, q.bottom)} : {left: q.left, top: q.top, right: q.right, bottom: q.bottom};
    }
    for (const q of Object.values(lines)) {
      const r = {left: Math.max(q.left, clip.left), top: Math.max(q.top, clip.top),
                 right: Math.min(q.right, clip.right), bottom: Math.min(q.bottom, clip.bottom)};
      r.width = r.right - r.left; r.height = r.bottom - r.top;
      if (r.width < 2 || r.height < 2) continue;
      const pts = sample(r, el);
      const below = pts.map(([x, y]) => under(el, x, y));
      texts.push({words: n.textContent.slice(0, 40), box: [r.left, r.top, r.right, r.bottom],
                  size: parseFloat(getComputedStyle(el).fontSize), colors: [rgb(getComputedStyle(el).color)],
                  back: below[0] && below[0] !== 'svg' ? bg(below[0]) : bg(el),
                  covered: pts.some(([x, y]) => !hitsOwn(el, x, y)),
                  oneBackground: below.every(b => b === below[0]), kind: 'html'});
    }
  }
  return {overflow, texts, width: outer.width};
}
"""


def _hex(rgb) -> str:
    return "#%02x%02x%02x" % tuple(int(round(c)) for c in rgb)


def _overlap(a, b, slack: float = 0.5) -> bool:
    return a[0] + slack < b[2] and b[0] + slack < a[2] and a[1] + slack < b[3] and b[1] + slack < a[3]


def problems(result: dict) -> list[str]:
    found = []
    if result["overflow"] > 0.5:
        found.append(f"sticks out of its {result['width']:.0f} px container by {result['overflow']:.1f} px")
    texts = result["texts"]
    for i, t in enumerate(texts):
        words = t["words"]
        if t["size"] < 11 - 1e-6:
            found.append(f"{words!r} is {t['size']:.1f} px")
        if t["covered"]:
            found.append(f"{words!r} is covered by something drawn over it")
        if not t["oneBackground"]:
            found.append(f"{words!r} is not on one background (it crosses a shape's edge)")
        for color in t["colors"]:
            if color is None:
                continue
            ratio = contrast(_hex(color), _hex(t["back"]))
            if ratio < 4.5:
                found.append(f"{words!r}: {_hex(color)} on {_hex(t['back'])} is {ratio:.2f}:1")
        for other in texts[i + 1:]:
            if _overlap(t["box"], other["box"]):
                found.append(f"{words!r} overlaps {other['words']!r}")
    return found
