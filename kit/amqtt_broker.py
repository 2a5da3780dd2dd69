"""amqtt's MQTT 3.1.1 broker, with the defects of amqtt 0.12.1 that the lessons run into fixed.

:func:`kit.broker.start_broker` runs :class:`KitAmqttBroker`. Each fix overrides one
private amqtt method and says, in its docstring, what amqtt does and what MQTT 3.1.1
asks for. amqtt is pinned (requirements.txt); ``tests/test_broker.py`` checks that every
overridden method still exists in the installed amqtt with the same signature, so an
upgrade that moves one fails there instead of silently undoing the fix.
"""

from __future__ import annotations

from amqtt.broker import Broker


class KitAmqttBroker(Broker):
    """amqtt's broker with the fixes below; configured and started like amqtt's own."""

    async def _publish_retained_messages_for_subscription(self, subscription, session):
        """Send a retained message to a session only for a filter that session holds.

        amqtt 0.12.1, when a client connects, sends it the retained messages matching
        *every* filter any client holds, not only its own: a late subscriber got the
        message twice, and a client subscribed elsewhere got it at all."""
        holders = self._subscriptions.get(subscription[0], ())
        if any(held.client_id == session.client_id for held, _ in holders):
            await super()._publish_retained_messages_for_subscription(subscription, session)
