"""Interop with things no one here wrote: a real Mosquitto broker, and its command-line
clients as foreign peers, against PahoMqttInstrumentor."""

import json
import shutil
import subprocess

import pytest
from mqtt_helpers import MOSQUITTO, NO_MOSQUITTO, V5, V311, Subscriber, publisher, running_mosquitto, wait_until
from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor

from kit import capture
from kit.telemetry import setup

CLIENTS = shutil.which("mosquitto_pub") and shutil.which("mosquitto_sub")
pytestmark = pytest.mark.skipif(not (MOSQUITTO and CLIENTS), reason=NO_MOSQUITTO)

KNOWN_TRACE, KNOWN_SPAN = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
KNOWN = f"00-{KNOWN_TRACE}-{KNOWN_SPAN}-01"


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory):
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto")) as broker:
        yield broker


@pytest.fixture
def instrumented(clean_capture):
    setup("interop")
    PahoMqttInstrumentor().instrument(json_payload=True)
    yield
    PahoMqttInstrumentor().uninstrument()


def consumer_spans(topic):
    df = capture.spans_df()
    return df[df.name == f"process {topic}"].reset_index(drop=True)


def mosquitto_pub(broker, *args):
    subprocess.run(["mosquitto_pub", "-h", broker.host, "-p", str(broker.port), *args], check=True, timeout=10)


@pytest.mark.parametrize("qos", ["0", "1", "2"])
def test_mosquitto_pub_v5_traceparent_is_continued_exactly(mosquitto, instrumented, qos):
    topic = f"interop/v5/q{qos}"
    sub = Subscriber(mosquitto, topic, protocol=V5)
    mosquitto_pub(mosquitto, "-V", "mqttv5", "-t", topic, "-m", "reading", "-q", qos,
                  "-D", "publish", "user-property", "traceparent", KNOWN,
                  "-D", "publish", "user-property", "tracestate", "congo=t61rcWkgMzE")
    [msg] = sub.wait_for(1)
    assert msg.payload == b"reading"
    assert wait_until(lambda: len(consumer_spans(topic)) == 1)
    span = consumer_spans(topic).iloc[0]
    assert (span.trace_id, span.parent_span_id, span.kind) == (KNOWN_TRACE, KNOWN_SPAN, "CONSUMER")
    [raw] = capture.finished_spans()[-1:]
    assert raw.parent.is_remote and str(raw.context.trace_state) and raw.context.trace_state.get("congo")
    sub.close()


def test_instrumented_publish_shows_its_traceparent_to_mosquitto_sub(mosquitto, instrumented):
    topic = "interop/v5/out"
    sub = subprocess.Popen(["mosquitto_sub", "-V", "mqttv5", "-h", mosquitto.host, "-p", str(mosquitto.port),
                            "-t", topic, "-F", "%P", "-C", "1", "-W", "15", "-q", "1"],
                           stdout=subprocess.PIPE, text=True)
    pub = publisher(mosquitto, V5)
    # mosquitto_sub needs a moment to subscribe: publish until it has printed something
    assert wait_until(lambda: pub.publish(topic, b"x", qos=1) and sub.poll() is not None, timeout_s=15)
    printed = sub.stdout.read().strip()
    assert printed.startswith("traceparent:00-")
    _, trace_id, span_id, flags = printed.split()[0].split(":", 1)[1].split("-")
    producers = capture.spans_df().query("kind == 'PRODUCER'")
    assert (trace_id, span_id) in set(zip(producers.trace_id, producers.span_id))
    pub.disconnect()


def test_mosquitto_pub_311_json_traceparent_is_continued(mosquitto, instrumented):
    topic = "interop/311/json"
    sub = Subscriber(mosquitto, topic, protocol=V311)
    body = json.dumps({"traceparent": KNOWN, "t": 21.5})
    mosquitto_pub(mosquitto, "-V", "mqttv311", "-t", topic, "-m", body, "-q", "1")
    [msg] = sub.wait_for(1)
    assert msg.payload == body.encode()
    assert wait_until(lambda: len(consumer_spans(topic)) == 1)
    span = consumer_spans(topic).iloc[0]
    assert (span.trace_id, span.parent_span_id) == (KNOWN_TRACE, KNOWN_SPAN)
    sub.close()


def test_instrumented_311_json_publish_read_by_mosquitto_sub(mosquitto, instrumented):
    topic = "interop/311/out"
    sub = subprocess.Popen(["mosquitto_sub", "-V", "mqttv311", "-h", mosquitto.host, "-p", str(mosquitto.port),
                            "-t", topic, "-F", "%p", "-C", "1", "-W", "15"], stdout=subprocess.PIPE, text=True)
    pub = publisher(mosquitto, V311)
    assert wait_until(lambda: pub.publish(topic, b'{"t": 1}', qos=1) and sub.poll() is not None, timeout_s=15)
    body = json.loads(sub.stdout.read())
    producers = capture.spans_df().query("kind == 'PRODUCER'")
    assert body["t"] == 1 and body["traceparent"].split("-")[1] in set(producers.trace_id)
    pub.disconnect()


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_one_trace_through_mosquitto_between_two_instrumented_clients(mosquitto, instrumented, qos):
    topic = f"interop/both/{qos}"
    sub = Subscriber(mosquitto, topic, protocol=V5)
    pub = publisher(mosquitto, V5)
    pub.publish(topic, b"x", qos=qos)
    sub.wait_for(1)
    assert wait_until(lambda: len(consumer_spans(topic)) == 1)
    consumer = consumer_spans(topic).iloc[0]
    producer = capture.spans_df().query(f"name == 'publish {topic}'").iloc[0]
    assert consumer.parent_span_id == producer.span_id
    sub.close(), pub.disconnect()
