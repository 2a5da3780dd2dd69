import os
import socket
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from kit import capture  # noqa: E402
from kit.broker import start_broker  # noqa: E402
from kit.receiver import limits, start_receiver  # noqa: E402
from mqtt_helpers import MOSQUITTO_LIKE_THE_KIT, running_mosquitto  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def quick_server_stops():
    """The receiver's HTTP servers (OTLP/HTTP, the page) look for ``stop()`` every 0.5 s
    (socketserver's default), so each ``stop()`` waits up to that; the tests start and stop
    hundreds of them. Here they look every 20 ms: what a server does while it runs is the same."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(limits, "SERVE_POLL_S", 0.02)
        yield


@pytest.fixture
def receiver():
    """The kit's embedded OTLP endpoint (gRPC and HTTP) on free ports."""
    r = start_receiver(grpc_port=0, http_port=0)
    yield r
    r.stop()


@pytest.fixture
def black_hole():
    """An OTLP endpoint that accepts connections and never answers (a hung collector, a
    firewall that swallows packets): the kernel completes the handshakes, nobody reads."""
    sock = socket.create_server(("127.0.0.1", 0), backlog=128)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


@pytest.fixture
def grpc_endpoint(receiver):
    """A real OTLP/gRPC endpoint: (url, receiver)."""
    return receiver.grpc_endpoint, receiver


@pytest.fixture
def http_endpoint(receiver):
    """A real OTLP/HTTP endpoint: (url, receiver)."""
    return receiver.http_endpoint, receiver


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


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the slow tests (a fresh install in a new venv); CI does")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with `pytest --run-slow` (CI does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# the kit's broker or Mosquitto, for tests parametrized with mqtt_helpers.KIT_AND_MOSQUITTO
@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory):
    with running_mosquitto(tmp_path_factory.mktemp("mosquitto"), MOSQUITTO_LIKE_THE_KIT) as broker:
        yield broker


@pytest.fixture
def broker(request):
    """The broker the test is parametrized with (indirect): the kit's embedded one, or Mosquitto."""
    return request.getfixturevalue("mosquitto") if request.param == "mosquitto" else start_broker(protocol=5)
