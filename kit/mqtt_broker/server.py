"""The broker: it listens, keeps the sessions, their subscriptions and the retained
messages (each indexed by topic level: :mod:`kit.mqtt_broker.subscriptions`,
:mod:`kit.mqtt_broker.retained`), and routes each published message to the sessions whose
subscriptions match it."""

from __future__ import annotations

import asyncio
import time

from kit.mqtt_broker.connection import Connection
from kit.mqtt_broker.retained import RetainedMessages
from kit.mqtt_broker.sessions import NEVER, Delivery, Message, Session, Subscription
from kit.mqtt_broker.subscriptions import Group, SubscriptionTree


class MQTTBroker:
    """An MQTT v5 and 3.1.1 broker on one TCP port (see :mod:`kit.mqtt_broker`).

    Its limits are class attributes: change one on an instance, or on the class for every
    broker (a test may lower ``connect_timeout_s``). Every one of them is stated to v5
    clients in CONNACK, or is a bound the client cannot see (the queue, the timeouts).
    """

    connect_timeout_s = 10  # a connection that has not completed its CONNECT by then is closed
    max_packet = 16 * 1024 * 1024  # the largest packet a client may send (CONNACK says so)
    max_connect_packet = 256 * 1024  # ... and before its CONNECT is accepted
    receive_maximum = 20  # QoS 1/2 messages a client may have in flight to the broker, and the broker to it
    topic_alias_maximum = 10  # topic aliases a client may set (Mosquitto's default too)
    max_queued_messages = 1000  # per session, waiting to go out (Mosquitto's default too)
    max_queued_bytes = 16 * 1024 * 1024  # per session, queued and in flight

    def __init__(self, host: str = "127.0.0.1", port: int = 1883):
        self.host, self.port = host, port
        self.sessions: dict[str, Session] = {}
        self.subscriptions = SubscriptionTree()  # every session's, by topic level
        self.retained = RetainedMessages()  # by topic level
        self.connections: set[Connection] = set()
        self.delivered = 0
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: Connection(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for conn in list(self.connections):
            conn.close()
            if conn.lingering is not None:
                conn.lingering.close()
        for session in self.sessions.values():
            session.cancel_timers()
        await self._server.wait_closed()
        self._server = None

    # ------------------------------------------------------------ sessions

    def open_session(self, conn: Connection, client_id: str, clean: bool, expiry_s: int) -> tuple[Session, bool]:
        """The session a CONNECT asks for, and whether it was there already (Session Present)."""
        old = self.sessions.get(client_id)
        resume = old is not None and not clean and old.expiry_s > 0
        if old is not None:
            old.cancel_timers()
            if old.connection is not None:  # a client id connects once: the older connection goes
                old.connection.taken_over()
                old.connection = None
            if resume:
                old.will = None  # the client is back: its will is not sent (as Mosquitto)
            else:
                self.end_session(old)
        session = old if resume else Session(self, client_id)
        session.expiry_s = expiry_s
        session.connection = conn
        self.sessions[client_id] = session
        return session, resume

    def connection_ended(self, conn: Connection, clean_exit: bool) -> None:
        """The session's connection is gone: send or schedule its will, end the session or time it."""
        session = conn.session
        session.connection = None
        session.went_offline()
        loop = asyncio.get_running_loop()
        if session.will is not None and clean_exit:
            session.will = None
        if session.will is not None:  # sent after its Will Delay Interval, or when the session ends
            delay_s = min(session.will_delay_s, session.expiry_s)
            if delay_s:
                session.will_timer = loop.call_later(delay_s, self.publish_will, session)
            else:
                self.publish_will(session)
        if session.expiry_s == 0:
            self.end_session(session)
        elif session.expiry_s != NEVER:
            session.expiry_timer = loop.call_later(session.expiry_s, self.end_session, session)

    def end_session(self, session: Session) -> None:
        session.cancel_timers()
        if self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]
        for sub in session.subscriptions.values():
            self.subscriptions.remove(session, sub)
        session.subscriptions.clear()
        self.publish_will(session)

    def subscribe(self, session: Session, topic_filter: str, sub: Subscription) -> bool:
        """Add (or replace) a session's subscription; True if it is new. ``topic_filter``
        as subscribed, ``$share/group/`` included."""
        is_new = topic_filter not in session.subscriptions
        session.subscriptions[topic_filter] = sub
        self.subscriptions.add(session, sub)
        return is_new

    def unsubscribe(self, session: Session, topic_filter: str) -> bool:
        """Remove a session's subscription; False if it had none to that filter."""
        sub = session.subscriptions.pop(topic_filter, None)
        if sub is None:
            return False
        self.subscriptions.remove(session, sub)
        return True

    def publish_will(self, session: Session) -> None:
        will, session.will = session.will, None
        if will is not None:
            will.received_at = time.monotonic()  # its Message Expiry Interval starts now
            self.publish(will, session)

    # ------------------------------------------------------------ messages

    def publish(self, msg: Message, sender: Session | None) -> int:
        """Store it if retained; deliver it to every matching session. Returns how many got it."""
        if msg.retain:
            if msg.payload:
                self.retained.set(msg)
            else:
                self.retained.delete(msg.topic)
        targets: dict[Session, list] = {}  # session -> [QoS, retain, identifiers]
        groups: list[Group] = []
        for node in self.subscriptions.match(msg.topic.split("/")):
            for session, sub in (node.subscribers or {}).items():
                if sub.no_local and session is sender:
                    continue
                qos = sub.qos if sub.qos < msg.qos else msg.qos
                target = targets.get(session)
                if target is None:
                    targets[session] = [qos, sub.retain_as_published and msg.retain,
                                        [sub.identifier] if sub.identifier else []]
                    continue
                # overlapping subscriptions: one message, at the highest QoS, every identifier
                target[0] = max(target[0], qos)
                target[1] = target[1] or (sub.retain_as_published and msg.retain)
                if sub.identifier:
                    target[2].append(sub.identifier)
            if node.groups:
                groups.extend(node.groups.values())
        for session, (qos, retain, identifiers) in targets.items():
            session.deliver(Delivery(msg, qos, retain, tuple(sorted(identifiers))))
        for group in groups:  # one member of each shared subscription's group
            session, sub = self._next_member(group)
            session.deliver(Delivery(msg, min(sub.qos, msg.qos), sub.retain_as_published and msg.retain,
                                     (sub.identifier,) if sub.identifier else ()))
        count = len(targets) + len(groups)
        self.delivered += count
        return count

    @staticmethod
    def _next_member(group: Group) -> tuple[Session, Subscription]:
        """Round robin over the group's connected members (over all of them if none is connected)."""
        members = list(group.members.items())
        online = [m for m in members if m[0].connection is not None] or members
        group.turn += 1
        return online[(group.turn - 1) % len(online)]

    def retained_for(self, sub: Subscription) -> list[Message]:
        """The retained messages a new subscription gets (expired ones are deleted instead)."""
        found = []
        for msg in list(self.retained.match(sub.topic_filter)):
            if msg.seconds_left() == 0:
                self.retained.delete(msg.topic)
            else:
                found.append(msg)
        return found
