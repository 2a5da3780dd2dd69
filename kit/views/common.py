"""What the views share: the colours and how times and values are written."""

from __future__ import annotations

from datetime import timezone

PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#72B7B2", "#EECA3B", "#9D755D", "#BAB0AC"]
ERROR_RED = "#D62728"
_service_colors: dict[str, str] = {}


def service_color(service: str) -> str:
    """The colour of a service, the same in every picture of this kernel (the palette in
    the order services are first drawn)."""
    if service not in _service_colors:
        _service_colors[service] = PALETTE[len(_service_colors) % len(PALETTE)]
    return _service_colors[service]


def fmt_ms(ms: float) -> str:
    """A duration in milliseconds, as ``0.42 ms`` or ``1.20 s``."""
    return f"{ms:.2f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def fmt_sum(value, unit: str) -> str:
    """A value with its unit; seconds are written as a duration."""
    if unit == "s":  # durations read better in ms
        return fmt_ms(value * 1000)
    return f"{value:g}" + (f" {unit}" if unit else "")


def fmt_utc(t) -> str:
    """A start time as ``2025-01-31 12:00:00.123 UTC``."""
    t = t.astimezone(timezone.utc) if t.tzinfo else t
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d} UTC"


def fmt_attrs(attrs: dict, sep: str = ", ") -> str:
    """``key = value`` pairs, values as Python writes them (strings quoted)."""
    return sep.join(f"{k} = {v!r}" for k, v in attrs.items())
