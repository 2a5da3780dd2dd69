"""Self-checks about metrics: what the cell being run added, and a reader built by hand.

Counters are cumulative, so a check judges the *change* of each stream over the
cell (see :func:`kit.attempts.metric_changes`): running a right answer twice is
still right, and a wrong one after it is still wrong.
"""

from __future__ import annotations

import io
import json
import math

from kit import attempts
from kit.checks._result import Result, did_you_mean, names, ok, wrong


def check_metric(name: str, expected, attributes: dict | None = None, *, total: float | None = None) -> Result:
    """In this cell, the stream of metric ``name`` with exactly these ``attributes``
    went up by ``expected`` (a counter's adds; a histogram's number of measurements),
    and, for a histogram, its measurements add up to ``total`` if given."""
    attempts.read_metrics()
    want = attributes or {}
    every = attempts.metric_changes()
    changes = every[every.name == name]
    if changes.empty:
        others = every.name.tolist()
        if others:
            return wrong(f"Nothing was recorded in {name!r} in this cell; it recorded {names(others)}."
                         + (did_you_mean(name, others) or f" Record into the instrument called {name!r}."))
        return wrong(f"Nothing was recorded in {name!r} in this cell. Call .add() (counter) or .record() "
                     f"(histogram) on it, in this cell; the check judges only the cell it is in.")
    rows = changes[changes.attributes.map(lambda a: a == want)]
    if rows.empty:
        return wrong(_attribute_mistake(name, want, changes.attributes.tolist()))
    row = rows.iloc[0]
    if row.change != expected:
        if row.kind == "histogram":
            return wrong(f"{name!r} {want} got {_num(row.change)} measurement(s) in this cell, expected "
                         f"{_num(expected)}: call .record(value) once for each value, inside the loop.")
        hint = " Add 1 for each message that matches, with its own topic as the attribute."
        if expected and row.change % expected == 0 and row.change > expected:
            hint = f" Is each message added {_num(row.change // expected)} times?"
        return wrong(f"{name!r} {want} went up by {_num(row.change)} in this cell, expected "
                     f"{_num(expected)}.{hint}")
    if total is not None and not math.isclose(row.sum_change, total):
        return wrong(f"The {_num(row.change)} measurements in {name!r} add up to {_num(row.sum_change)}, but the "
                     f"values to record add up to {_num(total)}: record each value itself (for a size, "
                     f"len(payload)), not a count.")
    shown = f" (sum {_num(row.sum_change)})" if total is not None else ""
    return ok(f"{name!r} {want} went up by {_num(row.change)} in this cell{shown}.")


def _attribute_mistake(name: str, want: dict, seen: list[dict]) -> str:
    got = ", ".join(str(a) for a in seen)
    if {} in seen and want:
        return (f"{name!r} was recorded with no attributes ({got}), so every message went into one stream. "
                f"Pass them as the second argument: .add(1, {want}).")
    for key in want:
        other_keys = {k for a in seen for k in a if k != key}
        if all(key not in a for a in seen) and other_keys:
            close = sorted(other_keys)[0]
            return (f"{name!r} was recorded with the attribute {close!r} ({got}); the task asks for {key!r}: "
                    f"use the semantic-convention name as the key.")
    return f"{name!r} has no stream with exactly the attributes {want} in this cell; it has {got}."


def _num(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_console_reader(provider, name: str, expected, attributes: dict | None = None,
                         interval_ms: float | None = None) -> Result:
    """``provider`` (a MeterProvider you built) reads its metrics with a
    ``PeriodicExportingMetricReader`` (every ``interval_ms``) into a
    ``ConsoleMetricExporter``, and what it prints has ``name`` = ``expected`` for
    ``attributes``. The check reads the provider once itself, capturing what the
    exporter prints."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    if not isinstance(provider, MeterProvider):
        return wrong(f"Expected the MeterProvider you built, got {type(provider).__name__}.")
    readers = list(getattr(provider, "_metric_readers", ()) or ())
    periodic = [r for r in readers if isinstance(r, PeriodicExportingMetricReader)]
    if not periodic:
        kinds = names(type(r).__name__ for r in readers) if readers else "no reader"
        return wrong(f"The provider has {kinds}: nothing reads it on a schedule. Give it "
                     f"metric_readers=[PeriodicExportingMetricReader(ConsoleMetricExporter(), ...)].")
    reader = periodic[0]
    exporter = getattr(reader, "_exporter", None)
    if not isinstance(exporter, ConsoleMetricExporter):
        return wrong(f"The PeriodicExportingMetricReader sends to {type(exporter).__name__}, not to a "
                     f"ConsoleMetricExporter: nothing is printed.")
    every = getattr(reader, "_export_interval_millis", None)
    if interval_ms is not None and every != interval_ms:
        if every is not None and every < 1000:
            provider.shutdown(timeout_millis=1000)  # it would print into every later cell
            return wrong(f"The reader exports every {every:g} ms, not every {interval_ms:g} ms: "
                         f"export_interval_millis is in milliseconds ({interval_ms / 1000:g} s = "
                         f"{interval_ms:g}). The check shut this provider down so it stops printing.")
        return wrong(f"The reader exports every {every} ms, expected export_interval_millis={interval_ms:g}.")
    printed = io.StringIO()
    saved = exporter.out
    exporter.out = printed
    try:
        reader.collect()
    finally:
        exporter.out = saved
    points = _printed_points(printed.getvalue(), name)
    if not points:
        seen = sorted({m for m in _printed_names(printed.getvalue())})
        return wrong(f"What the console exporter prints has no metric {name!r} (it has {names(seen)}). Make "
                     f"the counter from this provider: provider.get_meter(...).create_counter({name!r}).")
    want = attributes or {}
    match = [p for p in points if p.get("attributes", {}) == want]
    if not match:
        got = ", ".join(str(p.get("attributes")) for p in points)
        return wrong(_attribute_mistake(name, want, [p.get("attributes", {}) for p in points])
                     if got else f"{name!r} has no point with the attributes {want}.")
    value = match[0].get("value")
    if value != expected:
        return wrong(f"The console shows {name!r} {want} = {value}, expected {expected}.")
    exporter.out = io.StringIO()  # quiet: no last print from the shutdown
    provider.shutdown(timeout_millis=1000)
    return ok(f"Every {every / 1000:g} s (and on force_flush) the console shows {name!r} {want} = {value}. "
              f"(The check then shut the provider down, so it prints nothing into later cells.)")


def _printed_json(text: str) -> list[dict]:
    out, decoder, i = [], json.JSONDecoder(), 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = decoder.raw_decode(text, i)
                out.append(value)
                i = end
                continue
            except ValueError:
                pass
        i += 1
    return out


def _metrics_in(text: str):
    for doc in _printed_json(text):
        for rm in doc.get("resource_metrics", []) if isinstance(doc, dict) else []:
            for sm in rm.get("scope_metrics", []):
                yield from sm.get("metrics", [])


def _printed_names(text: str) -> list[str]:
    return [m.get("name") for m in _metrics_in(text)]


def _printed_points(text: str, name: str) -> list[dict]:
    return [p for m in _metrics_in(text) if m.get("name") == name
            for p in m.get("data", {}).get("data_points", [])]
