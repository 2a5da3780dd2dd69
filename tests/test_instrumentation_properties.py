"""The instrumentation's own PUBLISH properties: the same bytes on the wire as paho's."""

from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from opentelemetry.instrumentation.paho_mqtt._carriers import _new_publish_properties
from kit.propagation import user_properties_setter

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


def both(pairs):
    ours, paho = _new_publish_properties(), Properties(PacketTypes.PUBLISH)
    for key, value in pairs:
        user_properties_setter.set(ours, key, value)
        user_properties_setter.set(paho, key, value)
    return ours, paho


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(text, text), max_size=4))
def test_packs_exactly_the_bytes_paho_packs(pairs):
    ours, paho = both(pairs)
    assert ours.pack() == paho.pack()


def test_unpacks_to_the_same_user_properties():
    ours, _ = both([("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), ("é", "✓")])
    back = Properties(PacketTypes.PUBLISH)
    back.unpack(ours.pack())
    assert back.UserProperty == ours.UserProperty


def raised_by(pack):
    try:
        pack()
    except Exception as exc:  # noqa: BLE001 - whatever paho raises, ours must raise the same
        return type(exc)
    return None


def test_anything_else_is_packed_by_paho():
    ours, paho = both([("traceparent", "x")])
    ours.MessageExpiryInterval = paho.MessageExpiryInterval = 30  # not only user properties any more
    assert ours.pack() == paho.pack()
    ours, paho = both([("k", "v" * 70_000)])  # too long for MQTT
    assert raised_by(paho.pack) is not None
    assert raised_by(ours.pack) is raised_by(paho.pack)


def test_pairs_that_are_not_text_go_to_paho():
    ours, paho = _new_publish_properties(), Properties(PacketTypes.PUBLISH)
    for props in (ours, paho):
        object.__setattr__(props, "UserProperty", [("k", b"bytes")])
    assert ours.pack() == paho.pack()
