"""What the example services (``services/*.py``) share: connect to the broker even if it
is not up yet, and stop cleanly on Ctrl-C or SIGTERM, flushing telemetry on the way out.

    stop = stop_on_signals()
    connect_with_retry(client, broker_url(), "sensor", stop)
    ...
    while not stop.wait(1): ...
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from urllib.parse import urlparse


def export_otlp_by_default() -> None:
    """A service exports OTLP unless ``OTEL_*_EXPORTER`` says otherwise."""
    for signal_name in ("TRACES", "METRICS", "LOGS"):
        os.environ.setdefault(f"OTEL_{signal_name}_EXPORTER", "otlp")


def broker_url() -> tuple[str, int]:
    """(host, port) from ``MQTT_BROKER_URL`` (default mqtt://localhost:1883)."""
    url = urlparse(os.environ.get("MQTT_BROKER_URL", "mqtt://localhost:1883"))
    return url.hostname or "localhost", url.port or 1883


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C (SIGINT) or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def connect_with_retry(client, address: tuple[str, int], name: str, stop: threading.Event,
                       every_s: float = 1.0) -> bool:
    """Connect, retrying every ``every_s`` until it works or ``stop`` is set; say why while waiting."""
    host, port = address
    while not stop.is_set():
        try:
            client.connect(host, port)
            client.loop_start()
            print(f"{name}: connected to mqtt://{host}:{port}", flush=True)
            return True
        except OSError as exc:
            print(f"{name}: broker mqtt://{host}:{port} not reachable ({exc.strerror or exc}); "
                  f"retrying in {every_s:g} s", file=sys.stderr, flush=True)
            stop.wait(every_s)
    return False


def serve_until_stopped(client, name: str, stop: threading.Event, tele) -> None:
    """Connect (retrying), say "ready", serve until Ctrl-C or SIGTERM, then disconnect and flush."""
    if connect_with_retry(client, broker_url(), name, stop):
        print(f"{name}: ready", flush=True)
        while not stop.wait(0.5):
            pass
        client.disconnect()
        client.loop_stop()
    tele.flush()
    print(f"{name}: stopped, telemetry flushed", flush=True)
