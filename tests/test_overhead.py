"""kit.overhead: every contender really runs, and its numbers and sentences are made
from what was measured. Speed itself is never asserted (a shared machine is too noisy)."""

import re
from collections import Counter
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from kit import overhead
from kit.loopback import LoopbackEcho
from kit.overhead import CONTENDERS, Overhead, measure

SANITIZE = get_sanitize_patterns((Path(__file__).parent.parent / "notebooks" / "nbval_sanitize.cfg").read_text())


SPACES_ONLY = [(regex, replace) for regex, replace in SANITIZE if regex == "[ \\t]+"]


def sanitized(text, patterns=SANITIZE):
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


def made_up(microseconds, n=3000, repeat=3):
    """An Overhead with the given µs per message (in CONTENDERS order), as if measured."""
    runs = {name: [us * 1e-6, us * 2e-6][:repeat] for name, us in zip(CONTENDERS, microseconds)}
    return Overhead(n, repeat, runs, {name: Counter() for name in CONTENDERS}, attributes=18, histogram_records=2)


@pytest.fixture(scope="module")
def measured():
    return measure(n=40, repeat=2)


def test_every_contender_ran_every_message_and_made_its_spans(measured):
    messages = 40 * 2
    assert set(measured.runs) == set(CONTENDERS)
    assert all(len(runs) == 2 and all(seconds > 0 for seconds in runs) for runs in measured.runs.values())
    floor = Counter({("publish", SpanKind.PRODUCER): messages, ("process", SpanKind.CONSUMER): messages})
    assert measured.spans == {
        "plain paho": Counter(),
        "SDK floor": floor,
        "+ attributes": floor,
        "+ attributes + histograms": floor,
        "paho + instrumentation": Counter({("publish bench/topic", SpanKind.PRODUCER): messages,
                                           ("process bench/topic", SpanKind.CONSUMER): messages}),
    }
    assert (measured.attributes, measured.histogram_records) == (18, 2)


def test_the_instrumented_message_travels_through_the_echo_as_one_trace():
    recorded = overhead.one_instrumented_message()
    assert (recorded.publish.name, recorded.publish.kind) == ("publish bench/topic", SpanKind.PRODUCER)
    assert (recorded.process.name, recorded.process.kind) == ("process bench/topic", SpanKind.CONSUMER)
    assert recorded.process.parent.span_id == recorded.publish.context.span_id  # the traceparent went round
    assert recorded.process.context.trace_id == recorded.publish.context.trace_id
    assert len(recorded.publish.attributes) == len(recorded.process.attributes) == 9
    assert recorded.metric_attributes["publish"]["messaging.operation.name"] == "publish"
    assert recorded.metric_attributes["process"]["messaging.operation.name"] == "process"
    assert set(recorded.metric_attributes["publish"]) == {  # no topic: a bounded number of series
        "messaging.system", "server.address", "server.port", "messaging.operation.name"}


def recording_providers():
    spans, metrics = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    return tracer_provider.get_tracer("test"), MeterProvider(metric_readers=[metrics]).get_meter("test"), spans, metrics


def test_the_floor_is_two_spans_joined_by_w3c_headers():
    tracer, _, spans, _ = recording_providers()
    overhead.sdk_floor(tracer)()
    publish, process = spans.get_finished_spans()
    assert (publish.kind, process.kind) == (SpanKind.PRODUCER, SpanKind.CONSUMER)
    assert process.parent.span_id == publish.context.span_id
    assert not publish.attributes and not process.attributes


def test_the_floor_carries_exactly_what_the_instrumentation_recorded():
    recorded = overhead.one_instrumented_message()
    tracer, meter, spans, metrics = recording_providers()
    overhead.sdk_floor_carrying(recorded, tracer, meter)()
    publish, process = spans.get_finished_spans()
    assert dict(publish.attributes) == dict(recorded.publish.attributes)
    assert dict(process.attributes) == dict(recorded.process.attributes)
    points = [(metric.name, dict(point.attributes)) for resource in metrics.get_metrics_data().resource_metrics
              for scope in resource.scope_metrics for metric in scope.metrics for point in metric.data.data_points]
    assert sorted(points, key=str) == sorted([("floor.operation.duration", recorded.metric_attributes["publish"]),
                                              ("floor.process.duration", recorded.metric_attributes["process"])],
                                             key=str)
    tracer, _, spans, _ = recording_providers()
    overhead.sdk_floor_carrying(recorded, tracer)()  # without a meter: the attributes only
    assert len(spans.get_finished_spans()) == 2


def test_the_ratios_are_made_of_the_measured_numbers(measured):
    us = measured.microseconds
    assert us == {name: min(runs) * 1e6 for name, runs in measured.runs.items()}
    assert measured.cost == us["paho + instrumentation"] - us["plain paho"]
    assert measured.cost_over_floor == measured.cost / us["SDK floor"]
    assert measured.cost_over_floor_with_telemetry == measured.cost / us["+ attributes + histograms"]

    made = made_up([40, 20, 30, 50, 140])
    assert (made.cost, made.cost_over_floor, made.cost_over_floor_with_telemetry) == pytest.approx((100, 5, 2))


def test_the_summary_says_the_numbers_in_a_fixed_form(measured):
    made = made_up([40, 20, 31, 51, 140])
    assert str(made) == repr(made) == made.summary()
    assert made.summary().splitlines()[-2:] == [
        "The SDK floor is 20.0 µs per message; the instrumentation adds 100.0 µs, 5.0 × the floor and 2.0 × "
        "the floor carrying the same attributes and histograms.",
        "On the floor, each of the 18 span attributes costs 0.6 µs and each of the 2 histogram records 10.0 µs; "
        "the instrumentation's own work (the context written into the message and parsed back by paho, its "
        "caches) is the remaining 49.0 µs."]
    text = measured.summary()
    assert re.search(r"adds \d+\.\d µs, \d+\.\d × the floor and \d+\.\d × the floor carrying", text)
    assert "each of the 18 span attributes" in text and "each of the 2 histogram records" in text
    assert "best of 2 runs of 40 messages" in text


def test_the_notebooks_sanitizer_makes_any_two_summaries_the_same():
    one = made_up([40.2, 20.1, 31.7, 51.3, 140.9])
    other = made_up([1234.5, 8.9, 9.3, 99.0, 1300.1])  # noise: the instrumentation's own share comes out negative
    assert sanitized(one.summary()) == sanitized(other.summary())
    assert sanitized("N × the floor and N × the floor") in sanitized(one.summary())
    assert overhead.ratio(2.449) == "2.4 ×" and overhead.ratio(12.0) == "12.0 ×"


def test_the_ratio_pattern_blanks_nothing_a_lesson_must_show():
    kept = ("✓ publish bench/topic PRODUCER ✗ process bench/topic CONSUMER ERROR; 22 span attributes; "
            "1000 traces started, 251 kept (502 spans); flags 01 → producer recorded: True; 2.456 ×; 3×4")
    assert SPACES_ONLY and sanitized(kept) == sanitized(kept, SPACES_ONLY)
    assert sanitized("2.4 × the floor, 10.0 × it, -0.3 ×") == sanitized("N × the floor, N × it, N ×")
    assert sanitized("0.94 × (rounds 0.88 × to 1.02 ×)") == sanitized("N × (rounds N × to N ×)")  # kit.throughput


def test_the_chart_draws_the_floors_and_the_cost(measured):
    figure = measured.chart()
    (ax,) = figure.axes
    us = measured.microseconds
    assert [bar.get_width() for bar in ax.patches] == pytest.approx(
        [us["SDK floor"], us["+ attributes"], us["+ attributes + histograms"], measured.cost])
    assert figure._repr_png_().startswith(b"\x89PNG")


def test_the_loopback_echo_hands_each_message_back_to_on_message():
    echo = LoopbackEcho(overhead.paho_client())
    for _ in range(3):
        echo.one_message("echo/topic", b"21.5")
    assert echo.delivered == 3
    echo.close()
