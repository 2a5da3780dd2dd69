"""What the views share: the colours and how times and values are written."""

from __future__ import annotations

PALETTE = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#72B7B2", "#EECA3B", "#9D755D", "#BAB0AC"]
ERROR_RED = "#D62728"


def fmt_ms(ms: float) -> str:
    """A duration in milliseconds, as ``0.42 ms`` or ``1.20 s``."""
    return f"{ms:.2f} ms" if ms < 1000 else f"{ms / 1000:.2f} s"


def fmt_sum(value, unit: str) -> str:
    """A value with its unit; seconds are written as a duration."""
    if unit == "s":  # durations read better in ms
        return fmt_ms(value * 1000)
    return f"{value:g}" + (f" {unit}" if unit else "")
