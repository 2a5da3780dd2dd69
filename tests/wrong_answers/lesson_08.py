from wrong_answers import Wrong

WRONG = {
    "8.1": [
        Wrong("a process_hook: the consumer side", "Give instrument() a publish_hook(span, client, topic, payload)",
              edits=[("instrument(publish_hook=add_sensor_id)", "instrument(process_hook=add_sensor_id)")]),
        Wrong("a hook with the wrong signature", "Give instrument() a publish_hook(span, client, topic, payload)",
              edits=[("def add_sensor_id(span, client, topic, payload):", "def add_sensor_id(span):")]),
        Wrong("instrument() twice: the hooked call is ignored", "uninstrument() first",
              edits=[("PahoMqttInstrumentor().instrument(publish_hook=add_sensor_id)",
                      "PahoMqttInstrumentor().instrument()\nPahoMqttInstrumentor().instrument(publish_hook=add_sensor_id)")]),
        Wrong("a typo in the attribute's key", "'app.sensor_id' is close",
              edits=[('span.set_attribute("app.sensor.id", "s-1")', 'span.set_attribute("app.sensor_id", "s-1")')]),
    ],
}

WRONG["8.2"] = [
    Wrong("instrumented, but without the option or a hook", "has no attribute 'messaging.message.body.size'",
          edits=[("PahoMqttInstrumentor().instrument(message_body_size=True)", "PahoMqttInstrumentor().instrument()")]),
    Wrong("a process_hook that counts the characters of the topic", "number 1 has messaging.message.body.size=15",
          edits=[("PahoMqttInstrumentor().instrument(message_body_size=True)",
                  "PahoMqttInstrumentor().instrument(process_hook=lambda span, client, message: "
                  "span.set_attribute('messaging.message.body.size', len(message.topic)))")]),
    Wrong("not waiting for the messages", "before the cell ended",
          edits=[("greenhouse.wait(3)\n", "")]),
    Wrong("the size set by a publish_hook: on the publish spans", "has no attribute 'messaging.message.body.size'",
          edits=[("PahoMqttInstrumentor().instrument(message_body_size=True)",
                  "PahoMqttInstrumentor().instrument(publish_hook=lambda span, client, topic, payload: "
                  "span.set_attribute('messaging.message.body.size', len(payload)))")]),
]

WRONG["8.1"] += [
    Wrong("a span of one's own with that name, the instrumentation's left without the attribute",
          "was made by the tracer 'sensor-app', not by opentelemetry.instrumentation.paho_mqtt",
          edits=[("PahoMqttInstrumentor().instrument(publish_hook=add_sensor_id)", "PahoMqttInstrumentor().instrument()"),
                 ("PahoMqttInstrumentor().uninstrument()\n",
                  "PahoMqttInstrumentor().uninstrument()\nwith tele.tracer.start_as_current_span('publish lab/temp', "
                  "kind=SpanKind.PRODUCER, attributes={'app.sensor.id': 's-1'}):\n    pass\n"),
                 ("from kit.checks import check_span\n", "from opentelemetry.trace import SpanKind\n\nfrom kit.checks import check_span\n")]),
    Wrong("the solution without its uninstrument(), then the blank", "paho was already instrumented when this cell started",
          base="blank", edits=[],
          before="PahoMqttInstrumentor().instrument(publish_hook=lambda span, *args: "
                 "span.set_attribute('app.sensor.id', 's-1'))"),
]
