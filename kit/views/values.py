"""Any value a sender can send, as the views show it.

OTLP lets a sender put any ``AnyValue`` where the kit expects a string: ``service.name``
as an int, a list, a map, bytes or nothing; a topic as a list; a span with no start time.
The views read every cell through these functions, so an odd value is drawn as text and
never raises:

    >>> text(42), text(None, missing="(none)"), text(b"\\x00\\xff"), text(("a", 1))
    ('42', '(none)', '0x00ff', "('a', 1)")
    >>> clip("x" * 1_000_000, 20)
    'xxxxxxxxxxxxxxxxxxx…'

:func:`text` also makes a string safe to put in SVG or HTML: control characters become
visible symbols (``␀``, ``␊``) and lone surrogates ``�``, which XML and UTF-8 refuse.
:func:`span_records` turns a spans DataFrame (any shape, any values) into plain records
with those guarantees, the one place the views read spans from.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

MAX_TEXT = 2000     # characters kept of one value before anything else is done with it
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _visible(ch: str) -> str:
    code = ord(ch.group(0))
    return chr(0x2400 + code) if code < 0x20 else "\u2421"  # the Control Pictures block: ␀ … ␟, ␡


def text(value, missing: str = "") -> str:
    """``value`` as one line of text (at most :data:`MAX_TEXT` characters, then ``…``):
    a string as it is, None as ``missing``, bytes as hex, anything else as Python writes it."""
    try:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
            return missing
        if isinstance(value, str):
            s = value
        elif isinstance(value, (bytes, bytearray, memoryview)):
            s = "0x" + bytes(value[:MAX_TEXT // 2]).hex() + ("…" if len(value) > MAX_TEXT // 2 else "")
        elif isinstance(value, (bool, int, float, np.generic)):
            s = str(value.item() if isinstance(value, np.generic) else value)
        else:
            s = repr(value)
    except Exception as err:  # a value whose repr raises: say so rather than fail
        s = f"<{type(value).__name__}: {type(err).__name__}>"
    s = clip(s, MAX_TEXT)
    return _SURROGATE.sub("\ufffd", _CONTROL.sub(_visible, s))


def clip(s: str, limit: int) -> str:
    """``s`` cut to ``limit`` characters, the last one ``…`` when cut."""
    return s if len(s) <= limit else s[:max(limit - 1, 0)] + "…"


def maybe_id(value) -> str | None:
    """A span or trace id as text; None (or NaN) stays None."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else text(value)


def when(value) -> pd.Timestamp | None:
    """A UTC timestamp, or None when ``value`` is not a time (None, NaT, a number, text)."""
    if isinstance(value, (datetime, np.datetime64, pd.Timestamp)):
        try:
            t = pd.Timestamp(value)
        except (ValueError, OverflowError):
            return None
        if t is pd.NaT:
            return None
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return None


def number(value) -> float | None:
    """A finite float, or None (text, NaN, infinity, None)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    try:
        v = float(value)
    except (OverflowError, ValueError):
        return None
    return v if math.isfinite(v) else None


def mapping(value) -> dict:
    """A dict with text keys (anything else: empty)."""
    if not isinstance(value, dict):
        return {}
    return {text(k): v for k, v in value.items()}


def items(value) -> list:
    """A list of a span's events or links (anything that is not a sequence: empty)."""
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim == 1):
        return list(value)
    return []


@dataclass
class Event:
    name: str
    attributes: dict
    time: pd.Timestamp | None


@dataclass
class Span:
    """One span as the views draw it: every field of a safe type."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    service: str
    start: pd.Timestamp | None    # None: the sender gave no usable start time
    duration_ms: float | None     # None: not a finite, non-negative number
    status: str
    attributes: dict
    events: list[Event] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    raw: dict = field(default_factory=dict, repr=False)   # the row as it came

    def __getitem__(self, key):   # span["name"]: reads as the DataFrame row did
        return getattr(self, key)


def _event(value) -> Event:
    if isinstance(value, (tuple, list)) and len(value) >= 2:
        time = getattr(value, "time", value[2] if len(value) > 2 else None)
        return Event(text(value[0]), mapping(value[1]), when(time))
    return Event(text(value), {}, None)


def _link(value) -> tuple[str, str]:
    if isinstance(value, (tuple, list)) and len(value) >= 2:
        return text(value[0]), text(value[1])
    return text(value), ""


def span_record(row: dict) -> Span:
    """One row of a spans DataFrame (as a dict) as a :class:`Span`."""
    duration = number(row.get("duration_ms"))
    return Span(
        trace_id=text(row.get("trace_id")), span_id=text(row.get("span_id")),
        parent_span_id=maybe_id(row.get("parent_span_id")),
        name=text(row.get("name")), kind=text(row.get("kind")),
        service=text(row.get("service")) or "(no service.name)",
        start=when(row.get("start")), duration_ms=duration if duration is not None and duration >= 0 else None,
        status=text(row.get("status")), attributes=mapping(row.get("attributes")),
        events=[_event(e) for e in items(row.get("events"))],
        links=[_link(link) for link in items(row.get("links"))], raw=row)


def span_records(spans: pd.DataFrame) -> list[Span]:
    """Every row of ``spans`` as a :class:`Span`, in start order (spans with no start last)."""
    if spans is None or len(spans) == 0:
        return []
    records = [span_record(row) for row in spans.to_dict("records")]
    far = pd.Timestamp.max.tz_localize("UTC")
    return sorted(records, key=lambda s: s.start if s.start is not None else far)


def utc(t: pd.Timestamp | None) -> str:
    """A time as ``2025-01-31 12:00:00.123 UTC`` (``time unknown`` for None)."""
    if t is None:
        return "time unknown"
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d} UTC"
