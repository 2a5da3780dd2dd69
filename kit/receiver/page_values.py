"""What the page shows of a value: cut to a size a browser draws at once, the whole of it a click away.

The page hands the views (:mod:`kit.views`) a display copy of each span row
(:func:`display_row`): every string at most :data:`SHOWN` characters (quoted, within what the
views show inline), a list or a map at most :data:`ITEMS` entries, a span at most :data:`ATTRIBUTES`
attributes, :data:`EVENTS` events and :data:`LINKS` links. So a trace's part stays a few
kilobytes whatever was sent: a span named with a megabyte of text is drawn with its first
190 characters, and :func:`cuts` lists what was cut, each with the path the page's
``/part/value/<serial>?path=…`` answers with the whole value, as text.

What a span's details add to the waterfall's (the resource's attributes, the scope's version,
the status message, the trace state, link attributes, dropped counts: columns of
:mod:`kit.rows`) is read by :func:`extras`, defensively: a row of another shape (Zipkin's, one
a test built, one from an older receiver) shows what it has and skips the rest.

    >>> display_row({"name": "x" * 1_000_000, ...})["name"]
    'xxxx…'                                  # 190 characters
    >>> cuts(row)
    [('name', ['name'], 1000000)]
    >>> whole(value_at(row, ["name"]))       # the text /part/value sends
"""

from __future__ import annotations

from kit.rows import SpanEvent
from kit.views.values import text

SHOWN = 190          # characters of a string shown (quoted, it stays within the 200 the views' span details
#                      show inline)
ITEMS = 20           # entries of a list or a map
ATTRIBUTES = 100     # attributes of a span, an event, a link or a resource
EVENTS = 100         # events of a span
LINKS = 100          # links of a span
DEPTH = 6            # lists in lists: deeper ones are shown as text

RESOURCE_KEYS = ("resource", "resource_attributes")
STATUS_MESSAGE_KEYS = ("status_message", "status_description")
TRACE_STATE_KEYS = ("trace_state", "tracestate")
PAGE_ONLY = (*RESOURCE_KEYS, "scope", "scope_version", *TRACE_STATE_KEYS)   # and dropped_*: the span part's


def shrink(value, depth: int = 0):
    """``value`` cut for display (same type where it can keep it)."""
    if isinstance(value, str):
        return value if len(value) <= SHOWN else value[:SHOWN - 1] + "…"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value[:SHOWN // 2])
    if depth >= DEPTH and isinstance(value, (list, tuple, dict)):
        return text(value)[:SHOWN - 1] + "…"
    if isinstance(value, (list, tuple)):
        items = [shrink(v, depth + 1) for v in value[:ITEMS]]
        if len(value) > ITEMS:
            items.append(f"… +{len(value) - ITEMS} more")
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        out = {}
        for i, (k, v) in enumerate(value.items()):
            if i == ITEMS:
                out["…"] = f"+{len(value) - ITEMS} more"
                break
            out[shrink(k, DEPTH) if isinstance(k, str) else k] = shrink(v, depth + 1)
        return out
    return value


def _attributes(value) -> dict:
    if not isinstance(value, dict):
        return {}
    out = {}
    for i, (k, v) in enumerate(value.items()):
        if i == ATTRIBUTES:
            out["…"] = f"+{len(value) - ATTRIBUTES} more attributes"
            break
        out[shrink(k) if isinstance(k, str) else k] = shrink(v)
    return out


def _sequence(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else []


def display_row(row: dict) -> dict:
    """A span row cut for display (see the module's docstring); the row itself is left as it is.
    What the page's span part (:func:`kit.receiver.page_parts.span`) shows from the row itself,
    with its whole values a click away, is left out (the resource, the scope's version, the
    scope, the trace state, dropped counts, link attributes), so that a span's details show each once;
    the status message stays, beside the status in the views' details."""
    out = {k: shrink(v) for k, v in row.items() if k not in ("attributes", "events", "links", "start")
           and k not in PAGE_ONLY and not (isinstance(k, str) and k.startswith("dropped_"))}
    out["start"] = row.get("start")
    out["attributes"] = _attributes(row.get("attributes"))
    events = []
    for e in _sequence(row.get("events"))[:EVENTS]:
        if isinstance(e, (list, tuple)) and len(e) >= 2:
            events.append(SpanEvent(shrink(e[0]), _attributes(e[1]), getattr(e, "time", e[2] if len(e) > 2 else None)))
        else:
            events.append(SpanEvent(shrink(text(e)), {}, None))
    out["events"] = events
    links = []
    for link in _sequence(row.get("links"))[:LINKS]:
        trace, span, _ = link_parts(link)
        links.append((shrink(trace), shrink(span)))
    out["links"] = links
    return out


def link_parts(link) -> tuple:
    """A link as (trace id, span id, attributes): a pair, a triple, or a map with those keys."""
    if isinstance(link, dict):
        attrs = link.get("attributes")
        return link.get("trace_id"), link.get("span_id"), attrs if isinstance(attrs, dict) else {}
    if isinstance(link, (list, tuple)) and len(link) >= 2:
        attrs = link[2] if len(link) > 2 and isinstance(link[2], dict) else getattr(link, "attributes", {})
        return link[0], link[1], attrs if isinstance(attrs, dict) else {}
    return link, None, {}


def first(row: dict, keys) -> object:
    """The first of ``keys`` the row has a value for (None if none)."""
    for key in keys:
        value = row.get(key)
        if value is not None and value != "" and value != {}:
            return value
    return None


def extras(row: dict) -> dict:
    """What a row may carry beyond the views' columns: resource (a dict), status message, trace
    state, scope version, dropped counts (name → number), links with their attributes."""
    resource = first(row, RESOURCE_KEYS)
    return {"resource": resource if isinstance(resource, dict) else {},
            "status_message": first(row, STATUS_MESSAGE_KEYS),
            "trace_state": first(row, TRACE_STATE_KEYS),
            "scope_version": row.get("scope_version"),
            "dropped": {k: v for k, v in row.items() if isinstance(k, str) and k.startswith("dropped_") and v},
            "links": [link_parts(link) for link in _sequence(row.get("links"))]}


def _long(value) -> int | None:
    """How long a value is when it is too long to show whole (None when it shows whole)."""
    if isinstance(value, str):
        return len(value) if len(value) > SHOWN else None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value) if len(value) > SHOWN // 2 else None
    if isinstance(value, (list, tuple, dict)):
        size = len(text(value))
        return size if size > SHOWN or len(value) > ITEMS else None
    return None


def cuts(row: dict, limit: int = 50) -> list[tuple[str, list, int]]:
    """What :func:`display_row` (or a log's display) cut: (label, path, length) of each value."""
    found = []

    def check(label, path, value):
        n = _long(value)
        if n is not None and len(found) < limit:
            found.append((label, path, n))

    for key in ("name", "service", "body", "kind", "status", "scope", *STATUS_MESSAGE_KEYS, *TRACE_STATE_KEYS):
        if key in row:
            check(key.replace("_", " "), [key], row.get(key))
    for field in ("attributes", *RESOURCE_KEYS):
        attrs = row.get(field)
        if isinstance(attrs, dict):
            for k, v in list(attrs.items())[:ATTRIBUTES]:
                check(f"{field.split('_')[0]} {text(k)[:60]}", [field, k], v)
            if len(attrs) > ATTRIBUTES and len(found) < limit:
                found.append((f"{field.split('_')[0]}: all {len(attrs):,}", [field], len(attrs)))
    events = _sequence(row.get("events"))
    for i, e in enumerate(events[:EVENTS]):
        if isinstance(e, (list, tuple)) and len(e) >= 2:
            check(f"event {i + 1} name", ["events", i, 0], e[0])
            if isinstance(e[1], dict):
                for k, v in list(e[1].items())[:ATTRIBUTES]:
                    check(f"event {i + 1} {text(k)[:60]}", ["events", i, 1, k], v)
    if len(events) > EVENTS and len(found) < limit:
        found.append((f"events: all {len(events):,}", ["events"], len(events)))
    links = _sequence(row.get("links"))
    if len(links) > LINKS and len(found) < limit:
        found.append((f"links: all {len(links):,}", ["links"], len(links)))
    return found


def value_at(row: dict, path: list):
    """The value at ``path`` in ``row`` (keys and indexes); KeyError when there is none."""
    value = row
    for step in path:
        if isinstance(step, (list, dict)):
            raise KeyError(repr(step)[:40])
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, (list, tuple)) and isinstance(step, int) and -len(value) <= step < len(value):
            value = value[step]
        else:
            raise KeyError(step)
    return value


def whole(value) -> str:
    """A value as text, all of it: a string as it is, bytes in hex, anything else as Python writes it."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    try:
        return repr(value)
    except Exception as err:
        return f"<{type(value).__name__}: {type(err).__name__}>"
