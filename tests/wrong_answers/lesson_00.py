from wrong_answers import Wrong

WRONG = {
    "0.1": [
        Wrong("a typo in the span's name", "'say good-bye' is close: is it a typo?",
              edits=[('span("say goodbye")', 'span("say good-bye")')]),
        Wrong("the new span after the `with hello` block, not inside it", "has no parent: it started a trace",
              edits=[('    with tele.tracer.start_as_current_span("say goodbye"):\n        pass',
                      'with tele.tracer.start_as_current_span("say goodbye"):\n    pass')]),
        Wrong("nested one level too deep, inside 'say hello to MQTT'", "nested one level too deep",
              edits=[('        pass\n    with tele.tracer.start_as_current_span("say goodbye"):\n        pass',
                      '        with tele.tracer.start_as_current_span("say goodbye"):\n            pass')]),
        Wrong("start_span without ending it", "started in this cell but never ended",
              edits=[('    with tele.tracer.start_as_current_span("say goodbye"):\n        pass',
                      '    goodbye = tele.tracer.start_span("say goodbye")')]),
    ],
}

WRONG["0.2"] = [
    Wrong("the traffic jam beside the drive, not in it", "belongs inside 'drive'",
          edits=[('        with tele.tracer.start_as_current_span("traffic jam"):\n            time.sleep(0.01)',
                  '        pass\n    with tele.tracer.start_as_current_span("traffic jam"):\n        time.sleep(0.01)')]),
    Wrong("the drive inside the loading", "one level too deep",
          edits=[('        time.sleep(0.005)\n    with tele.tracer.start_as_current_span("drive"):\n'
                  '        with tele.tracer.start_as_current_span("traffic jam"):\n            time.sleep(0.01)',
                  '        time.sleep(0.005)\n        with tele.tracer.start_as_current_span("drive"):\n'
                  '            with tele.tracer.start_as_current_span("traffic jam"):\n                time.sleep(0.01)')]),
    Wrong("the van loaded outside the delivery: a trace of its own", "'load van' has no parent: it started a trace of "
          "its own. Start it inside the `with ... 'deliver parcel'` block",
          edits=[('with tele.tracer.start_as_current_span("deliver parcel"):\n'
                  '    with tele.tracer.start_as_current_span("load van"):\n        time.sleep(0.005)\n',
                  'with tele.tracer.start_as_current_span("load van"):\n    time.sleep(0.005)\n'
                  'with tele.tracer.start_as_current_span("deliver parcel"):\n')]),
    Wrong("a typo in a name", "'traffic-jam' is close",
          edits=[('start_as_current_span("traffic jam")', 'start_as_current_span("traffic-jam")')]),
    Wrong("an extra span the tree does not have", "also made 'honk' (INTERNAL, inside 'traffic jam'), which the trace "
          "to aim for does not have",
          edits=[('            time.sleep(0.01)', '            with tele.tracer.start_as_current_span("honk"):\n'
                                               '                time.sleep(0.01)')]),
]

WRONG["0.1"] += [
    Wrong("the new span before 'say hello to MQTT', not after it", "starts before 'say hello to MQTT' ends",
          edits=[('    with tele.tracer.start_as_current_span("say hello to MQTT"):\n        pass\n'
                  '    with tele.tracer.start_as_current_span("say goodbye"):\n        pass\n',
                  '    with tele.tracer.start_as_current_span("say goodbye"):\n        pass\n'
                  '    with tele.tracer.start_as_current_span("say hello to MQTT"):\n        pass\n')]),
    Wrong("a second 'hello' for the new span: two traces", "'hello' appears twice in this cell; the trace to aim for has it "
          "once, in 2 different traces",
          edits=[('        pass\n    with tele.tracer.start_as_current_span("say goodbye"):\n        pass\n',
                  '        pass\nwith tele.tracer.start_as_current_span("hello"):\n'
                  '    with tele.tracer.start_as_current_span("say goodbye"):\n        pass\n')]),
    Wrong("the existing span renamed instead of a third one added", "no span named 'say hello to MQTT' (an earlier "
          "cell made one, but the check judges only this cell): the trace to aim for has it inside 'hello'",
          base="blank", edits=[('span("say hello to MQTT")', 'span("say goodbye")')]),
]

# Written from issue 17's classes: the whole trace is judged, not "is there a span X under Y".
LEAK = "from opentelemetry import context, trace\n\ncontext.attach(trace.set_span_in_context(tele.tracer.start_span('setup')))\n"
WRONG["0.1"] += [
    Wrong("the new span twice, one inside the other", "'say goodbye' appears twice, one inside the other",
          edits=[('    with tele.tracer.start_as_current_span("say goodbye"):\n        pass',
                  '    with tele.tracer.start_as_current_span("say goodbye"):\n'
                  '        with tele.tracer.start_as_current_span("say goodbye"):\n            pass')]),
    Wrong("a span of one's own as well", "also made 'wave' (INTERNAL, inside 'hello')",
          edits=[('    with tele.tracer.start_as_current_span("say goodbye"):\n        pass',
                  '    with tele.tracer.start_as_current_span("say goodbye"):\n        pass\n'
                  '    with tele.tracer.start_as_current_span("wave"):\n        pass')]),
    Wrong("the new span marked as a PRODUCER", "has kind PRODUCER, expected INTERNAL. INTERNAL is the default",
          edits=[('span("say goodbye")', 'span("say goodbye", kind=trace.SpanKind.PRODUCER)')],
          before="from opentelemetry import trace"),
    Wrong("a context attached in the cell and never detached", "still the current context: a context.attach(...) "
          "without its context.detach(token)", edits=[("", LEAK)]),
    Wrong("an earlier cell left a context attached", "When this cell started, the span 'setup' was still the current "
          "context", base="solution", edits=[], before=LEAK),
    Wrong("status ERROR on a span where nothing failed", "has status ERROR, but nothing failed in it",
          edits=[('    with tele.tracer.start_as_current_span("say goodbye"):\n        pass',
                  '    with tele.tracer.start_as_current_span("say goodbye") as bye:\n'
                  '        bye.set_status(trace.StatusCode.ERROR)')],
          before="from opentelemetry import trace"),
]
WRONG["0.2"] += [
    Wrong("the traffic jam twice", "'traffic jam' appears twice in this cell; the trace to aim for has it once",
          edits=[('        with tele.tracer.start_as_current_span("traffic jam"):\n            time.sleep(0.01)',
                  '        with tele.tracer.start_as_current_span("traffic jam"):\n            time.sleep(0.01)\n'
                  '        with tele.tracer.start_as_current_span("traffic jam"):\n            time.sleep(0.01)')]),
    Wrong("the drive before the van is loaded", "'drive' starts before 'load van' ends",
          edits=[('    with tele.tracer.start_as_current_span("load van"):\n        time.sleep(0.005)\n', ''),
                 ('            time.sleep(0.01)\n', '            time.sleep(0.01)\n'
                  '    with tele.tracer.start_as_current_span("load van"):\n        time.sleep(0.005)\n')]),
    Wrong("the delivery twice: the cell's code and a copy of it", "'deliver parcel' appears twice in this cell",
          edits=[("            time.sleep(0.01)\n", "            time.sleep(0.01)\n"
                  "with tele.tracer.start_as_current_span('deliver parcel'):\n    pass\n")]),
    Wrong("a span started and never ended", "started in this cell but never ended",
          edits=[('        with tele.tracer.start_as_current_span("traffic jam"):\n            time.sleep(0.01)',
                  '        jam = tele.tracer.start_span("traffic jam")')]),
]

RIGHT = {
    "0.1": [Wrong("the span started and ended by hand, inside hello", "",
                  edits=[('    with tele.tracer.start_as_current_span("say goodbye"):\n        pass',
                          '    goodbye = tele.tracer.start_span("say goodbye")\n    goodbye.end()')])],
    "0.2": [Wrong("the two outer spans in one with statement", "",
                  edits=[('with tele.tracer.start_as_current_span("deliver parcel"):\n'
                          '    with tele.tracer.start_as_current_span("load van"):\n        time.sleep(0.005)\n',
                          'with tele.tracer.start_as_current_span("deliver parcel") as delivery:\n'
                          '    with tele.tracer.start_as_current_span("load van"):\n        time.sleep(0.005)\n')])],
}

# Found by trying answers blind (rt1).
WRONG["0.1"].append(
    Wrong("start_span inside 'hello', but end() called after hello's block has ended", "ends after 'hello', its parent",
          edits=[('    with tele.tracer.start_as_current_span("say goodbye"):\n        pass\n',
                  '    goodbye = tele.tracer.start_span("say goodbye")\ngoodbye.end()\n')]))
