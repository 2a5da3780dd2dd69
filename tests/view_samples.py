"""Spans shaped like the lessons' (lesson 09's sensor → processor → alerter), for the views' tests."""

import pandas as pd

from kit import capture

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def span_row(span_id, name="op", service="svc", parent=None, start_ms=0.0, duration_ms=1.0, trace="a" * 32,
             kind="INTERNAL", status="UNSET", attributes=None, events=(), links=()):
    return dict(trace_id=trace, span_id=span_id, parent_span_id=parent, name=name, kind=kind, service=service,
                start=T0 + pd.Timedelta(milliseconds=start_ms), duration_ms=duration_ms, status=status,
                attributes=attributes or {}, events=list(events), links=list(links))


def greenhouse(topics=("greenhouse/1/temperature",), n=4, long_names=False):
    """Lesson 09's trace shape: sensor → processor → alerter over MQTT, ``n`` messages."""
    rows = []
    suffix = " with a name as long as a sentence in a real application" if long_names else ""
    for i in range(n):
        t = i * 10.0
        topic = topics[i % len(topics)]
        rows += [span_row(f"s{i:015d}", "publish " + topic + suffix, "sensor", None, t, 0.4, kind="PRODUCER",
                          attributes={"messaging.destination.name": topic}),
                 span_row(f"p{i:015d}", "process " + topic + suffix, "processor", f"s{i:015d}", t + 1.6, 2.1,
                          kind="CONSUMER", status="ERROR" if i == 1 else "UNSET",
                          events=[capture.SpanEvent("reading checked", {"ok": True}, T0 + pd.Timedelta(milliseconds=t + 2))]),
                 span_row(f"q{i:015d}", "publish alerts/greenhouse-1", "processor", f"p{i:015d}", t + 3, 0.3,
                          kind="PRODUCER", attributes={"messaging.destination.name": "alerts/greenhouse-1"}),
                 span_row(f"r{i:015d}", "process alerts/greenhouse-1", "alerter", f"q{i:015d}", t + 4, 1.2,
                          kind="CONSUMER")]
    return pd.DataFrame(rows)
