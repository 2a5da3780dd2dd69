"""Self-check about MQTT subscriptions: which messages arrived, and why a filter matched."""

from __future__ import annotations

import time

from kit.checks._result import Result, names, ok, wrong
from kit.checks.exercises import call_learner, judged, trace_verdict


@judged
def check_received(messages, topics: list[str], topic_filter=None, unwanted: tuple = ("office/temp",)) -> Result:
    """The paho messages in ``messages`` came in on exactly these topics (any order).
    ``topic_filter``, if given, is the one filter you subscribed with: it must match every
    topic asked for and none of ``unwanted``, by MQTT's own matching rules. Retained
    copies an earlier run left on the broker are not counted."""
    from paho.mqtt.client import topic_matches_sub

    if (isinstance(topic_filter, tuple) and len(topic_filter) == 2 and isinstance(topic_filter[0], str)
            and isinstance(topic_filter[1], int) and not isinstance(topic_filter[1], bool)):
        topic_filter = topic_filter[0]  # (filter, qos), which subscribe() takes too: still one filter
    if topic_filter is not None:
        hint = _filter_hint(topic_filter)
        if hint:
            return wrong(hint, "filter-invalid")
        misses = [t for t in topics if not topic_matches_sub(topic_filter, t)]
        if misses:
            return wrong(f"The filter {topic_filter!r} does not match {misses[0]!r}: '+' matches exactly one level, "
                         f"'#' any number of levels, at the end only. (Other subscriptions beside it do not count: "
                         f"the task asks for one filter.)", "filter-misses")
        extra = [t for t in unwanted if topic_matches_sub(topic_filter, t)]
        if extra:
            return wrong(f"The filter {topic_filter!r} also matches {extra[0]!r}, which you did not ask for: narrow it.",
                         "filter-too-wide")
    fresh = [m for m in messages if not getattr(m, "retain", False)]
    got = sorted(m.topic for m in fresh)
    want = sorted(topics)
    if not got:
        return wrong("No message arrived. Is the client subscribed (in on_connect) to a filter that matches, and "
                     "did you wait for the messages before checking?"
                     + (f" The filter {topic_filter!r} is right, so look at the client: did it connect (a v5 "
                        f"client cannot use a 3.1.1-only broker), and is its on_message the Inbox?"
                        if topic_filter else ""), "received-nothing")
    missing = [t for t in want if t not in got]
    extra = [t for t in got if t not in want]
    if missing:
        return wrong(f"Nothing arrived on {missing}; got {got}. '+' matches exactly one level, '#' any number "
                     f"of levels, at the end only.", "received-missing")
    if extra:
        return wrong(f"Also received {extra}, which you did not ask for: narrow the filter"
                     + (", and subscribe only with it." if topic_filter else "."), "received-extra")
    return ok(f"Received {len(got)} messages on {sorted(set(got))}"
              + (f" with the filter {topic_filter!r}." if topic_filter else "."))


def _filter_hint(topic_filter) -> str:
    if isinstance(topic_filter, (list, tuple)):
        return (f"TOPIC_FILTER is a {type(topic_filter).__name__} ({topic_filter!r}): the task asks for one filter, a string, that matches "
                f"both topics with a wildcard.")
    if not isinstance(topic_filter, str) or not topic_filter:
        return f"The filter is {topic_filter!r}: give a topic filter such as 'lab/temp'."
    levels = topic_filter.split("/")
    if any(ch in topic_filter for ch in "*?"):
        return (f"{topic_filter!r}: '*' and '?' are not MQTT wildcards (a broker reads them as plain "
                f"characters). Use '+' for exactly one level, '#' for any number of levels at the end.")
    if any(("+" in lv and lv != "+") or ("#" in lv and lv != "#") for lv in levels) or "#" in levels[:-1]:
        return (f"{topic_filter!r} is not a valid filter: '+' and '#' must be a whole level, and '#' only the "
                f"last one (e.g. 'lab/+', 'lab/#').")
    return ""


def _other_inbox_got(inbox) -> list:
    """The messages that arrived in this attempt in another Inbox (one with ``messages``) of a connected
    client, when no client has ``inbox`` as its on_message: [] otherwise."""
    from datetime import datetime, timezone

    from kit import attempts
    mark = attempts.current()
    if mark is None:
        return []
    clients = [c for c in attempts.paho_clients() if _is_connected(c)]
    if any(getattr(c, "on_message", None) is inbox for c in clients):
        return []
    from paho.mqtt.client import time_func  # the clock paho stamps a message with when it arrives
    started = time_func() - (datetime.now(timezone.utc) - mark.time).total_seconds()
    out = []
    for client in clients:
        other = getattr(client, "on_message", None)
        if other is not None and other is not inbox and isinstance(getattr(other, "messages", None), list):
            out += [m for m in list(other.messages) if getattr(m, "timestamp", 0) >= started]
    return out


def _is_connected(client) -> bool:
    try:
        return bool(client.is_connected())
    except Exception:
        return False


@judged
def check_hop(inbox, consumer: str, producer: str, placement: str = "user properties") -> Result:
    """The messages ``inbox`` received in this cell carried the context of the span
    ``producer`` this cell made, and the span ``consumer`` continued it (a child, through
    the message, in another service). ``placement``: ``"user properties"`` (MQTT v5) or
    ``"json"`` (fields of the 3.1.1 JSON payload). Says which side is wrong: the publisher
    (no or wrong ``traceparent`` in the message) or the subscriber. Then the check hands
    the subscriber's handler (``inbox.then``) messages of its own: one carrying a context
    only the check knows (the span made must continue it), and one with no context at all
    (the handler must not raise)."""
    from kit import attempts
    from kit.checks.spans import check_parent, made
    from kit.propagation import user_properties_getter

    from kit.checks.cleanup import _describe

    messages = list(getattr(inbox, "messages", []))
    errors = list(getattr(inbox, "errors", []))
    leaks = list(getattr(inbox, "leaks", []))
    if leaks:
        _, left = leaks[-1]
        fix = ("Its span already gets context=ctx: the attach is not needed, remove it (or detach it in a finally)."
               if attempts.cell_has("context=ctx") else
               "Start the span with context=ctx and attach nothing (or detach the token in a finally).")
        return wrong(f"Your on_message handler left {_describe(left)} attached: it called context.attach(...) without "
                     f"context.detach(token), on paho's network thread, where it would sit under every later "
                     f"message's spans. (The kit's Inbox put the context back.) {fix}", "context-leaked")
    if errors:
        _, exc = errors[-1]
        return wrong(f"Your on_message raised {type(exc).__name__}: {exc}. (The kit's Inbox caught it, so the "
                     f"client stays connected; with a plain on_message, paho's network thread would stop and "
                     f"receive nothing more.) Fix the handler.", "handler-raised")
    if not messages:
        elsewhere = _other_inbox_got(inbox)
        if elsewhere:
            return wrong(f"No message arrived in the Inbox you gave the check, but another Inbox got "
                         f"{len(elsewhere)} in this cell (on {names(sorted({m.topic for m in elsewhere}))}): the "
                         f"subscriber's on_message is that other one (a line copied from an earlier exercise?). "
                         f"Make the Inbox you wait for and check its on_message: subscriber.on_message = <it>.",
                         "hop-nothing")
        return wrong("No message arrived in this cell: is the subscriber's on_message the Inbox (Inbox(then=...)), "
                     "and did you wait for it (inbox.wait(1))? A plain on_message that raised stops paho's network "
                     "thread: run the cell that connects the subscriber again.", "hop-nothing")
    how = ("publish inject_json_payload(payload): it adds the traceparent field to the JSON object"
           if placement == "json" else "inject into a Properties, propagate.inject(properties, "
           "setter=user_properties_setter), and publish with properties=properties")
    carried = [_traceparent(m, placement) for m in messages]
    if not any(carried):
        return wrong(f"The message on {messages[-1].topic!r} arrived with no traceparent: the publisher sent no "
                     f"context. While {producer!r} is current, {how}.", "hop-no-context")
    if not all(carried):
        return wrong(f"{carried.count(None)} of the {len(messages)} messages this cell received carried no "
                     f"traceparent: every publish must carry the context (was the message published twice, "
                     f"once without it?).", "hop-some-without-context")
    if placement != "json":
        repeated = max(len(user_properties_getter.get(m.properties, "traceparent") or []) for m in messages)
        if repeated > 1:
            return wrong(f"The message on {messages[-1].topic!r} carried traceparent {repeated} times: "
                         f"`properties.UserProperty = [...]` appends in paho, so assigning twice sends every pair "
                         f"twice. OpenTelemetry Python takes the first, other SDKs reject such a message: send "
                         f"exactly one, propagate.inject(properties, setter=user_properties_setter) into a fresh "
                         f"Properties.", "hop-repeated-context")
    span, missing = made(producer)
    if missing is not None:
        return missing
    parts = carried[-1].split("-")
    if len(parts) < 3 or parts[2] != span.span_id:
        return wrong(f"The message's traceparent ({carried[-1]}) does not name this cell's {producer!r}: inject "
                     f"inside its `with` block, while it is the current span.", "hop-stale-context")
    if len(parts) >= 4 and not _sampled(parts[3]) and span.trace_id == parts[1]:
        return wrong(f"The message's traceparent ({carried[-1]}) names {producer!r}, but its flags say the trace "
                     f"is not sampled ({parts[3]}, bit 01 clear), though {producer!r} was: the consumer follows "
                     f"the flags and records nothing. Let the propagator write the traceparent, "
                     f"{'inject_json_payload(payload)' if placement == 'json' else 'propagate.inject(properties, setter=user_properties_setter)'}"
                     f", rather than typing it.", "hop-unsampled-context")
    whole = trace_verdict()  # every span of the cell, before the check hands the handler messages of its own
    if whole is None and _judging_nothing():
        whole = check_parent(consumer, producer, remote=True)
        whole = None if whole.passed else whole
    if whole is not None and whole.reason == "span-no-parent" and f"{consumer!r}" in whole.message:
        return wrong(f"The message carried the context of {producer!r}, but {consumer!r} did not continue it: "
                     f"{_how_to_continue(placement)}", "hop-not-continued")
    if whole is not None:
        return whole
    child, _ = made(consumer)
    if child is None:
        return wrong(f"This cell made no span {consumer!r}.", "span-missing")
    replayed = _replay(inbox, messages[-1], consumer, placement)
    if replayed is not None:
        return replayed
    where = "its JSON payload" if placement == "json" else "its user properties"
    return ok(f"{consumer!r} ({child.service}) continues {producer!r} ({span.service}) through {where}, in trace "
              f"{child.trace_id}; handed other messages, the handler continued their context too, and took one "
              f"without a context in its stride.")


def _judging_nothing() -> bool:
    """True when the check runs without an exercise (no trace contract to judge the hop by)."""
    from kit.checks.exercises import _judging
    return not _judging or _judging[-1].number is None


def _how_to_continue(placement: str) -> str:
    """The fix for a consumer span that started a trace of its own, without what the cell already has."""
    from kit import attempts
    where = ("ctx = extract_json_payload(msg.payload)" if placement == "json" else
             "ctx = propagate.extract(msg.properties, getter=user_properties_getter)")
    extracts, passes = attempts.cell_has(where), attempts.cell_has("context=ctx")
    if extracts and not passes:
        return "on_message extracts ctx, but starts the span without it: start_as_current_span(..., context=ctx)."
    if passes and not extracts:
        return (f"the span is started with context=ctx, but that ctx does not hold this message's context: read it "
                f"from the message on_message is given, {where}.")
    if extracts and passes:
        return ("is the span started with context=ctx inside on_message, from the ctx extracted there (not from a "
                "variable of the same name in another cell)?")
    return f"in on_message, {where}, then start the span with context=ctx."


def _sampled(flags: str) -> bool:
    try:
        return bool(int(flags[:2], 16) & 1)
    except ValueError:
        return True  # not flags at all: another check says what is wrong


def _traceparent(msg, placement: str) -> str | None:
    from kit.propagation import json_object, user_properties_getter
    if placement == "json":
        value = (json_object(msg.payload) or {}).get("traceparent")
        return value if isinstance(value, str) else None
    values = user_properties_getter.get(msg.properties, "traceparent")
    return values[0] if values else None


def _replay(inbox, original, consumer: str, placement: str) -> Result | None:
    """Hand the subscriber's handler messages of the check's own; None when it passes."""
    import json

    import paho.mqtt.client as mqtt
    from opentelemetry import propagate, trace
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from kit import attempts
    from kit.checks.propagation import _random_span
    from kit.propagation import json_object, user_properties_setter

    handler = getattr(inbox, "then", None)
    if handler is None:
        return None
    probe = _random_span()
    context = trace.set_span_in_context(probe)

    def message(payload, properties):
        msg = mqtt.MQTTMessage(original.mid, original.topic.encode())
        msg.payload, msg.qos, msg.properties = payload, original.qos, properties
        return msg

    if placement == "json":
        fields = {k: v for k, v in (json_object(original.payload) or {}).items()
                  if k not in ("traceparent", "tracestate", "baggage")}
        carrier: dict = {}
        propagate.inject(carrier, context=context)
        known = message(json.dumps({**carrier, **fields}).encode(), None)
        bare = message(b"not json", None)
    else:
        props = Properties(PacketTypes.PUBLISH)
        propagate.inject(props, context=context, setter=user_properties_setter)
        known = message(original.payload, props)
        bare = message(original.payload, None)  # what paho gives on MQTT 3.1.1: properties None
    before = set(attempts.spans().span_id)
    _, error = call_learner(handler, None, None, known, label="your on_message handler")
    if error:
        return wrong(f"Handed another message, your handler raised {error}.", "handler-raised")
    spans = attempts.spans()
    new = spans[(spans.name == consumer) & ~spans.span_id.isin(before)]
    wanted = f"{probe.get_span_context().span_id:016x}"
    if new.empty or new.parent_span_id.iloc[-1] != wanted:
        return wrong(f"Handed a message carrying another context, your handler's {consumer!r} did not continue it: "
                     f"take the context from the message on_message is given (msg.properties / msg.payload), not "
                     f"from a variable or span of the publisher's side.", "hop-replay-not-continued")
    _, error = call_learner(handler, None, None, bare, label="your on_message handler")
    if error:
        what = "a payload that is not JSON" if placement == "json" else "no properties (msg.properties is None)"
        how = ("extract with extract_json_payload(msg.payload) (it gives an empty context for them)"
               if placement == "json" else "extract with the getter (it returns nothing for them)")
        return wrong(f"Handed a message with {what}, your handler raised {error}. Messages without context "
                     f"arrive too: {how}.", "handler-raised")
    return None


@judged
def check_retained(messages, topic: str, payload: bytes, qos: int, clients: tuple | None = None) -> Result:
    """The messages a subscriber that connected *after* the publish received: one on
    ``topic`` with ``payload``, flagged retained, at QoS ``qos`` (the lower of the
    publish's and the subscription's). ``clients``: the client ids of the publisher and
    the late subscriber, two clients the cell made (one client cannot be "later" than
    itself)."""
    from kit import attempts
    from kit.checks.cleanup import _client_id

    if not isinstance(messages, (list, tuple)):
        return wrong(f"Give the check the list of messages the dashboard received (dashboard.messages), not a "
                     f"{type(messages).__name__}.", "not-messages")
    got = [m for m in messages if getattr(m, "topic", None) == topic]
    kept = _retained_now(messages, topic) if not got or got[-1].qos != qos else None
    if not got:
        seen = sorted({str(getattr(m, "topic", "?")) for m in messages})
        head = f"The late subscriber got nothing on {topic!r}" + (f" (it got {seen})" if seen else "") + ". "
        if kept is None:
            return wrong(head + f"Publish {payload!r} with retain=True before the dashboard connects, subscribe to "
                         f"{topic!r} in its on_connect, and wait for the message before disconnecting.",
                         "retained-nothing")
        if not kept:
            return wrong(head + f"Nothing is retained on {topic!r} at the broker (a subscriber connecting now gets "
                         f"nothing either): publish {payload!r} with retain=True, and wait_for_publish, before the "
                         f"dashboard connects.", "retained-nothing")
        waits = "" if attempts.cell_has("dashboard.wait(") else " and wait for it (dashboard.wait(1, timeout_s=2))"
        return wrong(head + f"The broker does keep {kept[0].payload!r} on it (a subscriber connecting now gets it), so "
                     f"the dashboard is the side to fix: subscribe to {topic!r} in its on_connect, make the Inbox "
                     f"you check its on_message{waits}, before disconnecting.", "retained-nothing")
    msg = got[-1]
    if msg.payload != payload:
        return wrong(f"It got {msg.payload!r} on {topic!r}, expected {payload!r}.", "retained-payload")
    if not msg.retain:
        return wrong(f"{payload!r} arrived, but not as a retained message (msg.retain is False): it was published "
                     f"while the subscriber was already connected. A late subscriber gets only what the broker "
                     f"kept: publish it (with retain=True) before the dashboard connects.", "retained-not-retained")
    if msg.qos != qos:
        stored = kept[0].qos if kept else None
        side = (f"the publish was at QoS {stored}, the dashboard subscribed at QoS {msg.qos}: subscribe(..., qos={qos})"
                if stored is not None and stored >= qos else
                f"the publish was at QoS {stored}: publish(..., qos={qos})" if stored is not None else
                f"publish(..., qos={qos}) and subscribe(..., qos={qos})")
        return wrong(f"It arrived at QoS {msg.qos}, expected {qos}: a message is delivered at the lower of its "
                     f"publish's QoS and the subscription's; {side}.", "retained-qos")
    made = attempts.new_clients()
    if clients and attempts.current() is not None and attempts.current().clients is not None:
        sender, late = clients
        ids = [_client_id(c) for c in made]
        receiving = [c for c in made if getattr(getattr(c, "on_message", None), "messages", None) is messages]
        if receiving and _client_id(receiving[0]) != late:
            return wrong(f"The status arrived at the client {_client_id(receiving[0])!r}; the task has the dashboard "
                         f"as a client of its own, {late!r}, connecting after {sender!r} published.",
                         "retained-one-client")
        # a retained status at the dashboard's own client was published before it connected, by a client that is
        # gone already (paho.mqtt.publish.single makes one and drops it): the sender need not be among the live ones
        published_before = sender not in ids and late in ids and bool(receiving) and msg.retain
        if (sender not in ids or late not in ids) and not published_before:
            missing = sender if sender not in ids else late
            return wrong(f"This cell made no client {missing!r} (it made {sorted(set(ids))}): the sensor and the "
                         f"dashboard are two clients, {sender!r} publishes, then {late!r} connects. One client "
                         f"that publishes and then subscribes proves nothing about clients that come later.",
                         "retained-one-client")
        for client in made:
            unconfirmed = [m for m in dict(getattr(client, "_out_messages", None) or {}).values()
                           if getattr(m, "qos", 0) > 0 and getattr(m, "topic", None) == topic]
            if unconfirmed:
                from kit.checks.cleanup import _called_as
                return wrong(f"The broker never confirmed the publish of {_called_as(client)} (no PUBACK): it "
                             f"disconnected right after publish(), before the answer came. It arrived this time, but "
                             f"a QoS {unconfirmed[0].qos} message is only sure to be kept once confirmed: wait for it, "
                             f"info = client.publish(...); info.wait_for_publish(5), before disconnect().",
                             "publish-unconfirmed")
    return ok(f"A subscriber that came later got the retained {payload!r} on {topic!r} at QoS {qos}.")


def _retained_now(messages, topic: str):
    """What the broker keeps retained on ``topic`` now, asked by a subscriber of the check's own (on the
    broker of the client that got ``messages``, or of any client the cell made): a list of messages,
    [] when nothing is retained, None when the check cannot ask."""
    import threading
    import uuid

    import paho.mqtt.client as mqtt

    from kit import attempts
    clients = attempts.new_clients()
    where = [(getattr(c, "_host", None), getattr(c, "_port", None)) for c in clients]
    where = [(h, p) for h, p in where if h and p]
    if not where:
        return None
    host, port = where[-1]
    got, done = [], threading.Event()
    probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"kit-check-{uuid.uuid4().hex[:8]}")
    probe.on_connect = lambda c, userdata, flags, rc, props: c.subscribe(topic, qos=2)
    probe.on_subscribe = lambda *args: done.set()
    probe.on_message = lambda c, userdata, msg: got.append(msg)
    try:
        probe.connect(host, port)
        probe.loop_start()
        if not done.wait(2):
            return None
        deadline = time.monotonic() + 0.5  # a retained message comes right after the SUBACK
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
        return [m for m in got if m.retain]
    except Exception:  # no broker to ask: say less
        return None
    finally:
        probe.disconnect()
        probe.loop_stop()
