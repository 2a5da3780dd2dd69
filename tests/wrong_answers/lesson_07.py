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
              edits=[("    return propagate.extract({k: v for k, v in obj.items() if isinstance(v, str)})",
                      "    return propagate.extract(payload)")]),
        Wrong("extract returns the parsed object, not a context", "extract(...) returned a dict",
              edits=[("    return propagate.extract({k: v for k, v in obj.items() if isinstance(v, str)})",
                      "    return obj")]),
        Wrong("a traceparent typed in: the W3C example", "not the current span's",
              edits=[("    propagate.inject(obj)  # traceparent (tracestate, baggage) beside the app's own fields\n",
                      "    obj['traceparent'] = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'\n")]),
        Wrong("text surgery: a comma after the new field, always", "which is not JSON any more",
              edits=[("    propagate.inject(obj)  # traceparent (tracestate, baggage) beside the app's own fields\n"
                      "    return json.dumps(obj).encode()",
                      "    carrier = {}\n    propagate.inject(carrier)\n"
                      "    fields = ','.join(f'{json.dumps(k)}: {json.dumps(v)}' for k, v in carrier.items())\n"
                      "    return b'{' + fields.encode() + b', ' + payload.strip()[1:]")]),
        Wrong("every field passed to the propagator: a number breaks it", "pass the propagator only text fields",
              edits=[("    return propagate.extract({k: v for k, v in obj.items() if isinstance(v, str)})",
                      "    return propagate.extract(obj)")]),
    ],
    "7.2": [
        Wrong("extracted, but the span not started in the context", "did not continue it",
              edits=[('start_as_current_span("process orders/new", context=ctx, kind=SpanKind.CONSUMER)',
                      'start_as_current_span("process orders/new", kind=SpanKind.CONSUMER)')]),
        Wrong("the v5 way on a 3.1.1 connection: user properties", "did not continue it",
              edits=[("ctx = extract_json_payload(msg.payload)",
                      "ctx = propagate.extract(msg.properties, getter=user_properties_getter)"),
                     ("def handle_order(", "from kit.propagation import user_properties_getter\n\n\ndef handle_order(")]),
        Wrong("the publisher's payload sent without the context", "arrived with no traceparent",
              edits=[("inject_json_payload(b'{\"id\": 7}')", "b'{\"id\": 7}'")]),
        Wrong("the raw payload bytes handed to propagate.extract", "Your on_message raised AttributeError",
              edits=[("ctx = extract_json_payload(msg.payload)", "ctx = propagate.extract(msg.payload)")]),
    ],
}
WRONG["7.2"].append(
    Wrong("the producer span shared through a global", "but not through the carrier or message",
          edits=[("ctx = extract_json_payload(msg.payload)", "ctx = trace.set_span_in_context(shared['span'])"),
                 ('with sensor.tracer.start_as_current_span("publish orders/new", kind=SpanKind.PRODUCER):\n',
                  'shared = {}\nwith sensor.tracer.start_as_current_span("publish orders/new", kind=SpanKind.PRODUCER) as pub:\n'
                  '    shared["span"] = pub\n'),
                 ("def handle_order(", "from opentelemetry import trace\n\n\ndef handle_order(")]))

# Written from issue 17's classes: bytes changed, contexts left attached, kinds.
WRONG["7.1"] += [
    Wrong("every JSON payload re-serialised, numbers too (21.50 -> 21.5)", "re-serializing it changed its bytes",
          edits=[("    if not isinstance(obj, dict):  # a number, a string, an array: nowhere to put fields\n"
                  "        return payload\n",
                  "    if not isinstance(obj, dict):  # a number, a string, an array: nowhere to put fields\n"
                  "        return json.dumps(obj).encode()\n")]),
    Wrong("extract attaches the context it read, and never detaches it", "After extract_json(...) returned",
          edits=[("    return propagate.extract({k: v for k, v in obj.items() if isinstance(v, str)})",
                  "    ctx = propagate.extract({k: v for k, v in obj.items() if isinstance(v, str)})\n"
                  "    context.attach(ctx)\n    return ctx")],
          before="from opentelemetry import context"),
    Wrong("a payload that is not an object sent as text, not bytes", "leave every other payload byte for byte",
          edits=[("    except ValueError:  # not UTF-8, not JSON\n        return payload\n",
                  "    except ValueError:  # not UTF-8, not JSON\n        return payload.decode('latin-1')\n")]),
    Wrong("extract gives None for a payload without context", "expected an empty Context",
          edits=[("    if not isinstance(obj, dict):\n        return propagate.extract({})",
                  "    if not isinstance(obj, dict):\n        return None")]),
]
WRONG["7.2"] += [
    Wrong("the extracted context attached in on_message and never detached", "Your on_message handler left a context "
          "extracted from a message attached",
          edits=[("    ctx = extract_json_payload(msg.payload)\n", "    ctx = extract_json_payload(msg.payload)\n"
                  "    context.attach(ctx)\n"),
                 ("context=ctx, kind=SpanKind.CONSUMER", "kind=SpanKind.CONSUMER")],
          before="from opentelemetry import context"),
    Wrong("the blog's SERVER kind on the consumer", "has kind SERVER, expected CONSUMER",
          edits=[("context=ctx, kind=SpanKind.CONSUMER", "context=ctx, kind=SpanKind.SERVER")]),
    Wrong("the consumer span made by the publisher's service", "comes from service 'sensor', not 'processor'",
          edits=[('processor.tracer.start_as_current_span("process orders/new"',
                  'sensor.tracer.start_as_current_span("process orders/new"')]),
]

# Written blind by an outside learner (rt2): the trace context propagator alone (no baggage), the current context
# for a payload without one, and JSON read or written as something else than UTF-8.
W3C = "from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator\n\n"
WRONG["7.1"] += [
    Wrong("inject with the trace context propagator alone: the baggage stays behind", "wrote no baggage",
          edits=[("    propagate.inject(obj)  # traceparent (tracestate, baggage) beside the app's own fields\n",
                  "    TraceContextTextMapPropagator().inject(obj)\n"),
                 ("import json\n", "import json\n" + W3C)]),
    Wrong("extract with the trace context propagator alone: the baggage is lost", "gave back the trace but not its baggage",
          edits=[("    return propagate.extract({k: v for k, v in obj.items() if isinstance(v, str)})",
                  "    return TraceContextTextMapPropagator().extract({k: v for k, v in obj.items() if isinstance(v, str)})"),
                 ("import json\n", "import json\n" + W3C)]),
    Wrong("extract gives the current context for a payload without one", "the span that was current",
          edits=[("    if not isinstance(obj, dict):\n        return propagate.extract({})",
                  "    if not isinstance(obj, dict):\n        return context.get_current()")],
          before="from opentelemetry import context"),
    Wrong("inject reads the payload as ASCII: a JSON object with a degree sign gets no context", "JSON is UTF-8",
          edits=[("    try:\n        obj = json.loads(payload)\n    except ValueError:  # not UTF-8, not JSON",
                  "    try:\n        obj = json.loads(payload.decode('ascii'))\n    except ValueError:  # not UTF-8, not JSON")]),
    Wrong("extract reads the payload as ASCII: a JSON object with a degree sign loses its context", "JSON is UTF-8",
          edits=[("    try:\n        obj = json.loads(payload)\n    except ValueError:\n        obj = None",
                  "    try:\n        obj = json.loads(payload.decode('ascii'))\n    except ValueError:\n        obj = None")]),
    Wrong("inject writes the JSON back as Latin-1, not UTF-8", "application's own fields changed",
          edits=[("    return json.dumps(obj).encode()", "    return json.dumps(obj, ensure_ascii=False).encode('latin-1')")]),
]
WRONG["7.2"] += [
    Wrong("json.loads and propagate.extract in on_message: a payload that is not JSON raises", "extract_json_payload(msg.payload)",
          edits=[("    ctx = extract_json_payload(msg.payload)\n", "    ctx = propagate.extract(json.loads(msg.payload))\n"),
                 ("def handle_order(", "import json\n\n\ndef handle_order(")]),
]

# Round 2 (rt4): the learner of the guide. Objects skipped by a test other than isinstance, and a field named by hand.
WRONG["7.1"] += [
    Wrong("an empty object {} left without context ('if not obj')", "it is a JSON object too",
          edits=[("    if not isinstance(obj, dict):  # a number, a string, an array: nowhere to put fields",
                  "    if not obj or not isinstance(obj, dict):")]),
    Wrong("only payloads starting with '{' parsed: a leading space skips one", "it is a JSON object too",
          edits=[("    try:\n        obj = json.loads(payload)\n    except ValueError:  # not UTF-8, not JSON",
                  "    if not payload.startswith(b'{'):\n        return payload\n"
                  "    try:\n        obj = json.loads(payload)\n    except ValueError:  # not UTF-8, not JSON")]),
    Wrong("the field named by hand, misspelt", "not 'traceparent'",
          edits=[("    propagate.inject(obj)  # traceparent (tracestate, baggage) beside the app's own fields\n",
                  "    carrier = {}\n    propagate.inject(carrier)\n    obj['tracepraent'] = carrier['traceparent']\n")]),
]
