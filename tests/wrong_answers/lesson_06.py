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
        Wrong("the setter replaces every pair, the app's too", "The application's own user property ('app', '1') is gone",
              edits=[(SETTER, "        object.__setattr__(carrier, 'UserProperty', [(key, value)])\n")]),
    ],
    "6.2": [
        Wrong("extracted, but the span not started in the context", "the subscriber did not use it",
              edits=[('start_as_current_span("process orders/new", context=ctx, kind=SpanKind.CONSUMER)',
                      'start_as_current_span("process orders/new", kind=SpanKind.CONSUMER)')]),
        Wrong("the blog's dict() of the user properties as the carrier, with the kit's getter", "the subscriber did not use it",
              edits=[("propagate.extract(msg.properties, getter=user_properties_getter)",
                      "propagate.extract(dict(msg.properties.UserProperty), getter=user_properties_getter)")]),
        Wrong("the carrier dict of section 1 reused", "That span was made by an earlier cell",
              edits=[("ctx = propagate.extract(msg.properties, getter=user_properties_getter)",
                      "ctx = propagate.extract(carrier)")]),
        Wrong("extracting from the payload instead of the properties", "the subscriber did not use it",
              edits=[("propagate.extract(msg.properties, getter=user_properties_getter)", "propagate.extract({})")]),
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
