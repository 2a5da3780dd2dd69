import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from otlp_servers import start_grpc, start_http  # noqa: E402

from kit import capture  # noqa: E402


@pytest.fixture
def grpc_endpoint():
    """A real OTLP/gRPC endpoint: (url, received)."""
    server, port, received = start_grpc()
    yield f"http://127.0.0.1:{port}", received
    server.stop(grace=None)


@pytest.fixture
def http_endpoint():
    """A real OTLP/HTTP endpoint: (url, received)."""
    server, port, received = start_http()
    yield f"http://127.0.0.1:{port}", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def clean_capture():
    capture.clear()
    yield
    capture.clear()


@pytest.fixture
def otel_env(monkeypatch):
    """Start each test with no OTEL_* variable set."""
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    return monkeypatch
