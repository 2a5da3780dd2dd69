"""What an exercise cell leaves behind, judged after every exercise: nothing but its results.

* no OpenTelemetry context left attached (``context.attach`` without ``detach``), in the
  cell's thread or in a callback the check calls: every later span would join that trace;
* no paho network thread stopped by a callback that raised (its traceback only reaches
  stderr), and no callback with a signature paho cannot call;
* no paho client made in the cell still connected when the exercise hands over;
* no logging handler added a second time (``addHandler`` in a cell run twice);
* the instrumentation removed, where the exercise says so.

Each function returns None, or the ✗ that names what was left and how to clean it up.
"""

from __future__ import annotations

import inspect
import logging
import time

from opentelemetry import baggage, context, trace

from kit import attempts
from kit.checks._result import Result, names, wrong


def _describe(ctx) -> str:
    span = trace.get_current_span(ctx)
    parts = []
    if span.get_span_context().is_valid:
        name = getattr(span, "name", None)
        parts.append(f"the span {name!r}" if name else "a context extracted from a message")
    bags = dict(baggage.get_all(ctx))
    if bags:
        parts.append(f"baggage {bags}")
    return " and ".join(parts) or "a context"


def _reset(to=None) -> None:
    """Make ``to`` (an empty context by default) current in this thread again."""
    context.attach(to if to is not None else context.Context())


def left_attached_earlier() -> Result | None:
    """A context was already attached when this cell started: an earlier cell's ``attach``."""
    mark = attempts.current()
    if mark is None or not mark.context:
        return None
    what = _describe(mark.context)
    joined = ("Every span started since then joined that trace, this cell's too." if
              trace.get_current_span(mark.context).get_span_context().is_valid else
              "Every span and message since then carried that baggage, this cell's too.")
    _reset()
    return wrong(f"When this cell started, {what} was still the current context: an earlier cell called "
                 f"context.attach(...) without context.detach(token) (or ran a check inside a `with` block). "
                 f"{joined} The check has detached it now: run "
                 f"this cell again, and detach what you attach (token = context.attach(ctx) … "
                 f"context.detach(token)).", "context-leaked-earlier")


def left_attached_here() -> Result | None:
    """The cell (or a function it called) attached a context and did not detach it."""
    mark = attempts.current()
    start = mark.context if mark is not None else context.Context()
    now = context.get_current()
    if now == start or (not now and not start):
        return None
    what = _describe(now)
    _reset(start)
    other = ("" if attempts.cell_has("context=") else
             ", or start the span with context=ctx (or inject with context=ctx) and attach nothing")
    return wrong(f"After this cell's code ran, {what} was still the current context: a context.attach(...) "
                 f"without its context.detach(token), or the check called inside a `with` block. {_effect(now)} "
                 f"Keep the token and detach it (token = context.attach(ctx) … context.detach(token)){other}; call "
                 f"the check outside any `with` block. (The check detached it for you.)", "context-leaked")


def _effect(ctx) -> str:
    if trace.get_current_span(ctx).get_span_context().is_valid:
        return "Every span started afterwards, in later cells too, would join that trace."
    return "Every span started and every message sent afterwards, in later cells too, would carry that baggage."


def leaked_by_call(before, what: str) -> Result | None:
    """Called right after the check called the learner's ``what``: did it leave a context attached?"""
    now = context.get_current()
    if now == before:
        return None
    left = _describe(now)
    _reset(before)
    fix = ("Its span already gets context=ctx: the attach is not needed, remove it (or keep its token and "
           "detach it in a finally)." if attempts.cell_has("context=ctx") else
           "Detach what you attach (token = context.attach(ctx), then context.detach(token) in a finally), or pass "
           "context=ctx to start_as_current_span and attach nothing.")
    return wrong(f"After {what} returned, {left} was still the current context: it called context.attach(...) "
                 f"without context.detach(token). In on_message, that context stays on paho's network thread and "
                 f"every later message's spans join it. {fix}", "context-leaked")


# ---------------------------------------------------------------- paho

V2_ARITY = {"on_connect": 5, "on_disconnect": 5, "on_subscribe": 5, "on_unsubscribe": 5, "on_publish": 5,
            "on_message": 3, "on_log": 4, "on_connect_fail": 2}
V2_SIGNATURES = {"on_connect": "on_connect(client, userdata, flags, reason_code, properties)",
                 "on_disconnect": "on_disconnect(client, userdata, flags, reason_code, properties)",
                 "on_subscribe": "on_subscribe(client, userdata, mid, reason_codes, properties)",
                 "on_unsubscribe": "on_unsubscribe(client, userdata, mid, reason_codes, properties)",
                 "on_publish": "on_publish(client, userdata, mid, reason_code, properties)",
                 "on_message": "on_message(client, userdata, msg)"}
V1_NAMES = {"on_connect": "on_connect(client, userdata, flags, rc)", "on_subscribe":
            "on_subscribe(client, userdata, mid, granted_qos)", "on_publish": "on_publish(client, userdata, mid)",
            "on_disconnect": "on_disconnect(client, userdata, rc)"}


def _client_id(client) -> str:
    raw = getattr(client, "_client_id", b"") or b""
    return raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)


def _variable(obj) -> str | None:
    """The name the notebook gave ``obj``, if it has one."""
    shell = attempts._shell()
    space = getattr(shell, "user_ns", None) or {}
    found = [k for k, v in list(space.items()) if v is obj and not k.startswith("_")]
    return found[0] if found else None


def _called_as(client) -> str:
    name = _variable(client)
    cid = _client_id(client)
    return f"{name} (client {cid!r})" if name else f"the client {cid!r}"


def _is_v2(client) -> bool:
    version = getattr(client, "_callback_api_version", None)
    return getattr(version, "name", "") == "VERSION2"


def _bad_signature(client) -> tuple[str, object] | None:
    """(callback name, callback) of the first callback paho VERSION2 cannot call with its arguments."""
    if not _is_v2(client):
        return None
    for name, arity in V2_ARITY.items():
        callback = getattr(client, name, None)
        if callback is None or not callable(callback):
            continue
        try:
            signature = inspect.signature(callback)
        except (TypeError, ValueError):
            continue
        try:
            signature.bind(*([None] * arity))
        except TypeError:
            return name, callback
    return None


def _signature_message(client, name, callback) -> str:
    try:
        given = f"{getattr(callback, '__name__', name)}{inspect.signature(callback)}"
    except (TypeError, ValueError):
        given = name
    old = " That is paho 1.x's signature." if name in V1_NAMES and given.count(",") + 1 == \
        V1_NAMES[name].count(",") + 1 else ""
    return (f"{_called_as(client)} has {name} = {given}, but a CallbackAPIVersion.VERSION2 client calls it with "
            f"{V2_ARITY[name]} arguments: def {V2_SIGNATURES.get(name, name)}.{old}")


def _loop_died(client) -> bool:
    """Connected, loop started, and its thread gone without loop_stop(): a callback raised in it."""
    try:
        return bool(client.is_connected() and getattr(client, "_thread", 1) is None
                    and getattr(client, "_thread_terminate", True) is False)
    except Exception:
        return False


def callbacks_crashed() -> Result | None:
    """A paho network thread that died in this attempt, with what stopped it."""
    errors = list(attempts.thread_errors())
    if not errors:  # the hook that notes them can be replaced (pytest does): look at the clients themselves
        errors = [(f"paho-mqtt-client-{_client_id(c)}", None) for c in attempts.new_clients() if _loop_died(c)]
    for thread_name, exc in errors:
        if not str(thread_name).startswith("paho-mqtt-client-"):
            continue
        cid = str(thread_name)[len("paho-mqtt-client-"):]
        clients = ([c for c in attempts.new_clients() if _client_id(c) == cid]
                   or [c for c in attempts.paho_clients() if _client_id(c) == cid])
        found = next(((c, _bad_signature(c)) for c in clients if _bad_signature(c)), None)
        error = f"{type(exc).__name__}: {exc}" if exc is not None else "an exception (its traceback went to stderr)"
        for client in clients:
            if client in attempts.new_clients():
                _close(client)  # its thread is gone, its connection would linger and hold its client id
        old_api = [c for c in clients if not _is_v2(c)]
        if old_api and (exc is None or isinstance(exc, TypeError)):
            return wrong(f"paho's network thread of the client {cid!r} stopped with {error}: the client was made "
                         f"without CallbackAPIVersion.VERSION2, so paho calls its callbacks the paho 1.x way, with "
                         f"other arguments than yours. Make it with mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, "
                         f"client_id=...), and run the cell again.", "callback-api-version")
        if found is not None:
            client, (name, callback) = found
            return wrong(f"paho's network thread of the client {cid!r} stopped with {error}: "
                         f"{_signature_message(client, name, callback)} Fix the signature and run the cell again "
                         f"(a stopped client receives nothing more).", "callback-signature")
        return wrong(f"paho's network thread of the client {cid!r} stopped: one of its callbacks raised {error}. "
                     f"A callback that raises stops the client: it receives nothing more (the traceback went to "
                     f"stderr, above). Fix the callback, and run the cell again.", "callback-crashed")
    return None


def callbacks_misshapen() -> Result | None:
    """A client made in this attempt with a callback paho will not be able to call."""
    for client in attempts.new_clients():
        bad = _bad_signature(client)
        if bad is not None:
            return wrong(_signature_message(client, *bad) + " Its first call would stop the client's network "
                         "thread with a TypeError.", "callback-signature")
    return None


def clients_left(wait_s: float = 1.0) -> Result | None:
    """A client made in this attempt still connected (or its loop still running) at the end."""
    deadline = time.monotonic() + wait_s
    while True:
        left = [c for c in attempts.new_clients() if _running(c)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    if not left:
        return None
    client = left[0]
    name = _variable(client) or "client"
    more = f" (and {names(_client_id(c) for c in left[1:])})" if len(left) > 1 else ""
    fix = (f"call {name}.disconnect() and {name}.loop_stop() once you are done with it"
           if _variable(client) is None or not attempts.cell_has(f"{name}.disconnect()") else
           f"the cell calls {name}.disconnect(), yet it is connected: did it run before the connection was up "
           f"(nothing waited: no wait_for_publish(), no wait for on_connect), so that the broker's answer, coming "
           f"after it, connected it? Wait until its work is done (info.wait_for_publish(5)) before disconnecting")
    said = wrong(f"{_called_as(client)}{more} is still connected when the exercise ends: {fix}. Left running, each "
                 f"run of the cell adds another connection and another thread, and a client with the same id takes "
                 f"the next run's connection away. (The check disconnected it for you.)", "client-connected")
    for each in left:
        _close(each)
    return said


def _close(client) -> None:
    """Disconnect a client the learner left behind, so it cannot disturb the next attempt."""
    try:
        client.reconnect_delay_set(min_delay=3600, max_delay=3600)  # no automatic reconnect meanwhile
        client.disconnect()
        client.loop_stop()
    except Exception:  # a client in an odd state: leave it
        pass


def _running(client) -> bool:
    try:
        thread = getattr(client, "_thread", None)
        return bool(client.is_connected() or (thread is not None and thread.is_alive()))
    except Exception:
        return False


# ---------------------------------------------------------------- logging

def _sends_to(handler):
    return getattr(handler, "_logger_provider", None)


def handlers_doubled() -> Result | None:
    """A logger that gained a handler in this attempt and now has two OpenTelemetry LoggingHandlers."""
    mark = attempts.current()
    if mark is None or mark.handlers is None:
        return None
    loggers = [logging.getLogger()] + [lg for lg in list(logging.Logger.manager.loggerDict.values())
                                       if isinstance(lg, logging.Logger)]
    for logger in loggers:
        before = set(mark.handlers.get(logger.name, []))
        added = [h for h in logger.handlers if id(h) not in before]
        bridges = [h for h in logger.handlers if _sends_to(h) is not None]
        if not added or len(bridges) < 2 or not any(_sends_to(h) is not None for h in added):
            continue
        label = "the root logger" if logger is logging.getLogger() else f"the logger {logger.name!r}"
        if logger is logging.getLogger():
            return wrong(f"This cell added a LoggingHandler to the root logger, which already has one (the kit's): "
                         f"every record of every library now goes to both providers. Put your handler on the "
                         f"logger the task names, logging.getLogger(name).handlers[:] = [handler].", "handler-on-root")
        return wrong(f"{label} now has {len(bridges)} LoggingHandlers: logger.addHandler(...) in a cell that runs "
                     f"again adds one more each time, and every record is then sent once per handler (an old one "
                     f"to an old provider). Replace them instead: logger.handlers[:] = [LoggingHandler(...)].",
                     "handler-twice")
    return None


# ---------------------------------------------------------------- instrumentation

def instrumentation_left() -> Result | None:
    from kit.checks import _paho
    if not _paho.instrumented():
        return None
    try:
        _paho.instrumentor()().uninstrument()
    except Exception:  # leave it as it is
        pass
    return wrong("paho is still instrumented when the exercise ends: finish with "
                 "PahoMqttInstrumentor().uninstrument(), as the task says, so that later cells (and a re-run of "
                 "this one, whose instrument() would otherwise do nothing) start from plain paho. (The check "
                 "uninstrumented it for you.)", "still-instrumented")


def instrumented_before() -> Result | None:
    from kit.checks import _paho
    mark = attempts.current()
    if mark is None or not mark.paho_instrumented:
        return None
    if _paho.instrumented():
        try:
            _paho.instrumentor()().uninstrument()
        except Exception:  # leave it as it is
            pass
    return wrong("paho was already instrumented when this cell started (an earlier cell left it so: no "
                 "uninstrument() after its instrument()), so this cell's instrument(...) did nothing, and its spans "
                 "come from the earlier settings. The check has uninstrumented it now: run this cell again.",
                 "instrumented-before")
