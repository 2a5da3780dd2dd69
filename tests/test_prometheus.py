"""kit.prometheus: the pull model. The SDK's metrics on a scrape endpoint, read by a scrape and by a real Prometheus."""

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource

from kit.ports import free_port
from kit.prometheus import scrape, start_scrape_endpoint

PROMETHEUS, PROMTOOL = shutil.which("prometheus"), shutil.which("promtool")


@pytest.fixture
def endpoint():
    e = start_scrape_endpoint()
    yield e
    e.stop()


def count_messages(reader, **resource):
    """The blog's message_count counter: 3 messages on one topic, 1 on another."""
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "sensor", **resource}))
    counter = provider.get_meter("lesson10").create_counter("message_count", description="MQTT messages published")
    for topic in ["sensors/temp", "sensors/temp", "sensors/temp", "sensors/hum"]:
        counter.add(1, {"messaging.destination.name": topic, "messaging.system": "mqtt"})
    return provider


def test_a_scrape_shows_the_counter_with_attributes_as_labels_and_the_resource_as_target_info(endpoint):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/metrics", endpoint.url)
    provider = count_messages(endpoint.reader)
    text = scrape(endpoint.url)
    assert "# HELP message_count_total MQTT messages published\n# TYPE message_count_total counter\n" in text
    assert ('message_count_total{messaging_destination_name="sensors/temp",messaging_system="mqtt",'
            'otel_scope_name="lesson10",otel_scope_schema_url="",otel_scope_version=""} 3.0\n') in text
    assert re.search(r'^target_info\{.*service_name="sensor",telemetry_sdk_language="python".*\} 1\.0$', text, re.M)
    assert "python_gc" not in text and "process_" not in text  # its own registry: only the SDK's metrics
    provider.shutdown()


def test_the_reader_names_units_and_prefixes_as_the_manual_says():
    e = start_scrape_endpoint(prefix="mqtt", disable_target_info=True, scope_info_enabled=False)
    try:
        provider = MeterProvider(metric_readers=[e.reader])
        meter = provider.get_meter("lesson10")
        meter.create_histogram("publish.duration", unit="ms").record(3.2, {"qos": 1})
        meter.create_counter("payload.size", unit="By").add(10)
        meter.create_up_down_counter("inflight", unit="{message}").add(2)
        meter.create_counter("requests_total", unit="1").add(1, {"retained": True})
        text = scrape(e.url)
        assert 'mqtt_publish_duration_milliseconds_bucket{le="+Inf",qos="1"} 1.0' in text
        assert "mqtt_publish_duration_milliseconds_sum{qos=\"1\"} 3.2" in text
        assert "mqtt_payload_size_bytes_total 10.0" in text
        assert "# TYPE mqtt_inflight gauge\nmqtt_inflight 2.0" in text
        assert 'mqtt_requests_total{retained="true"} 1.0' in text
        assert "target_info" not in text and "otel_scope" not in text
        provider.shutdown()
    finally:
        e.stop()


def test_each_endpoint_shows_only_its_own_readers_series(endpoint):
    again = start_scrape_endpoint()  # a cell run twice: a second reader, a second endpoint
    try:
        first, second = count_messages(endpoint.reader), count_messages(again.reader)
        for e in (endpoint, again):
            assert scrape(e.url).count('message_count_total{messaging_destination_name="sensors/temp"') == 1
        first.shutdown(), second.shutdown()
    finally:
        again.stop()


SCRAPE_CONFIG = """\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mqtt-app
    static_configs:
      - targets: ["{target}"]
        labels:
          label1: value1   # what the blog's const_labels added, here set where Prometheus scrapes
"""


def query(port, promql):
    """Prometheus's HTTP query API: the result vector, or None while Prometheus is not up."""
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return json.load(reply)["data"]["result"]
    except OSError:
        return None


@pytest.mark.skipif(not (PROMETHEUS and PROMTOOL),
                    reason="prometheus is not installed (Debian: apt-get install prometheus); CI installs it")
def test_a_real_prometheus_scrapes_the_endpoint_and_its_query_api_returns_the_counter(endpoint, tmp_path):
    provider = count_messages(endpoint.reader)
    config = tmp_path / "prometheus.yml"
    config.write_text(SCRAPE_CONFIG.replace("{target}", endpoint.target))
    check = subprocess.run([PROMTOOL, "check", "config", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0 and "SUCCESS" in check.stdout + check.stderr, check.stdout + check.stderr
    port, log = free_port(), tmp_path / "prometheus.log"
    with open(log, "w") as log_file:
        prometheus = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
                                       f"--storage.tsdb.path={tmp_path / 'data'}", "--log.level=warn"],
                                      stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline, result = time.monotonic() + 12, None
        while not result and time.monotonic() < deadline and prometheus.poll() is None:
            time.sleep(0.1)
            result = query(port, "message_count_total")
        assert result, f"no message_count_total in Prometheus within 12 s: {log.read_text()[-2000:]}"
        by_topic = {r["metric"]["messaging_destination_name"]: r for r in result}
        temp = by_topic["sensors/temp"]
        assert temp["value"][1] == "3" and by_topic["sensors/hum"]["value"][1] == "1"
        assert {k: temp["metric"][k] for k in ("__name__", "job", "instance", "messaging_system", "label1")} == {
            "__name__": "message_count_total", "job": "mqtt-app", "instance": endpoint.target,
            "messaging_system": "mqtt", "label1": "value1"}
        [info] = query(port, "target_info")
        assert info["metric"]["service_name"] == "sensor" and info["value"][1] == "1"
    finally:
        prometheus.terminate()
        try:
            code = prometheus.wait(timeout=10)
        except subprocess.TimeoutExpired:
            prometheus.kill()
            code = prometheus.wait()
        provider.shutdown()
    assert code == 0, log.read_text()[-2000:]  # stopped cleanly on SIGTERM
