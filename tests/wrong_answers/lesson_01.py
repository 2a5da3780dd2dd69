from wrong_answers import Wrong

WRONG = {
    "1.1": [
        Wrong("the attribute key with an underscore", "'sensor_id' is close",
              edits=[('span.set_attribute("sensor.id"', 'span.set_attribute("sensor_id"')]),
        Wrong("the value without its dash", "has sensor.id='s1', expected 's-1'",
              edits=[('"sensor.id", "s-1")\n', '"sensor.id", "s1")\n')]),
        Wrong("the event written as an attribute", "is an attribute of the span, not an event",
              edits=[('span.add_event("reading taken")', 'span.set_attribute("reading taken", True)')]),
        Wrong("the event added after the span ended", "has no event 'reading taken' (it has none). span.add_event(...) "
              "must run inside the `with` block",
              edits=[('    span.add_event("reading taken")\n', ''),
                     ('\n\ncheck_trace(', '\nspan.add_event("reading taken")\n\ncheck_trace(')]),
    ],
    "1.2": [
        Wrong("recorded and marked, then re-raised", "let the ValueError escape",
              edits=[('            return None\n', '            raise\n')]),
        Wrong("status set, exception not recorded", "has no recorded ValueError",
              edits=[('            span.record_exception(exc)\n', '')]),
        Wrong("exception recorded, status not set", "has status UNSET, expected ERROR",
              edits=[('            span.set_status(Status(StatusCode.ERROR, "not a number"))\n', '')]),
        Wrong("status ERROR set for every reading, outside the except block", "is marked ERROR too",
              edits=[('        try:\n', '        span.set_status(Status(StatusCode.ERROR, "not a number"))\n        try:\n')]),
    ],
    "1.3": [
        Wrong("the blog's CLIENT kind", "CLIENT is what the 2023 blog used",
              edits=[("kind=SpanKind.PRODUCER", "kind=SpanKind.CLIENT")]),
        Wrong("CONSUMER: the receiving side's kind", "CONSUMER is the receiving side",
              edits=[("kind=SpanKind.PRODUCER", "kind=SpanKind.CONSUMER")]),
        Wrong("the system written in capitals", "has messaging.system='MQTT', expected 'mqtt'",
              edits=[('MESSAGING_SYSTEM: "mqtt"', 'MESSAGING_SYSTEM: "MQTT"')]),
        Wrong("the kind, but the attribute forgotten", "has no attribute 'messaging.system'",
              edits=[(', attributes={MESSAGING_SYSTEM: "mqtt"}', '')]),
    ],
    "1.4": [
        Wrong("no force_flush: the spans wait in the batch queue", "still waiting in its BatchSpanProcessor",
              edits=[("grpc_provider.force_flush()\nhttp_provider.force_flush()\n", "")]),
        Wrong("the HTTP endpoint without /v1/traces", "an endpoint given in code is used as it is",
              edits=[('endpoint=receiver.http_endpoint + "/v1/traces"', "endpoint=receiver.http_endpoint")]),
        Wrong("the gRPC exporter pointed at the HTTP port", "the receiver's HTTP port",
              edits=[("GrpcSpanExporter(endpoint=receiver.grpc_endpoint", "GrpcSpanExporter(endpoint=receiver.http_endpoint")]),
        Wrong("both spans made with the gRPC provider's tracer", "arrived over gRPC, not HTTP/protobuf: make it with the tracer of http_provider",
              edits=[('with http_provider.get_tracer("exercise")', 'with grpc_provider.get_tracer("exercise")')]),
    ],
}

WRONG["1.3"].append(
    Wrong("the kind as a string", "which is not a SpanKind: pass the enum",
          edits=[("kind=SpanKind.PRODUCER", 'kind="PRODUCER"')]))
WRONG["1.2"].append(
    Wrong("the span only for readings that fail", "made no span 'parse reading': start the span before the try",
          code='''def parse_reading(text):
    try:
        return float(text)
    except ValueError as exc:
        with tele.tracer.start_as_current_span("parse reading") as span:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, "not a number"))
        return None


check_handled_error(parse_reading, bad="twenty", good="21.5", span_name="parse reading")
'''))
WRONG["1.4"] += [
    Wrong("a SimpleSpanProcessor", "The task (and production) uses a BatchSpanProcessor",
          edits=[("BatchSpanProcessor(GrpcSpanExporter(", "SimpleSpanProcessor(GrpcSpanExporter(")]),
    Wrong("the two exporters swapped between the providers", "grpc_provider's exporter is the HTTP/protobuf one",
          edits=[("GrpcSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)", "@@GRPC@@"),
                 ('HttpSpanExporter(endpoint=receiver.http_endpoint + "/v1/traces")',
                  "GrpcSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)"),
                 ("@@GRPC@@", 'HttpSpanExporter(endpoint=receiver.http_endpoint + "/v1/traces")')]),
]

# Written from issue 17's classes: the whole trace of the cell, its kinds, what it leaves behind.
WRONG["1.1"] += [
    Wrong("a second 'read sensor' inside the one given, carrying the attribute", "'read sensor' appears twice, one "
          "inside the other: the cell started a second 'read sensor' within the first. Add to the span you were given",
          edits=[('    span.set_attribute("sensor.id", "s-1")\n    span.add_event("reading taken")\n',
                  '    with tele.tracer.start_as_current_span("read sensor") as inner:\n'
                  '        inner.set_attribute("sensor.id", "s-1")\n        inner.add_event("reading taken")\n')]),
    Wrong("the block written twice: one span with the attribute, one with the event", "'read sensor' appears twice",
          edits=[('    span.add_event("reading taken")\n', ''),
                 ('\n\ncheck_trace(', '\nwith tele.tracer.start_as_current_span("read sensor") as span:\n'
                  '    span.add_event("reading taken")\n\ncheck_trace(')]),
    Wrong("the event on a child span of its own", "also made 'take reading' (INTERNAL, inside 'read sensor')",
          edits=[('    span.add_event("reading taken")\n',
                  '    with tele.tracer.start_as_current_span("take reading") as child:\n'
                  '        child.add_event("reading taken")\n')]),
    Wrong("status ERROR set by mistake", "has status ERROR, but nothing failed in it",
          edits=[('    span.add_event("reading taken")\n',
                  '    span.add_event("reading taken")\n    span.set_status(StatusCode.ERROR)\n')]),
    Wrong("the span made current by attach, and never detached", "still the current context: a context.attach(...) "
          "without its context.detach(token)",
          edits=[('with tele.tracer.start_as_current_span("read sensor") as span:\n'
                  '    span.set_attribute("sensor.id", "s-1")\n    span.add_event("reading taken")\n',
                  'from opentelemetry import context\n\nspan = tele.tracer.start_span("read sensor")\n'
                  'context.attach(trace.set_span_in_context(span))\nspan.set_attribute("sensor.id", "s-1")\n'
                  'span.add_event("reading taken")\nspan.end()\n')]),
]
WRONG["1.2"] += [
    Wrong("parse_reading tried in the cell as well: spans the check did not ask for", "The check calls parse_reading "
          "itself, twice", edits=[("\n\ncheck_handled_error(", "\n\nparse_reading('x')\n\ncheck_handled_error(")]),
    Wrong("a span of its own for the error, inside the except block", "also made 'handle error' (INTERNAL, inside "
          "'parse reading')",
          edits=[("            span.record_exception(exc)\n",
                  "            with tele.tracer.start_as_current_span('handle error'):\n"
                  "                span.record_exception(exc)\n")]),
    Wrong("the span attached in the function and never detached", "After parse_reading(...) returned",
          code="""from opentelemetry import context, trace


def parse_reading(text):
    span = tele.tracer.start_span("parse reading")
    context.attach(trace.set_span_in_context(span))
    try:
        return float(text)
    except ValueError as exc:
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, "not a number"))
        return None
    finally:
        span.end()


check_handled_error(parse_reading, bad="twenty", good="21.5", span_name="parse reading", exercise="1.2")
"""),
    Wrong("the number returned as text", "returned '21.5', expected 21.5",
          edits=[("            return float(text)", "            float(text)\n            return text")]),
]
WRONG["1.3"] += [
    Wrong("the blog's nesting: a CLIENT span around the PRODUCER", "The 2023 blog wrapped its PRODUCER span in a "
          "CLIENT span",
          edits=[("with tele.tracer.start_as_current_span(\n    \"publish sensors/temp\"",
                  "with tele.tracer.start_as_current_span(\"Service1_Publish_Message\", kind=SpanKind.CLIENT), "
                  "tele.tracer.start_as_current_span(\n    \"publish sensors/temp\"")]),
    Wrong("the publish made twice, as the blog's snippet did", "'publish sensors/temp' appears twice in this cell",
          edits=[("):\n    pass\n", "):\n    pass\nwith tele.tracer.start_as_current_span(\"publish sensors/temp\", "
                                    "kind=SpanKind.PRODUCER):\n    pass\n")]),
    Wrong("the attribute on a span of its own inside the publish", "also made 'tag' (INTERNAL, inside 'publish sensors/temp')",
          edits=[(', attributes={MESSAGING_SYSTEM: "mqtt"}', ''),
                 ("):\n    pass\n", "):\n    with tele.tracer.start_as_current_span('tag') as tag:\n"
                                    "        tag.set_attribute(MESSAGING_SYSTEM, 'mqtt')\n")]),
]
WRONG["1.4"] += [
    Wrong("the HTTP span started inside the gRPC one", "'sent over HTTP' should start its own trace, but it is inside "
          "'sent over gRPC'",
          edits=[('with grpc_provider.get_tracer("exercise").start_as_current_span("sent over gRPC"):\n    pass\n'
                  'with http_provider.get_tracer("exercise").start_as_current_span("sent over HTTP"):\n    pass\n',
                  'with grpc_provider.get_tracer("exercise").start_as_current_span("sent over gRPC"):\n'
                  '    with http_provider.get_tracer("exercise").start_as_current_span("sent over HTTP"):\n'
                  '        pass\n')]),
    Wrong("a span more, sent over gRPC", "also made 'warm up' (INTERNAL)",
          edits=[('with grpc_provider.get_tracer("exercise").start_as_current_span("sent over gRPC"):\n    pass\n',
                  'with grpc_provider.get_tracer("exercise").start_as_current_span("warm up"):\n    pass\n'
                  'with grpc_provider.get_tracer("exercise").start_as_current_span("sent over gRPC"):\n    pass\n')]),
]

RIGHT = {
    "1.1": [Wrong("the attribute given when the span starts", "",
                  edits=[('with tele.tracer.start_as_current_span("read sensor") as span:\n'
                          '    span.set_attribute("sensor.id", "s-1")\n',
                          'with tele.tracer.start_as_current_span("read sensor", attributes={"sensor.id": "s-1"}) as span:\n')])],
    "1.3": [Wrong("the attribute set inside the block", "",
                  edits=[(', attributes={MESSAGING_SYSTEM: "mqtt"}\n):\n    pass', '\n) as span:\n'
                          '    span.set_attribute("messaging.system", "mqtt")')])],
}

# Found by trying answers blind (rt1).
WRONG["1.1"].append(
    Wrong("the event added twice", "has the event 'reading taken' 2 times",
          edits=[('    span.add_event("reading taken")\n', '    span.add_event("reading taken")\n    span.add_event("reading taken")\n')]))
WRONG["1.2"] += [
    Wrong("record_exception called twice", "has the ValueError recorded 2 times",
          edits=[("            span.record_exception(exc)\n", "            span.record_exception(exc)\n"
                                                          "            span.record_exception(exc)\n")]),
    Wrong("the blog's double record: recorded, re-raised out of the `with`, caught around it", "recorded 2 times",
          code='''from kit.checks import check_handled_error


def parse_reading(text):
    try:
        with tele.tracer.start_as_current_span("parse reading") as span:
            try:
                return float(text)
            except ValueError as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, "not a number"))
                raise
    except ValueError:
        return None


check_handled_error(parse_reading, bad="twenty", good="21.5", span_name="parse reading", exercise="1.2")
'''),
]
RIGHT["1.2"] = [
    Wrong("the exception left to escape the span's `with`, which records it and sets ERROR, and caught around it", "",
          code='''from kit.checks import check_handled_error


def parse_reading(text):
    try:
        with tele.tracer.start_as_current_span("parse reading"):
            return float(text)
    except ValueError:
        return None


check_handled_error(parse_reading, bad="twenty", good="21.5", span_name="parse reading", exercise="1.2")
'''),
]

# Found by an outside learner's trial: the batch timer waited out instead of a flush.
WRONG["1.4"].append(
    Wrong("time.sleep(6) instead of force_flush(): the batch timer sends the spans", "the BatchSpanProcessor's timer sent it",
          edits=[("grpc_provider.force_flush()\nhttp_provider.force_flush()\n", "import time\n\ntime.sleep(6)\n")]))
# Found by trying answers blind, as the learner of the guide (rt3).
WRONG["1.3"].append(
    Wrong("a second 'publish sensors/temp', the right one, started inside the span given",
          "kind= and attributes= in its own `with` line",
          edits=[('with tele.tracer.start_as_current_span(\n    "publish sensors/temp", kind=SpanKind.PRODUCER, '
                  'attributes={MESSAGING_SYSTEM: "mqtt"}\n):\n    pass\n',
                  'with tele.tracer.start_as_current_span("publish sensors/temp"):\n'
                  '    with tele.tracer.start_as_current_span("publish sensors/temp", kind=SpanKind.PRODUCER, '
                  'attributes={MESSAGING_SYSTEM: "mqtt"}):\n        pass\n')]))
RIGHT["1.4"] = RIGHT.get("1.4", []) + [
    Wrong("a 3 s pause between the spans and the flush (the flush still sends them)", "",
          edits=[("grpc_provider.force_flush()\nhttp_provider.force_flush()\n",
                  "import time\n\ntime.sleep(3)\ngrpc_provider.force_flush()\nhttp_provider.force_flush()\n")])]
