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
