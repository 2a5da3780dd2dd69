from wrong_answers import Wrong

PARSE = '''    try:
        obj = json.loads(payload)
    except ValueError:  # not UTF-8, not JSON
        return payload
'''

WRONG = {
    "7.1": [
        Wrong("the blog's envelope", "is inside 'trace_context', not at the root",
              edits=[("    propagate.inject(obj)  # traceparent (tracestate, baggage) beside the app's own fields\n"
                      "    return json.dumps(obj).encode()",
                      "    carrier = {}\n    propagate.inject(carrier)\n"
                      "    return json.dumps({'trace_context': carrier, 'payload': obj}).encode()")]),
        Wrong("no try: a payload that is not JSON raises", "raised UnicodeDecodeError",
              edits=[(PARSE, "    obj = json.loads(payload)\n")]),
        Wrong("JSON that is not an object, injected anyway", "Check isinstance(obj, dict)",
              edits=[("    if not isinstance(obj, dict):  # a number, a string, an array: nowhere to put fields\n"
                      "        return payload\n", "")]),
        Wrong("a str returned, not bytes", "return bytes",
              edits=[("    return json.dumps(obj).encode()", "    return json.dumps(obj)")]),
        Wrong("extract given the raw bytes", "extract(...) of an injected payload raised AttributeError",
              edits=[("    return propagate.extract(obj if isinstance(obj, dict) else {})", "    return propagate.extract(payload)")]),
        Wrong("extract returns the parsed object, not a context", "extract(...) returned a dict",
              edits=[("    return propagate.extract(obj if isinstance(obj, dict) else {})",
                      "    return obj if isinstance(obj, dict) else {}")]),
    ],
    "7.2": [
        Wrong("extracted, but the span not started in the context", "the subscriber did not use it",
              edits=[('start_as_current_span("process orders/new", context=ctx, kind=SpanKind.CONSUMER)',
                      'start_as_current_span("process orders/new", kind=SpanKind.CONSUMER)')]),
        Wrong("the v5 way on a 3.1.1 connection: user properties", "the subscriber did not use it",
              edits=[("ctx = extract_json_payload(msg.payload)",
                      "ctx = propagate.extract(msg.properties, getter=user_properties_getter)"),
                     ("def handle_order(", "from kit.propagation import user_properties_getter\n\n\ndef handle_order(")]),
        Wrong("the publisher's payload sent without the context", "arrived with no traceparent",
              edits=[("inject_json_payload(b'{\"id\": 7}')", "b'{\"id\": 7}'")]),
        Wrong("the raw payload bytes handed to propagate.extract", "Your on_message raised AttributeError",
              edits=[("ctx = extract_json_payload(msg.payload)", "ctx = propagate.extract(msg.payload)")]),
    ],
}
