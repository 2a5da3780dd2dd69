"""kit.broker: embedded brokers in one call, re-run safe, external by URL, and the CLI."""

import os
import signal
import subprocess
import sys

import pytest
from mqtt_helpers import V5, V311, Subscriber, publisher
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kit.broker import BrokerError, start_broker
from kit.ports import free_port, is_listening

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_amqtt_broker_carries_messages_at_every_qos(qos):
    broker = start_broker()
    assert (broker.protocol, broker.implementation, broker.host) == ("3.1.1", "amqtt", "127.0.0.1")
    sub = Subscriber(broker, f"q{qos}/#", protocol=V311)
    pub = publisher(broker, V311)
    assert pub.publish(f"q{qos}/t", b"\x00bytes\xff", qos=qos).wait_for_publish(5) is None
    [msg] = sub.wait_for(1)
    assert (msg.topic, msg.payload) == (f"q{qos}/t", b"\x00bytes\xff")
    sub.close(), pub.disconnect()


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_v5_broker_forwards_user_properties_unchanged_at_every_qos(qos):
    broker = start_broker(protocol=5)
    assert broker.implementation == "kit.mqtt_broker"
    sub = Subscriber(broker, f"v5q{qos}/#", protocol=V5)
    pub = publisher(broker, V5)
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("traceparent", TP), ("app", "1"), ("traceparent", "second")]
    props.ContentType = "application/json"
    info = pub.publish(f"v5q{qos}/t", b"{}", qos=qos, properties=props)
    info.wait_for_publish(5)
    assert info.is_published()
    [msg] = sub.wait_for(1)
    assert msg.qos == qos
    assert msg.properties.UserProperty == [("traceparent", TP), ("app", "1"), ("traceparent", "second")]
    assert msg.properties.ContentType == "application/json"
    sub.close(), pub.disconnect()


def test_v5_broker_qos2_is_delivered_exactly_once():
    broker = start_broker(protocol=5)
    sub = Subscriber(broker, "once/#")
    pub = publisher(broker)
    for i in range(50):
        pub.publish("once/t", str(i), qos=2)
    msgs = sub.wait_for(50)
    assert [m.payload for m in msgs] == [str(i).encode() for i in range(50)]
    assert len(sub.wait_for(51, timeout_s=0.3)) == 50
    sub.close(), pub.disconnect()


@pytest.mark.parametrize("protocol", ["3.1.1", 5])
def test_retained_message_reaches_a_late_subscriber(protocol):
    broker = start_broker(protocol=protocol)
    version = V5 if protocol == 5 else V311
    pub = publisher(broker, version)
    pub.publish(f"retained{protocol}/t", b"last known", qos=1, retain=True).wait_for_publish(5)
    sub = Subscriber(broker, f"retained{protocol}/+", protocol=version)
    [msg] = sub.wait_for(1)
    assert (msg.payload, msg.retain) == (b"last known", True)
    sub.close(), pub.disconnect()


@pytest.mark.parametrize("protocol", ["3.1.1", 5])
def test_a_retained_message_goes_once_and_only_to_matching_subscriptions(protocol):
    """amqtt 0.12.1 on its own also sends retained messages to every client that
    connects, for every other client's filter: a late subscriber saw it twice, an
    unrelated one saw it at all (lesson 05 showed two copies, now and then)."""
    broker = start_broker(protocol=protocol)
    version, base = (V5 if protocol == 5 else V311), f"once{protocol}"
    everything = Subscriber(broker, f"{base}/#", protocol=version)  # another client's matching filter
    pub = publisher(broker, version)
    pub.publish(f"{base}/status", b"online", qos=1, retain=True).wait_for_publish(5)
    everything.wait_for(1)
    late = Subscriber(broker, [(f"{base}/status", 1), (f"{base}/marker", 1)], protocol=version)
    unrelated = Subscriber(broker, f"{base}-other/#", protocol=version)
    pub.publish(f"{base}/marker", b"m", qos=1).wait_for_publish(5)
    pub.publish(f"{base}-other/marker", b"m", qos=1).wait_for_publish(5)
    got = late.wait_for(2)
    assert sorted((m.topic, m.payload) for m in got) == [(f"{base}/marker", b"m"), (f"{base}/status", b"online")]
    assert [m.topic for m in unrelated.wait_for(1)] == [f"{base}-other/marker"]
    pub.publish(f"{base}/status", b"", qos=1, retain=True).wait_for_publish(5)
    for client in (everything, late, unrelated):
        client.close()
    pub.disconnect()


def test_every_amqtt_override_still_overrides_the_pinned_amqtt():
    """kit.amqtt_broker fixes amqtt by overriding its private methods: each must still exist
    in the installed amqtt, taking the same parameters, or an upgrade would undo a fix unseen."""
    import inspect
    from importlib import metadata

    from kit import amqtt_broker

    def params(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    classes = [c for c in vars(amqtt_broker).values() if inspect.isclass(c) and c.__module__ == amqtt_broker.__name__]
    overrides = [(c, name) for c in classes for name, fn in vars(c).items() if inspect.isfunction(fn)]
    assert overrides
    for cls, name in overrides:
        [base] = cls.__bases__
        assert hasattr(base, name), f"amqtt {metadata.version('amqtt')} has no {base.__name__}.{name}: redo {cls.__name__}.{name}"
        assert params(getattr(base, name)) == params(getattr(cls, name)), f"{base.__name__}.{name} changed its parameters"


def test_v5_broker_accepts_a_subscribe_sent_before_connack():
    import paho.mqtt.client as mqtt
    broker = start_broker(protocol=5)
    got = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=V5)
    client.on_message = lambda c, u, m: got.append(m.payload)
    client.connect(broker.host, broker.port)
    client.subscribe("early/t", qos=1)  # sent right behind CONNECT
    client.loop_start()
    pub = publisher(broker)
    from mqtt_helpers import wait_until
    assert wait_until(lambda: pub.publish("early/t", b"x", qos=1) and got, timeout_s=5)
    client.disconnect(), pub.disconnect()


def test_v5_broker_serves_311_and_v5_clients_together():
    broker = start_broker(protocol=5)
    old = Subscriber(broker, "mixed/#", protocol=V311)
    pub = publisher(broker, V5)
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("traceparent", TP)]
    pub.publish("mixed/t", b"p", qos=1, properties=props)
    [msg] = old.wait_for(1)
    assert msg.payload == b"p" and msg.properties is None  # 3.1.1 has no properties
    old.close(), pub.disconnect()


def test_rerunning_the_cell_returns_the_running_broker():
    first = start_broker(protocol=5)
    assert start_broker(protocol=5) is first
    assert start_broker("3.1.1") is start_broker("3.1.1")


def test_a_taken_port_gives_a_clear_error():
    broker = start_broker()
    with pytest.raises(BrokerError, match=f"port {broker.port} on 127.0.0.1 is already taken"):
        start_broker(protocol=5, port=broker.port)


def test_stop_frees_the_port():
    port = free_port()
    broker = start_broker(protocol=5, port=port)
    assert is_listening("127.0.0.1", port)
    broker.stop()
    assert not is_listening("127.0.0.1", port)
    again = start_broker(protocol=5, port=port)  # the port can be used again at once
    assert again is not broker
    again.stop()


def test_external_broker_by_url(monkeypatch):
    monkeypatch.setenv("MQTT_BROKER_URL", "mqtt://broker.example:1884")
    broker = start_broker(protocol=5)
    assert (broker.host, broker.port, broker.embedded) == ("broker.example", 1884, False)
    broker.stop()  # nothing to stop; never raises
    monkeypatch.setenv("MQTT_BROKER_URL", "localhost:1883")
    with pytest.raises(BrokerError, match="MQTT_BROKER_URL='localhost:1883': write it as mqtt://HOST:PORT"):
        start_broker()


def test_unknown_protocol():
    with pytest.raises(BrokerError, match="use '3.1.1' or 5"):
        start_broker(protocol="3")


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_cli_runs_in_the_foreground_and_stops_on_sigterm(protocol):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "kit", "broker", "--protocol", protocol, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"MQTT {protocol} broker ready on mqtt://127.0.0.1:{port}")
        assert is_listening("127.0.0.1", port)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "broker stopped" in out
        assert "Traceback" not in err
    finally:
        proc.kill()


def test_cli_says_why_when_the_port_is_taken():
    broker = start_broker()
    proc = subprocess.run([sys.executable, "-m", "kit", "broker", "--port", str(broker.port)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "already taken" in proc.stderr and "Traceback" not in proc.stderr
