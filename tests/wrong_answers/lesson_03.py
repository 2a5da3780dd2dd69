from wrong_answers import Wrong

WRONG = {
    "3.1": [
        Wrong("logged at INFO", "has severity INFO, expected WARN",
              edits=[('        alerts.warning("temperature too high")', '        alerts.info("temperature too high")')]),
        Wrong("printed instead of logged", "print() is not a log record",
              edits=[('        alerts.warning("temperature too high")', '        print("temperature too high")')]),
        Wrong("logged inside a new span of its own", "was written inside 'alert', not inside 'check temperature'",
              edits=[('        alerts.warning("temperature too high")',
                      '        with tele.tracer.start_as_current_span("alert"):\n            pass\n'
                      '    with tele.tracer.start_as_current_span("alert"):\n        alerts.warning("temperature too high")')]),
        Wrong("the check before the log: the log in the next line, after the span", "written outside any span",
              edits=[('    if reading > 30:\n        alerts.warning("temperature too high")',
                      '    pass\nalerts.warning("temperature too high")')]),
    ],
    "3.2": [
        Wrong("no force_flush: the record waits in the batch queue", "still waiting in the BatchLogRecordProcessor",
              edits=[("disk_provider.force_flush()\n", "")]),
        Wrong("the handler without logger_provider=", "was made without logger_provider=",
              edits=[("LoggingHandler(logger_provider=disk_provider)", "LoggingHandler()")]),
        Wrong("no service.name in the resource", "not 'disk-monitor'",
              edits=[('LoggerProvider(resource=Resource.create({"service.name": "disk-monitor"}))', "LoggerProvider()")]),
        Wrong("logged at INFO", "has severity INFO, expected WARN",
              edits=[('disk.warning("disk almost full")', 'disk.info("disk almost full")')]),
    ],
}
