"""Every session's subscriptions, indexed by topic level: a tree, as Mosquitto keeps them.

Each node of the tree is one level of a topic filter (``sensors``, ``+``, ``#``); the node
a filter ends at holds the sessions subscribed to it. To find who gets a message on
``sensors/kitchen/temp`` the broker walks the tree along the topic's levels, taking at
each node the child named like the level, the ``+`` child and the ``#`` child: the cost
depends on the topic's depth and on the filters that match it, not on how many
subscriptions there are (testing every subscription of every session made 55,000 of
them slow every publish 240-fold). A ``$`` topic (``$SYS/...``) is not matched by a
``+`` or ``#`` at its first level [MQTT-4.7.2-1].

A shared subscription (``$share/group/filter``) sits at its filter's node in its group,
with the group's turn (whose member gets the next message). Unsubscribing, or the end of
a session, takes the entries out, and a node left with nothing is removed: the tree
holds only what is subscribed now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from kit.mqtt_broker.topics import descend

if TYPE_CHECKING:
    from kit.mqtt_broker.sessions import Session, Subscription


class Group:
    """The members of one shared subscription (one group, one filter), and whose turn it is."""

    __slots__ = ("members", "turn")

    def __init__(self):
        self.members: dict[Session, Subscription] = {}
        self.turn = 0


class Node:
    """One level of a filter: its children by level, the sessions whose filter ends here.
    (Each dict is made when first needed: most nodes need one of the three.)"""

    __slots__ = ("children", "subscribers", "groups")

    def __init__(self):
        self.children: dict[str, Node] | None = None
        self.subscribers: dict[Session, Subscription] | None = None
        self.groups: dict[str, Group] | None = None  # shared subscriptions, by group name


class SubscriptionTree:
    """The index: :meth:`add`, :meth:`remove`, and :meth:`match` for a topic."""

    def __init__(self):
        self.root = Node()
        self.count = 0  # subscriptions held

    def __len__(self) -> int:
        return self.count

    def add(self, session: Session, sub: Subscription) -> None:
        """Add (or replace) the session's subscription to ``sub.topic_filter`` (in its group, if shared)."""
        node = descend(self.root, sub.topic_filter.split("/"), Node)
        if sub.share is None:
            if node.subscribers is None:
                node.subscribers = {}
            held = node.subscribers
        else:
            if node.groups is None:
                node.groups = {}
            group = node.groups.get(sub.share)
            if group is None:
                group = node.groups[sub.share] = Group()
            held = group.members
        if session not in held:
            self.count += 1
        held[session] = sub

    def remove(self, session: Session, sub: Subscription) -> None:
        """Take the session's subscription out; remove the nodes left holding nothing."""
        levels = sub.topic_filter.split("/")
        path = [self.root]
        for level in levels:
            child = path[-1].children.get(level) if path[-1].children else None
            if child is None:
                return
            path.append(child)
        node = path[-1]
        if sub.share is None:
            if not node.subscribers or node.subscribers.pop(session, None) is None:
                return
            if not node.subscribers:
                node.subscribers = None
        else:
            group = node.groups.get(sub.share) if node.groups else None
            if group is None or group.members.pop(session, None) is None:
                return
            if not group.members:
                del node.groups[sub.share]
                if not node.groups:
                    node.groups = None
        self.count -= 1
        for depth in range(len(levels), 0, -1):  # from the filter's end back to the root
            node = path[depth]
            if node.children or node.subscribers or node.groups:
                break
            parent = path[depth - 1]
            del parent.children[levels[depth - 1]]
            if not parent.children:
                parent.children = None

    def match(self, levels: list[str]) -> Iterator[Node]:
        """The nodes of the filters that match a topic (given split at ``/``), each once."""
        last = len(levels)
        dollar = levels[0][:1] == "$"
        stack = [(self.root, 0)]
        while stack:  # not recursive: a topic may have thousands of levels
            node, depth = stack.pop()
            children = node.children
            if depth == last:
                yield node
                if children is not None and "#" in children:  # "a/#" matches "a" too
                    yield children["#"]
                continue
            if children is None:
                continue
            if depth or not dollar:
                rest = children.get("#")
                if rest is not None:
                    yield rest
                any_level = children.get("+")
                if any_level is not None:
                    stack.append((any_level, depth + 1))
            exact = children.get(levels[depth])
            if exact is not None:
                stack.append((exact, depth + 1))
