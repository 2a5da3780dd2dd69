"""What the example services (``services/*.py``) share: connect to the broker even if it
is not up yet, skip a message they cannot read instead of dying on it, and stop cleanly on
Ctrl-C or SIGTERM, flushing telemetry on the way out.

    stop = stop_on_signals()
    connect_with_retry(client, broker_url(), "sensor", stop)
    ...
    reading = read_json(msg, log, sensor=str, celsius=(int, float))   # in on_message
    if reading is None:
        return                          # logged, recorded on the message's span, skipped
    ...
    while not stop.wait(1): ...
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from urllib.parse import urlparse

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode


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


def read_json(msg, log, **fields) -> dict | None:
    """The JSON object a message carries, with these fields of these types, e.g.
    ``read_json(msg, log, sensor=str, celsius=(int, float))``; None if it is not one.

    A message that cannot be read is logged (inside the message's CONSUMER span, so
    the log carries its trace id), recorded on that span (status ERROR, an
    ``exception`` event, ``error.type``) and skipped. Raised out of ``on_message``
    instead, one bad message would stop paho's network thread, and the service,
    still running and "ready", would process nothing more."""
    try:
        reading = json.loads(msg.payload)
        if not isinstance(reading, dict):
            raise ValueError(f"a JSON object was expected, not {type(reading).__name__}")
        for name, kind in fields.items():
            if name not in reading:
                raise ValueError(f"the field {name!r} is missing")
            if not isinstance(reading[name], kind) or isinstance(reading[name], bool):
                raise TypeError(f"the field {name!r} is {type(reading[name]).__name__}")
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        span = trace.get_current_span()
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"message skipped: {exc}"))
        span.set_attribute("error.type", type(exc).__qualname__)
        log.warning("skipped a message on %s: %s", msg.topic, exc)
        return None
    return reading


def serve_until_stopped(client, name: str, stop: threading.Event, tele, timeout_s: float = 5.0) -> None:
    """Connect (retrying), say "ready", serve until Ctrl-C or SIGTERM, then disconnect and
    flush, stopping the exporters within ``timeout_s`` (a collector that never answers
    cannot hold the stop longer)."""
    if connect_with_retry(client, broker_url(), name, stop):
        print(f"{name}: ready", flush=True)
        while not stop.wait(0.5):
            pass
        client.disconnect()
        client.loop_stop()
    tele.shutdown(timeout_s)
    print(f"{name}: stopped, telemetry flushed", flush=True)
