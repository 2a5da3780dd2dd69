"""kit.clients: a connected paho client in one call."""

import pytest

from kit.broker import start_broker
from kit.clients import connect
from kit.inbox import Inbox


@pytest.mark.parametrize("protocol", [5, "3.1.1"])
def test_connect_subscribes_and_receives(protocol):
    broker = start_broker(protocol=protocol)
    inbox = Inbox()
    sub = connect(broker, f"clients-sub-{protocol}", subscribe_to="clients/#", on_message=inbox, protocol=protocol)
    pub = connect(broker, f"clients-pub-{protocol}", protocol=protocol)
    assert sub.is_connected() and pub.is_connected()
    pub.publish("clients/t", b"hi", qos=1)
    assert [m.payload for m in inbox.wait(1)] == [b"hi"]
    assert sub.protocol == (5 if protocol == 5 else 4)
    for c in (sub, pub):
        c.disconnect()
        c.loop_stop()
