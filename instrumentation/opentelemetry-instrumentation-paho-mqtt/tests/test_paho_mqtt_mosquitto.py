"""Against a real broker (Mosquitto, when it is installed): QoS 0, 1 and 2 through paho's
network loop, one trace from publisher to subscriber; a retained message delivered to a
subscriber that came later."""

import threading

import paho.mqtt.client as mqtt
import pytest
from paho_mqtt_loopback import new_client


class Subscriber:
    """A client subscribed (before it returns) to ``topic``, keeping what arrives."""

    def __init__(self, broker, topic, qos=2, protocol=mqtt.MQTTv5):
        self.messages, self.arrived, subscribed = [], threading.Condition(), threading.Event()
        self.client = new_client(protocol, client_id=f"sub-{id(self)}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=qos)
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(*broker)
        self.client.loop_start()
        assert subscribed.wait(10), "no SUBACK within 10 s"

    def _on_message(self, client, userdata, message):
        with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()

    def wait_for(self, n, timeout_s=10):
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= n, timeout_s), f"{len(self.messages)} of {n}"
        return self.messages

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def publisher(broker, protocol=mqtt.MQTTv5):
    client = new_client(protocol, client_id="the-publisher")
    connected = threading.Event()
    client.on_connect = lambda *a: connected.set()
    client.connect(*broker)
    client.loop_start()
    assert connected.wait(10), "no CONNACK within 10 s"
    return client


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_one_trace_from_publisher_to_subscriber(sdk, instrument, mosquitto, qos):
    instrument()
    sub = Subscriber(mosquitto, f"real/{qos}/#")
    pub = publisher(mosquitto)
    pub.publish(f"real/{qos}/t", b"21.5", qos=qos).wait_for_publish(10)
    [message] = sub.wait_for(1)
    sub.close(), pub.disconnect(), pub.loop_stop()
    assert message.payload == b"21.5" and message.qos == qos
    [producer], [consumer] = sdk.spans("PRODUCER"), sdk.spans("CONSUMER")
    assert consumer.parent.span_id == producer.context.span_id
    assert consumer.context.trace_id == producer.context.trace_id
    assert producer.attributes["server.port"] == mosquitto[1] and producer.attributes["messaging.mqtt.qos"] == qos
    assert consumer.attributes["messaging.mqtt.qos"] == qos
    assert consumer.attributes["messaging.destination.template"] == f"real/{qos}/#"  # the subscription's filter
    assert consumer.attributes["messaging.client.id"].startswith("sub-")


def test_a_retained_message_reaches_a_later_subscriber_with_the_publishers_context(sdk, instrument, mosquitto):
    instrument(retained_as_link=True)
    pub = publisher(mosquitto)
    pub.publish("real/retained", b"last", qos=1, retain=True).wait_for_publish(10)
    sub = Subscriber(mosquitto, "real/retained")
    [message] = sub.wait_for(1)
    pub.publish("real/retained", b"", qos=1, retain=True).wait_for_publish(10)  # clear it
    sub.close(), pub.disconnect(), pub.loop_stop()
    assert message.retain and message.payload == b"last"
    producer = sdk.spans("PRODUCER")[0]
    [consumer] = [s for s in sdk.spans("CONSUMER") if s.attributes["messaging.mqtt.retain"]]
    assert consumer.parent is None and [link.context.span_id for link in consumer.links] == [producer.context.span_id]


def test_311_json_payload_through_a_real_broker(sdk, instrument, mosquitto):
    instrument(json_payload=True)
    sub = Subscriber(mosquitto, "real/json", protocol=mqtt.MQTTv311)
    pub = publisher(mosquitto, protocol=mqtt.MQTTv311)
    pub.publish("real/json", b'{"t": 21.5}', qos=1).wait_for_publish(10)
    [message] = sub.wait_for(1)
    sub.close(), pub.disconnect(), pub.loop_stop()
    assert message.payload.startswith(b'{"traceparent":"00-') and message.payload.endswith(b'"t": 21.5}')
    [producer], [consumer] = sdk.spans("PRODUCER"), sdk.spans("CONSUMER")
    assert consumer.parent.span_id == producer.context.span_id
