"""kit.checks: each self-check passes on the right answer and, on a wrong one, says what is
wrong and how to fix it, judging only the attempt after the watermark (kit.attempts).
Every exercise is also tried in a live kernel with its typical wrong answers
(tests/test_exercises.py); these tests cover the checks' branches one by one."""

import logging

import pandas as pd
import paho.mqtt.client as mqtt
from opentelemetry import propagate
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from kit import attempts
from kit.checks import (check_collector_config, check_first_alert, check_getter_setter, check_handled_error,
                        check_json_propagation, check_log_in_span, check_metric, check_parent, check_received,
                        check_sampler, check_span)
from kit.propagation import (extract_json_payload, inject_json_payload, user_properties_getter,
                             user_properties_setter)
from kit.telemetry import setup


def test_check_span_names_each_missing_piece(clean_capture):
    tele = setup("checks")
    attempts.start()
    assert "This cell made no span at all" in check_span("x").message
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


def test_check_span_judges_only_the_attempt(clean_capture):
    tele = setup("checks-attempt")
    with tele.tracer.start_as_current_span("done before"):
        pass
    attempts.start()
    with tele.tracer.start_as_current_span("done befor"):
        pass
    message = check_span("done before").message
    assert "an earlier cell made one" in message and "'done befor' is close" in message
    attempts.start()
    tele.tracer.start_span("done before")  # never ended
    assert "started in this cell but never ended" in check_span("done before").message


def test_check_parent(clean_capture):
    a, b = setup("checks-a"), setup("checks-b")
    attempts.start()
    with a.tracer.start_as_current_span("p"):
        headers = {}
        propagate.inject(headers)
    with b.tracer.start_as_current_span("c"):
        pass
    assert "has no parent" in check_parent("c", "p").message and "context=ctx" in check_parent("c", "p").message
    with b.tracer.start_as_current_span("c", context=propagate.extract(headers)):
        pass
    assert check_parent("c", "p").passed
    assert "is a child of 'p', not 'q'" in check_parent("c", "q").message
    with b.tracer.start_as_current_span("c", links=[Link(a.spans().iloc[-1:].pipe(lambda d: _ctx(d)))]):
        pass
    assert "is linked to 'p' but is not its child" in check_parent("c", "p").message
    ctx = propagate.extract({"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    with b.tracer.start_as_current_span("c", context=ctx):
        pass
    assert "never recorded" in check_parent("c", "p").message
    attempts.start()  # a new attempt, with the old context
    with b.tracer.start_as_current_span("p"):
        pass
    with b.tracer.start_as_current_span("c", context=propagate.extract(headers)):
        pass
    assert "made by an earlier cell" in check_parent("c", "p").message


def _ctx(frame):
    from opentelemetry.trace import SpanContext, TraceFlags
    row = frame.iloc[0]
    return SpanContext(int(row.trace_id, 16), int(row.span_id, 16), is_remote=False, trace_flags=TraceFlags(1))


def test_check_parent_says_when_a_span_is_nested_too_deep(clean_capture):
    tele = setup("checks-deep")
    attempts.start()
    with tele.tracer.start_as_current_span("hello"):
        with tele.tracer.start_as_current_span("middle"):
            with tele.tracer.start_as_current_span("goodbye"):
                pass
    assert "nested one level too deep" in check_parent("goodbye", "hello").message


def test_check_handled_error(clean_capture):
    tele = setup("checks-err")

    def swallows(text):
        with tele.tracer.start_as_current_span("parse"):
            try:
                return float(text)
            except ValueError:
                return None

    def reraises(text):
        with tele.tracer.start_as_current_span("parse") as span:
            try:
                return float(text)
            except ValueError as exc:
                span.record_exception(exc)
                raise

    def right(text):
        with tele.tracer.start_as_current_span("parse") as span:
            try:
                return float(text)
            except ValueError as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, "nan"))
                return None

    attempts.start()
    assert "no recorded ValueError" in check_handled_error(swallows, "x", "1.5", "parse").message
    assert "let the ValueError escape" in check_handled_error(reraises, "x", "1.5", "parse").message
    assert check_handled_error(right, "x", "1.5", "parse").passed


def test_check_metric_measures_the_change_over_the_attempt(clean_capture):
    tele = setup("checks-m")
    c = tele.meter.create_counter("chk")
    attempts.start()
    assert "Nothing was recorded in 'chk' in this cell" in check_metric("chk", 1).message
    c.add(2)
    assert "recorded with no attributes" in check_metric("chk", 2, {"t": "a"}).message
    assert check_metric("chk", 2).passed
    attempts.start()
    c.add(2)
    assert check_metric("chk", 2).passed  # cumulative 4, but 2 in this attempt
    c.add(2)
    assert "Is each message added 2 times?" in check_metric("chk", 2).message
    attempts.start()
    c.add(1, {"topic": "a"})
    assert "the task asks for 't'" in check_metric("chk", 1, {"t": "a"}).message
    h = tele.meter.create_histogram("chk_h")
    attempts.start()
    h.record(5)
    h.record(6)
    assert check_metric("chk_h", 2, total=11).passed
    assert "add up to 11, but the values to record add up to 12" in check_metric("chk_h", 2, total=12).message


def test_check_log_in_span(clean_capture):
    tele = setup("checks-l")
    log = logging.getLogger("checks.l")
    attempts.start()
    with tele.tracer.start_as_current_span("s"):
        pass
    assert "No log record of this cell contains 'hot'" in check_log_in_span("hot", "s").message
    log.warning("hot")
    assert "written outside any span" in check_log_in_span("hot", "s").message
    with tele.tracer.start_as_current_span("s"):
        log.info("hot")
    assert "has severity INFO, expected WARN" in check_log_in_span("hot", "s", severity="WARN").message
    with tele.tracer.start_as_current_span("s"):
        log.warning("hot")
    assert check_log_in_span("hot", "s", severity="WARN").passed


def msgs(*topics):
    return [mqtt.MQTTMessage(1, t.encode()) for t in topics]


def test_check_received():
    assert "No message arrived" in check_received([], ["a"]).message
    assert "Nothing arrived on ['lab/b']" in check_received(msgs("lab/a"), ["lab/a", "lab/b"]).message
    assert "Also received ['x/y']" in check_received(msgs("lab/a", "x/y"), ["lab/a"]).message
    assert check_received(msgs("lab/b", "lab/a"), ["lab/a", "lab/b"]).passed
    assert "not MQTT wildcards" in check_received([], ["lab/a"], topic_filter="lab/*").message
    assert "must be a whole level" in check_received([], ["lab/a"], topic_filter="lab/a#").message


def test_check_first_alert():
    t = pd.Timestamp("2026-01-01", tz="UTC")
    spans = pd.DataFrame({
        "trace_id": ["a" * 32, "a" * 32, "b" * 32, "c" * 32],
        "span_id": ["1" * 16, "2" * 16, "3" * 16, "4" * 16],
        "name": ["publish alerts/s-2", "read temperature", "publish alerts/s-2", "publish alerts/s-1"],
        "service": ["alerter", "sensor", "alerter", "alerter"],
        "start": [t, t, t + pd.Timedelta(1, "s"), t]})
    assert "32 hex characters; got None" in check_first_alert(spans, None, "s-2", services=("alerter",)).message
    assert "a span id" in check_first_alert(spans, "1" * 16, "s-2", services=("alerter",)).message
    assert "the last of the 2 alerts" in check_first_alert(spans, "b" * 32, "s-2", services=("alerter",)).message
    assert "another sensor" in check_first_alert(spans, "c" * 32, "s-2", services=("alerter",)).message
    assert "no spans from ['processor']" in check_first_alert(spans, "a" * 32, "s-2",
                                                              services=("alerter", "processor")).message
    assert check_first_alert(spans, "a" * 32, "s-2", services=("alerter", "sensor")).passed


def test_check_collector_config():
    broken = ("exporters:\n  logging: {}\nreceivers:\n  otlp:\n    protocols:\n      grpc: {}\n"
              "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [logging]\n")
    result = check_collector_config(broken)
    assert not result.passed and "logging exporter was removed" in result.message
    fixed = broken.replace("logging", "debug")
    result = check_collector_config(fixed)
    assert result.passed and "1 warning" in result.message  # the receiver still listens on localhost
    assert "No exporter sends to jaeger" in check_collector_config(fixed, otlp_to="jaeger:4317").message


def test_the_kits_own_getter_setter_and_json_helpers_pass_their_checks():
    """The checks of lessons 06 and 07 accept the kit's own helpers, which those lessons show."""
    assert check_getter_setter(user_properties_getter, user_properties_setter).passed
    assert check_json_propagation(inject_json_payload, extract_json_payload).passed


def test_check_sampler():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    assert check_sampler(TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.1))), 0.1).passed
    assert "0.5 ≠ 0.1" in check_sampler(TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.5))), 0.1).message
    assert "instead of following the parent" in check_sampler(TracerProvider(sampler=TraceIdRatioBased(0.1)), 0.1).message
