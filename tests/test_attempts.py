"""kit.attempts: what came after the watermark is the attempt's, and only that."""

import logging

import pytest

from kit import attempts
from kit.telemetry import setup


def test_spans_and_logs_after_the_watermark_only(clean_capture):
    tele = setup("attempts-a")
    log = logging.getLogger("attempts.a")
    with tele.tracer.start_as_current_span("before"):
        log.warning("old line")
    attempts.start()
    with tele.tracer.start_as_current_span("after"):
        log.warning("new line")
    assert list(attempts.spans().name) == ["after"]
    assert list(attempts.logs().body) == ["new line"]
    attempts.start()
    assert attempts.spans().empty and attempts.logs().empty


def test_a_counter_is_judged_by_its_change_over_the_attempt(clean_capture):
    tele = setup("attempts-m")
    counter = tele.meter.create_counter("attempts_count")
    for _ in range(2):  # the same "cell" twice: each attempt adds 3
        attempts.start()
        counter.add(3, {"topic": "t"})
        attempts.read_metrics()
        change = attempts.metric_changes("attempts_count")
        assert change[["attributes", "change"]].to_dict("records") == [{"attributes": {"topic": "t"}, "change": 3}]
    assert change.after.iloc[0] == 6 and change.before.iloc[0] == 3
    attempts.start()
    attempts.read_metrics()
    assert attempts.metric_changes("attempts_count").empty  # nothing added in this attempt


def test_a_histogram_change_has_its_count_sum_and_buckets(clean_capture):
    tele = setup("attempts-h")
    sizes = tele.meter.create_histogram("attempts_size", explicit_bucket_boundaries_advisory=[10, 100])
    sizes.record(5)
    attempts.start()
    for value in (7, 50, 500):
        sizes.record(value)
    attempts.read_metrics()
    row = attempts.metric_changes("attempts_size").iloc[0]
    assert (row.change, row.sum_change, row.buckets_change) == (3, 557, [1, 1, 1])


def test_a_span_started_but_not_ended_is_reported(clean_capture):
    tele = setup("attempts-u")
    attempts.start()
    left_open = tele.tracer.start_span("left open")
    with tele.tracer.start_as_current_span("closed"):
        pass
    assert attempts.unfinished_spans() == ["left open"]
    left_open.end()
    assert attempts.unfinished_spans() == []


def test_what_a_receiver_got_before_the_attempt_is_left_out(receiver, clean_capture):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("old"):
        pass
    late = tracer.start_span("started before, sent after")  # a batch processor's late delivery
    attempts.start()
    late.end()
    with tracer.start_as_current_span("new"):
        pass
    assert list(attempts.received(receiver, "spans").name) == ["new"]
    assert set(receiver.spans_df().transport) == {"grpc"}
    provider.shutdown()


def test_without_a_watermark_everything_counts(clean_capture):
    tele = setup("attempts-none")
    attempts._mark.clear()
    with tele.tracer.start_as_current_span("any"):
        pass
    assert "any" in list(attempts.spans().name)


def test_a_slow_gauge_anywhere_never_stalls_a_cell_beyond_the_budget(clean_capture):
    """The watermark reads every service's metrics; a callback that takes seconds must not
    make every cell wait for it (each cell takes a reading)."""
    import time

    from opentelemetry.metrics import Observation

    from kit import telemetry

    tele = setup("attempts-slow-gauge")
    tele.meter.create_observable_gauge("attempts.slow", [lambda options: time.sleep(3) or [Observation(1)]])
    try:
        started = time.monotonic()
        attempts.start()
        assert time.monotonic() - started < attempts.READ_BUDGET_S + 1.0
    finally:
        telemetry._retire(telemetry._services.pop("attempts-slow-gauge"))


def test_the_watermark_notes_the_context_clients_and_handlers_a_cell_starts_with(clean_capture):
    """What a check needs to tell what the attempt left behind (kit/checks/cleanup.py)."""
    import logging

    import paho.mqtt.client as mqtt
    from opentelemetry import baggage, context

    before = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="made-before")
    token = context.attach(baggage.set_baggage("k", "v"))
    try:
        mark = attempts.start(source="check_x(...)")
    finally:
        context.detach(token)
    assert baggage.get_all(mark.context) == {"k": "v"}
    made = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="made-in-it")
    assert attempts.new_clients() == [made] and before not in attempts.new_clients()
    assert logging.getLogger().name in mark.handlers
    assert attempts.cell_has("check_x( ...)") and not attempts.cell_has("check_y")


# the hook passes the error on to the one before it (in a kernel: the traceback the learner sees;
# here: pytest's, which would report this deliberate error as a warning)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_thread_that_dies_of_an_exception_is_noted_for_the_attempt(clean_capture):
    import threading

    attempts.start()
    hook, threading.excepthook = threading.excepthook, attempts._note_thread_error  # pytest replaces it per test
    try:
        def boom():
            raise TypeError("takes 4 positional arguments but 5 were given")
        worker = threading.Thread(target=boom, name="paho-mqtt-client-x")
        worker.start()
        worker.join()
    finally:
        threading.excepthook = hook
    [(name, exc)] = attempts.thread_errors()
    assert name == "paho-mqtt-client-x" and isinstance(exc, TypeError)
    attempts.start()
    assert attempts.thread_errors() == []


def test_a_client_of_a_subclass_of_paho_s_client_is_found_too(clean_capture):
    import paho.mqtt.client as mqtt

    class Sensor(mqtt.Client):
        pass

    attempts.start()
    plain, mine = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2), Sensor(mqtt.CallbackAPIVersion.VERSION2)
    assert set(map(id, attempts.new_clients())) == {id(plain), id(mine)}
