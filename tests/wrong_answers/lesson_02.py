from wrong_answers import Wrong

WRONG = {
    "2.1": [
        Wrong("the topic under a key of one's own", "the task asks for 'messaging.destination.name'",
              edits=[('received.add(1, {"messaging.destination.name": topic})', 'received.add(1, {"topic": topic})')]),
        Wrong("every message counted on the temp stream", "went up by 4 in this cell, expected 3",
              edits=[('{"messaging.destination.name": topic}', '{"messaging.destination.name": "sensors/temp"}')]),
        Wrong("each message added twice", "Is each message added 2 times?",
              edits=[("received.add(1, ", "received.add(2, ")]),
        Wrong("a typo in the counter's name", "'message_received' is close",
              edits=[('create_counter("messages_received"', 'create_counter("message_received"')]),
    ],
    "2.2": [
        Wrong("recording 1 per payload, as a counter would", "record each value itself",
              edits=[("sizes.record(len(payload))", "sizes.record(1)")]),
        Wrong("recording the number of payloads once", "got 1 measurement(s) in this cell, expected 3",
              edits=[("for payload in payloads:\n    sizes.record(len(payload))", "sizes.record(len(payloads))")]),
        Wrong("the record outside the loop: only the last payload", "got 1 measurement(s) in this cell, expected 3",
              edits=[("    sizes.record(len(payload))", "    pass\nsizes.record(len(payload))")]),
        Wrong("sizes in kilobytes", "record each value itself",
              edits=[("sizes.record(len(payload))", "sizes.record(len(payload) / 1000)")]),
    ],
    "2.3": [
        Wrong("an in-memory reader: nothing printed", "nothing reads it on a schedule",
              edits=[("PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=60_000)",
                      "InMemoryMetricReader()")]),
        Wrong("the interval in seconds", "export_interval_millis is in milliseconds",
              edits=[("export_interval_millis=60_000)", "export_interval_millis=60)")]),
        Wrong("the counter made from the kit's meter, not this provider's", "has no metric 'console_count'",
              edits=[('console_provider.get_meter("exercise").create_counter', "meter.create_counter")]),
        Wrong("the topic under a key of one's own", "the task asks for 'messaging.destination.name'",
              edits=[('console_count.add(1, {"messaging.destination.name": "sensors/temp"})',
                      'console_count.add(1, {"topic": "sensors/temp"})')]),
    ],
}
