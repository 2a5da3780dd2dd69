"""kit.otlp: settings read from arguments and OTEL_* variables, and the endpoint check."""

import time

import pytest

from kit.otlp import SettingError, check_endpoint, exporter_names, otlp_target
from kit.ports import free_port


def test_exporters_default_to_none_extra(otel_env):
    assert exporter_names("traces") == []


def test_exporters_from_environment(otel_env):
    otel_env.setenv("OTEL_TRACES_EXPORTER", "otlp,console")
    otel_env.setenv("OTEL_LOGS_EXPORTER", "none")
    assert exporter_names("traces") == ["otlp", "console"]
    assert exporter_names("logs") == []


def test_argument_beats_environment(otel_env):
    otel_env.setenv("OTEL_TRACES_EXPORTER", "otlp")
    assert exporter_names("traces", "console") == ["console"]


def test_unknown_exporter_names_the_setting(otel_env):
    otel_env.setenv("OTEL_METRICS_EXPORTER", "prometheus")
    with pytest.raises(SettingError, match="OTEL_METRICS_EXPORTER='prometheus'.*unknown exporter 'prometheus'"):
        exporter_names("metrics")


def test_default_target_is_grpc_4317(otel_env):
    target = otlp_target("traces")
    assert (target.protocol, target.endpoint) == ("grpc", "http://localhost:4317")


def test_http_protocol_defaults_to_4318_and_appends_signal_path(otel_env):
    otel_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    assert otlp_target("metrics").endpoint == "http://localhost:4318/v1/metrics"


def test_generic_endpoint_gets_path_but_signal_endpoint_is_used_as_is(otel_env):
    otel_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    otel_env.setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs-here:9999/custom")
    assert otlp_target("traces").endpoint == "http://collector:4318/v1/traces"
    assert otlp_target("logs").endpoint == "http://logs-here:9999/custom"


def test_signal_protocol_beats_generic(otel_env):
    otel_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    otel_env.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
    assert otlp_target("traces").protocol == "grpc"
    assert otlp_target("logs").protocol == "http/protobuf"


@pytest.mark.parametrize("value, message", [
    ("localhost:4317", "OTEL_EXPORTER_OTLP_ENDPOINT='localhost:4317' is not an OTLP endpoint URL"),
    ("http://", "is not an OTLP endpoint URL"),
    ("http://localhost:99999", "the port is not a number"),
    ("ftp://localhost:4317", "is not an OTLP endpoint URL"),
])
def test_malformed_endpoint_names_the_setting(otel_env, value, message):
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", value)
    with pytest.raises(SettingError, match=message.replace("(", r"\(")):
        otlp_target("traces")


def test_unknown_protocol_names_the_setting(otel_env):
    otel_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(SettingError, match="OTEL_EXPORTER_OTLP_PROTOCOL='http/json'.*no http/json exporter.*cannot be installed"):
        otlp_target("traces")


def test_nothing_listening_is_reported_fast():
    url = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    result = check_endpoint(url, "grpc")
    assert not result.ok
    assert "nothing is listening" in result.message
    assert time.monotonic() - start < 2


def test_grpc_endpoint_answers_grpc(grpc_endpoint):
    url, _ = grpc_endpoint
    assert check_endpoint(url, "grpc").ok


def test_http_endpoint_answers_http(http_endpoint):
    url, _ = http_endpoint
    assert check_endpoint(url, "http/protobuf").ok


def test_grpc_sent_to_http_port_is_named(http_endpoint):
    url, _ = http_endpoint
    result = check_endpoint(url, "grpc")
    assert not result.ok
    assert "speaks HTTP/1.1, not gRPC" in result.message and "4318" in result.message


def test_http_sent_to_grpc_port_is_named(grpc_endpoint):
    url, _ = grpc_endpoint
    result = check_endpoint(url, "http/protobuf")
    assert not result.ok
    assert "speaks gRPC (HTTP/2), not OTLP/HTTP" in result.message and "4317" in result.message


def test_silent_server_does_not_hang():
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        start = time.monotonic()
        result = check_endpoint(f"http://127.0.0.1:{listener.getsockname()[1]}", "grpc", timeout_s=0.5)
        assert not result.ok and "did not answer" in result.message
        assert time.monotonic() - start < 2
    finally:
        listener.close()
