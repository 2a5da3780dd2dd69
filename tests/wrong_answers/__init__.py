"""What learners get wrong in each exercise, and what its self-check must say about it.

One module per lesson (``lesson_01.py`` …) holds ``WRONG = {"1.2": [Wrong(...), ...]}``, and
may hold ``RIGHT``: other correct answers than the solution (written another way), which
the check must pass.
A wrong answer is usually the solution (or the blank) with one edit, the way a
learner makes it: ``Wrong(why, expect, edits=[(old, new)])``. ``expect`` is a piece of
the ✗ message the check must give: the mistake named, and the fix.
tests/test_exercises.py runs every one in a live kernel.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Wrong:
    why: str                      # the mistake, as a learner would make it
    expect: str                   # a piece of the ✗ message that names it (and the fix)
    edits: list = field(default_factory=list)   # (old, new) applied to the base text, in order
    base: str = "solution"        # "solution" or "blank"
    code: str | None = None       # or the whole cell
    before: str | None = None     # a cell run first, as a learner's earlier cell (its result is not judged)

    def source(self, blank: str, solution: str) -> str:
        if self.code is not None:
            return self.code
        text = solution if self.base == "solution" else blank
        for old, new in self.edits:
            if old not in text:
                raise AssertionError(f"wrong answer {self.why!r}: {old!r} is not in the {self.base} any more")
            text = text.replace(old, new, 1)
        return text


def all_wrong() -> dict[str, list[Wrong]]:
    out: dict[str, list[Wrong]] = {}
    for path in sorted(Path(__file__).parent.glob("lesson_*.py")):
        out.update(importlib.import_module(f"wrong_answers.{path.stem}").WRONG)
    return out


def all_right() -> dict[str, list[Wrong]]:
    """Correct answers written otherwise than the solution (``expect`` unused): each must get ✓."""
    out: dict[str, list[Wrong]] = {}
    for path in sorted(Path(__file__).parent.glob("lesson_*.py")):
        out.update(getattr(importlib.import_module(f"wrong_answers.{path.stem}"), "RIGHT", {}))
    return out
