"""What the views share: colours (legible: WCAG AA contrast), durations, axis ticks, units.

    >>> contrast("#595959", "#ffffff") >= 4.5       # every text colour on its background
    True
    >>> ticks(3.94)                                 # round values, one unit per axis
    (1.0, 'ms', [0.0, 1.0, 2.0, 3.0])
    >>> ticks(255.43, most=6)
    (1.0, 'ms', [0.0, 50.0, 100.0, 150.0, 200.0, 250.0])
    >>> unit_words("{message}"), unit_words("By")
    ('messages', 'bytes')
"""

from __future__ import annotations

import math
import re

from kit.views.values import text, utc

PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#72B7B2", "#EECA3B", "#9D755D", "#BAB0AC"]
ERROR_RED = "#C62828"     # 5.6:1 on white: error text and the outline of a failed span
OK_GREEN = "#1B7F3B"      # 5.2:1 on white
INK = "#222222"           # text
DIM = "#595959"           # secondary text: 7.0:1 on white, 6.4:1 on STRIPE
STRIPE = "#F3F4F6"        # every other row
GRID = "#D0D4DA"          # lines behind the bars
_service_colors: dict[str, str] = {}


def service_color(service) -> str:
    """The colour of a service, the same in every picture of this kernel (the palette in
    the order services are first drawn). Any value is read as its text."""
    key = text(service)
    if key not in _service_colors:
        _service_colors[key] = PALETTE[len(_service_colors) % len(PALETTE)]
    return _service_colors[key]


def _luminance(color: str) -> float:
    r, g, b = (int(color.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21; text needs 4.5)."""
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_on(bg: str) -> str:
    """Black-ish or white text, whichever reads better on ``bg`` (at least 4.5:1 for any colour)."""
    return "#ffffff" if contrast("#ffffff", bg) >= contrast("#111111", bg) else "#111111"


def fmt_ms(ms) -> str:
    """A duration in milliseconds, as ``0.42 ms`` or ``1.20 s`` (``?`` when unknown)."""
    if ms is None or not isinstance(ms, (int, float)) or not math.isfinite(ms):
        return "?"
    return f"{ms:.2f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def fmt_sum(value, unit: str) -> str:
    """A value with its unit; seconds are written as a duration."""
    if unit == "s" and isinstance(value, (int, float)):  # durations read better in ms
        return fmt_ms(value * 1000)
    try:
        shown = f"{value:g}"
    except (TypeError, ValueError):
        shown = text(value)
    return shown + (f" {unit}" if unit else "")


def fmt_utc(t) -> str:
    """A start time as ``2025-01-31 12:00:00.123 UTC``."""
    from kit.views.values import when
    return utc(when(t))


def fmt_attrs(attrs: dict, sep: str = ", ", limit: int = 200) -> str:
    """``key = value`` pairs, values as Python writes them (strings quoted), each cut at ``limit``."""
    from kit.views.values import clip
    return sep.join(f"{clip(text(k), limit)} = {clip(text(repr_of(v)), limit)}" for k, v in attrs.items())


def repr_of(value) -> str:
    """``repr(value)``, or a note when that raises."""
    try:
        return repr(value) if not isinstance(value, str) else repr(value[:2000] + ("…" if len(value) > 2000 else ""))
    except Exception as err:
        return f"<{type(value).__name__}: {type(err).__name__}>"


# -- axes ---------------------------------------------------------------------------

_UNITS = [(1e-3, "µs"), (1.0, "ms"), (1000.0, "s")]


def ticks(total_ms: float, most: int = 5) -> tuple[float, str, list[float]]:
    """Round tick values for a time axis from 0 to ``total_ms``: ``(ms per unit, unit, values
    in that unit)``, at most ``most`` of them, every one in the same unit (µs, ms or s)."""
    total_ms = total_ms if isinstance(total_ms, (int, float)) and math.isfinite(total_ms) and total_ms > 0 else 1.0
    scale, unit = _UNITS[0]
    for s, u in _UNITS:
        if total_ms >= s:
            scale, unit = s, u
    span = total_ms / scale
    magnitude = 10 ** math.floor(math.log10(span / max(most, 2)))
    steps = [m * magnitude * f for f in (1, 10, 100) for m in (1, 2, 2.5, 5)]
    step = next(s for s in steps if int(span / s + 1e-9) + 1 <= max(most, 2))
    return scale, unit, [float(round(i * step, 10)) for i in range(int(span / step + 1e-9) + 1)]


def tick_label(value: float, unit: str) -> str:
    return f"{value:g} {unit}"


_WORDS = {"By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "s": "seconds", "ms": "milliseconds",
          "us": "microseconds", "ns": "nanoseconds", "Cel": "°C", "%": "%", "1": "", "": "", "bit": "bits",
          "By/s": "bytes per second", "Hz": "hertz", "m": "metres", "W": "watts", "J": "joules"}


def unit_words(unit) -> str:
    """A UCUM unit as words for an axis: ``{message}`` → ``messages``, ``By`` → ``bytes``, ``1`` → ``""``."""
    unit = text(unit)
    if unit in _WORDS:
        return _WORDS[unit]
    annotation = re.fullmatch(r"\{([^{}]+)\}", unit)
    if annotation:
        word = annotation.group(1)
        return word if word.endswith("s") else word + "s"
    return unit
