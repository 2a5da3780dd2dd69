"""kit.doctor: the workshop pre-flight, and what it says when something is wrong."""

import os
import socket
import subprocess
import sys

import pytest

from kit import doctor


def test_a_ready_machine_exits_zero():
    out = subprocess.run([sys.executable, "-m", "kit", "doctor"], capture_output=True, text=True, timeout=120,
                         env={k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MQTT_"))})
    failed = [line for line in out.stdout.splitlines() if line.startswith("✗")]
    assert out.returncode == 0, "\n".join(failed + [out.stderr]) if failed else out.stdout + out.stderr
    assert "✓ MQTT 3.1.1 broker (embedded amqtt): a message went round" in out.stdout
    assert "✓ MQTT 5 broker (embedded kit.mqtt_broker): a message went round" in out.stdout
    assert "✓ embedded OTLP receiver starts" in out.stdout
    assert out.stdout.strip().endswith("ready for the lessons")


def test_a_taken_port_is_named_with_its_program():
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", 9411))
        except OSError:
            pytest.skip("port 9411 is already taken on this machine")
        s.listen()
        lines = [str(line) for line in doctor.check_ports()]
    [taken] = [line for line in lines if "9411" in line and "taken" in line]
    assert taken.startswith("! port 9411 (Zipkin) is taken by") and f"pid {os.getpid()}" in taken


def test_the_grpc_http_mixup_is_named(monkeypatch, receiver):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.http_endpoint)  # the HTTP port...
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")                  # ...spoken to in gRPC
    [line] = doctor.check_otlp_endpoint()
    assert line.status == "warn" and "speaks HTTP/1.1, not gRPC" in line.text
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.grpc_endpoint)
    [line] = doctor.check_otlp_endpoint()
    assert line.status == "ok"


def test_missing_and_other_versions_say_what_to_do():
    [missing, other] = doctor.check_packages({"no-such-package-xyz": "1.0", "pytest": "0.0.1"})
    assert missing.status == "fail" and "no-such-package-xyz" in missing.text
    assert "pip install -r requirements.txt" in missing.text
    assert other.status == "warn" and "pytest" in other.text and "(tested: 0.0.1)" in other.text


def test_a_blocking_problem_gives_exit_status_one():
    def broken():
        raise RuntimeError("boom")
    lines, status = doctor.run([doctor.check_python, broken])
    assert status == 1 and "broken could not run: boom" in str(lines[-1])
    assert doctor.run([doctor.check_python])[1] == 0
