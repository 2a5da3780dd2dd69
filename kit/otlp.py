"""OTLP settings: read the standard ``OTEL_*`` variables, build exporters, and
check that an endpoint answers the protocol you are about to speak to it.

The variables are the OpenTelemetry SDK's own, so a lesson switches from the
in-notebook view to a collector with no code change::

    OTEL_TRACES_EXPORTER=otlp            # also METRICS / LOGS; values: otlp, console, none
    OTEL_EXPORTER_OTLP_PROTOCOL=grpc     # or http/protobuf
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317   # 4318 for http/protobuf

:func:`check_endpoint` catches the classic mix-up, gRPC sent to the HTTP port
4318 or HTTP sent to the gRPC port 4317, in well under a second, instead of an
exporter retrying in the background.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from urllib.parse import urlparse

SIGNALS = ("traces", "metrics", "logs")
EXPORTER_NAMES = ("otlp", "console", "memory", "none")
PROTOCOLS = ("grpc", "http/protobuf")
DEFAULT_PORT = {"grpc": 4317, "http/protobuf": 4318}


class SettingError(ValueError):
    """A telemetry setting (argument or ``OTEL_*`` variable) has a value the kit cannot use."""


@dataclass(frozen=True)
class OtlpTarget:
    """Where and how one signal is sent over OTLP."""

    signal: str
    protocol: str
    endpoint: str  # full URL; for http/protobuf it includes /v1/<signal>


def exporter_names(signal: str, value=None) -> list[str]:
    """The exporters asked for one signal: the argument if given, else
    ``OTEL_<SIGNAL>_EXPORTER``, else none (the in-memory capture is always on)."""
    setting = f"OTEL_{signal.upper()}_EXPORTER"
    if value is None:
        value = os.environ.get(setting, "")
        source = setting
    else:
        source = "exporters"
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [n.strip().lower() for n in names if n and n.strip()]
    for name in names:
        if name not in EXPORTER_NAMES:
            raise SettingError(f"{source}={value!r}: unknown exporter {name!r}. "
                               f"Use one or more of {', '.join(EXPORTER_NAMES)}, comma-separated.")
    return [n for n in names if n not in ("memory", "none")]


def otlp_target(signal: str, endpoint: str | None = None, protocol: str | None = None) -> OtlpTarget:
    """Resolve protocol and endpoint for one signal from arguments, then the
    signal-specific variable, then the generic one, then the defaults."""
    sig = signal.upper()
    if protocol is None:
        for name in (f"OTEL_EXPORTER_OTLP_{sig}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
            if os.environ.get(name):
                protocol, psource = os.environ[name].strip(), name
                break
        else:
            protocol, psource = "grpc", "default"
    else:
        psource = "protocol"
    if protocol not in PROTOCOLS:
        hint = (" (the kit builds no http/json exporter: the Python SDK's, opentelemetry-exporter-otlp-json-http,"
                " is a beta that cannot be installed beside the lessons' exporters; the kit's receiver takes"
                " JSON all the same)") if protocol == "http/json" else ""
        raise SettingError(f"{psource}={protocol!r}: unknown OTLP protocol{hint}. "
                           f"Use 'grpc' (port 4317) or 'http/protobuf' (port 4318).")

    per_signal = f"OTEL_EXPORTER_OTLP_{sig}_ENDPOINT"
    append_path = False
    if endpoint is not None:
        esource = "endpoint"
        append_path = True
    elif os.environ.get(per_signal):
        endpoint, esource = os.environ[per_signal].strip(), per_signal
    elif os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        endpoint, esource = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"].strip(), "OTEL_EXPORTER_OTLP_ENDPOINT"
        append_path = True
    else:
        endpoint, esource = f"http://localhost:{DEFAULT_PORT[protocol]}", "default"
        append_path = True
    _validate_url(endpoint, esource)
    if protocol == "http/protobuf" and append_path and not urlparse(endpoint).path.rstrip("/").endswith(f"/v1/{signal}"):
        endpoint = endpoint.rstrip("/") + f"/v1/{signal}"
    return OtlpTarget(signal, protocol, endpoint)


def _validate_url(url: str, source: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise SettingError(f"{source}={url!r} is not an OTLP endpoint URL: "
                           f"write it as http://HOST:PORT, e.g. http://localhost:4317.")
    try:
        parsed.port
    except ValueError:
        raise SettingError(f"{source}={url!r}: the port is not a number between 0 and 65535.") from None


def make_exporter(target: OtlpTarget, timeout_s: float = 5.0):
    """The SDK's OTLP exporter for ``target`` (imported only when used)."""
    if target.protocol == "grpc":
        if target.signal == "traces":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as E
        elif target.signal == "metrics":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as E
        else:
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as E
        return E(endpoint=target.endpoint, insecure=target.endpoint.startswith("http:"), timeout=timeout_s)
    if target.signal == "traces":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as E
    elif target.signal == "metrics":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as E
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as E
    return E(endpoint=target.endpoint, timeout=timeout_s)


@dataclass(frozen=True)
class EndpointCheck:
    ok: bool
    message: str

    def __str__(self):
        return ("✓ " if self.ok else "✗ ") + self.message


_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def check_endpoint(endpoint: str, protocol: str = "grpc", timeout_s: float = 2.0) -> EndpointCheck:
    """Does ``endpoint`` answer, and in the protocol we mean to speak?

    Opens a TCP connection and sends the first bytes of the protocol: the
    HTTP/2 preface for gRPC, an empty ``POST /v1/traces`` for http/protobuf.
    The reply tells which protocol the server speaks. Never raises; returns
    within about ``2 * timeout_s``.
    """
    parsed = urlparse(endpoint)
    host = parsed.hostname or "localhost"
    port = parsed.port or DEFAULT_PORT.get(protocol, 4317)
    where = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except ConnectionRefusedError:
        return EndpointCheck(False, f"nothing is listening on {where} ({protocol}). Start a collector "
                             f"(docker compose up) or the kit's receiver (python -m kit receiver), "
                             f"or keep the in-memory view by unsetting OTEL_*_EXPORTER.")
    except OSError as exc:
        return EndpointCheck(False, f"cannot reach {where}: {exc.strerror or exc}. Check the host name "
                             f"in OTEL_EXPORTER_OTLP_ENDPOINT.")
    if parsed.scheme == "https":
        sock.close()
        return EndpointCheck(True, f"{where} accepts connections (TLS; protocol not probed)")
    try:
        with sock:
            sock.settimeout(timeout_s)
            if protocol == "grpc":
                sock.sendall(_HTTP2_PREFACE)
            else:
                path = parsed.path if parsed.path.startswith("/v1/") else "/v1/traces"
                sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {where}\r\n"
                              "Content-Type: application/x-protobuf\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n").encode())
            reply = sock.recv(64)
    except OSError as exc:
        return EndpointCheck(False, f"{where} accepted a connection but did not answer ({exc}).")
    return _judge_reply(reply, protocol, where)


def _judge_reply(reply: bytes, protocol: str, where: str) -> EndpointCheck:
    # An HTTP/1.x server answers the HTTP/2 preface with a status line or, like
    # Python's http.server, with a bare error page: text either way.
    speaks_http1 = reply.startswith(b"HTTP/1.") or (
        protocol == "grpc" and bool(reply) and all(32 <= b < 127 or b in b"\r\n\t" for b in reply))
    # An HTTP/2 server's first frame is SETTINGS (type 4) or GOAWAY (type 7).
    speaks_http2 = len(reply) >= 9 and reply[3] in (4, 7)
    if protocol == "grpc":
        if speaks_http2:
            return EndpointCheck(True, f"{where} answers gRPC (HTTP/2)")
        if speaks_http1:
            return EndpointCheck(False, f"{where} speaks HTTP/1.1, not gRPC: it is probably the OTLP/HTTP "
                                 f"port (4318). Use port 4317, or set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf.")
    else:
        if reply.startswith(b"HTTP/1."):
            status = reply.split(b" ", 2)[1:2]
            code = status[0].decode(errors="replace") if status else "?"
            if code.startswith("2"):
                return EndpointCheck(True, f"{where} answers OTLP/HTTP")
            return EndpointCheck(False, f"{where} answers HTTP but with status {code} for OTLP: "
                                 f"is it an OTLP receiver? Check the port and path (/v1/traces).")
        if speaks_http2:
            return EndpointCheck(False, f"{where} speaks gRPC (HTTP/2), not OTLP/HTTP: it is probably the "
                                 f"gRPC port (4317). Use port 4318, or set OTEL_EXPORTER_OTLP_PROTOCOL=grpc.")
    return EndpointCheck(False, f"{where} answered, but not as an OTLP {protocol} endpoint "
                         f"(first bytes {reply[:16]!r}).")
