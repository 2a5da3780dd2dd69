"""kit.collector_config: what it finds in a collector config, and the pipeline diagram."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kit.collector_config import check_config, pipeline_diagram

ROOT = Path(__file__).parent.parent
KIT = (ROOT / "config/collector/otel-collector.yaml").read_text()
BLOG = (ROOT / "config/blog-2023/otel-collector-config.yaml").read_text()


@pytest.mark.parametrize("path", ["config/collector/otel-collector.yaml", "config/collector/otel-collector-azure.yaml"])
def test_the_kits_configs_are_clean(path):
    report = check_config((ROOT / path).read_text())
    assert report.ok and list(report) == [], repr(report)


def test_the_blogs_2023_config_and_what_changed_since():
    text = repr(check_config(BLOG))
    assert "✗ exporters.jaeger: the jaeger exporter was removed in v0.85" in text
    assert "✗ exporters.logging: the logging exporter was removed in v0.111: use debug" in text
    assert "! exporters.azuremonitor: instrumentation_key is deprecated: use connection_string" in text
    assert "✗ exporters.azuremonitor.instrumentation_key: a secret written inline" in text
    assert "! receivers.otlp.protocols.grpc: listens on localhost:4317 by default (since v0.104)" in text
    assert "! receivers.zipkin: listens on localhost:9411 by default" in text
    assert "! exporters.prometheus: resource_to_telemetry_conversion is deprecated" in text
    assert not check_config(BLOG).ok


@pytest.mark.parametrize("change, expected", [
    (("exporters: [otlp/jaeger, zipkin, debug]", "exporters: [otlp/jaeger, zipkin, debug, kafka]"),
     "✗ service.pipelines.traces: names exporter 'kafka', which exporters: does not define"),
    (("extensions: [health_check, pprof, zpages]", "extensions: [health_check, pprof]"),
     "! extensions.zpages: defined but used by no pipeline (list it in service.extensions)"),
    (("      exporters: [debug]\n", "      exporters: []\n"), "✗ service.pipelines.logs: has no exporters"),
    (("    logs:\n", "    lgos:\n"), "✗ service.pipelines.lgos: unknown signal 'lgos'"),
    (("extensions: [health_check, pprof, zpages]", "extensions: [health_check, pprof, zpages, oauth2]"),
     "✗ service.extensions: names 'oauth2', which extensions: does not define"),
    (("    endpoint: http://zipkin:9411/api/v2/spans", "    endpoint: http://zipkin:9411/api/v2/spans\n    headers:\n      api_key: abc123"),
     "✗ exporters.zipkin.headers.api_key: a secret written inline"),
    (("        endpoint: 0.0.0.0:4318", "        endpoint: 127.0.0.1:4318"),
     "! receivers.otlp.protocols.http: listens on 127.0.0.1:4318: other containers cannot reach it"),
    (("receivers:\n", "receivers: [\n"), "✗ yaml: does not parse"),
])
def test_each_problem_is_named_with_its_place(change, expected):
    old, new = change
    assert old in KIT
    assert expected in repr(check_config(KIT.replace(old, new)))


def test_secrets_from_the_environment_are_fine():
    text = KIT.replace("    endpoint: http://zipkin:9411/api/v2/spans",
                       "    endpoint: http://zipkin:9411/api/v2/spans\n    headers:\n      api_key: ${env:ZIPKIN_KEY}")
    assert check_config(text).ok


def test_diagram_text_and_svg():
    diagram = pipeline_diagram(KIT)
    assert repr(diagram).splitlines()[0] == "traces   otlp  →  memory_limiter, batch  →  otlp/jaeger, zipkin, debug"
    svg = ET.fromstring(diagram._repr_svg_())
    labels = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert {"receivers", "processors", "exporters", "traces", "otlp/jaeger"} <= set(labels)
    blog = repr(pipeline_diagram(BLOG))
    assert "jaeger ✗" in blog and "logging ✗" in blog and "zipkin ✗" not in blog  # removed ones are marked
    broken = pipeline_diagram(KIT.replace("[otlp/jaeger, zipkin, debug]", "[otlp/jaeger, kafka]"))
    assert "kafka ✗" in repr(broken) and "kafka ✗" in broken._repr_svg_()
    assert "✗" not in repr(pipeline_diagram(KIT))


# ---------------------------------------------------------------- the collector's own rules
# Each change below makes the kit's config one the collector refuses to start with (or that
# no app could send to); the fragment is the problem named, in the checker's words. The rules
# come from the collector's sources (kit/collector_components.py says which file each).

REFUSED = [
    # memory_limiter: internal/memorylimiter/config.go Validate()
    ("memory_limiter without check_interval", ("    check_interval: 1s\n", ""),
     "✗ processors.memory_limiter.check_interval: must be greater than zero"),
    ("check_interval 0s", ("check_interval: 1s", "check_interval: 0s"), "must be greater than zero"),
    ("no limit at all", ("    limit_percentage: 80\n    spike_limit_percentage: 25\n", ""),
     "memory_limiter needs a limit: limit_mib (MiB) or limit_percentage"),
    ("the spike above the limit", ("spike_limit_percentage: 25", "spike_limit_percentage: 90"),
     "must be smaller than limit_percentage"),
    ("a percentage over 100", ("limit_percentage: 80", "limit_percentage: 180"), "at most 100"),
    ("limit_mib under its spike", ("    limit_percentage: 80\n    spike_limit_percentage: 25\n",
                                   "    limit_mib: 400\n    spike_limit_mib: 512\n"), "must be smaller than limit_mib"),
    # batch: processor/batchprocessor/config.go Validate() with factory.go's defaults (send_batch_size 8192)
    ("send_batch_max_size under the default send_batch_size", ("  batch: {}", "  batch:\n    send_batch_max_size: 1000"),
     "✗ processors.batch.send_batch_max_size: must be at least send_batch_size (1000 < 8192, its default)"),
    # the loader (confmap): durations, strict types, unknown keys
    ("a duration with a space", ("check_interval: 1s", "check_interval: 1 s"), "is not a duration the collector reads"),
    ("a duration in days", ("check_interval: 1s", "check_interval: 1d"), "no d"),
    ("a percentage written with %", ("limit_percentage: 80", "limit_percentage: 80%"),
     "where the collector needs a whole number: write 80"),
    ("insecure: yes (YAML 1.1's bool)", ("      insecure: true", "      insecure: yes"),
     "✗ exporters.otlp/jaeger.tls.insecure: 'yes' is the text 'yes' to the collector, not a bool: its YAML is 1.2"),
    ("insecure: on", ("      insecure: true", "      insecure: on"), "Write true"),
    ("insecure: off", ("      insecure: true", "      insecure: off"), "Write false"),
    ("insecure: 'true', quoted", ("      insecure: true", "      insecure: 'true'"), "is quoted: the text 'true'"),
    ("insecure: 1", ("      insecure: true", "      insecure: 1"), "where the collector needs a bool"),
    ("a misspelt setting", ("    endpoint: jaeger:4317", "    endpont: jaeger:4317"),
     "✗ exporters.otlp/jaeger.endpont: the collector has no setting 'endpont' here, and refuses to start "
     "(\"has invalid keys: endpont\"). Did you mean 'endpoint'?"),
    ("insecure one level too high", ("    tls:\n      insecure: true\n", "    insecure: true\n"),
     "insecure goes under tls:"),
    ("tls: insecure on a receiver", ("        endpoint: 0.0.0.0:4318\n",
                                     "        endpoint: 0.0.0.0:4318\n        tls:\n          insecure: true\n"),
     "✗ receivers.otlp.protocols.http.tls.insecure: the collector has no setting 'insecure' here"),
    ("a number where text is needed", ("verbosity: basic", "verbosity: 2"), "is a number, where the collector needs text"),
    ("a misspelt section", ("\nexporters:\n", "\nexporter:\n"), "✗ exporter: the collector has no setting 'exporter'"),
    ("a misspelt pipeline key", ("      processors: [memory_limiter, batch]\n      exporters: [otlp/jaeger",
                                 "      processor: [memory_limiter, batch]\n      exporters: [otlp/jaeger"),
     "service.pipelines.traces.processor: the collector has no setting 'processor'"),
    ("a misspelt protocol", ("      grpc:\n", "      gprc:\n"), "Did you mean 'grpc'?"),
    ("an otlp receiver with no protocol", ("  otlp:\n    protocols:\n", "  otlp:\n    protocols: {}\n  otlp/unused:\n    protocols:\n"),
     "the otlp receiver needs at least one protocol"),
    # component ids and types: component/identifiable.go; signals: each factory's With<Signal>
    ("a processor defined among the exporters", ("    verbosity: basic\n", "    verbosity: basic\n  batch: {}\n"),
     "✗ exporters.batch: batch is one of the processors, not of the exporters"),
    ("a misspelt type", ("  otlp/jaeger:", "  otpl/jaeger:"), "has no exporter type 'otpl'"),
    ("a space in a name", ("  otlp/jaeger:", "  otlp/my jaeger:"), "the name after the / must not"),
    ("prometheus in the traces pipeline", ("exporters: [otlp/jaeger, zipkin, debug]",
                                           "exporters: [otlp/jaeger, zipkin, debug, prometheus]"),
     "the prometheus exporter takes metrics only, not traces"),
    ("zipkin in the logs pipeline", ("      exporters: [debug]\n", "      exporters: [debug, zipkin]\n"),
     "the zipkin exporter takes traces only, not logs"),
    ("a processor listed twice", ("      processors: [memory_limiter, batch]\n      exporters: [otlp/jaeger",
                                  "      processors: [memory_limiter, batch, batch]\n      exporters: [otlp/jaeger"),
     "lists processor 'batch' twice"),
    # servers: one port each, host:port, OTLP's ports by protocol
    ("two receivers on one port", ("        endpoint: 0.0.0.0:4318", "        endpoint: 0.0.0.0:4317"),
     "port 4317 is taken already, by receivers.otlp.protocols.grpc"),
    ("gRPC and HTTP swapped", ("endpoint: 0.0.0.0:4317   #", "endpoint: 0.0.0.0:4318   #"),
     "✗ receivers.otlp.protocols.grpc: OTLP over gRPC on 4318, which is OTLP over HTTP's port"),
    ("prometheus on the collector's own metrics port", ("    endpoint: 0.0.0.0:8889", "    endpoint: 0.0.0.0:8888"),
     "✗ exporters.prometheus: port 8888 is taken already, by service.telemetry.metrics.readers[0]"),
    ("two extensions on one port", ("    endpoint: 0.0.0.0:1777", "    endpoint: 0.0.0.0:13133"),
     "✗ extensions.pprof: port 13133 is taken already, by extensions.health_check"),
    ("an extension on OTLP's port", ("    endpoint: 0.0.0.0:55679", "    endpoint: 0.0.0.0:4318"),
     "✗ extensions.zpages: listens on 4318, OTLP over HTTP's port"),
    ("a receiver's endpoint with a scheme", ("        endpoint: 0.0.0.0:4318", "        endpoint: http://0.0.0.0:4318"),
     "has a scheme: a server listens on host:port"),
    ("the otlp exporter to OTLP/HTTP's port", ("endpoint: jaeger:4317", "endpoint: jaeger:4318"),
     "jaeger:4318: 4318 is OTLP over HTTP's port, and the otlp exporter speaks gRPC"),
    ("the otlp exporter without a port", ("endpoint: jaeger:4317", "endpoint: jaeger"), "'jaeger' has no port"),
    ("https:// with tls.insecure", ("endpoint: jaeger:4317", "endpoint: https://jaeger:4317"),
     "starts with https://, which makes the exporter use TLS whatever tls.insecure says"),
    ("a port with a slash", ("endpoint: jaeger:4317", "endpoint: jaeger:4317/"), "is not a port"),
    ("an exporter's queue of size 0", ("      insecure: true", "      insecure: true\n    sending_queue:\n"
                                                              "      queue_size: 0"),
     "✗ exporters.otlp/jaeger.sending_queue.queue_size: must be positive"),
    ("retry switched on with yes", ("      insecure: true", "      insecure: true\n    retry_on_failure:\n"
                                                           "      enabled: yes"), "'yes' is the text 'yes'"),
    ("the zipkin exporter without a URL", ("    endpoint: http://zipkin:9411/api/v2/spans",
                                           "    endpoint: zipkin:9411/api/v2/spans"), "is not a URL"),
    ("the zipkin exporter in thrift", ("    endpoint: http://zipkin:9411/api/v2/spans",
                                       "    endpoint: http://zipkin:9411/api/v2/spans\n    format: thrift"),
     "'thrift' is not one: json or proto"),
    ("the prometheus exporter with no endpoint", ("    endpoint: 0.0.0.0:8889\n", ""),
     "the prometheus exporter needs the address it serves its metrics on"),
    ("zpages without its endpoint", ("    endpoint: 0.0.0.0:55679", '    endpoint: ""'),
     "the zpages extension needs an endpoint"),
    ("a health check path without /", ("    endpoint: 0.0.0.0:13133", "    endpoint: 0.0.0.0:13133\n    path: health"),
     "'health' must start with /"),
]


@pytest.mark.parametrize("change, expected", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_what_the_collector_refuses_is_an_error(change, expected):
    old, new = change
    assert KIT.count(old) == 1, old
    report = check_config(KIT.replace(old, new))
    assert not report.ok and expected in repr(report), repr(report)


ACCEPTED = [
    ("the exporter by its name since v0.144", ("  otlp/jaeger:", "  otlp_grpc/jaeger:"),
     ("[otlp/jaeger,", "[otlp_grpc/jaeger,")),
    ("a gRPC endpoint written as a URL", ("endpoint: jaeger:4317", "endpoint: http://jaeger:4317"), None),
    ("a gRPC endpoint with dns:///", ("endpoint: jaeger:4317", "endpoint: dns:///jaeger:4317"), None),
    ("a value from the environment", ("    endpoint: 0.0.0.0:8889", "    endpoint: ${env:PROM_ENDPOINT}"), None),
    ("limits in MiB", ("    limit_percentage: 80\n    spike_limit_percentage: 25\n",
                       "    limit_mib: 512\n    spike_limit_mib: 128\n"), None),
    ("durations Go writes", ("check_interval: 1s", "check_interval: 1m30s"), None),
    ("batch with both sizes", ("  batch: {}", "  batch:\n    send_batch_size: 512\n    send_batch_max_size: 1000\n"
                                              "    timeout: 500ms"), None),
    ("batch with nothing set", ("  batch: {}", "  batch:"), None),
    ("verbosity in capitals", ("verbosity: basic", "verbosity: Detailed"), None),
    ("a listen address of :port", ("        endpoint: 0.0.0.0:4318", '        endpoint: ":4318"'), None),
    ("the collector's own metrics elsewhere", ("                port: 8888", "                port: 9888"), None),
    ("tls with a CA on the exporter", ("      insecure: true", "      ca_file: /certs/ca.pem"), None),
]


@pytest.mark.parametrize("change, also", [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_what_the_collector_takes_is_no_error(change, also):
    text = KIT
    for old, new in [change] + ([also] if also else []):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    report = check_config(text)
    assert report.ok, repr(report)


def test_the_yaml_is_read_as_the_collector_reads_it():
    """YAML 1.2 (go-yaml v3, untyped): yes/no/on/off, dates and 1:20 stay text; true is a bool."""
    from kit.collector_config import load

    assert load("a: yes\nb: on\nc: off\nd: No\ne: true\nf: FALSE\ng: 2024-01-01\nh: 1:20\ni: 0o17\nj: ~\nk: 1e3") == {
        "a": "yes", "b": "on", "c": "off", "d": "No", "e": True, "f": False, "g": "2024-01-01", "h": "1:20",
        "i": 15, "j": None, "k": 1000.0}


def test_a_bare_number_for_a_duration_is_named():
    """The collector takes it, as nanoseconds: check memory every nanosecond, time every export out at once."""
    report = check_config(KIT.replace("check_interval: 1s", "check_interval: 1"))
    assert "✗ processors.memory_limiter.check_interval: 1 is a bare number, which the collector reads as 1 " \
           "nanoseconds" in repr(report)
    assert check_config(KIT.replace("  batch: {}", "  batch:\n    timeout: 0")).ok   # 0 is 0 in any unit


def test_a_server_on_another_address_may_share_the_port():
    text = KIT.replace("receivers:\n", "receivers:\n  zipkin:\n    endpoint: 127.0.0.1:9411\n"
                                       "  zipkin/other:\n    endpoint: 10.0.0.5:9411\n")
    text = text.replace("      receivers: [otlp]\n", "      receivers: [otlp, zipkin, zipkin/other]\n", 1)
    report = check_config(text)
    assert report.ok and "taken" not in repr(report), repr(report)
    clash = check_config(text.replace("10.0.0.5:9411", "0.0.0.0:9411"))
    assert "port 9411 is taken already, by receivers.zipkin" in repr(clash)


def test_exercise_10_2_takes_right_answers_written_another_way():
    """The exercise's check judges by the collector's rules, not by the solution's spelling: the
    exporter under its v0.144 name, and a scrape endpoint on every interface written as :8889."""
    from kit.checks import check_collector_config

    solution = (ROOT / "notebooks/solutions/ex_10.2.py").read_text().split('"""')[1]
    task = dict(otlp_to="jaeger:4317", debug=True, prometheus="0.0.0.0:8889", processors=True, reachable=True)
    assert check_collector_config(solution, **task).passed
    renamed = solution.replace("  otlp/jaeger:", "  otlp_grpc/jaeger:").replace("[otlp/jaeger,", "[otlp_grpc/jaeger,")
    assert check_collector_config(renamed, **task).passed, check_collector_config(renamed, **task)
    every_interface = solution.replace("endpoint: 0.0.0.0:8889", 'endpoint: ":8889"')
    assert check_collector_config(every_interface, **task).passed, check_collector_config(every_interface, **task)


def test_no_config_makes_the_checker_raise():
    """Values of any shape, anywhere a learner can type them: a Report (and a ✓/✗), never an exception."""
    import yaml
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from kit.checks import check_collector_config

    scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 6, 10 ** 6), st.floats(allow_nan=False),
                        st.sampled_from(["yes", "off", "1s", "-5m", "${env:X}", "0.0.0.0:4317", "http://x:4318",
                                         "jaeger", ":", "", "otlp/", "/x", "a b"]))
    values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                           st.dictionaries(st.sampled_from(
                                                               ["endpoint", "tls", "insecure", "protocols", "grpc",
                                                                "http", "check_interval", "limit_mib", "x"]), inner,
                                                               max_size=3)), max_leaves=8)
    base = yaml.safe_load(KIT)
    places = [("receivers", "otlp"), ("processors", "memory_limiter"), ("processors", "batch"),
              ("exporters", "otlp/jaeger"), ("exporters", "prometheus"), ("extensions", "zpages"),
              ("service", "pipelines"), ("service", "telemetry"), ("service", "extensions")]

    @settings(max_examples=150, deadline=None)
    @given(st.sampled_from(places), values)
    def judged(place, value):
        config = yaml.safe_load(KIT)
        config[place[0]][place[1]] = value
        text = yaml.safe_dump(config)
        assert isinstance(repr(check_config(text)), str)
        assert repr(check_collector_config(text, otlp_to="jaeger:4317", debug=True, prometheus="0.0.0.0:8889",
                                           processors=True, reachable=True))[0] in "✓✗"

    assert base
    judged()
