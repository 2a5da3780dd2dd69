"""The views' SVG drawn as a PNG, so a notebook that is not trusted (or GitHub) shows the picture.

    >>> png = to_png('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 20">'
    ...              '<text x="4" y="14">hi</text></svg>')
    >>> png[:4]
    b'\\x89PNG'

JupyterLab shows a stored SVG or JavaScript output only once the notebook is trusted; a
PNG always. So each picture's display bundle carries both (:func:`bundle`): the SVG (or
HTML) for a trusted notebook, the PNG for an untrusted one, the text form for a terminal.

Drawn with matplotlib's Agg, already installed for the charts; only the SVG the views write
is understood (see :mod:`kit.views.svg`), at twice the size (sharp on HiDPI screens).
"""

from __future__ import annotations

import io
import re
import warnings
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
SCALE = 2   # pixels per CSS px
SUPPORTED = {"svg", "g", "title", "rect", "line", "circle", "path", "text", "tspan"}


def _color(value: str | None, opacity: float = 1.0):
    if not value or value == "none":
        return None
    from matplotlib.colors import to_rgba
    try:
        r, g, b, a = to_rgba(value)
    except ValueError:
        return None
    return r, g, b, a * opacity


def _f(el, name, default=0.0) -> float:
    try:
        return float(el.get(name, default))
    except ValueError:
        return default


def _path_points(d: str) -> list[list[tuple[float, float]]]:
    """The sub-paths of an absolute ``M x,y L x,y … Z`` path."""
    shapes, current = [], []
    for command, args in re.findall(r"([MLZ])([^MLZ]*)", d.upper()):
        nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if command == "M" and current:
            shapes.append(current)
            current = []
        current += list(zip(nums[0::2], nums[1::2]))
        if command == "Z" and current:
            shapes.append(current)
            current = []
    if current:
        shapes.append(current)
    return shapes


def _draw(ax, el, inherited: dict) -> None:
    from matplotlib import patches
    from matplotlib.lines import Line2D

    from kit.views.svg import width
    tag = el.tag.replace(NS, "")
    style = {**inherited, **{k: el.get(k) for k in ("fill", "stroke", "stroke-width", "font-size", "font-weight",
                                                   "text-anchor", "opacity", "fill-opacity",
                                                   "stroke-dasharray") if el.get(k) is not None}}
    opacity = float(style.get("opacity", 1))
    fill = _color(style.get("fill", "black"), opacity * float(style.get("fill-opacity", 1)))
    stroke = _color(style.get("stroke"), opacity)
    lw = float(style.get("stroke-width", 1))
    dash = style.get("stroke-dasharray")
    dashes = (0, tuple(float(v) / lw for v in re.split(r"[ ,]+", dash.strip()))) if dash else "solid"
    if tag == "rect":
        x, y, w, h, rx = _f(el, "x"), _f(el, "y"), _f(el, "width"), _f(el, "height"), _f(el, "rx")
        box = (patches.FancyBboxPatch((x + rx, y + rx), max(w - 2 * rx, 0), max(h - 2 * rx, 0),
                                      boxstyle=f"round,pad={rx}") if rx else patches.Rectangle((x, y), w, h))
        box.set(facecolor=fill or "none", edgecolor=stroke or "none", linewidth=lw if stroke else 0)
        ax.add_patch(box)
    elif tag == "circle":
        ax.add_patch(patches.Circle((_f(el, "cx"), _f(el, "cy")), _f(el, "r"), facecolor=fill or "none",
                                    edgecolor=stroke or "none", linewidth=lw if stroke else 0))
    elif tag == "line":
        ax.add_line(Line2D([_f(el, "x1"), _f(el, "x2")], [_f(el, "y1"), _f(el, "y2")], color=stroke or "none",
                           linewidth=lw, linestyle=dashes, solid_capstyle="butt"))
    elif tag == "path":
        for points in _path_points(el.get("d", "")):
            closed = len(points) > 2 and fill is not None
            ax.add_patch(patches.Polygon(points, closed=closed, facecolor=fill if closed else "none",
                                         edgecolor=stroke or "none", linewidth=lw if stroke else 0,
                                         linestyle=dashes))
    elif tag == "text":
        pieces = [(el.text or "", style)]
        for span in el:
            if span.tag.replace(NS, "") == "tspan":
                span_style = {**style, **{k: span.get(k) for k in ("fill", "font-size", "font-weight")
                                          if span.get(k) is not None}}
                pieces.append((span.text or "", span_style))
            pieces.append((span.tail or "", style))
        pieces = [(s.replace("\n", " "), st) for s, st in pieces if s]
        sizes = [(s, st, float(st.get("font-size", 12)), st.get("font-weight") == "bold") for s, st in pieces]
        total = sum(width(s, size, bold) for s, _, size, bold in sizes)
        anchor = style.get("text-anchor", "start")
        x = _f(el, "x") - (total / 2 if anchor == "middle" else total if anchor == "end" else 0)
        for s, st, size, bold in sizes:
            ax.text(x, _f(el, "y"), s, fontsize=size, fontweight="bold" if bold else "normal",
                    color=_color(st.get("fill", "black"), opacity) or "none", family="DejaVu Sans",
                    ha="left", va="baseline", parse_math=False)
            x += width(s, size, bold)
        return
    if tag in ("svg", "g"):
        for child in el:
            _draw(ax, child, style)


def to_png(svg: str, scale: int = SCALE) -> bytes:
    """The PNG of one of the views' SVG pictures, ``scale`` pixels per px of its viewBox."""
    from matplotlib.figure import Figure
    root = ET.fromstring(svg)
    _, _, w, h = (float(v) for v in root.get("viewBox").split())
    fig = Figure(figsize=(w / 72, h / 72), dpi=72 * scale)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_axis_off()
    for child in root:
        _draw(ax, child, {"fill": "black", "font-size": root.get("font-size", "12")})
    return save(fig)


def save(fig, dpi: float | None = None) -> bytes:
    """A matplotlib figure as a PNG, reduced to a palette of 256 colours (a third of the bytes)."""
    from PIL import Image
    buf = io.BytesIO()
    with warnings.catch_warnings():   # a glyph missing from DejaVu Sans is drawn as a box: no warning
        warnings.simplefilter("ignore")
        fig.savefig(buf, format="png", dpi=dpi or "figure", metadata={"Software": None})
    image = Image.open(buf).convert("RGB").quantize(256, dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def view_width(svg: str) -> float:
    """The width of an SVG's viewBox: the px its PNG is shown at."""
    return float(re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+)', svg).group(1))


def bundle(text: str, png: bytes | None, width: float, **pictures) -> tuple[dict, dict]:
    """A display bundle and its metadata: ``text/plain`` and the PNG (shown ``width`` px wide),
    plus the other forms given, e.g. ``**{"image/svg+xml": svg}``."""
    data = {"text/plain": text, **{k: v for k, v in pictures.items() if v is not None}}
    if png is None:
        return data, {}
    return {**data, "image/png": png}, {"image/png": {"width": int(round(width))}}
