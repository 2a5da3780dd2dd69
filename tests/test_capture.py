"""kit.capture: the DataFrames a learner reads."""

import math

from opentelemetry.trace import SpanKind, Status, StatusCode

from kit import capture
from kit.telemetry import setup


def test_spans_frame_has_hex_ids_parents_and_details(clean_capture):
    tele = setup("capture-spans")
    with tele.tracer.start_as_current_span("root", kind=SpanKind.PRODUCER) as root:
        with tele.tracer.start_as_current_span("child", attributes={"k": "v"}) as child:
            child.add_event("moment", {"n": 1})
            child.set_status(Status(StatusCode.ERROR, "bad"))
    df = capture.spans_df()
    assert list(df.columns) == capture.SPAN_COLUMNS
    r, c = df.iloc[0], df.iloc[1]
    assert r.trace_id == format(root.get_span_context().trace_id, "032x") and len(r.trace_id) == 32
    assert r.parent_span_id is None
    assert c.parent_span_id == r.span_id and len(c.span_id) == 16
    assert (r.kind, c.kind, c.status, c.service) == ("PRODUCER", "INTERNAL", "ERROR", "capture-spans")
    assert c.attributes == {"k": "v"} and c.events == [("moment", {"n": 1})]
    assert c.duration_ms >= 0 and not math.isnan(c.duration_ms)


def test_spans_frame_filters_by_trace_and_service(clean_capture):
    a, b = setup("capture-a"), setup("capture-b")
    with a.tracer.start_as_current_span("one") as one:
        pass
    with b.tracer.start_as_current_span("two"):
        pass
    tid = format(one.get_span_context().trace_id, "032x")
    assert list(capture.spans_df(trace_id=tid).name) == ["one"]
    assert list(capture.spans_df(service="capture-b").name) == ["two"]


def test_links_are_listed(clean_capture):
    from opentelemetry.trace import Link
    tele = setup("capture-links")
    with tele.tracer.start_as_current_span("origin") as origin:
        pass
    with tele.tracer.start_as_current_span("linked", links=[Link(origin.get_span_context())]):
        pass
    linked = capture.spans_df().iloc[-1]
    assert linked.links == [(format(origin.get_span_context().trace_id, "032x"),
                             format(origin.get_span_context().span_id, "016x"))]


def test_metrics_frame_latest_value_per_stream(clean_capture):
    tele = setup("capture-metrics")
    counter = tele.meter.create_counter("cap_count", unit="{message}")
    hist = tele.meter.create_histogram("cap_size", unit="By", explicit_bucket_boundaries_advisory=[10, 100])
    counter.add(2, {"t": "a"})
    tele.flush()
    counter.add(3, {"t": "a"})
    counter.add(1, {"t": "b"})
    for v in (5, 50, 500):
        hist.record(v)
    tele.flush()
    df = capture.metrics_df()
    values = {(r.name, tuple(sorted(r.attributes.items()))): r.value for r in df.itertuples()
              if r.service == "capture-metrics"}
    assert values[("cap_count", (("t", "a"),))] == 5
    assert values[("cap_count", (("t", "b"),))] == 1
    h = values[("cap_size", ())]
    assert (h["count"], h["sum"], h["min"], h["max"]) == (3, 555, 5, 500)
    assert h["bounds"] == [10, 100] and h["buckets"] == [1, 1, 1]
    points = capture.metric_points_df("cap_count")
    assert len(points[points.attributes == {"t": "a"}]) >= 2  # history kept for charts
    assert set(df[df.name == "cap_count"].kind) == {"counter"}


def test_logs_frame_correlates_with_spans(clean_capture):
    tele = setup("capture-logs")
    with tele.tracer.start_as_current_span("s") as span:
        tele.logger.warning("inside")
    tele.logger.info("outside")
    df = capture.logs_df()
    assert list(df.columns) == capture.LOG_COLUMNS
    inside, outside = df.iloc[0], df.iloc[1]
    assert inside.trace_id == format(span.get_span_context().trace_id, "032x")
    assert inside.span_id == format(span.get_span_context().span_id, "016x")
    assert (inside.severity, inside.logger, inside.service) == ("WARN", "capture-logs", "capture-logs")
    assert outside.trace_id is None
    assert list(capture.logs_df(trace_id=inside.trace_id).body) == ["inside"]


def test_store_is_bounded(clean_capture, monkeypatch):
    from collections import deque
    monkeypatch.setattr(capture, "_spans", deque(maxlen=3))
    tele = setup("capture-bounded")
    for i in range(5):
        with tele.tracer.start_as_current_span(f"s{i}"):
            pass
    assert list(capture.spans_df().name) == ["s2", "s3", "s4"]
