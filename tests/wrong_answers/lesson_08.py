import random

from wrong_answers import Wrong

from kit.checks import exercises

WRONG = {
    "8.1": [
        Wrong("a process_hook: the consumer side", "the publish span's hook is the publish_hook",
              edits=[("instrument(publish_hook=add_sensor_id)", "instrument(process_hook=add_sensor_id)")]),
        Wrong("a hook with the wrong signature", "Does it take (span, client, topic, payload)",
              edits=[("def add_sensor_id(span, client, topic, payload):", "def add_sensor_id(span):")]),
        Wrong("instrument() twice: the hooked call is ignored", "A second instrument() does nothing: uninstrument() first",
              edits=[("PahoMqttInstrumentor().instrument(publish_hook=add_sensor_id)",
                      "PahoMqttInstrumentor().instrument()\nPahoMqttInstrumentor().instrument(publish_hook=add_sensor_id)")]),
        Wrong("a typo in the attribute's key", "'app.sensor_id' is close",
              edits=[('span.set_attribute("app.sensor.id", "s-1")', 'span.set_attribute("app.sensor_id", "s-1")')]),
    ],
}

WRONG["8.2"] = [
    Wrong("instrumented, but without the option or a hook", "has no attribute 'messaging.message.body.size'",
          edits=[("PahoMqttInstrumentor().instrument(message_body_size=True)", "PahoMqttInstrumentor().instrument()")]),
    Wrong("a process_hook that counts the characters of the topic", "number 1 of",
          edits=[("PahoMqttInstrumentor().instrument(message_body_size=True)",
                  "PahoMqttInstrumentor().instrument(process_hook=lambda span, client, message: "
                  "span.set_attribute('messaging.message.body.size', len(message.topic)))")]),
    Wrong("not waiting for the messages", "before the cell ended",
          edits=[("greenhouse.wait(len(readings))\n", "")]),
    Wrong("the size set by a publish_hook: on the publish spans", "has no attribute 'messaging.message.body.size'",
          edits=[("PahoMqttInstrumentor().instrument(message_body_size=True)",
                  "PahoMqttInstrumentor().instrument(publish_hook=lambda span, client, topic, payload: "
                  "span.set_attribute('messaging.message.body.size', len(payload)))")]),
]

WRONG["8.1"] += [
    Wrong("a span of one's own with that name, the instrumentation's left without the attribute",
          "one was made by the tracer 'sensor-app', not by the paho instrumentation",
          edits=[("PahoMqttInstrumentor().instrument(publish_hook=add_sensor_id)", "PahoMqttInstrumentor().instrument()"),
                 ("PahoMqttInstrumentor().uninstrument()\n",
                  "PahoMqttInstrumentor().uninstrument()\nwith tele.tracer.start_as_current_span('publish lab/temp', "
                  "kind=SpanKind.PRODUCER, attributes={'app.sensor.id': 's-1'}):\n    pass\n"),
                 ("tele = setup(\"sensor-app\")\n", "from opentelemetry.trace import SpanKind\n\ntele = setup(\"sensor-app\")\n")]),
    Wrong("the solution without its uninstrument(), then the blank", "paho was already instrumented when this cell started",
          base="blank", edits=[],
          before="PahoMqttInstrumentor().instrument(publish_hook=lambda span, *args: "
                 "span.set_attribute('app.sensor.id', 's-1'))"),
]

# Written from issue 17's classes: who made the spans, what is left behind, values typed in.
BY_HAND_81 = """from opentelemetry.trace import SpanKind

tele = setup("sensor-app")
lab = connect("sensor-9")
with tele.tracer.start_as_current_span("publish lab/temp", kind=SpanKind.PRODUCER) as span:
    span.set_attribute("app.sensor.id", "s-1")
    lab.publish("lab/temp", b'{"t": 20.0}', qos=1).wait_for_publish(5)
lab.disconnect()

check_trace("8.1")
"""
BY_HAND_82 = """from opentelemetry.trace import SpanKind

tele = setup("greenhouse")
greenhouse = Inbox()
watcher = connect("greenhouse-watcher", subscribe_to="greenhouse/#", on_message=greenhouse)
thermometer = connect("greenhouse-thermometer")
for reading in readings:
    with tele.tracer.start_as_current_span("publish greenhouse/temp", kind=SpanKind.PRODUCER) as publish:
        thermometer.publish("greenhouse/temp", reading, qos=1)
    with tele.tracer.start_as_current_span("process greenhouse/temp", kind=SpanKind.CONSUMER,
                                           context=trace.set_span_in_context(publish)) as process:
        process.set_attribute("messaging.message.body.size", len(reading))
greenhouse.wait(len(readings))
for client in (watcher, thermometer):
    client.disconnect()
    client.loop_stop()

check_trace("8.2")
"""
STORED_READINGS = exercises.EXERCISES["8.2"].draw(random.Random("lessons/8.2/1"))["readings"]
WRONG["8.1"] += [
    Wrong("the span written by hand, no instrumentation at all", "was made by the tracer 'sensor-app', not by the "
          "paho instrumentation", code=BY_HAND_81),
    Wrong("the instrumentation never uninstrumented", "paho is still instrumented when the exercise ends",
          edits=[("lab.disconnect()\nPahoMqttInstrumentor().uninstrument()\n", "lab.disconnect()\n")]),
    Wrong("the client left connected", "(client 'sensor-9') is still connected",
          edits=[("lab.disconnect()\n", "")]),
]
WRONG["8.2"] += [
    Wrong("every span written by hand, no instrumentation at all", "was made by the tracer 'greenhouse', not by the "
          "paho instrumentation", code=BY_HAND_82, before="from opentelemetry import trace"),
    Wrong("the instrumentation never uninstrumented", "paho is still instrumented when the exercise ends",
          edits=[("PahoMqttInstrumentor().uninstrument()\n", "")]),
    Wrong("the clients never disconnected", "is still connected when the exercise ends",
          edits=[("for client in (watcher, thermometer):\n    client.disconnect()\n    client.loop_stop()\n", "")]),
    Wrong("the readings shown in the committed notebook typed in", "a list typed in has other readings",
          edits=[("for reading in readings:", f"for reading in {STORED_READINGS!r}:"),
                 ("greenhouse.wait(len(readings))", f"greenhouse.wait({len(STORED_READINGS)})")]),
    Wrong("an earlier attempt left paho instrumented, then the solution", "paho was already instrumented when this "
          "cell started", edits=[], before="PahoMqttInstrumentor().instrument()"),
    Wrong("the messages published before the subscriber connected", "before the cell ended",
          edits=[('watcher = connect("greenhouse-watcher", subscribe_to="greenhouse/#", on_message=greenhouse)\n', ''),
                 ('greenhouse.wait(len(readings))', 'watcher = connect("greenhouse-watcher", subscribe_to="greenhouse/#", '
                                                    'on_message=greenhouse)\ngreenhouse.wait(len(readings), timeout_s=1)')]),
]

# Written blind by an outside learner (rt2): the size of the decoded text, not of the payload's bytes.
WRONG["8.2"] += [
    Wrong("a process_hook that counts the characters of the decoded payload, not its bytes", "in bytes",
          edits=[("PahoMqttInstrumentor().instrument(message_body_size=True)",
                  "PahoMqttInstrumentor().instrument(process_hook=lambda span, client, message: "
                  "span.set_attribute('messaging.message.body.size', len(message.payload.decode())))")]),
]

# Round 2 (rt4): an option's name mistyped: instrument() takes any keyword and says nothing of one it ignores.
WRONG["8.1"] += [
    Wrong("publish_hook mistyped publishhook", "which it does not know",
          edits=[("instrument(publish_hook=add_sensor_id)", "instrument(publishhook=add_sensor_id)")]),
]
WRONG["8.2"] += [
    Wrong("message_body_size mistyped", "the option is message_body_size=",
          edits=[("instrument(message_body_size=True)", "instrument(message_body_sise=True)")]),
]
