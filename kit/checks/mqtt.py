"""Self-check about MQTT subscriptions: which messages arrived, and why a filter matched."""

from __future__ import annotations

from kit.checks._result import Result, ok, wrong


def check_received(messages, topics: list[str], topic_filter: str | None = None) -> Result:
    """The paho messages in ``messages`` came in on exactly these topics (any order).
    ``topic_filter``, if given, is the filter you subscribed with, so the check can say
    what is wrong with it."""
    hint = _filter_hint(topic_filter) if topic_filter is not None else ""
    if hint:
        return wrong(hint)
    got = sorted(m.topic for m in messages)
    want = sorted(topics)
    if not got:
        return wrong("No message arrived. Is the client subscribed (in on_connect) to a filter that matches, and "
                     "did you wait for the messages before checking?"
                     + (f" The filter {topic_filter!r} matches none of {want}." if topic_filter else ""))
    missing = [t for t in want if t not in got]
    extra = [t for t in got if t not in want]
    if missing:
        return wrong(f"Nothing arrived on {missing}; got {got}. '+' matches exactly one level, '#' any number "
                     f"of levels, at the end only." + (f" {topic_filter!r} does not match {missing[0]!r}."
                                                       if topic_filter else ""))
    if extra:
        return wrong(f"Also received {extra}, which you did not ask for: narrow the filter"
                     + (f" ({topic_filter!r} matches {extra[0]!r})." if topic_filter else "."))
    return ok(f"Received {len(got)} messages on {sorted(set(got))}"
              + (f" with the filter {topic_filter!r}." if topic_filter else "."))


def _filter_hint(topic_filter: str) -> str:
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


def check_hop(inbox, consumer: str, producer: str, placement: str = "user properties") -> Result:
    """The last message ``inbox`` received carried the context of the span ``producer``
    this cell made, and the span ``consumer`` continued it (is its child). ``placement``:
    ``"user properties"`` (MQTT v5) or ``"json"`` (a field of the 3.1.1 JSON payload).
    Says which side is wrong: the publisher (no or wrong ``traceparent`` in the message)
    or the subscriber (context not extracted or not used)."""
    from kit.checks.spans import check_parent, made
    from kit.propagation import json_object, user_properties_getter

    messages = list(getattr(inbox, "messages", []))
    errors = list(getattr(inbox, "errors", []))
    if errors:
        _, exc = errors[-1]
        return wrong(f"Your on_message raised {type(exc).__name__}: {exc}. (The kit's Inbox caught it, so the "
                     f"client stays connected; with a plain on_message, paho's network thread would stop and "
                     f"receive nothing more.) Fix the handler.")
    if not messages:
        return wrong("No message arrived in this cell: is the subscriber connected and subscribed, and did you "
                     "wait for it (inbox.wait(1))?")
    msg = messages[-1]
    if placement == "json":
        obj = json_object(msg.payload) or {}
        sent = [obj["traceparent"]] if isinstance(obj.get("traceparent"), str) else []
        how = "publish inject_json_payload(payload): it adds the traceparent field to the JSON object"
    else:
        sent = user_properties_getter.get(msg.properties, "traceparent") or []
        how = ("inject into a Properties, propagate.inject(properties, setter=user_properties_setter), and "
               "publish with properties=properties")
    if not sent:
        return wrong(f"The message on {msg.topic!r} arrived with no traceparent: the publisher sent no context. "
                     f"While {producer!r} is current, {how}.")
    span, missing = made(producer)
    if missing is not None:
        return missing
    parts = sent[0].split("-")
    if len(parts) < 3 or parts[2] != span.span_id:
        return wrong(f"The message's traceparent ({sent[0]}) does not name this cell's {producer!r}: inject "
                     f"inside its `with` block, while it is the current span.")
    verdict = check_parent(consumer, producer)
    if not verdict.passed and "has no parent" in verdict.message:
        where = ("ctx = extract_json_payload(msg.payload)" if placement == "json" else
                 "ctx = propagate.extract(msg.properties, getter=user_properties_getter)")
        return wrong(f"The message carried the context of {producer!r}, but {consumer!r} has no parent: the subscriber "
                     f"did not use it. In on_message, {where}, then start the span with context=ctx.")
    return verdict


def check_retained(messages, topic: str, payload: bytes, qos: int) -> Result:
    """The messages a subscriber that connected *after* the publish received: one on
    ``topic`` with ``payload``, flagged retained, at QoS ``qos`` (the lower of the
    publish's and the subscription's)."""
    got = [m for m in messages if m.topic == topic]
    if not got:
        seen = sorted({m.topic for m in messages})
        return wrong(f"The late subscriber got nothing on {topic!r}" + (f" (it got {seen})" if seen else "") +
                     ". Publish with retain=True (and wait_for_publish) before it connects, and subscribe to the "
                     "topic in its on_connect.")
    msg = got[-1]
    if msg.payload != payload:
        return wrong(f"It got {msg.payload!r} on {topic!r}, expected {payload!r}.")
    if not msg.retain:
        return wrong(f"{payload!r} arrived, but not as a retained message (msg.retain is False): it was published "
                     f"while the subscriber was already connected. A late subscriber gets only what the broker "
                     f"kept: publish with retain=True first.")
    if msg.qos != qos:
        return wrong(f"It arrived at QoS {msg.qos}, expected {qos}: a message is delivered at the lower of its "
                     f"publish's QoS and the subscription's, so both must be {qos}: publish(..., qos={qos}) and "
                     f"subscribe(..., qos={qos}).")
    return ok(f"A subscriber that came later got the retained {payload!r} on {topic!r} at QoS {qos}.")
