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
