"""The wrappers around paho's ``Client``: ``publish``, ``_handle_on_message`` and
``subscribe`` (only to learn the topic filters).

Every delivery path of paho 2.x (QoS 0 and 1 from ``_handle_publish``, QoS 2
from ``_handle_pubrel``; ``on_message`` and ``message_callback_add`` filters)
passes through ``Client._handle_on_message``, so one wrapper sees them all.

Each wrapper asks ``get_telemetry(client)`` for the :class:`PahoTelemetry` that
applies (None: the client is not instrumented this way). An unsampled span gets no
attribute work; nothing telemetry does may raise into the application or change
its message beyond adding the context.
"""

from __future__ import annotations

import logging
import time

from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from paho.mqtt.client import MQTTErrorCode

from opentelemetry.instrumentation.paho_mqtt._carriers import existing_context, remote_context, with_context
from opentelemetry.instrumentation.paho_mqtt._telemetry import FILTERS, connection
from opentelemetry.instrumentation.paho_mqtt.propagation import inject_json_payload

_log = logging.getLogger(__name__)


def _bind_publish(topic, payload=None, qos=0, retain=False, properties=None):
    return topic, payload, qos, retain, properties


def _payload_bytes(payload) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (int, float)):
        return str(payload).encode("ascii")
    return payload  # paho raises its own TypeError for anything else


def _fail(span, exc) -> str:
    error = type(exc).__qualname__
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{error}: {exc}"))
    span.set_attribute("error.type", error)
    return error


def _call_hook(hook, operation, *args) -> None:
    """A user's hook: what it adds stays, what it raises is logged, never raised."""
    try:
        hook(*args)
    except Exception:
        _log.warning("paho instrumentation: %s_hook raised", operation, exc_info=True)


def _finish(tel, route, operation, span, token, start, error) -> None:
    """The end of both wrappers: the span's context off, the span ended, the metrics recorded."""
    seconds = time.perf_counter() - start
    otel_context.detach(token)
    span.end()
    tel.record(route, operation, seconds, error)


def make_publish_wrapper(get_telemetry):
    def publish(wrapped, instance, args, kwargs):
        tel = get_telemetry(instance)
        if tel is None or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        try:
            topic, payload, qos, retain, properties = _bind_publish(*args, **kwargs)
            conn = connection(instance)
            is_v5 = conn.is_v5
            json_on = tel.json_payload and not is_v5
            if json_on:
                payload = _payload_bytes(payload)
            existing = existing_context(properties, payload, is_v5, json_on) \
                if properties is not None or json_on else None
            route = tel.route(instance, conn, "publish", topic, qos, retain)
            span = tel.tracer.start_span(route.name, kind=SpanKind.PRODUCER, attributes=route.span_attrs,
                                         links=[Link(existing)] if existing else None)
            recording = span.is_recording()
            if recording and tel.message_body_size:
                span.set_attribute("messaging.message.body.size", len(_payload_bytes(payload)))
            ctx = trace.set_span_in_context(span)
            token = otel_context.attach(ctx)
        except Exception:  # telemetry must not stop the publish
            _log.debug("paho instrumentation: publish span not started", exc_info=True)
            return wrapped(*args, **kwargs)

        start = time.perf_counter()
        error = None
        try:
            if existing is None:  # an unsampled span's context goes too: downstream follows the decision
                try:
                    if is_v5:
                        properties = with_context(properties, ctx)
                    elif json_on:
                        payload = inject_json_payload(payload, ctx)
                except Exception:
                    _log.debug("paho instrumentation: context not injected", exc_info=True)
            if recording and tel.publish_hook is not None:
                _call_hook(tel.publish_hook, "publish", span, instance, topic, payload)
            info = wrapped(topic, payload, qos, retain, properties)
            if info.rc:
                if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos > 0:
                    span.set_attribute("messaging.mqtt.queued", True)  # paho sends it once connected
                else:
                    error = getattr(info.rc, "name", str(info.rc))
                    span.set_status(Status(StatusCode.ERROR, f"publish returned {error}"))
                    span.set_attribute("error.type", error)
            return info
        except Exception as exc:  # paho's own errors (bad topic, QoS, payload) go on to the caller
            error = _fail(span, exc)
            raise
        finally:
            _finish(tel, route, "publish", span, token, start, error)

    return publish


def make_on_message_wrapper(get_telemetry):
    def handle_on_message(wrapped, instance, args, kwargs):
        tel = get_telemetry(instance)
        if tel is None or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        try:
            message = args[0] if args else kwargs["message"]
            conn = connection(instance)
            ctx = tel.trusted(remote_context(message, conn.is_v5, tel.json_payload))
            remote = trace.get_current_span(ctx).get_span_context() if ctx is not None else None
            valid = remote is not None and remote.is_valid
            link = valid and (tel.links_only or (message.retain and tel.retained_as_link))
            if valid and not link:
                parent = ctx  # the publisher's span, and the message's baggage
            else:
                parent = otel_context.get_current()
                for key, value in (baggage.get_all(ctx).items() if ctx is not None else ()):
                    parent = baggage.set_baggage(key, value, parent)
            route = tel.route(instance, conn, "process", message._topic.decode("utf-8", "replace"), message.qos,
                              message.retain)
            span = tel.tracer.start_span(route.name, context=parent, kind=SpanKind.CONSUMER,
                                         attributes=route.span_attrs, links=[Link(remote)] if link else None)
            recording = span.is_recording()
            if recording and tel.message_body_size:
                span.set_attribute("messaging.message.body.size", len(message.payload))
            token = otel_context.attach(trace.set_span_in_context(span, parent))
        except Exception:
            _log.debug("paho instrumentation: process span not started", exc_info=True)
            return wrapped(*args, **kwargs)

        start = time.perf_counter()
        error = None
        try:
            if recording and tel.process_hook is not None:
                _call_hook(tel.process_hook, "process", span, instance, message)
            return wrapped(*args, **kwargs)
        except Exception as exc:  # the user's callback raised: record it, then behave as paho does
            error = _fail(span, exc)
            raise
        finally:
            _finish(tel, route, "process", span, token, start, error)

    return handle_on_message


def _filters_of(topic) -> list[str]:
    """The topic filters of one ``subscribe()`` argument: a string, a (filter, qos or
    options) pair, or a list of pairs. A shared subscription ``$share/group/f`` gives ``f``."""
    items = [topic] if isinstance(topic, (str, tuple)) else list(topic)
    out = []
    for item in items:
        name = item[0] if isinstance(item, tuple) else item
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        if isinstance(name, str) and name:
            if name.startswith("$share/") and name.count("/") >= 2:
                name = name.split("/", 2)[2]
            out.append(name)
    return out


def make_subscribe_wrapper(get_telemetry):
    """Remembers the topic filters the application subscribes to: a delivered message's
    ``messaging.destination.template`` is the first of them that matches its topic."""
    def subscribe(wrapped, instance, args, kwargs):
        result = wrapped(*args, **kwargs)
        try:
            if get_telemetry(instance) is not None:
                topic = args[0] if args else kwargs.get("topic")
                known = instance.__dict__.get(FILTERS, ())
                instance.__dict__[FILTERS] = tuple(dict.fromkeys(known + tuple(_filters_of(topic))))
        except Exception:
            _log.debug("paho instrumentation: subscription filters not recorded", exc_info=True)
        return result

    return subscribe
