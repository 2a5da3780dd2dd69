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
from kit.checks._inspect import unread_sums
from kit.checks._result import Result, did_you_mean, names, ok, wrong
from kit.checks.exercises import current_data, judged


@judged
def check_metric(name: str, expected=None, attributes: dict | None = None, *, kind: str | None = None,
                 by: str | None = None, total: float | None = None, values: list | None = None) -> Result:
    """In this cell, metric ``name`` changed as asked:

    * ``check_metric(name, 3, {"k": "v"})``: the stream with exactly these attributes went up
      by 3 (a counter's adds; a histogram's number of measurements);
    * ``check_metric(name, {"a": 3, "b": 1}, by="k")``: exactly the streams ``{"k": "a"}`` (+3)
      and ``{"k": "b"}`` (+1) changed, and no other;
    * ``check_metric(name, 3)`` with no attributes: all the streams together (for a task that
      names none);
    * ``kind``: ``"counter"`` or ``"histogram"``; for a histogram, ``total`` is what the
      measurements add up to and ``values`` the values themselves (their buckets are compared);
    * ``expected`` None: what the exercise drew for this run (its ``counts``, or its ``payloads``:
      one measurement of each payload's size)."""
    data = current_data() or {}
    if expected is None and "_counts" in data:
        expected = dict(data["_counts"])
    elif expected is None and "payloads" in data:
        sizes = [len(p) for p in data["payloads"]]
        expected, total, values = len(sizes), sum(sizes), sizes
    attempts.read_metrics()
    every = attempts.metric_changes()
    changes = every[every.name == name]
    if changes.empty:
        others = every.name.tolist()
        if others:
            return wrong(f"Nothing was recorded in {name!r} in this cell; it recorded {names(others)}."
                         + (did_you_mean(name, others) or f" Record into the instrument called {name!r}."),
                         "metric-name")
        return wrong(f"Nothing was recorded in {name!r} in this cell. Call .add() (counter) or .record() "
                     f"(histogram) on it, in this cell; the check judges only the cell it is in.", "metric-nothing")
    kinds = sorted(set(changes.kind))
    if len(kinds) > 1:
        both = " and ".join(("an " if k[:1] in "aeiou" else "a ") + k.replace("_", "-") for k in kinds)
        return wrong(f"Two instruments called {name!r} changed in this cell, {both}: an earlier "
                     f"attempt made the other kind under the same name. Give one a new name, or restart the kernel.",
                     "metric-two-kinds")
    if kind and kinds[0] != kind:
        fix = {"counter": "create_counter(...) and .add(1, ...)", "histogram": "create_histogram(...) and "
               ".record(value)"}.get(kind, kind)
        found = kinds[0].replace('_', '-')
        return wrong(f"{name!r} is {'an' if found[:1] in 'aeiou' else 'a'} {found} here, not a {kind}: use {fix}."
                     + (" A counter only sums; a histogram keeps the distribution of the values."
                        if kind == "histogram" else ""), "metric-kind")
    if by is not None:
        return _by_attribute(name, changes, expected, by)
    if attributes is None:
        row = _merged(changes)
    else:
        rows = changes[changes.attributes.map(lambda a: a == attributes)]
        if rows.empty:
            return wrong(_attribute_mistake(name, attributes, changes.attributes.tolist()), "metric-attributes")
        row = rows.iloc[0]
    shown = f" {attributes}" if attributes is not None else ""
    if row["change"] != expected:
        if row["kind"] == "histogram":
            return wrong(f"{name!r}{shown} got {_num(row['change'])} measurement(s) in this cell, expected "
                         f"{_num(expected)}: call .record(value) once for each value, inside the loop.",
                         "histogram-count")
        hint = " Add 1 for each message that matches, with its own topic as the attribute."
        if expected and row["change"] % expected == 0 and row["change"] > expected:
            hint = f" Is each message added {_num(row['change'] // expected)} times?"
        return wrong(f"{name!r}{shown} went up by {_num(row['change'])} in this cell, expected {_num(expected)}.{hint}",
                     "metric-count")
    if total is not None and not math.isclose(row["sum_change"], total):
        decoded = [p.decode("utf-8", "replace") for p in data.get("payloads") or () if isinstance(p, bytes)]
        if decoded and math.isclose(row["sum_change"], sum(len(text) for text in decoded)):
            return wrong(f"The {_num(row['change'])} measurements in {name!r} add up to {_num(row['sum_change'])}, the "
                         f"number of characters once decoded; in bytes the payloads add up to {_num(total)} ('°' is 2 "
                         f"bytes in UTF-8). Record len(payload) of the bytes themselves, not of payload.decode().",
                         "histogram-characters")
        return wrong(f"The {_num(row['change'])} measurements in {name!r} add up to {_num(row['sum_change'])}, but the "
                     f"values to record add up to {_num(total)}: record each value itself (for a size, "
                     f"len(payload)), not a count.", "histogram-values")
    if values is not None and isinstance(row.get("bounds"), list):
        want = _buckets(values, row["bounds"])
        if list(row["buckets_change"]) != want:
            return wrong(f"The measurements fell into the buckets {_bucket_text(row['buckets_change'], row['bounds'])}, "
                         f"but the values fall into {_bucket_text(want, row['bounds'])}: record each value itself, "
                         f"one .record() per value.", "histogram-values")
    extra = f" (sum {_num(row['sum_change'])})" if total is not None else ""
    return ok(f"{name!r}{shown} went up by {_num(row['change'])} in this cell{extra}.")


def _merged(changes) -> dict:
    rows = changes.to_dict("records")
    out = dict(rows[0])
    out["change"] = sum(r["change"] for r in rows)
    if out.get("bounds") is not None and not (isinstance(out["bounds"], float) and math.isnan(out["bounds"])):
        out["sum_change"] = sum(r["sum_change"] for r in rows)
        out["buckets_change"] = [sum(b) for b in zip(*(r["buckets_change"] for r in rows))]
    else:
        out["bounds"] = None
    return out


def _by_attribute(name: str, changes, expected: dict, key: str) -> Result:
    got = {}
    for row in changes.to_dict("records"):
        attrs = row["attributes"]
        if set(attrs) != {key}:
            return wrong(_attribute_mistake(name, {key: next(iter(expected))}, changes.attributes.tolist())
                         if key not in attrs else f"{name!r} was recorded with {attrs}: give it only the attribute "
                         f"{key!r}, nothing else (each extra attribute multiplies the streams).", "metric-attributes")
        got[attrs[key]] = got.get(attrs[key], 0) + row["change"]
    if got == expected:
        return ok(f"{name!r} went up by {_streams(got, key)} in this cell.")
    drawn = "topics" in (current_data() or {})
    compare = f" By {key}, this cell counted {_plain(got)}; this run's messages need {_plain(expected)}."
    for value, count in expected.items():
        if got.get(value, 0) != count and count and got.get(value, 0) % count == 0 and got.get(value, 0) > count:
            return wrong(f"{name!r} {{{key!r}: {value!r}}} went up by {_num(got[value])} in this cell, expected "
                         f"{_num(count)}: is each message added {_num(got[value] // count)} times?{compare}",
                         "metric-count")
    missing = [v for v in expected if v not in got]
    if missing:
        return wrong(f"Nothing was counted for {key}={missing[0]!r} in this cell: count every message, each with its "
                     f"own topic.{compare}" + (" Count the messages of `topics` (this run's list, drawn in the cell "
                                               "above), not a list typed in." if drawn else ""),
                     "metric-missing-stream")
    extra = sorted(set(got) - set(expected))
    if extra:
        return wrong(f"{name!r} also counted {key}={extra[0]!r}, which none of this run's messages had.{compare}",
                     "metric-extra-stream")
    return wrong(f"{name!r} did not count each message once, with its own topic as the attribute.{compare}"
                 + (" Count the messages of `topics` (this run's list, drawn in the cell above), not a list typed in."
                    if drawn else ""), "metric-count")


def _plain(counts: dict) -> str:
    return "{" + ", ".join(f"{k!r}: {_num(v)}" for k, v in counts.items()) + "}"


def _streams(got: dict, key: str) -> str:
    return ", ".join(f"{_num(v)} for {key}={k!r}" for k, v in got.items()) or "nothing"


def _buckets(values, bounds) -> list[int]:
    counts = [0] * (len(bounds) + 1)
    for value in values:
        counts[next((i for i, b in enumerate(bounds) if value <= b), len(bounds))] += 1
    return counts


def _bucket_text(counts, bounds) -> str:
    labels = [f"≤{b:g}" for b in bounds] + [f">{bounds[-1]:g}" if bounds else "all"]
    return "{" + ", ".join(f"{label}: {n}" for label, n in zip(labels, counts) if n) + "}"


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


@judged
def check_console_reader(provider, name: str, expected=None, attributes: dict | None = None,
                         interval_ms: float | None = None) -> Result:
    """``provider`` (a MeterProvider you built) reads its metrics with a
    ``PeriodicExportingMetricReader`` (every ``interval_ms``) into a
    ``ConsoleMetricExporter``, and what it prints has the counter ``name`` = ``expected``
    (None: the count the exercise drew) for ``attributes``; and the cell made it print
    now (``force_flush()``), after counting. The check then makes the reader print once
    more itself, into a buffer, reads what it printed, and shuts the provider down so it
    never prints into a later cell."""
    if expected is None:
        expected = (current_data() or {}).get("count")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    if not isinstance(provider, MeterProvider):
        return wrong(f"Expected the MeterProvider you built, got {type(provider).__name__}.", "not-a-provider")
    readers = list(getattr(provider, "_metric_readers", ()) or ())
    periodic = [r for r in readers if isinstance(r, PeriodicExportingMetricReader)]
    if not periodic:
        kinds = names(type(r).__name__ for r in readers) if readers else "no reader"
        return wrong(f"The provider has {kinds}: nothing reads it on a schedule. Give it "
                     f"metric_readers=[PeriodicExportingMetricReader(ConsoleMetricExporter(), ...)].",
                     "no-periodic-reader")
    reader = periodic[0]
    if getattr(provider, "_kit_silenced", False):  # (one the learner shut down after printing is judged as any)
        return wrong("This provider is shut down (a check shuts it down after judging it): run the whole cell "
                     "again, so that it builds a new one.", "provider-shut-down")
    exporter = getattr(reader, "_exporter", None)
    if not isinstance(exporter, ConsoleMetricExporter):
        return wrong(f"The PeriodicExportingMetricReader sends to {type(exporter).__name__}, not to a "
                     f"ConsoleMetricExporter: nothing is printed.", "not-console")
    if not _prints_to_the_cell(exporter):
        _silence(provider, exporter)
        return wrong(f"The ConsoleMetricExporter writes into {type(exporter.out).__name__} (its out=), not into the "
                     f"cell's output: what it prints is never seen. Leave out= out: it prints to sys.stdout. (The "
                     f"check shut this provider down.)", "console-not-printed")
    every = getattr(reader, "_export_interval_millis", None)
    if not isinstance(every, (int, float)):
        every = None
    if interval_ms is not None and every != interval_ms:
        _silence(provider, exporter)  # it would print into every later cell
        if every is not None and every < 1000:
            return wrong(f"The reader exports every {every:g} ms, not every {interval_ms:g} ms: "
                         f"export_interval_millis is in milliseconds ({interval_ms / 1000:g} s = "
                         f"{interval_ms:g}). The check shut this provider down so it stops printing.", "interval-units")
        return wrong(f"The reader exports every {every!r} ms, expected export_interval_millis={interval_ms:g}. "
                     f"(The check shut this provider down so it stops printing.)", "interval")
    closed_here = bool(getattr(provider, "_shutdown", False))  # shut down by the cell: its shutdown() printed last
    unread = unread_sums(provider)  # counted, and not printed since? (before the check's own collection)
    printed = io.StringIO()
    saved = exporter.out
    exporter.out = printed
    try:
        reader.collect()
    finally:
        exporter.out = saved
    result = _judge_printed(printed.getvalue(), name, expected, attributes, every)
    _silence(provider, exporter)
    if result.passed and closed_here:
        result = ok(result.message.replace("force_flush() printed", "Your cell printed", 1)
                    .replace("(The check then shut the provider down, so it prints nothing into later cells.)",
                             "(It is shut down, so it prints nothing into later cells.)"))
    if getattr(result, "reason", "") == "console-no-metric" and not unread and _delta_counters(reader):
        return wrong(f"This reader sends counters as deltas (preferred_temporality DELTA): what your force_flush() "
                     f"printed was every count so far, and the check's own print after it has nothing new, so it "
                     f"cannot read {name!r} to judge it. Deltas are fine for a back end that wants them; here, leave "
                     f"preferred_temporality out (cumulative, the default) and run the cell again. (The check shut "
                     f"this provider down.)", "console-delta")
    if result.passed and unread:
        fix = ("force_flush() ran before the counting: call it after the last .add(...), so that it prints them."
               if attempts.cell_has(".force_flush()") else
               "After counting, call console_provider.force_flush(): it prints them now.")
        return wrong(f"What the reader would print is right, but this cell did not make it print: the counts were "
                     f"still waiting in the provider when the check ran, to be printed in "
                     f"{(every or 60_000) / 1000:g} s, into whatever cell runs then. {fix} (The check shut this "
                     f"provider down.)", "not-flushed")
    return result


def _prints_to_the_cell(exporter) -> bool:
    import sys

    from opentelemetry.sdk.metrics._internal import export as sdk_export
    out = getattr(exporter, "out", None)
    return any(out is stream for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__,
                                            getattr(sdk_export, "stdout", None)))


def _delta_counters(reader) -> bool:
    from opentelemetry.sdk.metrics import Counter
    from opentelemetry.sdk.metrics.export import AggregationTemporality
    try:
        return any(issubclass(kind, Counter) and temporality == AggregationTemporality.DELTA
                   for kind, temporality in reader._instrument_class_temporality.items())
    except Exception:
        return False


def _silence(provider, exporter) -> None:
    """Shut the learner's provider down without a last print (it would land in a later cell)."""
    exporter.out = io.StringIO()
    try:
        provider._kit_silenced = True
    except Exception:  # a provider that takes no new attribute: the SDK's own flag still stops it printing
        pass
    provider.shutdown(timeout_millis=1000)


def _judge_printed(text: str, name: str, expected, attributes, every) -> Result:
    points = _printed_points(text, name)
    if not points:
        seen = sorted({m for m in _printed_names(text)})
        return wrong(f"What the console exporter prints has no metric {name!r} (it has {names(seen)}). Make "
                     f"the counter from this provider: provider.get_meter(...).create_counter({name!r}).",
                     "console-no-metric")
    want = attributes or {}
    match = [p for p in points if p.get("attributes", {}) == want]
    if not match:
        got = ", ".join(str(p.get("attributes")) for p in points)
        return wrong(_attribute_mistake(name, want, [p.get("attributes", {}) for p in points])
                     if got else f"{name!r} has no point with the attributes {want}.", "metric-attributes")
    metric = next(m for m in _metrics_in(text) if m.get("name") == name)
    if metric.get("data", {}).get("is_monotonic") is not True:
        return wrong(f"{name!r} is printed as a {'gauge' if 'is_monotonic' not in metric.get('data', {}) else 'up-down counter'}, "
                     f"not a counter: create it with create_counter(...) and count with .add(1, ...).", "metric-kind")
    value = match[0].get("value")
    if value != expected:
        return wrong(f"The console exporter prints {name!r} {want} = {value}, expected {expected}"
                     + (" (this run's count, drawn in the cell above)." if expected not in (None, 2) else "."),
                     "console-value")
    return ok(f"force_flush() printed {name!r} {want} = {value} in this cell's output, as the reader would every "
              f"{(every or 60_000) / 1000:g} s. (The check then shut the provider down, so it prints nothing into "
              f"later cells.)")


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
