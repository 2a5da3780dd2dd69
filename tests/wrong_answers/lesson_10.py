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
    Wrong("insecure as the text 'false'", "'false' is quoted: the text 'false', not a bool",
          edits=[("      insecure: true", '      insecure: "false"')]),
]

# What the collector itself refuses (issue 17): judged by its own rules, not by this list.
WRONG["10.1"] += [
    Wrong("insecure: yes, YAML 1.1's bool: the collector's YAML 1.2 reads the text 'yes'", "its YAML is 1.2",
          edits=[("      insecure: true", "      insecure: yes")]),
    Wrong("insecure one level too high, beside the endpoint", "insecure goes under tls:",
          edits=[("    tls:\n      insecure: true\n", "    insecure: true\n")]),
    Wrong("the verbosity key misspelt", "Did you mean 'verbosity'?",
          edits=[("    verbosity: detailed", "    verbocity: detailed")]),
    Wrong("the Jaeger host with no port", "'jaeger' has no port", edits=[("endpoint: jaeger:4317", "endpoint: jaeger")]),
    Wrong("an otlphttp exporter pointed at gRPC's 4317", "4317 is OTLP over gRPC's port, and the otlphttp exporter speaks HTTP",
          edits=[("  otlp/jaeger:", "  otlphttp/jaeger:"), ("[otlp/jaeger,", "[otlphttp/jaeger,"),
                 ("endpoint: jaeger:4317", "endpoint: http://jaeger:4317")]),
]

WRONG["10.2"] += [
    Wrong("memory_limiter without check_interval", "check_interval: must be greater than zero",
          edits=[("    check_interval: 1s\n", "")]),
    Wrong("memory_limiter with no limit", "memory_limiter needs a limit",
          edits=[("    limit_percentage: 80\n    spike_limit_percentage: 25\n", "")]),
    Wrong("the limit written as 80%", "write 80, without the unit", edits=[("limit_percentage: 80", "limit_percentage: 80%")]),
    Wrong("both receivers on 4317", "OTLP over HTTP on 4317",
          edits=[("        endpoint: 0.0.0.0:4318", "        endpoint: 0.0.0.0:4317")]),
    Wrong("gRPC and HTTP ports swapped", "OTLP over gRPC on 4318",
          edits=[("        endpoint: 0.0.0.0:4317", "        endpoint: 0.0.0.0:4319"),
                 ("        endpoint: 0.0.0.0:4318", "        endpoint: 0.0.0.0:4317"),
                 ("        endpoint: 0.0.0.0:4319", "        endpoint: 0.0.0.0:4318")]),
    Wrong("Prometheus's scrape endpoint on 8888, the collector's own metrics port", "port 8888 is taken already, by the collector's own metrics",
          edits=[("    endpoint: 0.0.0.0:8889", "    endpoint: 0.0.0.0:8888")], ),
    Wrong("a maximum batch size below the default batch size", "must be at least send_batch_size",
          edits=[("  batch: {}", "  batch:\n    send_batch_max_size: 1000")]),
    Wrong("the batch timeout in words", "is not a duration the collector reads",
          edits=[("  batch: {}", "  batch:\n    timeout: 5 seconds")]),
]

# Written blind by an outside learner (rt2): the metrics sent to Jaeger too, which takes traces only.
WRONG["10.2"] += [
    Wrong("the metrics pipeline exports to Jaeger as well", "Jaeger stores traces only",
          edits=[("      exporters: [prometheus]", "      exporters: [prometheus, otlp/jaeger]")]),
]

# Round 2 (rt4): a scheme of its own on the gRPC exporter's endpoint passed for jaeger:4317.
WRONG["10.1"] += [
    Wrong("grpc:// written before the endpoint, as if it were a URL", "gRPC has no grpc:// scheme",
          edits=[("endpoint: jaeger:4317", "endpoint: grpc://jaeger:4317")]),
]
