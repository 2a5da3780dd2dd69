"""What every self-check returns, and the small helpers they share."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field


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
