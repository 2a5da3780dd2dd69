"""What every self-check returns, and the small helpers they share."""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass, field

PASS_GREEN, FAIL_RED = "#1B7F3B", "#C62828"   # 5.1:1 and 5.6:1 on white (WCAG AA)


@dataclass
class Result:
    """``passed`` and a ``message``; shown as ``✓ message`` or ``✗ message``.
    ``bool(result)`` is ``result.passed``. ``reason``: which ✗ it is, a short stable
    code (``"span-missing"``, ``"context-leaked"``, …) for programs; the message is for people."""

    passed: bool
    message: str
    reason: str = field(default="", kw_only=True)  # keyword-only: a subclass's own fields come after message

    def __repr__(self):
        return ("✓ " if self.passed else "✗ ") + self.message

    def _repr_html_(self):
        """In a notebook: ✓ in green or ✗ in red, the message wrapped between words (MathJax
        kept off it: a ``$`` in a name stays text). The text form is ``repr``."""
        mark, color = ("✓", PASS_GREEN) if self.passed else ("✗", FAIL_RED)
        return (f'<div class="kit-check tex2jax_ignore mathjax_ignore" style="display:flex;gap:0.5em;'
                f'align-items:baseline;white-space:pre-wrap;overflow-wrap:break-word;line-height:1.45">'
                f'<b style="color:{color}">{mark}</b> <span style="min-width:0">{html.escape(str(self.message))}'
                f"</span></div>")

    def __bool__(self):
        return self.passed


def ok(message: str) -> Result:
    return Result(True, message)


def wrong(message: str, reason: str = "") -> Result:
    return Result(False, message, reason=reason)


def names(values, limit: int = 8) -> str:
    """``'a', 'b'`` for a message (the last ``limit``, in order, without repeats)."""
    shown = list(dict.fromkeys(values))[-limit:]
    return ", ".join(repr(v) for v in shown) or "none"


def did_you_mean(wanted: str, seen) -> str:
    """`` ('x' is close: the name must be exactly 'y')`` when one of ``seen`` looks like a typo."""
    close = difflib.get_close_matches(wanted, [s for s in dict.fromkeys(seen) if s != wanted], n=1, cutoff=0.75)
    return f" {close[0]!r} is close: is it a typo? The name must be exactly {wanted!r}." if close else ""
