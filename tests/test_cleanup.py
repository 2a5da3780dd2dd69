"""kit.checks.cleanup: what an exercise leaves behind is judged after every exercise, with no
per-exercise list (issue 17, classes 2, 5, 6 and the paho 1.x case of class 10).

Each case runs a real attempt (real spans, a real broker, real paho threads) and then the
exercise's own check, as a learner's cell does."""

import logging
import threading

import paho.mqtt.client as mqtt
import pytest
from opentelemetry import baggage, context, propagate, trace
from opentelemetry.trace import SpanKind

from kit import attempts
from kit.broker import start_broker
from kit.checks import check_otlp_logs, check_received, check_round_trip, check_trace
from kit.inbox import Inbox
from kit.telemetry import setup


@pytest.fixture(scope="module")
def broker():
    return start_broker()


@pytest.fixture
def tele(clean_capture):
    service = setup("welcome")
    yield service
    context.attach(context.Context())  # whatever a failing case left


def hello(tracer):
    with tracer.start_as_current_span("hello"):
        with tracer.start_as_current_span("say hello to MQTT"):
            pass
        with tracer.start_as_current_span("say goodbye"):
            pass


# ---------------------------------------------------------------- class 2: context left attached

def test_a_context_attached_in_the_cell_and_left_is_named_and_detached(tele):
    attempts.start()
    context.attach(trace.set_span_in_context(tele.tracer.start_span("setup")))
    hello(tele.tracer)
    result = check_trace("0.1")
    assert result.reason == "context-leaked" and "'setup'" in result.message
    assert not trace.get_current_span().get_span_context().is_valid  # the check detached it
    attempts.start()
    hello(tele.tracer)
    assert check_trace("0.1").passed  # the next attempt is not misled by it


def test_a_context_an_earlier_cell_left_is_named_before_anything_else(tele):
    context.attach(baggage.set_baggage("tenant.id", "acme"))
    attempts.start()  # the next cell starts with it attached
    hello(tele.tracer)
    result = check_trace("0.1")
    assert result.reason == "context-leaked-earlier" and "baggage {'tenant.id': 'acme'}" in result.message
    assert not baggage.get_all()


def test_a_function_the_check_calls_that_leaves_a_context_attached(tele):
    orders, shipping = setup("order-service"), setup("shipping-service")

    def send(order_id):
        with orders.tracer.start_as_current_span("send order", kind=SpanKind.PRODUCER):
            carrier = {}
            propagate.inject(carrier, context=baggage.set_baggage("order.id", order_id))
            return carrier

    def receive(carrier):
        ctx = propagate.extract(carrier)
        context.attach(ctx)  # and never detached
        with shipping.tracer.start_as_current_span("receive order", kind=SpanKind.CONSUMER) as span:
            span.set_attribute("order.id", baggage.get_baggage("order.id"))

    attempts.start()
    result = check_round_trip(send, receive, key="order.id", producer="send order", consumer="receive order",
                              exercise="4.3")
    assert result.reason == "context-leaked" and "After receive(...) returned" in result.message
    assert not trace.get_current_span().get_span_context().is_valid


def test_an_on_message_handler_that_leaves_a_context_on_pahos_thread(broker, clean_capture):
    from kit.clients import connect
    sensor, processor = setup("sensor"), setup("processor")
    seen = []

    def handler(client, userdata, msg):
        context.attach(propagate.extract({"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"}))
        seen.append(trace.get_current_span().get_span_context().is_valid)

    inbox = Inbox(then=handler)
    sub = connect(broker, "leaky-sub", subscribe_to="leak/#", on_message=inbox, protocol="3.1.1")
    pub = connect(broker, "leaky-pub", protocol="3.1.1")
    try:
        for _ in range(2):
            pub.publish("leak/x", b"{}", qos=1).wait_for_publish(5)
        inbox.wait(2)
    finally:
        for client in (sub, pub):
            client.disconnect()
            client.loop_stop()
    assert len(inbox.leaks) == 2  # noted, and put back: the second message did not start under the first's
    assert sensor and processor


# ---------------------------------------------------------------- class 6: nothing cleaned up

def test_a_client_left_connected_is_named_and_disconnected(broker, clean_capture):
    attempts.start()
    lab = Inbox()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="left-connected")
    done = threading.Event()
    client.on_connect = lambda c, userdata, flags, reason_code, properties: c.subscribe("lab/+")
    client.on_subscribe = lambda *args: done.set()
    client.on_message = lab
    client.connect(broker.host, broker.port)
    client.loop_start()
    done.wait(5)
    sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sender-left")
    sender.connect(broker.host, broker.port)
    sender.loop_start()
    for topic in ("lab/temp", "lab/humidity"):
        sender.publish(topic, b"1", qos=1).wait_for_publish(5)
    lab.wait(2)
    client.disconnect()
    result = check_received(lab.messages, ["lab/temp", "lab/humidity"], topic_filter="lab/+", exercise="5.1")
    assert result.reason == "client-connected" and "'sender-left'" in result.message
    assert not sender.is_connected()  # the check disconnected it
    client.loop_stop()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the thread dies, as it should
def test_a_paho_1x_on_connect_is_named_not_a_missing_subscription(broker, clean_capture):
    attempts.start()
    lab = Inbox()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="old-signature")

    def on_connect(client, userdata, flags, rc):
        client.subscribe("lab/+")

    client.on_connect = on_connect
    client.on_message = lab
    client.connect(broker.host, broker.port)
    client.loop_start()
    lab.wait(1, timeout_s=1)
    result = check_received(lab.messages, ["lab/temp"], topic_filter="lab/+", exercise="5.1")
    assert result.reason == "callback-signature"
    assert "on_connect(client, userdata, flags, rc)" in result.message and "paho 1.x" in result.message
    assert "5 arguments" in result.message


def test_paho_left_instrumented_is_named_and_undone(clean_capture):
    from kit.checks import _paho

    attempts.start()
    _paho.instrumentor()().instrument()
    tele = setup("sensor-app")
    hook = tele.tracer_provider.get_tracer(_paho.scope() + "._wrappers")
    with hook.start_as_current_span("publish lab/temp", kind=SpanKind.PRODUCER) as span:
        span.set_attribute("app.sensor.id", "s-1")
    result = check_trace("8.1")
    assert result.reason == "still-instrumented"
    assert not _paho.instrumented()


def test_paho_instrumented_by_an_earlier_cell_is_named_first(clean_capture):
    from kit.checks import _paho

    _paho.instrumentor()().instrument()
    attempts.start()
    result = check_trace("8.2")
    assert result.reason == "instrumented-before" and not _paho.instrumented()


# ---------------------------------------------------------------- class 5: logging handlers

def test_a_logging_handler_added_a_second_time(receiver, clean_capture):
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    logger = logging.getLogger("test.cleanup.disk")
    logger.handlers[:] = []
    try:
        for run in range(2):  # the learner's cell with addHandler, run twice
            attempts.start()
            provider = LoggerProvider(resource=Resource.create({"service.name": "disk-monitor"}))
            provider.add_log_record_processor(
                BatchLogRecordProcessor(OTLPLogExporter(endpoint=receiver.grpc_endpoint, insecure=True)))
            logger.addHandler(LoggingHandler(logger_provider=provider))
            logger.warning("disk almost full")
            provider.force_flush()
            result = check_otlp_logs(receiver, "disk almost full", service="disk-monitor", severity="WARN",
                                     logger="test.cleanup.disk", provider=provider, exercise="3.2")
            assert result.passed == (run == 0), result
        assert result.reason == "handler-twice" and "2 LoggingHandlers" in result.message
    finally:
        logger.handlers[:] = []


def test_a_logging_handler_on_the_root_logger(receiver, clean_capture):
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    attempts.start()
    provider = LoggerProvider(resource=Resource.create({"service.name": "disk-monitor"}))
    provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=receiver.grpc_endpoint, insecure=True)))
    handler = LoggingHandler(logger_provider=provider)
    logging.getLogger().addHandler(handler)
    try:
        logging.getLogger("test.cleanup.root").warning("disk almost full")
        provider.force_flush()
        result = check_otlp_logs(receiver, "disk almost full", service="disk-monitor", severity="WARN",
                                 logger="test.cleanup.root", provider=provider, exercise="3.2")
        assert result.reason == "handler-on-root"
    finally:
        logging.getLogger().removeHandler(handler)
