from wrong_answers import Wrong

WRONG = {
    "1.1": [
        Wrong("the attribute key with an underscore", "'sensor_id' is close",
              edits=[('span.set_attribute("sensor.id"', 'span.set_attribute("sensor_id"')]),
        Wrong("the value without its dash", "has sensor.id='s1', expected 's-1'",
              edits=[('"sensor.id", "s-1")\n', '"sensor.id", "s1")\n')]),
        Wrong("the event written as an attribute", "is an attribute of the span, not an event",
              edits=[('span.add_event("reading taken")', 'span.set_attribute("reading taken", True)')]),
        Wrong("the event added after the span ended", "has no event 'reading taken'",
              edits=[('    span.add_event("reading taken")\n', ''),
                     ('\n\ncheck_span(', '\nspan.add_event("reading taken")\n\ncheck_span(')]),
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
