import random

from wrong_answers import Wrong

from kit.checks import exercises


def _stored(number):
    """What the setup cell drew when the stored outputs were built (seed "lessons"): a learner who copies
    the values shown in the committed notebook, instead of using the variable, types these in."""
    return exercises.EXERCISES[number].draw(random.Random(f"lessons/{number}/1"))


STORED_TOPICS = _stored("2.1")["topics"]
STORED_PAYLOADS = _stored("2.2")["payloads"]

WRONG = {
    "2.1": [
        Wrong("the topic under a key of one's own", "the task asks for 'messaging.destination.name'",
              edits=[('received.add(1, {"messaging.destination.name": topic})', 'received.add(1, {"topic": topic})')]),
        Wrong("every message counted on the temp stream", "this run's messages need",
              edits=[('{"messaging.destination.name": topic}', '{"messaging.destination.name": "sensors/temp"}')]),
        Wrong("each message added twice", "Is each message added 2 times?".lower(),
              edits=[("received.add(1, ", "received.add(2, ")]),
        Wrong("a typo in the counter's name", "'message_received' is close",
              edits=[('create_counter("messages_received"', 'create_counter("message_received"')]),
    ],
    "2.2": [
        Wrong("recording 1 per payload, as a counter would", "record each value itself",
              edits=[("sizes.record(len(payload))", "sizes.record(1)")]),
        Wrong("recording the number of payloads once", "got 1 measurement(s) in this cell, expected",
              edits=[("for payload in payloads:\n    sizes.record(len(payload))", "sizes.record(len(payloads))")]),
        Wrong("the record outside the loop: only the last payload", "got 1 measurement(s) in this cell, expected",
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

WRONG["2.1"] += [
    Wrong("only the temp messages counted", "this run's messages need",
          edits=[('    received.add(1, {"messaging.destination.name": topic})',
                  '    if topic == "sensors/temp":\n        received.add(1, {"messaging.destination.name": topic})')]),
    Wrong("the expected total typed in, no loop", "this run's messages need",
          edits=[('for topic in topics:\n    received.add(1, {"messaging.destination.name": topic})',
                  'received.add(3, {"messaging.destination.name": "sensors/temp"})')]),
    Wrong("a histogram for a count", "is a histogram here, not a counter",
          edits=[('received = meter.create_counter("messages_received", unit="{message}")',
                  'received = meter.create_histogram("messages_received", unit="{message}")'),
                 ('received.add(1, {', 'received.record(1, {')]),
    # issue 17, class 4: values typed in
    Wrong("the lesson's old list of topics typed in", "not a list typed in",
          edits=[("for topic in topics:", 'for topic in ["sensors/temp", "sensors/temp", "sensors/humidity", '
                                          '"sensors/temp"]:')]),
    Wrong("the topics shown in the committed notebook typed in", "this run's messages need",
          edits=[("for topic in topics:", f"for topic in {STORED_TOPICS!r}:")]),
    Wrong("each topic counted once, not each message", "this run's messages need",
          edits=[("for topic in topics:", "for topic in set(topics):")]),
]
WRONG["2.2"] += [
    Wrong("the average size recorded for each payload", "The measurements fell into the buckets",
          edits=[("    sizes.record(len(payload))", "    sizes.record(sum(len(p) for p in payloads) / len(payloads))")]),
    Wrong("a counter for the sizes", "is a counter here, not a histogram",
          edits=[('sizes = meter.create_histogram("received_payload_size", unit="By")',
                  'sizes = meter.create_counter("received_payload_size", unit="By")'),
                 ("sizes.record(len(payload))", "sizes.add(len(payload))")]),
    # issue 17, class 4: values typed in
    Wrong("the lesson's old payloads typed in", "received_payload_size",
          edits=[("for payload in payloads:", "for payload in [b'{\"t\": 20}', b'{\"t\": 21}', "
                                             "b'{\"t\": 22, \"note\": \"window open\"}']:")]),
    Wrong("the payloads shown in the committed notebook typed in", "received_payload_size",
          edits=[("for payload in payloads:", f"for payload in {STORED_PAYLOADS!r}:")]),
    Wrong("the size of the payload's repr, not of its bytes", "record each value itself",
          edits=[("sizes.record(len(payload))", "sizes.record(len(str(payload)))")]),
]
WRONG["2.3"] += [
    Wrong("an observable gauge reporting 2", "not a counter",
          edits=[('console_count = console_provider.get_meter("exercise").create_counter("console_count", unit="{message}")\n'
                  'for _ in range(2):\n    console_count.add(1, {"messaging.destination.name": "sensors/temp"})\n',
                  'from opentelemetry.metrics import Observation\n'
                  'console_provider.get_meter("exercise").create_observable_gauge("console_count", callbacks=[\n'
                  '    lambda options: [Observation(2, {"messaging.destination.name": "sensors/temp"})]])\n')]),
    # issue 17, class 5: the technique bypassed
    Wrong("no force_flush: the reader would print in a minute, in another cell", "this cell did not make it print",
          edits=[("console_provider.force_flush()\n", "")]),
    Wrong("force_flush before counting", "force_flush() ran before the counting",
          edits=[("console_provider.force_flush()\n", ""),
                 ('console_count = console_provider.get_meter', 'console_provider.force_flush()\n'
                                                              'console_count = console_provider.get_meter')]),
    Wrong("three messages counted, not two", "prints 'console_count' {'messaging.destination.name': 'sensors/temp'} = 3",
          edits=[("for _ in range(2):", "for _ in range(3):")]),
]

RIGHT = {
    "2.1": [Wrong("counted first, then added once per topic", "",
                  edits=[('for topic in topics:\n    received.add(1, {"messaging.destination.name": topic})',
                          'from collections import Counter\n\nfor topic, n in Counter(topics).items():\n'
                          '    received.add(n, {"messaging.destination.name": topic})')])],
}

# Found by trying answers blind (rt1).
WRONG["2.3"] += [
    Wrong("the console exporter told to print into a StringIO: nothing shows in the cell", "not into the cell's output",
          edits=[("PeriodicExportingMetricReader(ConsoleMetricExporter()",
                  "PeriodicExportingMetricReader(ConsoleMetricExporter(out=__import__('io').StringIO())")]),
    # Not a mistake in itself, but one the check cannot judge: it said "make the counter from this provider" (false).
    Wrong("the reader told to send counters as deltas: the check's print after the cell's has nothing to read",
          "sends counters as deltas (preferred_temporality DELTA)",
          edits=[("PeriodicExportingMetricReader(ConsoleMetricExporter()",
                  "PeriodicExportingMetricReader(ConsoleMetricExporter(preferred_temporality={"
                  "__import__('opentelemetry.sdk.metrics').sdk.metrics.Counter: "
                  "__import__('opentelemetry.sdk.metrics.export').sdk.metrics.export.AggregationTemporality.DELTA})")]),
]
WRONG["2.2"] += [
    Wrong("the size of the decoded text: characters, not bytes", "the number of characters once decoded",
          edits=[("sizes.record(len(payload))", "sizes.record(len(payload.decode()))")]),
]
RIGHT["2.3"] = [
    Wrong("printed with force_flush(), then the provider shut down by the learner", "",
          edits=[("console_provider.force_flush()\n", "console_provider.force_flush()\nconsole_provider.shutdown()\n")]),
]
