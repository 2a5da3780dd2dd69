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

WRONG["3.1"].append(
    Wrong("logged after the span ended, with the span made current again", "was written after it ended",
          edits=[('with tele.tracer.start_as_current_span("check temperature"):\n    reading = 31.5\n'
                  '    if reading > 30:\n        alerts.warning("temperature too high")',
                  'with tele.tracer.start_as_current_span("check temperature") as span:\n    reading = 31.5\n'
                  'if reading > 30:\n    with trace.use_span(span):\n        alerts.warning("temperature too high")'),
                 ('alerts = logging.getLogger("myapp.alerts")', 'from opentelemetry import trace\n\nalerts = logging.getLogger("myapp.alerts")')]))
WRONG["3.2"] += [
    Wrong("a SimpleLogRecordProcessor", "The task (and production) uses a BatchLogRecordProcessor",
          edits=[("    BatchLogRecordProcessor(OTLPLogExporter(", "    SimpleLogRecordProcessor(OTLPLogExporter(")]),
    Wrong("the HTTP exporter instead of gRPC", "not grpc: the task asks for the gRPC OTLPLogExporter",
          edits=[("BatchLogRecordProcessor(OTLPLogExporter(endpoint=receiver.grpc_endpoint, insecure=True))",
                  "BatchLogRecordProcessor(HttpLogExporter(endpoint=receiver.http_endpoint + '/v1/logs'))"),
                 ("from opentelemetry.sdk._logs.export import BatchLogRecordProcessor\n",
                  "from opentelemetry.sdk._logs.export import BatchLogRecordProcessor\n"
                  "from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter\n")]),
]

# Written from issue 17's classes.
WRONG["3.1"] += [
    Wrong("the span's block written twice: once to read, once to warn", "'check temperature' appears twice",
          edits=[('    reading = 31.5\n    if reading > 30:\n        alerts.warning("temperature too high")',
                  '    reading = 31.5\nwith tele.tracer.start_as_current_span("check temperature"):\n'
                  '    if reading > 30:\n        alerts.warning("temperature too high")')]),
    Wrong("the span attached by hand and never detached", "still the current context",
          edits=[('with tele.tracer.start_as_current_span("check temperature"):\n    reading = 31.5\n'
                  '    if reading > 30:\n        alerts.warning("temperature too high")',
                  'from opentelemetry import context, trace\n\nspan = tele.tracer.start_span("check temperature")\n'
                  'context.attach(trace.set_span_in_context(span))\nreading = 31.5\nif reading > 30:\n'
                  '    alerts.warning("temperature too high")\nspan.end()')]),
]
WRONG["3.2"] += [
    Wrong("the handler on the root logger, as the blog does", "The LoggingHandler for your provider is on the root "
          "logger, not on 'myapp.disk'",
          edits=[("disk.handlers[:] = [LoggingHandler(logger_provider=disk_provider)]",
                  "logging.getLogger().addHandler(LoggingHandler(logger_provider=disk_provider))")]),
    Wrong("addHandler, in a cell run a second time", "now has 2 LoggingHandlers",
          edits=[("disk.handlers[:] = [LoggingHandler(logger_provider=disk_provider)]",
                  "disk.addHandler(LoggingHandler(logger_provider=disk_provider))")]),
    Wrong("force_flush before the warning is logged", "call it after logging",
          edits=[('disk.warning("disk almost full")\ndisk_provider.force_flush()\n',
                  'disk_provider.force_flush()\ndisk.warning("disk almost full")\n')]),
]

WRONG["3.2"].append(
    Wrong("the handler on the parent logger myapp", "is on the logger 'myapp', not on 'myapp.disk'",
          edits=[("disk.handlers[:] = [LoggingHandler(logger_provider=disk_provider)]",
                  "logging.getLogger('myapp').handlers[:] = [LoggingHandler(logger_provider=disk_provider)]\n"
                  "disk.handlers[:] = []")]))
RIGHT = {
    "3.1": [Wrong("the warning logged on the root logger", "",
                  edits=[('        alerts.warning("temperature too high")', '        logging.warning("temperature too high")')])],
}

# Found by trying answers blind (rt1).
WRONG["3.1"] += [
    Wrong("the warning logged twice in the span", "logged 'temperature too high' 2 times in 'check temperature'",
          edits=[('        alerts.warning("temperature too high")\n',
                  '        alerts.warning("temperature too high")\n        alerts.warning("temperature too high")\n')]),
]
WRONG["3.2"] += [
    # (the logger's own level raised to ERROR is told the same way, "lets only ERROR and above through"; not run
    # here, as it would outlive the cell and fail every later attempt in the sweep's kernel)
    Wrong("the handler given level=ERROR: it drops the warning", "has level ERROR, so it drops a .warning(...)",
          edits=[('LoggingHandler(logger_provider=disk_provider)', 'LoggingHandler(level=logging.ERROR, '
                                                               'logger_provider=disk_provider)')]),
]

# Found by trying answers blind, as the learner of the guide (rt3).
WRONG["3.1"] += [
    Wrong("a LoggingHandler of the blog's added to the logger, besides the kit's", "has a LoggingHandler of its own "
          "that sends to the same LoggerProvider as the one on the root logger",
          edits=[('alerts = logging.getLogger("myapp.alerts")\n',
                  'alerts = logging.getLogger("myapp.alerts")\nalerts.addHandler(LoggingHandler())\n')]),
    Wrong("the solution, after an earlier cell added a LoggingHandler to the logger", "The check took it off for you",
          before='logging.getLogger("myapp.alerts").addHandler(LoggingHandler())'),
]
WRONG["3.2"] += [
    Wrong("the warning logged twice, through one handler", "the cell logged 'disk almost full' 2 times",
          edits=[('disk.warning("disk almost full")\n', 'disk.warning("disk almost full")\ndisk.warning("disk almost full")\n')]),
    Wrong("two processors on the provider", "has 2 log record processors",
          edits=[("set_logger_provider(disk_provider)",
                  "disk_provider.add_log_record_processor(\n"
                  "    BatchLogRecordProcessor(OTLPLogExporter(endpoint=receiver.grpc_endpoint, insecure=True))\n)\n"
                  "set_logger_provider(disk_provider)")]),
    Wrong("a typo in the logger's name", "is on the logger 'myapp.disks', not on 'myapp.disk'",
          edits=[('logging.getLogger("myapp.disk")', 'logging.getLogger("myapp.disks")')]),
]
WRONG["3.1"].append(
    Wrong("the blog's LoggingHandler() added to the root logger, which has the kit's already",
          "the root logger has a LoggingHandler of its own that sends to the same LoggerProvider as another one on it",
          edits=[('alerts = logging.getLogger("myapp.alerts")\n',
                  'alerts = logging.getLogger("myapp.alerts")\nlogging.getLogger().addHandler(LoggingHandler())\n')]))
