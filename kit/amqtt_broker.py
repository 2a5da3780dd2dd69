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
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.constants import QOS_1, QOS_2
from amqtt.session import OUTGOING
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.utils import gen_client_id

CONNECT_TIMEOUT_S = 10  # a connection that has not completed its CONNECT by then is closed
# what an offline persistent session holds at most (as kit.mqtt_broker; Mosquitto: 1,000 messages)
MAX_QUEUED_MESSAGES = 1000
MAX_QUEUED_BYTES = 16 * 1024 * 1024

# overrides that are a changed copy of amqtt's method: the first 16 hex digits of the
# sha256 of the amqtt 0.12.1 source they copy. If amqtt changes that source, copy it again.
COPIED = {"KitAmqttBroker._run_broadcast": "e852128b3e38e04a",
          "KitAmqttBroker._publish_retained_messages_for_subscription": "d6ad257821ba29ef",
          "KitAmqttBroker._publish_session_retained_messages": "78cd66096c935c1f",
          "KitAmqttBroker._initialize_client_session": "5dd89158bbe46266"}

# the QoS of the client PUBLISH being broadcast (see _handle_message_delivery)
_published_qos: contextvars.ContextVar[int | None] = contextvars.ContextVar("published_qos", default=None)
# set while a client's SUBSCRIBE is handled (see _publish_retained_messages_for_subscription)
_subscribing: contextvars.ContextVar[bool] = contextvars.ContextVar("subscribing", default=False)


class KeepAliveHandler(BrokerProtocolHandler):
    """amqtt's per-connection protocol handler, enforcing the keep-alive."""

    taken_over = False  # another connection has taken its persistent session over

    async def _handle_message_flow(self, app_message):
        """Keep an outgoing QoS 1 or 2 message in flight when its connection ends mid-exchange.

        MQTT 3.1.1 §4.4: "When a Client reconnects with CleanSession set to 0, both the
        Client and Server MUST re-send any unacknowledged PUBLISH Packets (where QoS > 0)
        and PUBREL Packets using their original Packet Identifiers". amqtt 0.12.1 takes a
        message out of the session's ``inflight_out`` when its wait for PUBACK, PUBREC or
        PUBCOMP ends, so when the connection ends (the waits are cancelled) nothing is
        sent again on reconnect, and the message is lost. Here it goes back in (up to
        MAX_QUEUED_MESSAGES of them), and amqtt's own retry on reconnect sends it again,
        DUP set (or its PUBREL, once PUBREC had come). Left as amqtt has it: on a live
        connection, a message not acknowledged within 5 s is given up."""
        try:
            await super()._handle_message_flow(app_message)
        except asyncio.CancelledError:
            session = self.session
            if (app_message.direction == OUTGOING and app_message.qos in (QOS_1, QOS_2) and session is not None
                    and not (app_message.puback_packet or app_message.pubcomp_packet)
                    and len(session.inflight_out) < MAX_QUEUED_MESSAGES):
                session.inflight_out[app_message.packet_id] = app_message
            raise

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
        """Read the CONNECT within CONNECT_TIMEOUT_S; resume a persistent session only; time
        reads out at 1.5 x keep-alive.

        amqtt 0.12.1 waits for a CONNECT without end, so a socket that connects and sends
        nothing (or half a CONNECT) is held open for ever. It then uses the session's
        keep_alive as the timeout of every read, and hands the connection to a
        BrokerProtocolHandler, whose read timeout does nothing (see KeepAliveHandler).

        MQTT 3.1.1 §3.1.2.4: a CONNECT with CleanSession 0 resumes the session the client id
        has, if the server keeps one, and a server keeps only the session of a CleanSession 0
        connection. amqtt 0.12.1 resumes whatever session it still holds for the client id,
        a clean one too (still connected, or not yet deleted after its connection ended):
        Session Present 1, and a session that still counted as clean, deleted when this
        connection ends. Here a clean session is ended and a new one begins (as Mosquitto
        does). And amqtt refreshes the resumed session's will from the CONNECT but for its
        retain flag: copied here too. amqtt's own code (logging left out, and its
        ``timeout-disconnect-delay`` option, which the kit does not set), with those changes."""
        try:
            _, client_session = await asyncio.wait_for(
                BrokerProtocolHandler.init_from_connect(reader, writer, self.plugins_manager), CONNECT_TIMEOUT_S)
        except TimeoutError:
            await writer.close()
            raise AMQTTError(f"no CONNECT from {remote_address}:{remote_port} within {CONNECT_TIMEOUT_S} s") from None
        except (AMQTTError, NoDataError) as exc:
            raise AMQTTError(exc) from exc
        except MQTTError as exc:
            await writer.close()
            raise MQTTError(exc) from exc
        held, _ = self._sessions.get(client_session.client_id, (None, None))
        if client_session.clean_session or held is None or held.clean_session:  # the change: "or held.clean_session"
            if client_session.client_id:
                await self._delete_session(client_session.client_id)
            else:
                client_session.client_id = gen_client_id()
            client_session.parent = 0
        else:
            for name in ("will_flag", "will_message", "will_topic", "will_qos", "will_retain",  # will_retain added
                         "keep_alive", "username", "password"):
                setattr(held, name, getattr(client_session, name))
            _, connected_by = self._sessions[client_session.client_id]
            if held.transitions.is_connected() and connected_by is not None:  # added: see _handle_disconnect
                connected_by.taken_over = True
            client_session = held
            client_session.parent = 1
        client_session.keep_alive *= 1.5  # 0 (no keep-alive) stays 0
        return KeepAliveHandler(self.plugins_manager, loop=self._loop), client_session

    async def _authenticate(self, session, _):
        """Let every client in, as amqtt's AnonymousAuthPlugin does, without losing its session.

        The plugin marks each session it lets in ``is_anonymous``, and amqtt 0.12.1 keeps
        nothing for an anonymous session: no message is queued for it while it is away
        (_run_broadcast) and its session monitor deletes it within a second of its
        disconnect, so a client with CleanSession 0 came back to Session Present 0 and none
        of the QoS 1 and 2 messages published meanwhile. MQTT 3.1.1 §3.1.2.4 ties a
        session's life to CleanSession alone, and Mosquitto, which lets anonymous clients
        in too (allow_anonymous true), keeps their persistent sessions."""
        authenticated = await super()._authenticate(session, _)
        session.is_anonymous = False
        return authenticated

    async def _handle_disconnect(self, client_session, handler, disconnect_waiter):
        """End a clean session with its connection; leave a persistent one taken over alone.

        MQTT 3.1.1 §3.1.2.4: with CleanSession 1 "the Session lasts as long as the Network
        Connection". amqtt 0.12.1 leaves it for its session monitor, which deletes it up to
        a second later (see also _initialize_client_session).

        A persistent session that a new connection has taken over (MQTT 3.1.1 §3.1.4-2)
        is that connection's now, the same amqtt Session. amqtt 0.12.1 ends the old
        connection as if it had failed, and marks the session disconnected with it, though
        the new connection is up: it got none of the messages published for it (they
        waited for its next reconnect). Here the old connection just closes; no will goes
        out (the client is back), as Mosquitto does."""
        if handler.taken_over:
            await self._stop_handler(handler)
            return
        await super()._handle_disconnect(client_session, handler, disconnect_waiter)
        held, _ = self._sessions.get(client_session.client_id, (None, None))
        if client_session.clean_session and held is client_session:  # not a session that took its client id over
            await self._delete_session(client_session.client_id)

    async def _handle_subscription(self, client_session, handler, subscribe_waiter):
        """Mark the SUBSCRIBE being handled for :meth:`_publish_retained_messages_for_subscription`."""
        token = _subscribing.set(True)
        try:
            return await super()._handle_subscription(client_session, handler, subscribe_waiter)
        finally:
            _subscribing.reset(token)

    async def _publish_retained_messages_for_subscription(self, subscription, session):
        """Send a session the retained messages of a filter it has just subscribed to, at the lower QoS.

        MQTT 3.1.1 §3.3.1.3: retained messages go out "when a new subscription is
        established". amqtt 0.12.1 also sends them when a client connects: the retained
        messages matching *every* filter any client holds, not only its own (a late
        subscriber got the message twice, and a client subscribed elsewhere got it at all),
        and to a client back to its persistent session, whose filters are not new, a copy
        of each at QoS 0 (Mosquitto sends none). And it sends each at
        ``min(qos, retained.qos or qos)``: a message retained at QoS 0 (falsy) went out at
        the subscription's QoS. MQTT 3.1.1 §3.8.4: the minimum of the two."""
        if not _subscribing.get():
            return  # a client connecting: its filters, if it has any, are not new
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

    async def _retain_broadcast_message(self, broadcast, qos, target_session):
        """Keep a message for an offline persistent session, up to a bound.

        amqtt 0.12.1 keeps every message for a session whose client is away, for ever: a
        client that never comes back grows the broker without end (Mosquitto keeps 1,000
        per client and drops the rest). Here a session holds at most MAX_QUEUED_MESSAGES
        messages and MAX_QUEUED_BYTES bytes of payload; later ones are dropped, and the
        log (``amqtt.broker``) says so once, and how many when the client is back."""
        held = target_session.attributes
        size = len(broadcast["data"] or b"")
        if (target_session.retained_messages.qsize() >= MAX_QUEUED_MESSAGES
                or held.get("kit.queued_bytes", 0) + size > MAX_QUEUED_BYTES):
            if not held.get("kit.dropped"):
                self.logger.warning(f"client {target_session.client_id} is away and its queue is full "
                                    f"({MAX_QUEUED_MESSAGES} messages or {MAX_QUEUED_BYTES} bytes): "
                                    f"messages for it are being dropped")
            held["kit.dropped"] = held.get("kit.dropped", 0) + 1
            return
        held["kit.queued_bytes"] = held.get("kit.queued_bytes", 0) + size
        await super()._retain_broadcast_message(broadcast, qos, target_session)

    async def _publish_session_retained_messages(self, session):
        """Send a client back to its persistent session the messages kept for it, RETAIN 0.

        MQTT 3.1.1 §3.3.1.3: the server "MUST set the RETAIN flag to 0 when a PUBLISH
        Packet is sent to a Client because it matches an established subscription
        regardless of how the flag was set in the message it received". amqtt 0.12.1 sends
        the messages it kept for an offline session (in ``session.retained_messages``, its
        name for them) with RETAIN 1, so a client took them for retained ones. amqtt's own
        code (debug logging left out), one argument changed, and the bound of
        _retain_broadcast_message counted down."""
        if dropped := session.attributes.pop("kit.dropped", 0):
            self.logger.warning(f"client {session.client_id} is back: {dropped} messages for it were dropped")
        publish_tasks = []
        handler = self._get_handler(session)
        if handler:
            while not session.retained_messages.empty():
                retained = await session.retained_messages.get()
                session.attributes["kit.queued_bytes"] = (  # added
                    session.attributes.get("kit.queued_bytes", 0) - len(retained.data or b""))
                publish_tasks.append(
                    asyncio.ensure_future(
                        handler.mqtt_publish(retained.topic, retained.data, retained.qos, retain=False),  # the change
                    ),
                )
        if publish_tasks:
            await asyncio.wait(publish_tasks)

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
