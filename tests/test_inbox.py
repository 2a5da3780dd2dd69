"""kit.inbox: an on_message callback a cell can wait on."""

import threading

import paho.mqtt.client as mqtt

from kit.inbox import Inbox


def test_wait_returns_once_the_handler_is_done():
    done = []
    inbox = Inbox(then=lambda c, u, m: done.append(m))
    msg = mqtt.MQTTMessage(1, b"t")
    threading.Timer(0.05, inbox, args=(None, None, msg)).start()
    assert inbox.wait(1, timeout_s=5) == [msg]
    assert done == [msg]  # then() ran before wait() returned


def test_a_failing_handler_is_kept_not_raised_and_the_message_still_counts():
    def boom(c, u, m):
        raise ValueError("bad")
    inbox = Inbox(then=boom)
    inbox(None, None, "m")  # paho would stop its network thread on an exception
    assert inbox.wait(1, timeout_s=1) == ["m"]
    assert [(m, str(e)) for m, e in inbox.errors] == [("m", "bad")]


def test_a_client_whose_handler_raises_keeps_receiving():
    from kit.broker import start_broker
    from kit.clients import connect

    broker = start_broker(protocol=5)
    seen = []

    def fragile(client, userdata, msg):
        seen.append(msg.payload)
        if msg.payload == b"bad":
            raise AttributeError("'bytes' object has no attribute 'get'")

    inbox = Inbox(then=fragile)
    subscriber = connect(broker, "inbox-fragile", subscribe_to="inbox/#", on_message=inbox)
    publisher = connect(broker, "inbox-fragile-pub")
    for payload in (b"bad", b"good", b"also good"):
        publisher.publish("inbox/x", payload, qos=1).wait_for_publish(5)
    assert [m.payload for m in inbox.wait(3)] == [b"bad", b"good", b"also good"]
    assert seen == [b"bad", b"good", b"also good"] and len(inbox.errors) == 1
    for client in (subscriber, publisher):
        client.disconnect()
        client.loop_stop()


def test_wait_gives_up_after_the_timeout_and_paho_sees_a_truthy_callback():
    inbox = Inbox()
    assert inbox.wait(1, timeout_s=0.05) == []
    assert bool(inbox)  # paho skips a falsy on_message
