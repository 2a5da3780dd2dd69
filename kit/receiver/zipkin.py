"""Zipkin v2 JSON → the kit's span rows: what the receiver does with ``POST /api/v2/spans``.

An app with a Zipkin exporter (the blog's "exporters in the app" route) posts its spans
as a JSON array, to Zipkin on port 9411 or to a collector's ``zipkin`` receiver. The kit's
receiver takes the same array on its HTTP port and answers 202, as Zipkin does:

    >>> from opentelemetry.exporter.zipkin.json import ZipkinExporter
    >>> exporter = ZipkinExporter(endpoint=receiver.http_endpoint + "/api/v2/spans")
    >>> # spans end and are exported, then:
    >>> waterfall(receiver.spans_df())

Each Zipkin span becomes one row shaped like ``kit.rows.SPAN_COLUMNS``:

    traceId, id, parentId        trace_id (a 16-hex id padded to 32), span_id, parent_span_id
    kind                         kind; absent means a local span: INTERNAL
    timestamp, duration (µs)     start, duration_ms (no timestamp: 1970-01-01)
    localEndpoint.serviceName    service, and resource["service.name"]
    tags                         attributes, all strings: Zipkin has no types (1 comes as "1")
    tags otel.status_code, error status: ERROR if there is an error tag
    tags otel.status_description status_message (else an error tag's text, which stays a tag)
    tags otel.scope.name/version scope, scope_version (or otel.library.*, the older names)
    tags otel.dropped_*_count    dropped_attributes_count, dropped_events_count, dropped_links_count
    annotations                  events: {"name": {attributes}} as OpenTelemetry writes them,
                                 else (the text, {})

The tags an OpenTelemetry exporter copies from the resource (``service.*``, ``telemetry.*``,
``host.*``…) are not span attributes: they go to ``resource`` (as text), as a collector moves
them back; the scope's (``otel.scope.*``, ``otel.library.*``) go to ``scope`` and
``scope_version``. Zipkin has no links and no trace state (``""``); IP addresses are not kept.

A body that is not such an array, or a span with a missing or bad id, an unknown kind or a
wrong type raises ``ValueError`` saying which span and field; the receiver answers 400 with
that text and keeps none of the batch.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

PATH = "/api/v2/spans"
KINDS = {"CLIENT", "SERVER", "PRODUCER", "CONSUMER"}
MAX_MICROS = 253_402_300_799_999_999  # 9999-12-31: the last instant a datetime holds
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_HEX = re.compile(r"[0-9a-fA-F]+")
_RESOURCE_PREFIXES = ("service.", "telemetry.", "host.", "os.", "process.", "container.", "k8s.",
                      "cloud.", "deployment.", "faas.", "device.", "webengine.")
_SCOPE_TAGS = {"otel.scope.name", "otel.scope.version", "otel.library.name", "otel.library.version"}
_DROPPED = ("attributes", "events", "links")


def span_rows(body: bytes) -> list[dict]:
    """The rows for one ``POST /api/v2/spans`` body; ``ValueError`` if it is not Zipkin v2 JSON."""
    try:
        spans = json.loads(bytes(body) if isinstance(body, memoryview) else body)
    except (ValueError, RecursionError) as err:  # bad UTF-8 or JSON, a 5000-digit number, deep nesting
        raise ValueError(f"not JSON: {err}"[:300]) from None
    if not isinstance(spans, list):
        got = {dict: "an object", str: "a string", bool: "true or false", type(None): "null"}
        raise ValueError(f"expected a JSON array of Zipkin v2 spans, got {got.get(type(spans), 'a number')}")
    try:
        return [_row(i, span) for i, span in enumerate(spans)]
    except RecursionError:
        raise ValueError("an annotation nests too deeply") from None


def _row(i: int, span) -> dict:
    def bad(field, want):
        return ValueError(f"span {i}: {field!r} must be {want}")

    if not isinstance(span, dict):
        raise ValueError(f"span {i} must be a JSON object")

    def get(field, kind, want, default):
        value = span.get(field)
        if value is None:
            return default
        if not isinstance(value, kind):
            raise bad(field, want)
        return value

    def hex_id(field, sizes, default=...):
        value = span.get(field)
        if value is None and default is not ...:
            return default
        if not (isinstance(value, str) and len(value) in sizes and _HEX.fullmatch(value) and value.strip("0")):
            raise bad(field, " or ".join(map(str, sizes)) + " hex characters, not all zero")
        return value.lower().rjust(max(sizes), "0")

    def micros(field):
        value = span.get(field)
        value = 0 if value is None else value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not 0 <= value <= MAX_MICROS or value != int(value):
            raise bad(field, "a whole number of microseconds")
        return int(value)

    span_id = hex_id("id", (16,))
    parent = hex_id("parentId", (16,), default=None)
    kind = get("kind", str, "CLIENT, SERVER, PRODUCER or CONSUMER", "INTERNAL")
    if kind not in KINDS | {"INTERNAL"}:
        raise bad("kind", "CLIENT, SERVER, PRODUCER or CONSUMER")
    tags = {}
    for key, value in get("tags", dict, "an object of strings", {}).items():
        if isinstance(value, (bool, int, float)):
            value = json.dumps(value)
        elif not isinstance(value, str):
            raise bad("tags", "an object of strings")
        tags[_text(key)] = _text(value)
    status = {"OK": "OK", "ERROR": "ERROR"}.get(
        tags.pop("otel.status_code", "").upper().removeprefix("STATUS_CODE_"), "UNSET")
    message = tags.pop("otel.status_description", "")
    if "error" in tags:
        status = "ERROR"
        if tags["error"] in ("", "true"):  # a flag, not a message
            del tags["error"]
        else:
            message = message or tags["error"]
    dropped = {f"dropped_{what}_count": _count(tags.pop(f"otel.dropped_{what}_count", "0")) for what in _DROPPED}
    service = get("localEndpoint", dict, "an object", {}).get("serviceName") or ""
    if not isinstance(service, str):
        raise bad("localEndpoint.serviceName", "a string")
    events = []
    for note in get("annotations", list, "an array of {timestamp, value}", []):
        if not (isinstance(note, dict) and isinstance(note.get("value"), str)):
            raise bad("annotations", "an array of {timestamp, value}")
        events.append(_event(_text(note["value"])))
    resource = {k: v for k, v in tags.items() if k.startswith(_RESOURCE_PREFIXES)}
    if service:
        resource["service.name"] = _text(service)
    return {
        "trace_id": hex_id("traceId", (16, 32)), "span_id": span_id,
        "parent_span_id": None if parent == span_id else parent,
        "name": _text(get("name", str, "a string", "")), "kind": kind,
        "service": _text(service),
        "start": _EPOCH + timedelta(microseconds=micros("timestamp")),
        "duration_ms": micros("duration") / 1000, "status": status,
        "attributes": {k: v for k, v in tags.items()
                       if not k.startswith(_RESOURCE_PREFIXES) and k not in _SCOPE_TAGS},
        "events": events, "links": [],
        "scope": tags.get("otel.scope.name") or tags.get("otel.library.name") or None,
        "scope_version": tags.get("otel.scope.version") or tags.get("otel.library.version") or None,
        "resource": resource, "status_message": message, "trace_state": "", **dropped}


def _count(value: str) -> int:
    """A dropped count's tag as a number (0 when it is not one: the tag is the sender's text)."""
    return int(value) if value.isdigit() and len(value) < 19 else 0


def _event(value: str) -> tuple[str, dict]:
    """An annotation as ``(name, attributes)``: OpenTelemetry writes ``{"name": {attributes}}``."""
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        parsed = None
    if isinstance(parsed, dict) and len(parsed) == 1:
        [(name, attrs)] = parsed.items()
        if isinstance(attrs, dict):
            return _text(name), {_text(k): _plain(v) for k, v in attrs.items()}
    return value, {}


def _plain(value):
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {_text(k): _plain(v) for k, v in value.items()}
    return _text(value) if isinstance(value, str) else value


def _text(value: str) -> str:
    """A string the notebook can display (Jupyter sends UTF-8): a lone ``\\ud800`` becomes ``?``."""
    return value.encode("utf-8", "replace").decode("utf-8")
