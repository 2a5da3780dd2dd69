"""kit.checks.contract: a cell's whole trace against the trace to aim for, judged on real SDK spans.

Issue 17, class 1 (extra, duplicate or misordered spans) and class 3 (kinds): each case is a
trace a learner could make that a check asking "is there a span X under Y" let through."""

import pytest
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from kit import attempts, capture
from kit.checks.contract import ANY, MESSAGE, Span, Trace, judge
from kit.telemetry import setup

HELLO = Trace(Span("hello"), Span("say hello to MQTT", parent="hello"),
              Span("say goodbye", parent="hello", after="say hello to MQTT"))
HOP = Trace(Span("publish", kind="PRODUCER", service="contract-a"),
            Span("process", kind="CONSUMER", service="contract-b", parent="publish", via=MESSAGE))


@pytest.fixture
def tele(clean_capture):
    service = setup("contract-a")
    attempts.start()
    return service


def verdict(contract):
    return judge(contract, attempts.spans(), unfinished=attempts.unfinished_spans(), everything=capture.spans_df())


def hello(tracer, goodbye=lambda t: t.start_as_current_span("say goodbye")):
    with tracer.start_as_current_span("hello"):
        with tracer.start_as_current_span("say hello to MQTT"):
            pass
        with goodbye(tracer):
            pass


def test_exactly_the_trace_passes(tele):
    hello(tele.tracer)
    assert verdict(HELLO) is None


def test_the_trace_is_drawn_as_the_tree_to_aim_for():
    lines = repr(HELLO).splitlines()
    assert lines[:2] == ["hello", "├── say hello to MQTT"]
    assert lines[2].startswith("└── say goodbye ") and lines[2].endswith("after 'say hello to MQTT'")
    assert "CONSUMER · service contract-b · child through the message" in repr(HOP)


def test_a_second_span_nested_in_the_first_is_a_duplicate(tele):
    with tele.tracer.start_as_current_span("read sensor"):
        with tele.tracer.start_as_current_span("read sensor") as inner:
            inner.set_attribute("sensor.id", "s-1")
    result = verdict(Trace(Span("read sensor", attributes={"sensor.id": "s-1"})))
    assert result.reason == "span-duplicate" and "appears twice, one inside the other" in result.message


def test_a_span_twice_in_a_row_is_a_duplicate(tele):
    with tele.tracer.start_as_current_span("deliver"):
        for _ in range(2):
            with tele.tracer.start_as_current_span("jam"):
                pass
    result = verdict(Trace(Span("deliver"), Span("jam", parent="deliver")))
    assert result.reason == "span-duplicate" and "'jam' appears twice" in result.message


def test_a_span_the_contract_does_not_have_is_extra(tele):
    hello(tele.tracer)
    with tele.tracer.start_as_current_span("wave"):
        pass
    result = verdict(HELLO)
    assert result.reason == "span-extra" and "'wave'" in result.message


def test_the_blogs_client_span_around_the_producer_is_named(tele):
    with tele.tracer.start_as_current_span("Service1_Publish", kind=SpanKind.CLIENT):
        with tele.tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER):
            pass
    result = verdict(Trace(Span("publish", kind="PRODUCER")))
    assert result.reason == "span-extra" and "wrapped its PRODUCER span in a CLIENT span" in result.message


def test_siblings_in_the_wrong_order(tele):
    hello(tele.tracer)  # right first, then the other order in a new attempt
    attempts.start()
    with tele.tracer.start_as_current_span("hello"):
        with tele.tracer.start_as_current_span("say goodbye"):
            pass
        with tele.tracer.start_as_current_span("say hello to MQTT"):
            pass
    result = verdict(HELLO)
    assert result.reason == "span-order" and "starts before 'say hello to MQTT' ends" in result.message


def test_nested_one_level_too_deep_and_one_too_shallow(tele):
    with tele.tracer.start_as_current_span("hello"):
        with tele.tracer.start_as_current_span("say hello to MQTT"):
            with tele.tracer.start_as_current_span("say goodbye"):
                pass
    assert verdict(HELLO).reason == "span-too-deep"
    deep = Trace(Span("a"), Span("b", parent="a"), Span("c", parent="b"))
    attempts.start()
    with tele.tracer.start_as_current_span("a"):
        with tele.tracer.start_as_current_span("b"):
            pass
        with tele.tracer.start_as_current_span("c"):
            pass
    result = verdict(deep)
    assert result.reason == "span-parent-wrong" and "belongs inside 'b'" in result.message


def test_kinds_are_judged_with_the_blogs_kinds_named(tele):
    other = setup("contract-b")
    with tele.tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER):
        carrier = {}
        propagate.inject(carrier)
    with other.tracer.start_as_current_span("process", context=propagate.extract(carrier), kind=SpanKind.SERVER):
        pass
    result = verdict(HOP)
    assert result.reason == "span-kind" and "SERVER is what the 2023 blog used" in result.message


def test_through_the_message_not_a_span_of_this_process(tele):
    other = setup("contract-b")
    with tele.tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER):
        with other.tracer.start_as_current_span("process", kind=SpanKind.CONSUMER):
            pass
    assert verdict(HOP).reason == "span-not-remote"
    attempts.start()
    with tele.tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER) as publish:
        pass
    producer = publish.get_span_context()
    with other.tracer.start_as_current_span("process", kind=SpanKind.CONSUMER, links=[Link(producer)]):
        pass
    assert verdict(HOP).reason == "span-linked"
    attempts.start()
    with tele.tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER):
        pass
    with other.tracer.start_as_current_span("process", kind=SpanKind.CONSUMER):
        pass
    result = verdict(HOP)
    assert result.reason == "span-no-parent" and "context=ctx" in result.message


def test_a_parent_made_by_an_earlier_cell(tele):
    other = setup("contract-b")
    with tele.tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER):
        old = {}
        propagate.inject(old)
    attempts.start()
    with tele.tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER):
        pass
    with other.tracer.start_as_current_span("process", context=propagate.extract(old), kind=SpanKind.CONSUMER):
        pass
    assert verdict(HOP).reason == "span-old-parent"


def test_an_error_status_where_nothing_failed_and_one_that_is_asked_for(tele):
    with tele.tracer.start_as_current_span("x") as span:
        span.set_status(Status(StatusCode.ERROR))
    assert verdict(Trace(Span("x"))).reason == "span-status"
    assert verdict(Trace(Span("x", status="ERROR"))) is None
    assert verdict(Trace(Span("x", status=ANY))) is None


def test_who_made_it_the_instrumentation_scope(tele):
    own = tele.tracer_provider.get_tracer("my.own.code")
    with own.start_as_current_span("publish lab/temp", kind=SpanKind.PRODUCER):
        pass
    result = verdict(Trace(Span("publish lab/temp", kind="PRODUCER", scope="the.instrumentation")))
    assert result.reason == "span-scope" and "'my.own.code'" in result.message


def test_counts_and_one_value_each_in_start_order(tele):
    for size in (3, 5):
        with tele.tracer.start_as_current_span("process") as span:
            span.set_attribute("size", size)
    assert verdict(Trace(Span("process", count=2, each={"size": [3, 5]}))) is None
    assert verdict(Trace(Span("process", count=3))).reason == "span-count"
    result = verdict(Trace(Span("process", count=2, each={"size": [3, 4]})))
    assert result.reason == "span-attribute-value" and "number 2 of 2 has size=5, expected 4" in result.message


def test_each_child_continues_its_own_parent(tele):
    other = setup("contract-b")
    carriers = []
    for _ in range(2):
        with tele.tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER):
            carrier = {}
            propagate.inject(carrier)
            carriers.append(carrier)
    for _ in range(2):  # both from the first message's context
        with other.tracer.start_as_current_span("process", context=propagate.extract(carriers[0]),
                                                kind=SpanKind.CONSUMER):
            pass
    contract = Trace(Span("publish", kind="PRODUCER", count=2),
                     Span("process", kind="CONSUMER", parent="publish", via=MESSAGE, count=2))
    assert verdict(contract).reason == "span-same-parent"


def test_a_span_never_ended(tele):
    with tele.tracer.start_as_current_span("hello"):
        with tele.tracer.start_as_current_span("say hello to MQTT"):
            pass
        tele.tracer.start_span("say goodbye")
    assert verdict(HELLO).reason == "span-not-ended"


def test_a_missing_span_says_where_it_belongs_and_a_typo_is_named(tele):
    with tele.tracer.start_as_current_span("hello"):
        with tele.tracer.start_as_current_span("say hello to MQTT"):
            pass
    result = verdict(HELLO)
    assert result.reason == "span-missing" and "inside 'hello', after 'say hello to MQTT'" in result.message
    attempts.start()
    hello(tele.tracer, goodbye=lambda t: t.start_as_current_span("say good-bye"))
    assert "'say good-bye' is close" in verdict(HELLO).message


def test_a_contract_lists_parents_first():
    with pytest.raises(ValueError):
        Trace(Span("child", parent="parent"), Span("parent"))
    with pytest.raises(ValueError):
        Trace(Span("a"), Span("a"))


def test_a_root_that_is_a_child_of_a_leaked_context(tele):
    leaked = tele.tracer.start_span("left attached")  # by an earlier cell, still open
    attempts.start()
    with trace.use_span(leaked):
        with tele.tracer.start_as_current_span("x"):
            pass
    assert verdict(Trace(Span("x"))).reason == "span-not-root"
    leaked.end()


def test_a_right_answer_never_reads_the_sessions_spans_and_a_parent_from_an_earlier_cell_is_still_found(tele):
    """Every span recorded so far is read only to place a parent or link the cell did not make
    (a long session holds up to capture.MAX_ITEMS spans: reading them cost ~0.7 s a check at
    20,000), so a right answer costs what its own spans cost."""
    reads = []

    def everything():
        reads.append(1)
        return capture.spans_df()

    hello(tele.tracer)
    assert judge(HELLO, attempts.spans(), everything=everything) is None and reads == []
    with tele.tracer.start_as_current_span("hello") as old:
        pass
    attempts.start()
    with trace.use_span(old):   # a context left from an earlier cell
        hello(tele.tracer)
    result = judge(HELLO, attempts.spans(), everything=everything)
    assert result.reason == "span-old-parent" and "an earlier cell made" in result.message and reads == [1]
