from wrong_answers import Wrong

WRONG = {
    "10.1": [
        Wrong("renamed to otlp/jaeger, the old Jaeger v1 port kept", "Jaeger v1's own gRPC port",
              edits=[("endpoint: jaeger:4317", "endpoint: jaeger:14250")]),
        Wrong("the Jaeger exporter deleted: only the console left", "No exporter sends to jaeger any more",
              edits=[("  otlp/jaeger:\n    endpoint: jaeger:4317\n    tls:\n      insecure: true\n", ""),
                     ("exporters: [otlp/jaeger, debug]", "exporters: [debug]")]),
        Wrong("the OTLP/HTTP port with the gRPC exporter", "4318 is OTLP over HTTP",
              edits=[("endpoint: jaeger:4317", "endpoint: jaeger:4318")]),
        Wrong("the exporter defined but left out of the pipeline", "is defined but not in service.pipelines.traces.exporters",
              edits=[("exporters: [otlp/jaeger, debug]", "exporters: [debug]")]),
        Wrong("tls: insecure dropped", "has no `tls: insecure: true`",
              edits=[("    tls:\n      insecure: true\n", "")]),
        Wrong("the console destination dropped", "no console destination",
              edits=[("  debug:\n    verbosity: detailed\n", ""), ("exporters: [otlp/jaeger, debug]", "exporters: [otlp/jaeger]")]),
    ],
}

WRONG["10.2"] = [
    Wrong("batch before memory_limiter", "memory_limiter must come first",
          edits=[("      processors: [memory_limiter, batch]\n      exporters: [otlp/jaeger, debug]",
                  "      processors: [batch, memory_limiter]\n      exporters: [otlp/jaeger, debug]")]),
    Wrong("prometheus in the traces pipeline", "takes metrics only",
          edits=[("exporters: [otlp/jaeger, debug]", "exporters: [otlp/jaeger, debug, prometheus]")]),
    Wrong("the HTTP receiver with no endpoint: localhost", "listens on localhost:4318 by default",
          edits=[("      http:\n        endpoint: 0.0.0.0:4318\n", "      http:\n")]),
    Wrong("the scrape endpoint on localhost", "expected endpoint: 0.0.0.0:8889",
          edits=[("    endpoint: 0.0.0.0:8889", "    endpoint: localhost:8889")]),
    Wrong("only gRPC", "has no http",
          edits=[("      http:\n        endpoint: 0.0.0.0:4318\n", "")]),
    Wrong("the metrics pipeline without processors", "has no memory_limiter processor",
          edits=[("      processors: [memory_limiter, batch]\n      exporters: [prometheus]", "      exporters: [prometheus]")]),
]

WRONG["10.1"] += [
    Wrong("verbosity: debug, as 'use verbosity' read literally", "is not one: use basic, normal or detailed",
          edits=[("    verbosity: detailed", "    verbosity: debug")]),
    Wrong("the mended sections written below the old ones: keys twice", "is written twice",
          code='from kit.checks import check_collector_config\n\nconfig = """\nreceivers:\n  otlp:\n    protocols:\n'
               '      grpc:\n        endpoint: 0.0.0.0:4317\nexporters:\n  jaeger:\n    endpoint: jaeger:14250\n'
               'service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [jaeger]\n'
               'exporters:\n  otlp/jaeger:\n    endpoint: jaeger:4317\n    tls:\n      insecure: true\n'
               '  debug:\n    verbosity: detailed\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n'
               '      exporters: [otlp/jaeger, debug]\n"""\n\n'
               'check_collector_config(config, otlp_to="jaeger:4317", debug=True)\n'),
    Wrong("another host whose name ends in jaeger", "No exporter sends to jaeger any more",
          edits=[("endpoint: jaeger:4317", "endpoint: old-jaeger:4317")]),
    Wrong("insecure as the text 'false'", "has no `tls: insecure: true` (the boolean true)",
          edits=[("      insecure: true", '      insecure: "false"')]),
]
