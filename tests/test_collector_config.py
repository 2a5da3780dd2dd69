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
