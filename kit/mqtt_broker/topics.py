"""Topic names and topic filters (MQTT 5.0 §4.7, §4.8.2): which are valid, which match."""

from __future__ import annotations

SHARE_PREFIX = "$share/"


def valid_filter(f: str) -> bool:
    """``+`` fills a whole level, ``#`` is the whole last level."""
    levels = f.split("/")
    return bool(f) and all(("+" not in lv or lv == "+") and ("#" not in lv or lv == "#") for lv in levels) \
        and "#" not in levels[:-1]


def valid_topic(topic: str) -> bool:
    """A topic name to publish to: not empty, no wildcards."""
    return bool(topic) and "+" not in topic and "#" not in topic


def shared(topic_filter: str) -> tuple[str | None, str]:
    """``$share/group/a/b`` -> ("group", "a/b"); any other filter -> (None, filter).
    Raises ValueError for a ``$share/`` filter without a valid group name and filter."""
    if not topic_filter.startswith(SHARE_PREFIX):
        return None, topic_filter
    group, _, rest = topic_filter[len(SHARE_PREFIX):].partition("/")
    if not group or "+" in group or "#" in group or not valid_filter(rest):
        raise ValueError(f"not a shared subscription: {topic_filter!r}")
    return group, rest


def matches(topic_filter: str, topic: str) -> bool:
    """Does ``topic_filter`` match ``topic``? (``+``/``#`` never match a ``$`` topic's first level)"""
    return matches_levels(topic_filter.split("/"), topic.split("/"))


def matches_levels(f: list[str], t: list[str]) -> bool:
    """:func:`matches` on filter and topic already split at ``/``."""
    if t[0][:1] == "$" and f[0] in ("+", "#"):
        return False
    for i, level in enumerate(f):
        if level == "#":
            return True
        if i >= len(t) or (level != "+" and level != t[i]):
            return False
    return len(f) == len(t)


def descend(root, levels, new_node):
    """The tree node at ``levels`` below ``root`` (a node has ``children``: None or level → node),
    made on the way with ``new_node()`` where missing (the subscription and retained trees)."""
    node = root
    for level in levels:
        if node.children is None:
            node.children = {}
        child = node.children.get(level)
        if child is None:
            child = node.children[level] = new_node()
        node = child
    return node
