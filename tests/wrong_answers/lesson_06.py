from wrong_answers import Wrong

GETTER = '''    def get(self, carrier, key):
        pairs = getattr(carrier, "UserProperty", None) or []  # None on 3.1.1; unset when none were sent
        values = [v for k, v in pairs if k == key]  # every value, in the order sent
        return values or None
'''
SETTER = '''        pairs = [(k, v) for k, v in getattr(carrier, "UserProperty", None) or [] if k != key]
        object.__setattr__(carrier, "UserProperty", pairs + [(key, value)])  # plain assignment would append
'''

WRONG = {
    "6.1": [
        Wrong("dict() of the pairs, as a list: a repeated key gives the last value", "the first value sent must come first",
              edits=[(GETTER, "    def get(self, carrier, key):\n        pairs = getattr(carrier, 'UserProperty', None) or []\n"
                              "        value = dict(pairs).get(key)\n        return [value] if value else None\n")]),
        Wrong("no guard for a message without user properties", "reading props.UserProperty before it is set raises",
              edits=[(GETTER, "    def get(self, carrier, key):\n"
                              "        return [v for k, v in carrier.UserProperty if k == key] or None\n")]),
        Wrong("one value as a string, not a list", "a Getter returns a *list* of values",
              edits=[("        return values or None\n", "        return values[0] if values else None\n")]),
        Wrong("the setter assigns, and paho appends", "`props.UserProperty = [...]` APPENDS in paho",
              edits=[(SETTER, "        carrier.UserProperty = [(key, value)]\n")]),
        Wrong("the setter replaces every pair, the app's too", "each key must be there once",
              edits=[(SETTER, "        object.__setattr__(carrier, 'UserProperty', [(key, value)])\n")]),
        Wrong("get() fixed, keys() left as in the blank", "getter.keys(...) for None (MQTT 3.1.1)",
              edits=[("        return list(dict.fromkeys(k for k, _ in getattr(carrier, \"UserProperty\", None) or []))",
                      "        return [k for k, _ in carrier.UserProperty]")]),
        Wrong("the list changed in place: a fresh Properties has none", "on a fresh Properties(PacketTypes.PUBLISH) raised",
              edits=[(SETTER, "        pairs = carrier.UserProperty\n"
                              "        pairs[:] = [p for p in pairs if p[0] != key] + [(key, value)]\n")]),
        Wrong("the getter reads traceparent whatever it is asked", "read the key you are asked for",
              edits=[("        values = [v for k, v in pairs if k == key]", "        values = [v for k, v in pairs if k == 'traceparent']")]),
    ],
    "6.2": [
        Wrong("extracted, but the span not started in the context", "did not continue it",
              edits=[('start_as_current_span("process orders/new", context=ctx, kind=SpanKind.CONSUMER)',
                      'start_as_current_span("process orders/new", kind=SpanKind.CONSUMER)')]),
        Wrong("the blog's dict() of the user properties as the carrier, with the kit's getter", "did not continue it",
              edits=[("propagate.extract(msg.properties, getter=user_properties_getter)",
                      "propagate.extract(dict(msg.properties.UserProperty), getter=user_properties_getter)")]),
        Wrong("the carrier dict of section 1 reused", "That span was made by an earlier cell",
              edits=[("ctx = propagate.extract(msg.properties, getter=user_properties_getter)",
                      "ctx = propagate.extract(carrier)")]),
        Wrong("extracting from the payload instead of the properties", "did not continue it",
              edits=[("propagate.extract(msg.properties, getter=user_properties_getter)", "propagate.extract({})")]),

        Wrong("the publisher's own properties object, not the message's", "did not continue it: take the context "
              "from the message on_message is given",
              edits=[("ctx = propagate.extract(msg.properties, getter=user_properties_getter)",
                      "ctx = propagate.extract(properties, getter=user_properties_getter)")]),
        Wrong("the producer span shared through a global", "but not through the carrier or message",
              edits=[("ctx = propagate.extract(msg.properties, getter=user_properties_getter)",
                      "ctx = trace.set_span_in_context(shared['span'])"),
                     ('with sensor.tracer.start_as_current_span("publish orders/new", kind=SpanKind.PRODUCER):\n',
                      'shared = {}\nwith sensor.tracer.start_as_current_span("publish orders/new", kind=SpanKind.PRODUCER) as pub:\n'
                      '    shared["span"] = pub\n')]),
        Wrong("the consumer span made with the publisher's tracer", "comes from service 'sensor', not 'processor'",
              edits=[('processor.tracer.start_as_current_span("process orders/new"',
                      'sensor.tracer.start_as_current_span("process orders/new"')]),
        Wrong("the blog's dict() with the default getter: breaks on a message without properties",
              "your handler raised AttributeError",
              edits=[("ctx = propagate.extract(msg.properties, getter=user_properties_getter)",
                      "ctx = propagate.extract(dict(msg.properties.UserProperty))")]),
    ],
    "6.3": [
        Wrong("properties built, but not passed to publish", "arrived with no traceparent: the publisher sent no context",
              edits=[("qos=1, properties=properties)", "qos=1)")]),
        Wrong("injected outside the producer span", "does not name this cell's 'publish alerts/high'",
              edits=[('with sensor.tracer.start_as_current_span("publish alerts/high", kind=SpanKind.PRODUCER):\n'
                      '    properties = Properties(PacketTypes.PUBLISH)\n'
                      '    propagate.inject(properties, setter=user_properties_setter)\n',
                      'properties = Properties(PacketTypes.PUBLISH)\n'
                      'with sensor.tracer.start_as_current_span("read alert"):\n'
                      '    propagate.inject(properties, setter=user_properties_setter)\n'
                      'with sensor.tracer.start_as_current_span("publish alerts/high", kind=SpanKind.PRODUCER):\n')]),
        Wrong("injected into a dict that never reaches the message", "arrived with no traceparent",
              edits=[("    propagate.inject(properties, setter=user_properties_setter)\n",
                      "    carrier = {}\n    propagate.inject(carrier)\n")]),
        Wrong("fixing the consumer, which was right", "arrived with no traceparent",
              base="blank",
              edits=[("ctx = propagate.extract(msg.properties, getter=user_properties_getter)",
                      "ctx = propagate.extract(msg.properties or {}, getter=user_properties_getter)")]),
    ],
}
WRONG["6.3"].append(
    Wrong("the blank's publish kept, a second one with the context added", "carried no traceparent",
          edits=[('    publisher.publish("alerts/high", b\'{"t": 31.5}\', qos=1, properties=properties)',
                  '    publisher.publish("alerts/high", b\'{"t": 31.5}\', qos=1)\n'
                  '    publisher.publish("alerts/high", b\'{"t": 31.5}\', qos=1, properties=properties)'),
                 ("alerts.wait(1)", "alerts.wait(2)")]))

# Written from issue 17's classes: odd shapes from the learner's code, contexts left attached, kinds, the whole trace.
WRONG["6.1"] += [
    Wrong("get() yields the values: a generator, not a list", "getter.get(...) returned a generator",
          edits=[("        values = [v for k, v in pairs if k == key]  # every value, in the order sent\n"
                  "        return values or None\n",
                  "        return (v for k, v in pairs if k == key)\n")]),
    Wrong("get() raises KeyError for a key that is not there", "gave KeyError",
          edits=[("        return values or None\n", "        if not values:\n            raise KeyError(key)\n"
                                                   "        return values\n")]),
    Wrong("get() as a method without self", "raised TypeError",
          edits=[("    def get(self, carrier, key):", "    def get(carrier, key):")]),
    Wrong("the setter appends to the list it finds, or to none", "on a fresh Properties(PacketTypes.PUBLISH) raised",
          edits=[(SETTER, "        carrier.UserProperty.append((key, value))\n")]),
]
HANDLER = '''    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    with processor.tracer.start_as_current_span("process orders/new", context=ctx, kind=SpanKind.CONSUMER):
        pass
'''
WRONG["6.2"] += [
    Wrong("the extracted context attached in on_message and never detached", "Your on_message handler left a context "
          "extracted from a message attached",
          edits=[(HANDLER, '''    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    context.attach(ctx)
    with processor.tracer.start_as_current_span("process orders/new", kind=SpanKind.CONSUMER):
        pass
''')], before="from opentelemetry import context"),
    Wrong("the blog's SERVER kind on the consumer", "has kind SERVER, expected CONSUMER",
          edits=[('context=ctx, kind=SpanKind.CONSUMER', 'context=ctx, kind=SpanKind.SERVER')]),
    Wrong("a second consumer span inside the first", "'process orders/new' appears twice, one inside the other",
          edits=[(HANDLER, '''    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    with processor.tracer.start_as_current_span("process orders/new", context=ctx, kind=SpanKind.CONSUMER):
        with processor.tracer.start_as_current_span("process orders/new", kind=SpanKind.CONSUMER):
            pass
''')]),
    Wrong("the consumer span linked to the producer, not its child", "is linked to 'publish orders/new' but is not its child",
          edits=[(HANDLER, '''    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    producer = trace.get_current_span(ctx).get_span_context()
    with processor.tracer.start_as_current_span("process orders/new", kind=SpanKind.CONSUMER, links=[Link(producer)]):
        pass
''')]),
]
WRONG["6.3"] += [
    Wrong("the blog's CLIENT span around the PRODUCER", "The 2023 blog wrapped its PRODUCER span in a CLIENT span",
          edits=[('with sensor.tracer.start_as_current_span("publish alerts/high", kind=SpanKind.PRODUCER):',
                  'with sensor.tracer.start_as_current_span("Service1_Publish_Message", kind=SpanKind.CLIENT), '
                  'sensor.tracer.start_as_current_span("publish alerts/high", kind=SpanKind.PRODUCER):')]),
    Wrong("the publish span a CLIENT, as the blog's", "has kind CLIENT, expected PRODUCER",
          edits=[('"publish alerts/high", kind=SpanKind.PRODUCER', '"publish alerts/high", kind=SpanKind.CLIENT')]),
    Wrong("the producer's context attached to inject it, never detached", "still the current context",
          edits=[('with sensor.tracer.start_as_current_span("publish alerts/high", kind=SpanKind.PRODUCER):\n'
                  '    properties = Properties(PacketTypes.PUBLISH)\n'
                  '    propagate.inject(properties, setter=user_properties_setter)\n',
                  'from opentelemetry import context\n\n'
                  'publish_span = sensor.tracer.start_span("publish alerts/high", kind=SpanKind.PRODUCER)\n'
                  'context.attach(trace.set_span_in_context(publish_span))\nif True:\n'
                  '    properties = Properties(PacketTypes.PUBLISH)\n'
                  '    propagate.inject(properties, setter=user_properties_setter)\n'),
                 ("alerts.wait(1)\n", "alerts.wait(1)\npublish_span.end()\n")]),
]

WRONG["6.2"].append(
    Wrong("the handler set as on_message itself, not through the Inbox the check reads", "No message arrived in this cell",
          edits=[("subscriber.on_message = orders", "subscriber.on_message = handle_order")]))
RIGHT = {
    "6.1": [Wrong("get() returns a tuple", "",
                  edits=[("        return values or None\n", "        return tuple(values) or None\n")])],
    "6.2": [Wrong("the context attached in on_message, and detached in a finally", "",
                  edits=[(HANDLER, '''    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    token = context.attach(ctx)
    try:
        with processor.tracer.start_as_current_span("process orders/new", kind=SpanKind.CONSUMER):
            pass
    finally:
        context.detach(token)
''')], before="from opentelemetry import context")],
}

# Written blind by an outside learner (rt2): a setter that wipes the message's other properties or leaves a
# repeated key, and a publisher that sends traceparent twice or one it typed with its flags cleared.
WRONG["6.1"] += [
    Wrong("the setter clears the Properties to write the list back: the message's other properties go too",
          "own properties are gone after setter.set",
          edits=[(SETTER, "        pairs = [(k, v) for k, v in getattr(carrier, 'UserProperty', None) or [] if k != key]\n"
                          "        carrier.clear()\n        carrier.UserProperty = pairs + [(key, value)]\n")]),
    Wrong("the setter replaces the first pair of the key only: a key sent twice stays twice",
          "still holds it 2 times",
          edits=[(SETTER, "        pairs = list(getattr(carrier, 'UserProperty', None) or [])\n"
                          "        for i, (k, v) in enumerate(pairs):\n"
                          "            if k == key:\n                pairs[i] = (key, value)\n                break\n"
                          "        else:\n            pairs.append((key, value))\n"
                          "        object.__setattr__(carrier, 'UserProperty', pairs)\n")]),
]
WRONG["6.3"] += [
    Wrong("the blog's dict carrier copied into the properties twice: traceparent sent twice",
          "carried traceparent 2 times",
          edits=[("    properties = Properties(PacketTypes.PUBLISH)\n"
                  "    propagate.inject(properties, setter=user_properties_setter)\n",
                  "    carrier = {}\n    propagate.inject(carrier)\n    properties = Properties(PacketTypes.PUBLISH)\n"
                  "    properties.UserProperty = list(carrier.items())\n"
                  "    properties.UserProperty = list(carrier.items())\n")]),
    Wrong("a traceparent written by hand, with the flags 00 (not sampled)", "its flags say the trace is not sampled",
          edits=[('with sensor.tracer.start_as_current_span("publish alerts/high", kind=SpanKind.PRODUCER):\n'
                  '    properties = Properties(PacketTypes.PUBLISH)\n'
                  '    propagate.inject(properties, setter=user_properties_setter)\n',
                  'with sensor.tracer.start_as_current_span("publish alerts/high", kind=SpanKind.PRODUCER) as span:\n'
                  '    sc = span.get_span_context()\n    properties = Properties(PacketTypes.PUBLISH)\n'
                  '    properties.UserProperty = [("traceparent", f"00-{sc.trace_id:032x}-{sc.span_id:016x}-00")]\n')]),
]
RIGHT["6.1"] += [
    Wrong("the setter edits paho's list in place, and assigns a new one only when there is none", "",
          edits=[(SETTER, "        pairs = getattr(carrier, 'UserProperty', None)\n        if pairs is None:\n"
                          "            carrier.UserProperty = [(key, value)]\n        else:\n"
                          "            pairs[:] = [p for p in pairs if p[0] != key] + [(key, value)]\n")]),
]

# Found by trying answers blind, as the learner of the guide (rt3).
WRONG["6.3"].append(
    Wrong("the on_message line copied from exercise 6.2: the subscriber feeds the other Inbox",
          "another Inbox got 1 in this cell", edits=[("subscriber.on_message = alerts", "subscriber.on_message = orders")],
          before="orders = Inbox()"))
