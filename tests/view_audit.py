"""Measure a view's SVG the way a reader sees it: every text's box (from the same font
metrics the layout used), every shape's box, in paint order. A picture passes when

* every text is inside the picture, at least 11 px in a 700 px wide column;
* no two texts overlap;
* nothing is painted over a text, and the topmost shape under a text holds all of it (a
  text is on one background, not across a box's edge or on an arrow);
* each text's colour has a contrast of at least 4.5:1 (WCAG AA) on that background.

Used by tests/test_views.py (over hypothesis-made traces); tests/test_browser.py checks
the same in Chromium with the browser's own boxes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from kit.views.common import contrast
from kit.views.svg import ASCENT, DESCENT, width

NS = "{http://www.w3.org/2000/svg}"
NARROWEST = 700


def _f(el, name, default=0.0):
    return float(el.get(name, default))


def _hex(color: str) -> str:
    if color in (None, "white"):
        return "#ffffff"
    if color == "black":
        return "#000000"
    if re.fullmatch(r"#[0-9a-fA-F]{3}", color):
        return "#" + "".join(c * 2 for c in color[1:])
    return color


def elements(svg: str):
    """(kind, box, fill, element) in paint order; kind is "text" or "shape"."""
    root = ET.fromstring(svg)
    out = []

    def walk(el, inherited):
        tag = el.tag.replace(NS, "")
        style = {**inherited, **{k: el.get(k) for k in ("fill", "font-size", "font-weight", "stroke-width")
                                 if el.get(k) is not None}}
        if tag == "rect":
            x, y, w, h = _f(el, "x"), _f(el, "y"), _f(el, "width"), _f(el, "height")
            grow = _f(el, "stroke-width", 1) / 2 if el.get("stroke") else 0
            out.append(("shape", (x - grow, y - grow, x + w + grow, y + h + grow), style.get("fill"), el))
        elif tag == "circle":
            cx, cy, r = _f(el, "cx"), _f(el, "cy"), _f(el, "r")
            out.append(("shape", (cx - r, cy - r, cx + r, cy + r), style.get("fill"), el))
        elif tag == "line":
            lw = _f(el, "stroke-width", 1) / 2
            xs, ys = (_f(el, "x1"), _f(el, "x2")), (_f(el, "y1"), _f(el, "y2"))
            out.append(("line", (min(xs) - lw, min(ys) - lw, max(xs) + lw, max(ys) + lw), None, el))
        elif tag == "path":
            pts = [tuple(map(float, p)) for p in re.findall(r"(-?[\d.]+),(-?[\d.]+)", el.get("d", ""))]
            lw = _f(el, "stroke-width", 1) / 2
            if el.get("fill") == "none":   # an arrow's line: each segment its own box
                for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
                    out.append(("line", (min(x1, x2) - lw, min(y1, y2) - lw, max(x1, x2) + lw, max(y1, y2) + lw),
                                None, el))
            elif pts:
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                out.append(("shape", (min(xs), min(ys), max(xs), max(ys)), style.get("fill"), el))
        elif tag == "text":
            size = float(style.get("font-size", 12))
            pieces = [(el.text or "", style)] + [
                (t.text or "", {**style, **{k: t.get(k) for k in ("fill", "font-size", "font-weight") if t.get(k)}})
                for t in el if t.tag.replace(NS, "") == "tspan"]
            pieces = [(s, st) for s, st in pieces if s]
            total = sum(width(s, float(st.get("font-size", size)), st.get("font-weight") == "bold") for s, st in pieces)
            anchor = el.get("text-anchor", "start")
            x = _f(el, "x") - (total / 2 if anchor == "middle" else total if anchor == "end" else 0)
            y = _f(el, "y")
            if pieces and "".join(s for s, _ in pieces).strip():
                out.append(("text", (x, y - ASCENT * size, x + total, y + DESCENT * size),
                            [st.get("fill", "#000000") for _, st in pieces], el, size))
            return
        if tag in ("svg", "g"):
            for child in el:
                walk(child, style)

    walk(root, {"fill": "#000000", "font-size": root.get("font-size", "12")})
    return root, out


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(inner, outer) -> bool:
    return outer[0] <= inner[0] + 0.01 and outer[1] <= inner[1] + 0.01 and inner[2] <= outer[2] + 0.01 \
        and inner[3] <= outer[3] + 0.01


def problems(svg: str) -> list[str]:
    """What a reader would notice is wrong with the picture (empty: nothing)."""
    root, els = elements(svg)
    _, _, view_w, view_h = (float(v) for v in root.get("viewBox").split())
    found = []
    texts = [(i, e) for i, e in enumerate(els) if e[0] == "text"]
    for i, (_, box, fills, el, size) in texts:
        words = "".join(el.itertext())[:40]
        if not _inside(box, (0, 0, view_w, view_h)):
            found.append(f"{words!r} leaves the picture: {box}")
        if size * min(NARROWEST / view_w, 1) < 11 - 1e-9:
            found.append(f"{words!r} is {size * NARROWEST / view_w:.1f} px in a {NARROWEST} px column")
        for j, other in texts:
            if j > i and _overlap(box, other[1]):
                found.append(f"{words!r} overlaps {''.join(other[3].itertext())[:40]!r}")
        above = [e for e in els[i + 1:] if e[0] != "text" and _overlap(box, e[1])]
        if above:
            found.append(f"{words!r} is covered by a {above[0][3].tag.replace(NS, '')}")
        below = [e for e in els[:i] if e[0] != "text" and _overlap(box, e[1])]
        if not below:
            continue
        top = below[-1]
        if top[0] == "line" or not _inside(box, top[1]):
            found.append(f"{words!r} is not on one background (it crosses a {top[3].tag.replace(NS, '')})")
            continue
        for fill in fills:
            ratio = contrast(_hex(fill), _hex(top[2]))
            if ratio < 4.5:
                found.append(f"{words!r}: {fill} on {top[2]} is {ratio:.2f}:1")
    return found
