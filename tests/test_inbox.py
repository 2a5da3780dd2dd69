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


def test_a_failing_handler_still_counts_the_message():
    def boom(c, u, m):
        raise ValueError("bad")
    inbox = Inbox(then=boom)
    try:
        inbox(None, None, "m")
    except ValueError:
        pass
    assert inbox.wait(1, timeout_s=1) == ["m"]


def test_wait_gives_up_after_the_timeout_and_paho_sees_a_truthy_callback():
    inbox = Inbox()
    assert inbox.wait(1, timeout_s=0.05) == []
    assert bool(inbox)  # paho skips a falsy on_message
