"""kit.checks: each self-check passes on the right answer and, on a wrong one, says what is wrong."""

import logging

from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode

from kit.checks import check_log_in_span, check_metric, check_parent, check_span
from kit.telemetry import setup


def test_check_span_names_each_missing_piece(clean_capture):
    tele = setup("checks")
    assert "No span named 'x'" in check_span("x").message
    with tele.tracer.start_as_current_span("x"):
        pass
    assert "has kind INTERNAL, expected PRODUCER" in check_span("x", kind="PRODUCER").message
    assert "has no attribute 'a'" in check_span("x", attributes={"a": 1}).message
    assert "has no event 'e'" in check_span("x", events=["e"]).message
    assert "has status UNSET, expected ERROR" in check_span("x", status="ERROR").message
    assert "no recorded ValueError" in check_span("x", exception="ValueError").message
    assert "comes from service 'checks', not 'other'" in check_span("x", service="other").message
    with tele.tracer.start_as_current_span("x", kind=SpanKind.PRODUCER, attributes={"a": 2}) as s:
        s.add_event("e")
        s.record_exception(ValueError("v"))
        s.set_status(Status(StatusCode.ERROR))
    assert "has a=2, expected 1" in check_span("x", attributes={"a": 1}).message
    result = check_span("x", kind="PRODUCER", attributes={"a": 2}, events=["e"], status="ERROR",
                        exception="ValueError", service="checks")
    assert result.passed and repr(result).startswith("✓")


def test_check_parent(clean_capture):
    a, b = setup("checks-a"), setup("checks-b")
    with a.tracer.start_as_current_span("p"):
        headers = {}
        propagate.inject(headers)
    with b.tracer.start_as_current_span("c"):
        pass
    assert "has no parent" in check_parent("c", "p").message
    with b.tracer.start_as_current_span("c", context=propagate.extract(headers)):
        pass
    assert check_parent("c", "p").passed
    assert "is a child of 'p', not 'q'" in check_parent("c", "q").message
    ctx = propagate.extract({"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    with b.tracer.start_as_current_span("c", context=ctx):
        pass
    assert "was not captured" in check_parent("c", "p").message


def test_check_metric(clean_capture):
    tele = setup("checks-m")
    assert "No metric named 'chk'" in check_metric("chk", 1).message
    c = tele.meter.create_counter("chk")
    c.add(2)
    assert "has no stream with attributes {'t': 'a'}" in check_metric("chk", 2, {"t": "a"}).message
    assert check_metric("chk", 2).passed
    c.add(2)
    assert "did the cell run more than once" in check_metric("chk", 2).message
    h = tele.meter.create_histogram("chk_h")
    h.record(5)
    assert check_metric("chk_h", 1).passed


def test_check_log_in_span(clean_capture):
    tele = setup("checks-l")
    log = logging.getLogger("checks.l")
    with tele.tracer.start_as_current_span("s"):
        pass
    assert "No log record contains 'hot'" in check_log_in_span("hot", "s").message
    log.warning("hot")
    assert "written outside the span 's'" in check_log_in_span("hot", "s").message
    with tele.tracer.start_as_current_span("s"):
        log.info("hot")
    assert "has severity INFO, expected WARN" in check_log_in_span("hot", "s", severity="WARN").message
    with tele.tracer.start_as_current_span("s"):
        log.warning("hot")
    assert check_log_in_span("hot", "s", severity="WARN").passed


def test_check_received():
    import paho.mqtt.client as mqtt

    from kit.checks import check_received

    def msgs(*topics):
        return [mqtt.MQTTMessage(1, t.encode()) for t in topics]
    assert "No message arrived" in check_received([], ["a"]).message
    assert "Nothing arrived on ['lab/b']" in check_received(msgs("lab/a"), ["lab/a", "lab/b"]).message
    assert "Also received ['x/y']" in check_received(msgs("lab/a", "x/y"), ["lab/a"]).message
    assert check_received(msgs("lab/b", "lab/a"), ["lab/a", "lab/b"]).passed


def test_check_trace():
    import pandas as pd

    from kit.checks import check_trace
    spans = pd.DataFrame({"trace_id": ["a" * 32] * 2, "name": ["publish x", "process x"],
                          "service": ["s1", "s2"]})
    assert "32 hex characters, got None" in check_trace(spans, None, "publish x", {"s1"}).message
    assert "No span of trace" in check_trace(spans, "b" * 32, "publish x", {"s1"}).message
    assert "has no span 'publish y'" in check_trace(spans, "a" * 32, "publish y", {"s1"}).message
    assert "no spans from ['s3']" in check_trace(spans, "a" * 32, "publish x", {"s1", "s3"}).message
    assert check_trace(spans, "a" * 32, "publish x", {"s1", "s2"}).passed


def test_check_collector_config():
    from kit.checks import check_collector_config
    broken = "exporters:\n  logging: {}\nreceivers:\n  otlp:\n    protocols:\n      grpc: {}\n" \
             "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [logging]\n"
    result = check_collector_config(broken)
    assert not result.passed and "logging exporter was removed" in result.message
    fixed = broken.replace("logging", "debug")
    result = check_collector_config(fixed)
    assert result.passed and "warnings" in result.message  # the receiver still listens on localhost
