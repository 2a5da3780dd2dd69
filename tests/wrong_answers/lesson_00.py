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
