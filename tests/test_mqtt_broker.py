"""kit.mqtt_broker: the kit's own MQTT v5 / 3.1.1 broker, held to the protocol and to Mosquitto's clients."""

import shutil
import socket
import subprocess

import paho.mqtt.client as mqtt
import pytest
from mqtt_helpers import V5, Subscriber, publisher, wait_until
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kit.broker import start_broker
from kit.mqtt_broker import matches, valid_filter

MOSQUITTO_CLIENTS = shutil.which("mosquitto_pub") and shutil.which("mosquitto_sub")
needs_mosquitto_clients = pytest.mark.skipif(
    not MOSQUITTO_CLIENTS, reason="mosquitto-clients not installed (apt-get install mosquitto-clients)")
TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize("topic_filter, topic, expected", [
    ("a/b", "a/b", True), ("a/+", "a/b", True), ("a/+", "a/b/c", False), ("a/#", "a", True),
    ("a/#", "a/b/c", True), ("#", "a/b", True), ("+/+", "a/b", True), ("+", "/a", False),
    ("#", "$SYS/x", False), ("+/x", "$SYS/x", False), ("$SYS/#", "$SYS/x", True), ("a/b", "a/c", False),
])
def test_filters_match_like_the_spec(topic_filter, topic, expected):
    assert matches(topic_filter, topic) is expected


@pytest.mark.parametrize("f, ok", [("a/#", True), ("a/#/b", False), ("a+", False), ("+", True), ("", False),
                                   ("a/b#", False)])
def test_filter_validation(f, ok):
    assert valid_filter(f) is ok


def test_garbage_on_one_connection_does_not_hurt_the_others():
    broker = start_broker(protocol=5)
    sub = Subscriber(broker, "garbage/#")
    for junk in [b"\xff\xff\xff\xff\xff", b"\x10\x05MQTT", b"\x30\x7f" + b"x" * 10, b"\x10\x0c\x00\x04MQTT\x07"]:
        with socket.create_connection((broker.host, broker.port), timeout=5) as s:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            s.recv(64)  # the broker answers or closes; it does not hang
    pub = publisher(broker)
    pub.publish("garbage/ok", b"still here", qos=1).wait_for_publish(5)
    assert [m.payload for m in sub.wait_for(1)] == [b"still here"]
    sub.close(), pub.disconnect()


def test_unsupported_protocol_level_is_refused_with_a_connack():
    broker = start_broker(protocol=5)
    with socket.create_connection((broker.host, broker.port), timeout=5) as s:
        s.sendall(b"\x10\x0c\x00\x04MQTT\x07\x02\x00\x3c\x00\x00")  # protocol level 7
        assert s.recv(4)[:1] == b"\x20"


def test_no_local_and_subscription_identifiers():
    from paho.mqtt.subscribeoptions import SubscribeOptions
    broker = start_broker(protocol=5)
    got = []
    subscribed = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=V5)
    client.on_message = lambda c, u, m: got.append(m)
    client.on_subscribe = lambda *a: subscribed.append(1)
    client.connect(broker.host, broker.port)
    client.loop_start()
    props = Properties(PacketTypes.SUBSCRIBE)
    props.SubscriptionIdentifier = 42
    client.subscribe("nl/#", options=SubscribeOptions(qos=1, noLocal=True), properties=props)
    assert wait_until(lambda: subscribed)
    client.publish("nl/mine", b"own", qos=1)
    other = publisher(broker)
    other.publish("nl/theirs", b"other", qos=1)
    assert wait_until(lambda: got)
    assert [m.payload for m in got] == [b"other"]
    assert got[0].properties.SubscriptionIdentifier == [42]
    client.disconnect(), other.disconnect()


def test_will_is_sent_when_a_client_vanishes():
    broker = start_broker(protocol=5)
    sub = Subscriber(broker, "will/#")
    doomed = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=V5)
    doomed.will_set("will/gone", b"sensor lost", qos=1)
    doomed.connect(broker.host, broker.port)
    doomed.loop_start()
    assert wait_until(doomed.is_connected)
    doomed.loop_stop()
    doomed.socket().close()  # no DISCONNECT: an abnormal end
    assert [m.payload for m in sub.wait_for(1)] == [b"sensor lost"]
    sub.close()


def test_unsubscribe_stops_delivery():
    broker = start_broker(protocol=5)
    sub = Subscriber(broker, "unsub/#")
    done = []
    sub.client.on_unsubscribe = lambda *a: done.append(1)
    sub.client.unsubscribe("unsub/#")
    assert wait_until(lambda: done)
    pub = publisher(broker)
    pub.publish("unsub/t", b"x", qos=1).wait_for_publish(5)
    assert sub.wait_for(1, timeout_s=0.3) == []
    sub.close(), pub.disconnect()


@needs_mosquitto_clients
def test_mosquitto_clients_exchange_user_properties_through_it():
    broker = start_broker(protocol=5)
    sub = subprocess.Popen(["mosquitto_sub", "-V", "mqttv5", "-h", broker.host, "-p", str(broker.port),
                            "-t", "mosq/#", "-q", "2", "-F", "%t|%p|%P|%q", "-C", "1", "-W", "10"],
                           stdout=subprocess.PIPE, text=True)
    helper = Subscriber(broker, "mosq/#")  # tells us when mosquitto_sub is subscribed as well
    assert wait_until(lambda: len(broker_sessions(broker)) >= 2)
    subprocess.run(["mosquitto_pub", "-V", "mqttv5", "-h", broker.host, "-p", str(broker.port),
                    "-t", "mosq/t", "-m", "hi", "-q", "2",
                    "-D", "publish", "user-property", "traceparent", TP,
                    "-D", "publish", "user-property", "traceparent", "second"], check=True, timeout=10)
    out, _ = sub.communicate(timeout=15)
    assert out.strip() == f"mosq/t|hi|traceparent:{TP} traceparent:second|2"
    helper.close()


def broker_sessions(broker):
    """The client sessions the embedded v5 broker holds (read through its event loop)."""
    import asyncio

    async def read():
        return list(broker._stop.__self__.sessions)
    return asyncio.run_coroutine_threadsafe(read(), broker._loop).result(5)
