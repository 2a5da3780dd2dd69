"""amqtt's MQTT 3.1.1 broker, with the defects of amqtt 0.12.1 that the lessons run into fixed.

:func:`kit.broker.start_broker` runs :class:`KitAmqttBroker`. Each fix overrides as few
private amqtt methods as it can, and each override's docstring says what amqtt does and
what MQTT 3.1.1 asks for. amqtt is pinned (requirements.txt); ``tests/test_broker.py``
checks that every overridden method still exists in the installed amqtt with the same
parameters, so an upgrade that moves one fails there instead of silently undoing a fix,
and that the method overridden by a changed copy (:data:`COPIED`) is still the code copied.
"""

from __future__ import annotations

import asyncio
import contextvars

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import AMQTTError
from amqtt.mqtt.constants import QOS_1, QOS_2
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler

CONNECT_TIMEOUT_S = 10  # a connection that has not completed its CONNECT by then is closed

# overrides that are a changed copy of amqtt's method: the first 16 hex digits of the
# sha256 of the amqtt 0.12.1 source they copy. If amqtt changes that source, copy it again.
COPIED = {"KitAmqttBroker._run_broadcast": "e852128b3e38e04a",
          "KitAmqttBroker._publish_retained_messages_for_subscription": "d6ad257821ba29ef"}

# the QoS of the client PUBLISH being broadcast (see _handle_message_delivery)
_published_qos: contextvars.ContextVar[int | None] = contextvars.ContextVar("published_qos", default=None)


class KeepAliveHandler(BrokerProtocolHandler):
    """amqtt's per-connection protocol handler, enforcing the keep-alive."""

    def handle_read_timeout(self):
        """End the connection of a client silent for 1.5 times its keep-alive.

        MQTT 3.1.1 §3.1.2.10: "If the Keep Alive value is non-zero and the Server does
        not receive a Control Packet from the Client within one and a half times the Keep
        Alive time period, it MUST disconnect the Network Connection to the Client as if
        the network had failed." amqtt 0.12.1 reads with the session's keep_alive as
        timeout and, when it expires, does nothing and reads on. Cancelling the read loop
        ends it the way amqtt's own stop() does: the connection is closed and, as for a
        network failure, the will is published."""
        self._reader_task.cancel()


class KitAmqttBroker(Broker):
    """amqtt's broker with the fixes below; configured and started like amqtt's own."""

    async def _initialize_client_session(self, reader, writer, remote_address, remote_port):
        """Read the CONNECT within CONNECT_TIMEOUT_S; time reads out at 1.5 x keep-alive.

        amqtt 0.12.1 waits for a CONNECT without end, so a socket that connects and sends
        nothing (or half a CONNECT) is held open for ever. It then uses the session's
        keep_alive as the timeout of every read, and hands the connection to a
        BrokerProtocolHandler, whose read timeout does nothing (see KeepAliveHandler)."""
        try:
            _, session = await asyncio.wait_for(
                super()._initialize_client_session(reader, writer, remote_address, remote_port), CONNECT_TIMEOUT_S)
        except TimeoutError:
            await writer.close()
            raise AMQTTError(f"no CONNECT from {remote_address}:{remote_port} within {CONNECT_TIMEOUT_S} s") from None
        session.keep_alive *= 1.5  # 0 (no keep-alive) stays 0
        return KeepAliveHandler(self.plugins_manager, loop=self._loop), session

    async def _publish_retained_messages_for_subscription(self, subscription, session):
        """Send a session the retained messages of a filter it holds, at the lower QoS.

        amqtt 0.12.1, when a client connects, sends it the retained messages matching
        *every* filter any client holds, not only its own: a late subscriber got the
        message twice, and a client subscribed elsewhere got it at all. And it sends each
        at ``min(qos, retained.qos or qos)``: a message retained at QoS 0 (falsy) went out
        at the subscription's QoS. MQTT 3.1.1 §3.8.4: the minimum of the two."""
        topic_filter, granted = subscription
        holders = self._subscriptions.get(topic_filter, ())
        if not any(held.client_id == session.client_id for held, _ in holders):
            return
        handler = self._get_handler(session)
        sends = [asyncio.create_task(handler.mqtt_publish(retained.topic, retained.data,
                                                          min(granted, retained.qos if retained.qos is not None
                                                              else granted), retain=True))
                 for topic, retained in list(self._retained_messages.items())
                 if handler and self._matches(topic, topic_filter)]
        if sends:
            await asyncio.wait(sends)

    async def _delete_session(self, client_id):
        """Disconnect the connection a new CONNECT with the same client id takes over.

        MQTT 3.1.1 §3.1.4-2: "If the ClientId represents a Client already connected to the
        Server then the Server MUST disconnect the existing Client". amqtt 0.12.1 does so
        only for a persistent session: for a clean one (paho's default) it deletes the
        session here and leaves its connection open, receiving nothing. Here it ends the
        way amqtt's own takeover of a persistent session ends one: as after a network
        failure, so its will is published (Mosquitto publishes it too), and closed.

        Not covered: two CONNECTs with one client id arriving together. amqtt records a
        session only after authenticating it (in _handle_client_session), so neither finds
        the other here, and both stay connected, as before this fix."""
        session, handler = self._sessions.get(client_id, (None, None))
        if session is not None and session.transitions.is_connected():
            await handler.handle_connection_closed()  # its client loop publishes the will
            await handler.stop()  # closes the connection, even before the handler has started
        await super()._delete_session(client_id)

    # ---- delivery QoS: the lower of the publish QoS and the granted QoS (MQTT 3.1.1 §3.8.4)

    async def _handle_message_delivery(self, client_session, handler, wait_deliver):
        """Keep the QoS of the client's PUBLISH for :meth:`_broadcast_message`.

        amqtt 0.12.1 broadcasts a client's message with its topic and payload only, so
        the QoS it was published at is lost and every subscriber gets it at the QoS
        it subscribed with."""
        message = wait_deliver.result()
        token = _published_qos.set(None if message is None else message.qos)
        try:
            return await super()._handle_message_delivery(client_session, handler, wait_deliver)
        finally:
            _published_qos.reset(token)

    async def _broadcast_message(self, session, topic, data, force_qos=None):
        """Broadcast a client's message with the QoS it was published at (a will already has one)."""
        if force_qos is None:
            force_qos = _published_qos.get()
        await super()._broadcast_message(session, topic, data, force_qos)

    async def _run_broadcast(self, running_tasks):
        """Send one broadcast to every matching subscription at min(message QoS, granted QoS).

        MQTT 3.1.1 §3.8.4: "the QoS of Payload Messages sent in response to a Subscription
        MUST be the minimum of the QoS of the originally published message and the maximum
        QoS granted by the Server". amqtt 0.12.1 sends a message with a QoS (a will, and
        now a client's PUBLISH) at that QoS whatever was granted, and one without at the
        granted QoS. amqtt's own code (debug logging left out), one line changed."""
        broadcast = await self._broadcast_queue.get()
        for k_filter, subscriptions in self._subscriptions.items():
            if not self._matches(broadcast["topic"], k_filter):
                continue
            for target_session, sub_qos in subscriptions:
                qos = sub_qos if broadcast.get("qos") is None else min(broadcast["qos"], sub_qos)  # the change
                sendable = await self._topic_filtering(target_session, topic=broadcast["topic"], action=Action.RECEIVE)
                if not sendable:
                    self.logger.info(
                        f"{target_session.client_id} not allowed to receive messages from TOPIC {broadcast['topic']}.")
                    continue
                # kept for an offline persistent session (clean session off, QoS 1 or 2, not anonymous)
                if (target_session.transitions.state != "connected"
                        and not target_session.clean_session
                        and qos in (QOS_1, QOS_2)
                        and not target_session.is_anonymous):
                    await self._retain_broadcast_message(broadcast, qos, target_session)
                    continue
                if target_session.transitions.state != "connected":
                    continue
                handler = self._get_handler(target_session)
                if handler:
                    task = asyncio.ensure_future(
                        handler.mqtt_publish(broadcast["topic"], broadcast["data"], qos, retain=False))
                    running_tasks.append(task)
