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
    Wrong("the van loaded outside the delivery: a trace of its own", "is in a trace of its own",
          edits=[('with tele.tracer.start_as_current_span("deliver parcel"):\n'
                  '    with tele.tracer.start_as_current_span("load van"):\n        time.sleep(0.005)\n',
                  'with tele.tracer.start_as_current_span("load van"):\n    time.sleep(0.005)\n'
                  'with tele.tracer.start_as_current_span("deliver parcel"):\n')]),
    Wrong("a typo in a name", "'traffic-jam' is close",
          edits=[('start_as_current_span("traffic jam")', 'start_as_current_span("traffic-jam")')]),
    Wrong("an extra span the tree does not have", "which the tree does not",
          edits=[('            time.sleep(0.01)', '            with tele.tracer.start_as_current_span("honk"):\n'
                                               '                time.sleep(0.01)')]),
]

WRONG["0.1"] += [
    Wrong("the new span before 'say hello to MQTT', not after it", "starts before 'say hello to MQTT' ends",
          edits=[('    with tele.tracer.start_as_current_span("say hello to MQTT"):\n        pass\n'
                  '    with tele.tracer.start_as_current_span("say goodbye"):\n        pass\n',
                  '    with tele.tracer.start_as_current_span("say goodbye"):\n        pass\n'
                  '    with tele.tracer.start_as_current_span("say hello to MQTT"):\n        pass\n')]),
    Wrong("a second 'hello' for the new span: two traces", "is not in the same trace",
          edits=[('        pass\n    with tele.tracer.start_as_current_span("say goodbye"):\n        pass\n',
                  '        pass\nwith tele.tracer.start_as_current_span("hello"):\n'
                  '    with tele.tracer.start_as_current_span("say goodbye"):\n        pass\n')]),
    Wrong("the existing span renamed instead of a third one added", "keep it, and add 'say goodbye' as a third span",
          base="blank", edits=[('span("say hello to MQTT")', 'span("say goodbye")')]),
]
