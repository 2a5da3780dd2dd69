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
