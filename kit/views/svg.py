"""Writing the views' SVG: text measured before it is placed, so labels are laid out, not guessed.

    >>> width("hello", 12) > 0                        # px, in DejaVu Sans (matplotlib's font)
    True
    >>> fit("a very long span name indeed", 12, 80)   # cut with … to fit 80 px
    'a very long…'

Widths are measured with DejaVu Sans, the font matplotlib ships and draws the PNG with;
browsers draw the SVG with Helvetica or Arial, which are narrower, so a label that fits
here fits there too. The views use only the SVG that :mod:`kit.views.png` can draw:
``rect``, ``line``, ``circle``, ``path`` (M, L, Z), ``text`` with ``tspan``, ``g``, ``title``.

Every picture is ``width="100%"`` with a ``viewBox`` at least :data:`CANVAS` wide: it fills
its container, and its text keeps one size from picture to picture (a container as wide as
the canvas shows 12 px text at 12 px; the narrowest notebook column, 700 px, at 11.7 px).
"""

from __future__ import annotations

import html
from functools import lru_cache

CANVAS = 720             # px: the width every picture is laid out for
FONT = "Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"
ASCENT, DESCENT = 0.93, 0.24   # of the font size, above and below the baseline (DejaVu Sans)


@lru_cache(maxsize=2)
def _font(bold: bool):
    from matplotlib import font_manager, ft2font
    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans",
                                                             weight="bold" if bold else "normal"))
    font = ft2font.FT2Font(path)
    font.set_size(100, 72)
    return font


@lru_cache(maxsize=8192)
def _advance(ch: str, bold: bool) -> float:
    """The advance of one character, in em."""
    font = _font(bold)
    if font.get_char_index(ord(ch)) == 0:
        return 1.2   # not in DejaVu Sans: the browser takes it from another font (CJK, emoji): wide
    return font.load_char(ord(ch)).linearHoriAdvance / 65536 / 100


def width(s: str, size: float, bold: bool = False) -> float:
    """The width of ``s`` in px at ``size`` px (no kerning: a little wider than drawn)."""
    return sum(_advance(ch, bold) for ch in s) * size


def fit(s: str, size: float, room: float, bold: bool = False) -> str:
    """``s``, or its longest start that fits ``room`` px with ``…`` after it."""
    s = s[:400]
    if width(s, size, bold) <= room:
        return s
    lo, hi = 0, len(s)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if width(s[:mid] + "…", size, bold) <= room:
            lo = mid
        else:
            hi = mid - 1
    return (s[:lo] + "…") if lo or width("…", size, bold) <= room else ""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def document(view_w: float, view_h: float, body: list[str], label: str = "") -> str:
    """The ``<svg>``: fills its container's width, white, in the views' font."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {view_w:.0f} {view_h:.0f}" '
            f'font-family="{FONT}" font-size="12" role="img" aria-label="{esc(label)}">'
            f'<rect width="{view_w:.0f}" height="{view_h:.0f}" fill="#ffffff"/>' + "".join(body) + "</svg>")


def label(x: float, y: float, s: str, size: float = 12, fill: str = "#222222", anchor: str = "start",
         bold: bool = False, extra: str = "") -> str:
    """A ``<text>`` at baseline ``y`` (``s`` is escaped here)."""
    weight = ' font-weight="bold"' if bold else ""
    anchor_attr = f' text-anchor="{anchor}"' if anchor != "start" else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" fill="{fill}"{anchor_attr}{weight}{extra}>'
            f"{esc(s)}</text>")


def title(s: str) -> str:
    """A tooltip (the first 500 characters)."""
    return f"<title>{esc(s[:500])}</title>"
