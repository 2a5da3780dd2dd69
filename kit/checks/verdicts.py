"""Each exercise's verdict, told to whoever listens: how a self-check's ✓ or ✗ leaves the notebook.

    >>> from kit.checks import verdicts
    >>> verdicts.subscribe(print)      # after each check: Checked(exercise='0.1', passed=False, reason='span-name', ...)
    >>> verdicts.unsubscribe(print)

Every check given ``exercise="N.M"`` (see :func:`kit.checks.exercises.judged`) publishes one
:class:`Checked` when it has judged: which exercise, ✓ or ✗, the ✗'s reason code
(``result.reason``) and when the check ran. Nothing else: never the check's message, the
learner's code or what it made. :mod:`kit.classroom` listens here; the checks know nothing
of who listens (this module imports nothing of the kit).

A listener is called in the learner's cell, so it must return at once (queue, never send);
one that raises is ignored. With no listener, publishing costs one test.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Checked", "subscribe", "unsubscribe", "publish"]


@dataclass(frozen=True)
class Checked:
    """One self-check of an exercise: ``passed`` (✓), else ``reason`` says which ✗."""

    exercise: str
    passed: bool
    reason: str
    started_ns: int   # time.time_ns() when the check started
    ended_ns: int     # and when it had judged


_listeners: tuple = ()  # replaced, never changed in place: publish reads it without a lock


def subscribe(listener) -> None:
    """Call ``listener(checked)`` after every judged self-check of an exercise (once, however often subscribed)."""
    global _listeners
    if listener not in _listeners:
        _listeners = _listeners + (listener,)


def unsubscribe(listener) -> None:
    global _listeners
    _listeners = tuple(x for x in _listeners if x != listener)


def publish(exercise, result, started_ns: int, ended_ns: int) -> None:
    """Tell every listener that exercise ``exercise`` was judged ``result`` (a ``Result``)."""
    listeners = _listeners
    if not listeners or not isinstance(exercise, str):
        return
    passed = getattr(result, "passed", False) is True
    reason = getattr(result, "reason", "")
    checked = Checked(exercise, passed, "" if passed or not isinstance(reason, str) else reason, started_ns, ended_ns)
    for listener in listeners:
        try:
            listener(checked)
        except Exception:  # noqa: BLE001  a listener never breaks the learner's check
            pass
