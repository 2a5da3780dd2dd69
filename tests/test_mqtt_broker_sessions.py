"""kit.mqtt_broker's sessions: persistent sessions, offline queueing and redelivery, session
and message expiry, wills and their delay, flow control and backpressure. Each test runs on
the kit's embedded broker and, where it is installed, on Mosquitto, with the same outcome
(or it says where Mosquitto departs from MQTT 5.0, and marks that case)."""

import struct
import time

import pytest
from mqtt_helpers import (
    KIT_AND_MOSQUITTO, MOSQUITTO, MOSQUITTO_LIKE_THE_KIT, NO_MOSQUITTO, V5, V311, RawClient, SessionClient,
    Subscriber, broker_process, connect_properties, forget_session, log_of, publisher, rss_mb, wait_until,
)
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def kit_only_where_mosquitto_departs(reason):
    return ["kit.mqtt_broker", pytest.param("mosquitto", marks=[
        pytest.mark.skipif(not MOSQUITTO, reason=NO_MOSQUITTO), pytest.mark.xfail(strict=True, reason=reason)])]


def persistent(expiry_s=300, **more):
    return connect_properties(SessionExpiryInterval=expiry_s, **more)


def with_expiry(seconds):
    props = Properties(PacketTypes.PUBLISH)
    props.MessageExpiryInterval = seconds
    return props


def will_properties(**values):
    props = Properties(PacketTypes.WILLMESSAGE)
    for name, value in values.items():
        setattr(props, name, value)
    return props


# ---------------------------------------------------------------- persistent sessions

@pytest.mark.parametrize("broker", KIT_AND_MOSQUITTO, indirect=True)
def test_311_zero_length_client_id_with_clean_session_0_is_refused_with_0x02(broker):
    """MQTT 3.1.1 §3.1.3.1: a session needs a client id to be found again, so CleanSession 0
    with an empty one gets CONNACK 0x02 (identifier rejected). The kit's broker accepted it."""
    raw = RawClient(broker, version=4)
    assert raw.connect("", clean=False, expect_accepted=False) == b"\x20\x02\x00\x02"
    assert raw.read_until_closed() == []


@pytest.mark.parametrize("broker", KIT_AND_MOSQUITTO, indirect=True)
@pytest.mark.parametrize("protocol", [V311, V5], ids=["3.1.1", "5"])
def test_an_offline_subscriber_gets_its_qos_1_and_2_messages_when_it_comes_back(broker, protocol):
    """A persistent session (3.1.1: CleanSession 0; v5: Clean Start 0 and a Session Expiry
    Interval) keeps its subscriptions, and the QoS 1 and 2 messages published while its client
    was away, for when it reconnects (Session Present), in order. QoS 0 messages are not kept
    (Mosquitto's default, which the kit's broker follows). The kit's broker had clean sessions
    only: the messages were lost."""
    client_id = f"offline-{broker.implementation}-{protocol}"
    base = f"offline/{broker.implementation}/{protocol}"
    forget_session(broker, client_id, protocol)
    sub = SessionClient(broker, client_id, protocol)
    assert sub.connect(properties=persistent() if protocol == V5 else None) is False
    sub.subscribe(f"{base}/#", qos=2)
    sub.disconnect()
    pub = publisher(broker)
    for payload, qos in [(b"zero", 0), (b"one", 1), (b"two", 2), (b"three", 1)]:
        pub.publish(f"{base}/t", payload, qos=qos).wait_for_publish(5)
    assert sub.connect(properties=persistent() if protocol == V5 else None) is True  # no new SUBSCRIBE
    got = sub.wait_for(3)  # (paho hands a QoS 2 message over once its PUBREL has come: later)
    assert sorted((m.payload, m.qos) for m in got) == [(b"one", 1), (b"three", 1), (b"two", 2)]
    assert [m.payload for m in got if m.qos == 1] == [b"one", b"three"]
    pub.publish(f"{base}/t", b"live", qos=1).wait_for_publish(5)
    assert [m.payload for m in sub.wait_for(4)][3:] == [b"live"]
    sub.disconnect(), pub.disconnect()
    forget_session(broker, client_id, protocol)


@pytest.mark.parametrize("broker", KIT_AND_MOSQUITTO, indirect=True)
@pytest.mark.parametrize("protocol", [V311, V5], ids=["3.1.1", "5"])
def test_a_qos1_message_not_acknowledged_before_the_connection_dropped_comes_again_with_dup(broker, protocol):
    """MQTT 5.0 §4.4, 3.1.1 §4.4: on reconnect the server MUST resend the unacknowledged
    PUBLISH packets, DUP set, same packet id, before anything new."""
    client_id, base = f"dup1-{broker.implementation}-{protocol}", f"dup1/{broker.implementation}/{protocol}"
    session = persistent() if protocol == V5 else None
    forget_session(broker, client_id, protocol)
    forgetful = SessionClient(broker, client_id, protocol, manual_ack=True)  # takes the message, never PUBACKs it
    forgetful.connect(properties=session)
    forgetful.subscribe(f"{base}/#", qos=1)
    pub = publisher(broker)
    pub.publish(f"{base}/t", b"important", qos=1).wait_for_publish(5)
    [first] = forgetful.wait_for(1)
    assert not first.dup
    forgetful.vanish()
    back = SessionClient(broker, client_id, protocol)
    assert back.connect(properties=session) is True
    [again] = back.wait_for(1)
    assert (again.payload, again.qos, again.dup, again.mid) == (b"important", 1, True, first.mid)
    back.disconnect(), pub.disconnect()
    forget_session(broker, client_id, protocol)


@pytest.mark.parametrize("broker", KIT_AND_MOSQUITTO, indirect=True)
def test_a_qos2_exchange_cut_short_resumes_where_it_stopped(broker):
    """QoS 2 after a reconnect: a PUBLISH without PUBREC goes again (DUP set, same packet id);
    after PUBREC, the PUBREL goes again, not the message. On a bare socket, to stop at each step."""
    client_id, topic = f"dup2-{broker.implementation}", f"dup2/{broker.implementation}/t"
    session = struct.pack("!B", 0x11) + struct.pack("!I", 300)  # Session Expiry Interval 300 s
    forget_session(broker, client_id)
    raw = RawClient(broker)
    raw.connect(client_id, clean=True, properties=session)
    assert raw.subscribe(topic, qos=2)[-1] == 2
    pub = publisher(broker)
    pub.publish(topic, b"exactly once", qos=2).wait_for_publish(5)
    publish = raw.read()
    packet_id = publish[4 + len(topic):6 + len(topic)]
    assert publish[0] == 0x34 and publish.endswith(b"exactly once")  # QoS 2, DUP clear
    raw.close()  # no PUBREC
    raw = RawClient(broker)
    assert raw.connect(client_id, clean=False, properties=session)[2] == 1  # Session Present
    again = raw.read()
    assert again[0] == 0x3C and again[4 + len(topic):6 + len(topic)] == packet_id  # DUP set, same id
    raw.send(0x50, packet_id)  # PUBREC
    assert raw.read()[:4] == b"\x62\x02" + packet_id  # PUBREL
    raw.close()  # no PUBCOMP
    raw = RawClient(broker)
    raw.connect(client_id, clean=False, properties=session)
    assert raw.read()[:4] == b"\x62\x02" + packet_id  # PUBREL again, not the message
    raw.send(0x70, packet_id)  # PUBCOMP: done
    raw.close(), pub.disconnect()
    forget_session(broker, client_id)


@pytest.mark.parametrize("broker", KIT_AND_MOSQUITTO, indirect=True)
def test_a_session_ends_with_its_connection_unless_it_has_an_expiry_interval(broker):
    """Session Expiry Interval 0 (v5's default): the session ends with the connection. One set
    on DISCONNECT replaces the one CONNECT gave. The kit's broker kept no session at all."""
    client_id = f"expiry0-{broker.implementation}"
    client = SessionClient(broker, client_id)
    client.connect(clean_start=True)
    client.subscribe("expiry0/#")
    client.disconnect()
    assert client.connect() is False
    client.disconnect()
    client.connect(properties=persistent(300))
    client.disconnect(properties=disconnect_expiry(0))  # 0 on DISCONNECT: gone now
    assert client.connect(properties=persistent(300)) is False
    client.disconnect()
    assert client.connect() is True
    client.disconnect(properties=disconnect_expiry(0))


def disconnect_expiry(seconds):
    props = Properties(PacketTypes.DISCONNECT)
    props.SessionExpiryInterval = seconds
    return props


@pytest.mark.parametrize("broker", KIT_AND_MOSQUITTO, indirect=True)
def test_a_session_ends_after_its_expiry_interval_and_a_will_still_waiting_goes_out_then(broker):
    """MQTT 5.0 §3.1.2.11.2 and §3.1.3.2.2: an offline session ends once its Session Expiry
    Interval has passed; a will whose delay is longer goes out at that moment. The will is the
    clock here: it says when the session ended."""
    client_id, base = f"expiry-{broker.implementation}", f"expiry/{broker.implementation}"
    watcher = Subscriber(broker, f"{base}/#", qos=1)
    client = SessionClient(broker, client_id)
    client.client.will_set(f"{base}/will", b"session over", qos=1, properties=will_properties(WillDelayInterval=3600))
    client.connect(clean_start=True, properties=persistent(1))
    client.vanish()
    gone = time.monotonic()
    [will] = watcher.wait_for(1)
    assert will.payload == b"session over" and 0.9 <= time.monotonic() - gone < 5
    client = SessionClient(broker, client_id)
    assert client.connect(properties=persistent(1)) is False
    client.disconnect(properties=disconnect_expiry(0))
    watcher.close()


@pytest.mark.parametrize("broker", KIT_AND_MOSQUITTO, indirect=True)
def test_taking_over_a_persistent_session_keeps_it_and_holds_back_the_will(broker):
    """A second connection with the same client id and Clean Start 0 takes the session over:
    the first connection is closed, the session goes on (Session Present) and the first
    connection's will is not sent, as in Mosquitto. The kit's broker tells the first one why
    (DISCONNECT 0x8E, session taken over [MQTT-3.1.4-3]); Mosquitto 2.0 just closes it. (With a
    clean session the will goes out: tests/test_broker.py.)"""
    client_id, base = f"takeover-persistent-{broker.implementation}", f"takeover-p/{broker.implementation}"
    forget_session(broker, client_id)
    watcher = Subscriber(broker, f"{base}/#", qos=1)
    first = SessionClient(broker, client_id)
    first.client.will_set(f"{base}/will", b"first gone", qos=1)
    first.connect(properties=persistent())
    second = SessionClient(broker, client_id)
    assert second.connect(properties=persistent()) is True
    reason = first.wait_disconnected()
    assert reason is not None and reason.is_failure
    if broker.embedded:
        assert reason == 0x8E, reason
    pub = publisher(broker)
    pub.publish(f"{base}/marker", b"m", qos=1).wait_for_publish(5)
    assert [m.topic for m in watcher.wait_for(1)] == [f"{base}/marker"]  # the will would have come first
    second.disconnect(), watcher.close(), pub.disconnect()
    forget_session(broker, client_id)


# ---------------------------------------------------------------- message expiry

def retained_is_there(broker, topic) -> bool:
    """Does a new subscriber get a retained message on ``topic``? (A live marker, published
    after the SUBACK, comes after every retained message: it ends the look.)"""
    marker = topic + "-marker"
    look = Subscriber(broker, [(topic, 1), (marker, 1)])
    pub = publisher(broker)
    pub.publish(marker, b"m", qos=1).wait_for_publish(5)
    assert wait_until(lambda: any(m.topic == marker for m in look.messages))
    seen = any(m.topic == topic for m in look.messages)
    look.close(), pub.disconnect()
    return seen


@pytest.mark.parametrize("broker", KIT_AND_MOSQUITTO, indirect=True)
def test_a_message_that_expires_while_it_waits_is_not_delivered_and_the_rest_say_what_is_left(broker):
    """MQTT 5.0 §3.3.2.3.3: a message whose Message Expiry Interval passes while it waits
    (here, for an offline subscriber) is not delivered; the others go out with the time they
    have left, not the interval they came with. The kit's broker ignored the property: no
    message ever expired, and each said its whole interval."""
    client_id, base = f"msg-expiry-{broker.implementation}", f"msg-expiry/{broker.implementation}"
    forget_session(broker, client_id)
    sub = SessionClient(broker, client_id)
    sub.connect(properties=persistent())
    sub.subscribe(f"{base}/#", qos=1)
    sub.disconnect()
    pub = publisher(broker)
    pub.publish(f"{base}/short", b"1 s", qos=1, properties=with_expiry(1)).wait_for_publish(5)
    pub.publish(f"{base}/long", b"60 s", qos=1, properties=with_expiry(60)).wait_for_publish(5)
    probe = f"{base}-probe/t"  # retained, published last, 2 s: when it has gone, so has the first
    pub.publish(probe, b"probe", qos=1, retain=True, properties=with_expiry(2)).wait_for_publish(5)
    assert wait_until(lambda: not retained_is_there(broker, probe), timeout_s=10, interval_s=0.2)
    sub.connect(properties=persistent())
    [msg] = sub.wait_for(1)
    assert msg.payload == b"60 s" and 50 <= msg.properties.MessageExpiryInterval <= 58
    sub.disconnect(), pub.disconnect()
    forget_session(broker, client_id)


# ---------------------------------------------------------------- wills

def vanishing_client(broker, client_id, will_topic, payload, delay_s, expiry_s):
    client = SessionClient(broker, client_id)
    client.client.will_set(will_topic, payload, qos=1, properties=will_properties(WillDelayInterval=delay_s))
    client.connect(clean_start=True, properties=persistent(expiry_s))
    return client


@pytest.mark.parametrize("broker", KIT_AND_MOSQUITTO, indirect=True)
def test_a_will_waits_for_its_will_delay_interval_and_a_client_back_in_time_cancels_it(broker):
    """MQTT 5.0 §3.1.3.2.2: the will goes out Will Delay Interval after the connection ends;
    if the client reconnects to its session before that, it is not sent. Two clients with
    a 2 s delay: one vanishes and comes back at once; then the other vanishes and does not
    come back. When the second one's will arrives, the first one's would have. The kit's
    broker sent every will at once."""
    base = f"will-delay/{broker.implementation}"
    watcher = Subscriber(broker, f"{base}/#", qos=1)
    returning = vanishing_client(broker, f"will-back-{broker.implementation}", f"{base}/back", b"back", 2, 300)
    gone = vanishing_client(broker, f"will-gone-{broker.implementation}", f"{base}/gone", b"gone", 2, 300)
    returning.vanish()
    returning = SessionClient(broker, f"will-back-{broker.implementation}")
    assert returning.connect(properties=persistent()) is True
    gone.vanish()
    vanished = time.monotonic()
    [will] = watcher.wait_for(1)
    assert will.payload == b"gone" and 1.9 <= time.monotonic() - vanished < 6
    returning.disconnect(properties=disconnect_expiry(0)), watcher.close()
    forget_session(broker, f"will-gone-{broker.implementation}")


@pytest.mark.parametrize("broker", kit_only_where_mosquitto_departs(
    "Mosquitto 2.0 waits the will's whole delay even when the session has ended (Paho interop test_will_delay)"),
    indirect=True)
def test_a_will_goes_out_when_its_session_ends_even_before_its_delay(broker):
    """MQTT 5.0 §3.1.3.2.2: the will is sent when its delay has passed or when the session
    ends, whichever is first. Session Expiry 0 ends the session with the connection."""
    base = f"will-end/{broker.implementation}"
    watcher = Subscriber(broker, f"{base}/#", qos=1)
    client = vanishing_client(broker, f"will-end-{broker.implementation}", f"{base}/will", b"at once", 30, 0)
    client.vanish()
    [will] = watcher.wait_for(1, timeout_s=5)
    assert will.payload == b"at once"
    watcher.close()


# ---------------------------------------------------------------- flow control and backpressure

@pytest.mark.parametrize("broker", ["kit.mqtt_broker", pytest.param("mosquitto", marks=[
    pytest.mark.skipif(not MOSQUITTO, reason=NO_MOSQUITTO), pytest.mark.xfail(strict=True, reason=(
        "Mosquitto 2.0.11 lets up to Receive Maximum queued messages go on one PUBACK: 5 or 6 in flight "
        "(db__message_delete_outgoing counts from the acknowledged message, not the messages in flight)"))])],
    indirect=True)
def test_the_clients_receive_maximum_bounds_the_messages_in_flight_to_it(broker):
    """MQTT 5.0 §4.9: no more unacknowledged QoS 1/2 messages than the client's Receive
    Maximum; each PUBACK lets the next one go. The kit's broker ignored it."""
    client_id, base = f"flow-{broker.implementation}", f"flow/{broker.implementation}"
    slow = SessionClient(broker, client_id, manual_ack=True)
    slow.connect(clean_start=True, properties=connect_properties(ReceiveMaximum=3))
    slow.subscribe(f"{base}/#", qos=1)
    pub = publisher(broker)
    for i in range(10):
        pub.publish(f"{base}/t", str(i), qos=1).wait_for_publish(5)
    assert len(slow.wait_for(3)) == 3
    assert len(slow.wait_for(4, timeout_s=0.5)) == 3, "a 4th message before any PUBACK"
    for acked in range(1, 8):  # one PUBACK, one more message: never more than 3 unacknowledged
        slow.client.ack(slow.messages[acked - 1].mid, 1)
        assert len(slow.wait_for(acked + 3)) == acked + 3
        assert len(slow.wait_for(acked + 4, timeout_s=0.05)) == acked + 3, f"after {acked} PUBACKs"
    for m in slow.messages[7:]:
        slow.client.ack(m.mid, 1)
    assert [int(m.payload) for m in slow.messages] == list(range(10))
    slow.disconnect(), pub.disconnect()


@pytest.mark.parametrize("kind", ["kit", pytest.param("mosquitto", marks=pytest.mark.skipif(
    not MOSQUITTO, reason=NO_MOSQUITTO))])
def test_a_subscriber_that_does_not_read_holds_only_a_bounded_part_of_a_flood(kind, tmp_path):
    """Backpressure: a subscriber that never reads while a publisher floods must not grow the
    broker without bound. Each session's queue is bounded (1,000 messages, as Mosquitto; the
    kit's also 16 MB), what is beyond is dropped, and the broker's log says so. The kit's
    broker used to hold it all (293 MB published, 314 MB held). Each broker runs in a process
    of its own here, whose memory (RSS) is measured."""
    with broker_process(kind, tmp_path, MOSQUITTO_LIKE_THE_KIT) as (broker, proc):
        deaf = RawClient(broker)
        deaf.connect("deaf-subscriber")
        assert deaf.subscribe("flood/#", qos=0)[-1] == 0  # and it reads nothing from now on
        at_rest = rss_mb(proc.pid)
        pub = publisher(broker)
        chunk = b"x" * 8192
        for _ in range(100 * 128):  # 100 MB
            pub.publish("flood/t", chunk, qos=0)
        pub.publish("flood/end", b"", qos=1).wait_for_publish(60)  # the broker has read it all
        held_mb = rss_mb(proc.pid) - at_rest
        assert held_mb < 40, f"{held_mb:.0f} MB held for a subscriber that does not read"
        assert wait_until(lambda: "being dropped" in log_of(proc)), log_of(proc)[-2000:]
        listener = Subscriber(broker, "after-flood/t", qos=1)  # everyone else is served as before
        pub.publish("after-flood/t", b"fine", qos=1).wait_for_publish(5)
        assert [m.payload for m in listener.wait_for(1)] == [b"fine"]
        listener.close(), pub.disconnect(), deaf.close()
