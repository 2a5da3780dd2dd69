"""The room's progress, from the records the board received: learners × exercises, bounded.

    >>> progress = Progress(exercises=["0.1", "0.2"], stuck_s=300)
    >>> progress.fold(receiver.received.since("logs", mark))   # log rows of kit.receiver
    >>> progress.state()          # what the board page draws (JSON)
    >>> progress.csv()            # every record, for the end of the day

Each learner × exercise cell is one of:

    ✓        passed (a later ✗, e.g. the notebook run again from the top, does not undo it)
    ✗ n      failing after n attempts
    stuck    failing for more than ``stuck_s`` (board time, not the learner's clock)
    ·        not tried yet

and for each exercise the ✗ reasons **right now**: the latest reason of each learner failing
it, most common first (:mod:`kit.classroom.reasons` labels them).

Everything a learner sends is data, never trusted: a record whose fields are not what
:mod:`kit.classroom.record` says is counted as malformed and skipped (one bad record never
takes the board down); names are shown as text. It stays bounded: ``MAX_LEARNERS``
learners, ``MAX_RECORDS`` records, ``MAX_EXTRA_EXERCISES`` exercises the kit does not
know, ``MAX_REASONS`` reasons per exercise; beyond, records are refused and counted.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

from kit.classroom import reasons, record

MAX_LEARNERS = 200
MAX_RECORDS = 100_000
MAX_EXTRA_EXERCISES = 32
MAX_REASONS = 32          # distinct reasons kept per exercise (more: "other")
MAX_NAMES_SHOWN = 30      # names listed under one reason


@dataclass(slots=True)
class Cell:
    attempts: int = 0
    passed_at: float | None = None       # board time of the first ✓
    failing_since: float | None = None   # board time of the first ✗ (until a ✓)
    reason: str = ""                      # the latest ✗'s reason
    last: float = 0.0

    def state(self, now: float, stuck_s: float) -> str:
        if self.passed_at is not None:
            return "pass"
        if self.failing_since is not None:
            return "stuck" if now - self.failing_since > stuck_s else "fail"
        return "idle"


@dataclass(slots=True)
class Learner:
    name: str
    joined: float
    cells: dict


def _exercise_key(number: str) -> tuple:
    lesson, _, part = number.partition(".")
    return int(lesson), int(part)


class Progress:
    """Learners × exercises, folded from received log rows (see the module)."""

    def __init__(self, exercises=(), stuck_s: float = 300.0, lessons=None):
        self.known = sorted(dict.fromkeys(exercises), key=_exercise_key)
        self.stuck_s = stuck_s
        self.lessons = None if lessons is None else set(lessons)
        self.learners: dict[str, Learner] = {}
        self.extra: set[str] = set()
        self.records: list[tuple] = []
        self.refused: Counter = Counter()
        self.reasons_seen: dict[str, set] = {}
        self.version = 0
        self.changed = threading.Condition()

    # ------------------------------------------------------------ taking records in

    def fold(self, rows, now: float | None = None, lost: int = 0) -> None:
        """Take in received log rows (kit.rows' log columns); rows not from the classroom are skipped."""
        now = time.time() if now is None else now
        with self.changed:
            if lost > 0:
                self.refused["dropped by the receiver before the board read them"] += lost
            for row in rows:
                try:
                    self._take(row, now)
                except Exception:  # noqa: BLE001  one odd record never takes the board down
                    self.refused["malformed records"] += 1
            self.version += 1
            self.changed.notify_all()

    def _take(self, row: dict, now: float) -> None:
        attributes = row.get("attributes")
        if not isinstance(attributes, dict) or record.LEARNER not in attributes:
            return  # another program's log record (the board's port is OTLP): not a learner's
        name = attributes.get(record.LEARNER)
        name = record.pseudonym(name) if isinstance(name, str) else ""
        if not name:
            self.refused["malformed records"] += 1
            return
        exercise = attributes.get(record.EXERCISE)
        verdict = attributes.get(record.VERDICT)
        if exercise is None and verdict is None:  # "joined"
            self._learner(name, now)
            return
        if not (isinstance(exercise, str) and record.EXERCISE_ID.fullmatch(exercise)
                and verdict in (record.PASS, record.FAIL)):
            self.refused["malformed records"] += 1
            return
        if exercise not in self.known and exercise not in self.extra:
            if len(self.extra) >= MAX_EXTRA_EXERCISES:
                self.refused["exercises the kit does not know, over the cap"] += 1
                return
            self.extra.add(exercise)
        if len(self.records) >= MAX_RECORDS:
            self.refused["records over the cap"] += 1
            return
        learner = self._learner(name, now)
        if learner is None:
            return
        reason = attributes.get(record.REASON)
        reason = reason if isinstance(reason, str) and record.REASON_CODE.fullmatch(reason) else ""
        seen = self.reasons_seen.setdefault(exercise, set())
        if reason and reason not in seen:
            if len(seen) >= MAX_REASONS:
                reason = "other"
            seen.add(reason)
        attempt, elapsed = _count(attributes.get(record.ATTEMPT)), _count(attributes.get(record.ELAPSED))
        cell = learner.cells.setdefault(exercise, Cell())
        cell.attempts = max(cell.attempts + 1, attempt or 0)
        cell.last = now
        if verdict == record.PASS:
            if cell.passed_at is None:
                cell.passed_at = now
        else:
            cell.reason = reason
            if cell.passed_at is None and cell.failing_since is None:
                cell.failing_since = now
        self.records.append((now, learner.name, int(exercise.split(".")[0]), exercise, verdict, attempt, elapsed,
                             reason))

    def _learner(self, name: str, now: float) -> Learner | None:
        learner = self.learners.get(name)
        if learner is None:
            if len(self.learners) >= MAX_LEARNERS:
                self.refused["learners over the cap"] += 1
                return None
            learner = self.learners[name] = Learner(name, now, {})
        return learner

    # ------------------------------------------------------------ what the board shows

    def columns(self) -> list[str]:
        """The exercises shown: those of the lessons asked for, else of every lesson someone
        has checked in (lesson 00's before anyone has), then any the kit does not know."""
        lessons = self.lessons
        if lessons is None:
            lessons = {int(e.split(".")[0]) for lr in self.learners.values() for e in lr.cells} or {0}
        shown = [e for e in self.known if int(e.split(".")[0]) in lessons]
        return shown + sorted(self.extra, key=_exercise_key)

    def state(self, now: float | None = None) -> dict:
        """Everything the page draws, as JSON-ready values (names are data: the page shows them as text)."""
        now = time.time() if now is None else now
        with self.changed:
            columns = self.columns()
            learners = sorted(self.learners.values(), key=lambda lr: (lr.name.casefold(), lr.name))
            rows, progress, failing = [], {}, {e: Counter() for e in columns}
            names = {e: {} for e in columns}
            for e in columns:
                progress[e] = {"pass": 0, "fail": 0, "stuck": 0, "idle": 0}
            for lr in learners:
                cells = {}
                for e in columns:
                    cell = lr.cells.get(e)
                    state = cell.state(now, self.stuck_s) if cell else "idle"
                    progress[e][state] += 1
                    if cell is None:
                        continue
                    failed = state in ("fail", "stuck")
                    cells[e] = {"state": state, "attempts": cell.attempts, "reason": cell.reason if failed else "",
                                "label": reasons.label(cell.reason) if failed else "",
                                "minutes": _minutes(now - cell.failing_since) if cell.failing_since and
                                state != "pass" else None}
                    if state in ("fail", "stuck"):
                        failing[e][cell.reason] += 1
                        names[e].setdefault(cell.reason, []).append(lr.name)
                rows.append({"name": lr.name, "cells": cells})
            why = {e: [{"reason": r, "label": reasons.label(r), "count": n,
                        "names": names[e][r][:MAX_NAMES_SHOWN]} for r, n in failing[e].most_common()]
                   for e in columns if failing[e]}
            return {"version": self.version, "now": now, "stuck_minutes": self.stuck_s / 60, "columns": columns,
                    "learners": rows, "progress": progress, "reasons": why, "records": len(self.records),
                    "refused": dict(self.refused)}

    def csv(self) -> str:
        """Every record taken, one line each: when the board got it, who, which exercise, ✓/✗, the
        attempt, the seconds into the lesson, the ✗ reason and its label."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["received_utc", "learner", "lesson", "exercise", "verdict", "attempt", "lesson_seconds",
                         "reason", "reason_label"])
        with self.changed:
            records = list(self.records)
        for at, name, lesson, exercise, verdict, attempt, elapsed, reason in records:
            writer.writerow([datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds"), _cell(name),
                             lesson, exercise, verdict, "" if attempt is None else attempt,
                             "" if elapsed is None else elapsed, reason, reasons.label(reason) if reason else ""])
        return out.getvalue()


def _count(value) -> int | None:
    """A learner's number (attempt, seconds): a non-negative integer, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value) if 0 <= value < 10**9 else None


def _minutes(seconds: float) -> int:
    return max(0, int(seconds // 60))


def _cell(text: str) -> str:
    """A name as a spreadsheet cell: text, never a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
