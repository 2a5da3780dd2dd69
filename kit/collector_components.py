"""What each collector component accepts, as the OpenTelemetry Collector itself judges it.

:mod:`kit.collector_config` uses this module; a learner rarely needs it. The facts come
from the Collector's own sources (opentelemetry-collector and -contrib): each
component's ``config.go`` (its fields, their Go types, its ``Validate()``), its
``factory.go`` (its defaults, the signals it takes) and the loader (``confmap``):

* The loader reads YAML 1.2 into plain values, then decodes them into the component's
  Go struct with no type coercion and no unknown key allowed (mapstructure with
  ``WeaklyTypedInput: false``, ``ErrorUnused: true``): ``insecure: yes`` is the string
  ``"yes"`` where a bool is needed, ``endpoint: 4317`` a number where a string is, and a
  misspelt or misplaced key is "invalid keys". Durations are Go's (``1s``, ``500ms``,
  ``5m``; a bare number is nanoseconds). ``null`` is the field's zero value.
* Then the component's defaults are merged under what the file sets, and its
  ``Validate()`` runs: e.g. memory_limiter's ``check_interval`` must be greater than
  zero, batch's ``send_batch_max_size`` at least ``send_batch_size`` (8192 by default).

A component is described by :class:`Component`: its settings (:class:`Fields`, nested),
its defaults, the signals it takes, its value rules and the servers it starts. A type
this module does not describe is not judged field by field (``fields=None``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

ALL_SIGNALS = ("traces", "metrics", "logs")
OTLP_PORTS = {4317: "gRPC", 4318: "HTTP"}   # OTLP's ports, by convention: every SDK sends there by default


# ---------------------------------------------------------------- kinds of values

class Kind:
    """A scalar the loader decodes: ``name`` for messages, ``decode`` (value -> value or raise ValueError)."""

    def __init__(self, name: str, decode: Callable, zero=None):
        self.name, self.decode, self.zero = name, decode, zero

    def __repr__(self):
        return self.name


_YAML11_BOOLS = {"yes", "no", "on", "off", "y", "n"}
_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def _bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _YAML11_BOOLS:
        raise ValueError(f"{value!r} is the text {value!r} to the collector, not a bool: its YAML is 1.2, where only "
                         f"true and false are bools (yes/no/on/off were YAML 1.1's). Write "
                         f"{'true' if value.strip().lower() in ('yes', 'on', 'y') else 'false'}")
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        raise ValueError(f"{value!r} is quoted: the text {value!r}, not a bool. Write true or false without "
                         f"quotes")
    raise ValueError(f"{value!r} is {_a(value)}, where the collector needs a bool: true or false")


def _str(value):
    if isinstance(value, str):
        return value
    raise ValueError(f"{value!r} is {_a(value)}, where the collector needs text (it converts nothing)")


def _int(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is {_a(value)}, where the collector needs a whole number"
                         + (f": write {value.strip().rstrip('%').strip()}, without the unit or quotes"
                            if isinstance(value, str) and value.strip().rstrip("%").strip().isdigit() else ""))
    return int(value)


def _uint(value):
    number = _int(value)
    if number < 0:
        raise ValueError(f"{value!r} is negative, where the collector needs a whole number of 0 or more")
    return number


def _float(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{value!r} is {_a(value)}, where the collector needs a number")
    return float(value)


def _duration(value):
    """Seconds, from Go's duration text (``1s``, ``1m30s``, ``500ms``) or a number of nanoseconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is a bool, where the collector needs a duration such as 1s or 500ms")
    if isinstance(value, (int, float)):
        return value * 1e-9
    if not isinstance(value, str):
        raise ValueError(f"this is {_a(value)}, where the collector needs a duration such as 1s or 500ms")
    text = value.strip()
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    parts = _DURATION.findall(body)
    if not body or "".join(n + u for n, u in parts) != body or any(n in ("", ".") for n, _ in parts):
        raise ValueError(f"{value!r} is not a duration the collector reads: write a number and a unit, with no "
                         f"space, e.g. 1s, 500ms, 5m, 1h (ns, us, ms, s, m, h; no d)")
    return sign * sum(float(n) * _UNIT_S[u] for n, u in parts)


def _str_list(value):
    if isinstance(value, str):          # the loader splits "a,b" into a list
        return [v for v in value.split(",")]
    if isinstance(value, list):
        return [_str(v) for v in value]
    raise ValueError(f"{value!r} is {_a(value)}, where the collector needs a list of text, e.g. [a, b]")


def _str_map(value):
    if isinstance(value, dict):
        for k, v in value.items():
            if v is not None and not isinstance(v, str):
                raise ValueError(f"{k}: {v!r} is {_a(v)}, where the collector needs text: write \"{v}\"")
        return value
    if isinstance(value, list):         # configopaque.MapList also takes [{name: ..., value: ...}]
        return value
    raise ValueError(f"{value!r} is {_a(value)}, where the collector needs key: value pairs")


def _any(value):
    return value


def _a(value) -> str:
    return ("a bool" if isinstance(value, bool) else "a number" if isinstance(value, (int, float)) else
            "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else
            "empty" if value is None else f"the text {value!r}" if isinstance(value, str) else type(value).__name__)


BOOL = Kind("a bool", _bool, False)
STR = Kind("text", _str, "")
INT = Kind("a whole number", _int, 0)
UINT = Kind("a whole number of 0 or more", _uint, 0)
FLOAT = Kind("a number", _float, 0.0)
DURATION = Kind("a duration", _duration, 0.0)
STRS = Kind("a list of text", _str_list, [])
STR_MAP = Kind("key: text pairs", _str_map, {})
ANY = Kind("any value", _any, None)


@dataclass
class Fields:
    """A mapping of settings: ``{key: Kind | Fields}``. ``closed``: any other key is refused,
    as the collector refuses it; ``hint``: what to say about a key it does not take."""

    keys: dict
    closed: bool = True
    hint: str = ""

    def __or__(self, other: "Fields | dict") -> "Fields":
        more = other.keys if isinstance(other, Fields) else other
        return Fields({**self.keys, **more}, self.closed, getattr(other, "hint", "") or self.hint)

    def find(self, key: str, path: str = "") -> str | None:
        """Where ``key`` is a setting further down (``"tls"`` for insecure), or None."""
        for name, kind in self.keys.items():
            if isinstance(kind, Fields):
                if key in kind.keys:
                    return f"{path}{name}"
                deeper = kind.find(key, f"{path}{name}.")
                if deeper:
                    return deeper
        return None


# ---------------------------------------------------------------- shared settings (config/config*)

TLS = {"ca_file": STR, "ca_pem": STR, "cert_file": STR, "cert_pem": STR, "key_file": STR, "key_pem": STR,
       "min_version": STR, "max_version": STR, "cipher_suites": STRS, "curve_preferences": STRS,
       "include_system_ca_certs_pool": BOOL, "reload_interval": DURATION,
       "tpm": Fields({"enabled": BOOL, "path": STR, "owner_auth": STR, "auth": STR})}
TLS_CLIENT = Fields({**TLS, "insecure": BOOL, "insecure_skip_verify": BOOL, "server_name_override": STR})
TLS_SERVER = Fields({**TLS, "client_ca_file": STR, "client_ca_file_reload": BOOL},
                    hint="a server's tls takes its certificate (cert_file, key_file); insecure is a client's "
                         "(an exporter's) setting: a receiver without TLS has no tls: section at all")
AUTH = Fields({"authenticator": STR, "request_params": STRS})
NET = {"endpoint": STR, "transport": STR, "dialer": Fields({"timeout": DURATION})}
GRPC_SERVER = Fields({**NET, "tls": TLS_SERVER, "max_recv_msg_size_mib": INT, "max_concurrent_streams": UINT,
                      "read_buffer_size": INT, "write_buffer_size": INT, "include_metadata": BOOL, "auth": AUTH,
                      "middlewares": ANY,
                      "keepalive": Fields({
                          "server_parameters": Fields({k: DURATION for k in (
                              "max_connection_idle", "max_connection_age", "max_connection_age_grace", "time",
                              "timeout")}),
                          "enforcement_policy": Fields({"min_time": DURATION, "permit_without_stream": BOOL})})})
HTTP_SERVER = Fields({**NET, "tls": TLS_SERVER, "auth": AUTH, "max_request_body_size": INT, "include_metadata": BOOL,
                      "response_headers": STR_MAP, "compression_algorithms": STRS, "read_timeout": DURATION,
                      "read_header_timeout": DURATION, "write_timeout": DURATION, "idle_timeout": DURATION,
                      "middlewares": ANY, "keep_alives_enabled": BOOL,
                      "cors": Fields({"allowed_origins": STRS, "allowed_headers": STRS, "exposed_headers": STRS,
                                      "max_age": INT})})
GRPC_CLIENT = Fields({"endpoint": STR, "compression": STR, "tls": TLS_CLIENT, "headers": STR_MAP,
                      "read_buffer_size": INT, "write_buffer_size": INT, "wait_for_ready": BOOL, "balancer_name": STR,
                      "authority": STR, "auth": AUTH, "middlewares": ANY, "user_agent": STR,
                      "keepalive": Fields({"time": DURATION, "timeout": DURATION, "permit_without_stream": BOOL})})
HTTP_CLIENT = Fields({"endpoint": STR, "proxy_url": STR, "tls": TLS_CLIENT, "read_buffer_size": INT,
                      "write_buffer_size": INT, "timeout": DURATION, "headers": STR_MAP, "auth": AUTH,
                      "compression": STR, "compression_params": Fields({"level": INT}), "max_idle_conns": INT,
                      "max_idle_conns_per_host": INT, "max_conns_per_host": INT, "idle_conn_timeout": DURATION,
                      "disable_keep_alives": BOOL, "http2_read_idle_timeout": DURATION,
                      "http2_ping_timeout": DURATION, "cookies": Fields({"enabled": BOOL}), "middlewares": ANY,
                      "force_attempt_http2": BOOL})
QUEUE = Fields({"enabled": BOOL, "num_consumers": INT, "queue_size": INT, "sizer": STR, "block_on_overflow": BOOL,
                "wait_for_result": BOOL, "storage": STR,
                "batch": Fields({"flush_timeout": DURATION, "min_size": INT, "max_size": INT, "sizer": STR,
                                 "partition": Fields({"metadata_keys": STRS})})})
RETRY = Fields({"enabled": BOOL, "initial_interval": DURATION, "max_interval": DURATION,
                "max_elapsed_time": DURATION, "multiplier": FLOAT, "randomization_factor": FLOAT})
EXPORTER_HELPER = {"timeout": DURATION, "sending_queue": QUEUE, "retry_on_failure": RETRY}
COMPRESSION = ("", "none", "gzip", "zlib", "deflate", "snappy", "x-snappy-framed", "zstd", "lz4")


# ---------------------------------------------------------------- components

@dataclass(frozen=True)
class Component:
    """One component type (``otlp`` receiver, ``batch`` processor, ...)."""

    fields: Fields | None                       # None: not judged key by key
    signals: tuple = ALL_SIGNALS                # the pipelines it can be in
    defaults: dict = field(default_factory=dict)
    rules: Callable | None = None               # settings (defaults merged) -> [(key path, problem)]
    listens: Callable | None = None             # settings -> [(key path, endpoint, "tcp"|"udp")]
    source: str = ""                            # where its rules come from


def merged(defaults: dict, settings: dict) -> dict:
    """``settings`` over ``defaults``, nested mappings merged key by key (as the collector does)."""
    out = dict(defaults)
    for key, value in (settings or {}).items():
        out[key] = merged(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and value > 0


def _memory_limiter(c) -> list:
    out = []
    if not _positive(c.get("check_interval")):
        out.append(("check_interval", "must be greater than zero (the collector refuses to start: \"'check_interval' "
                                      "must be greater than zero\"): how often it measures memory, e.g. "
                                      "check_interval: 1s"))
    limit, spike = c.get("limit_mib") or 0, c.get("spike_limit_mib") or 0
    pct, spike_pct = c.get("limit_percentage") or 0, c.get("spike_limit_percentage") or 0
    if not limit and not pct:
        out.append(("limit_mib", "memory_limiter needs a limit: limit_mib (MiB) or limit_percentage (of the memory "
                                 "available), greater than zero, e.g. limit_percentage: 80 with "
                                 "spike_limit_percentage: 25"))
    if pct > 100 or spike_pct > 100:
        out.append(("limit_percentage" if pct > 100 else "spike_limit_percentage",
                    "limit_percentage and spike_limit_percentage are percentages: at most 100"))
    if limit and limit <= spike:
        out.append(("spike_limit_mib", f"must be smaller than limit_mib ({spike} is not below {limit}): the spike "
                                       f"is headroom below the limit"))
    if pct and pct <= spike_pct:
        out.append(("spike_limit_percentage", f"must be smaller than limit_percentage ({spike_pct} is not below "
                                              f"{pct})"))
    soft, hard = c.get("min_gc_interval_when_soft_limited") or 0, c.get("min_gc_interval_when_hard_limited") or 0
    if soft < hard:
        out.append(("min_gc_interval_when_soft_limited", "must be at least min_gc_interval_when_hard_limited"))
    return out


def _batch(c) -> list:
    out = []
    size, most = c.get("send_batch_size") or 0, c.get("send_batch_max_size") or 0
    if most and most < size:
        out.append(("send_batch_max_size", f"must be at least send_batch_size ({most} < {size}"
                                           f"{', its default' if size == 8192 else ''}): the collector refuses "
                                           f"to start. Set send_batch_size too, at or below it"))
    if isinstance(c.get("timeout"), (int, float)) and c["timeout"] < 0:
        out.append(("timeout", "must be 0 or more"))
    keys = [str(k).lower() for k in c.get("metadata_keys") or []]
    if len(keys) != len(set(keys)):
        out.append(("metadata_keys", "names a key twice (case does not count)"))
    return out


GRPC_SCHEMES = {"passthrough", "unix", "unix-abstract", "xds"}  # grpc-go's resolvers besides dns (stripped)


def _grpc_endpoint(endpoint: str) -> str:
    """What gRPC dials: the endpoint without http://, https:// or dns:///."""
    return re.sub(r"^(https?://|dns:///?)", "", endpoint)


def _host_port_problem(endpoint: str) -> str | None:
    host, sep, port = endpoint.rpartition(":")
    if not sep:
        return f"{endpoint!r} has no port: write host:port, e.g. {endpoint}:4317"
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"{endpoint!r}: {port!r} is not a port (1 to 65535)"
    return None


def _queue_rules(c) -> list:
    """exporterhelper's sending_queue (queuebatch/config.go Validate()), when it is on (the default)."""
    queue = c.get("sending_queue")
    if not isinstance(queue, dict) or queue.get("enabled") is False:
        return []
    return [(f"sending_queue.{key}", "must be positive (the collector refuses to start)")
            for key in ("num_consumers", "queue_size") if key in queue and not _positive(queue[key])]


def _client_rules(c, http: bool = True) -> list:
    out = _queue_rules(c)
    tls = c.get("tls") or {}
    for thing in ("ca", "cert", "key"):
        if tls.get(f"{thing}_file") and tls.get(f"{thing}_pem"):
            out.append((f"tls.{thing}_file", f"give {thing}_file or {thing}_pem, not both"))
    if bool(tls.get("cert_file") or tls.get("cert_pem")) != bool(tls.get("key_file") or tls.get("key_pem")):
        out.append(("tls", "a client certificate needs its key, and a key its certificate (cert_file and key_file)"))
    compression = c.get("compression")
    if isinstance(compression, str) and compression not in COMPRESSION:
        out.append(("compression", f"{compression!r} is not one the collector knows: use gzip, zstd, snappy or none"))
    return out


def _otlp_grpc(c) -> list:
    out = _client_rules(c, http=False)
    endpoint = c.get("endpoint") or ""
    target = _grpc_endpoint(endpoint)
    if not target:
        return out + [("endpoint", "the otlp exporter needs an endpoint (the collector refuses to start: requires a "
                                   "non-empty \"endpoint\"): host:port, e.g. jaeger:4317")]
    if endpoint.startswith("unix://") or "${" in endpoint:
        return out
    scheme, sep, rest = target.partition("://")
    if sep and scheme not in GRPC_SCHEMES:  # grpc://, otlp://, tcp://: no resolver of gRPC's has that name
        return out + [("endpoint", f"{endpoint}: gRPC has no {scheme}:// scheme, so the exporter resolves nothing "
                                   f"and every export fails. Write host:port, {rest.strip('/') or 'jaeger:4317'} "
                                   f"(it strips only http://, https:// and dns:///)")]
    problem = _host_port_problem(target)
    if problem:
        return out + [("endpoint", problem + " (gRPC dials host:port)")]
    port = int(target.rpartition(":")[2])
    if endpoint.startswith("https://") and (c.get("tls") or {}).get("insecure"):
        out.append(("endpoint", f"{endpoint} starts with https://, which makes the exporter use TLS whatever "
                                f"tls.insecure says: write the endpoint without the scheme, {target}"))
    if port == 4318:
        out.append(("endpoint", f"{endpoint}: 4318 is OTLP over HTTP's port, and the otlp exporter speaks gRPC, "
                                f"whose port is 4317 (for HTTP, an otlphttp exporter with http://…:4318)"))
    if c.get("balancer_name") not in (None, "", "pick_first", "round_robin"):
        out.append(("balancer_name", "is pick_first or round_robin"))
    return out


def _otlp_http(c) -> list:
    out = _client_rules(c, http=True)
    urls = {k: c.get(k) for k in ("endpoint", "traces_endpoint", "metrics_endpoint", "logs_endpoint",
                                  "profiles_endpoint") if c.get(k)}
    if not urls:
        return out + [("endpoint", "the otlphttp exporter needs an endpoint (the collector refuses to start: at "
                                   "least one endpoint must be specified): a URL, e.g. http://jaeger:4318")]
    if c.get("encoding") not in (None, "", "proto", "json"):
        out.append(("encoding", f"{c['encoding']!r} is not one: proto (the default) or json"))
    for key, url in urls.items():
        out += [(key, p) for p in _url_problems(url, 4317, "the otlphttp exporter speaks HTTP, whose port is 4318 "
                                                          "(for gRPC, an otlp exporter to host:4317)")]
    return out


def _url_problems(url: str, wrong_port: int | None = None, why: str = "") -> list:
    if "${" in url:
        return []
    match = re.match(r"^(?:(https?)://)?([^/]*)(.*)$", url)
    scheme, address, rest = match.groups()
    port = address.rpartition(":")[2]
    if wrong_port and port == str(wrong_port):
        right = {4317: 4318, 4318: 4317}.get(wrong_port)
        return [f"{url}: {wrong_port} is OTLP over {OTLP_PORTS.get(wrong_port, '')}'s port, and {why}"
                + (f": http://{address.rpartition(':')[0]}:{right}{rest}" if right and not scheme else "")]
    if not scheme:
        return [f"{url!r} is not a URL: an HTTP exporter sends to http://host:port (with the scheme), e.g. "
                f"http://{url.split('://')[-1]}"]
    return []


def _debug(c) -> list:
    out = _queue_rules(c)
    if str(c.get("verbosity") or "basic").lower() not in ("basic", "normal", "detailed"):
        out.append(("verbosity", f"{c['verbosity']!r} is not one: use basic, normal or detailed (the collector "
                                 f"refuses to start)"))
    if c.get("use_internal_logger") and c.get("output_paths") is not None:
        out.append(("output_paths", "is for use_internal_logger: false only"))
    return out


def _zipkin_exporter(c) -> list:
    if not c.get("endpoint"):
        return [("endpoint", "the zipkin exporter needs an endpoint: http://zipkin:9411/api/v2/spans")]
    out = [("endpoint", p) for p in _url_problems(c["endpoint"])]
    if c.get("format") not in (None, "json", "proto"):
        out.append(("format", f"{c['format']!r} is not one: json or proto"))
    return out + _client_rules(c, http=True)


def _prometheus_exporter(c) -> list:
    out = _queue_rules(c)
    if not str(c.get("endpoint") or "").strip():
        out.append(("endpoint", "the prometheus exporter needs the address it serves its metrics on, for "
                                "Prometheus to scrape: endpoint: 0.0.0.0:8889"))
    strategies = ("UnderscoreEscapingWithSuffixes", "UnderscoreEscapingWithoutSuffixes",
                  "NoUTF8EscapingWithSuffixes", "NoTranslation")
    if c.get("translation_strategy") not in (None, "", *strategies):
        out.append(("translation_strategy", f"is one of {', '.join(strategies)}"))
    return out


def _otlp_receiver(c) -> list:
    protocols = c.get("protocols") or {}
    if not isinstance(protocols, dict) or not ("grpc" in protocols or "http" in protocols):
        return [("protocols", "the otlp receiver needs at least one protocol (the collector refuses to start): "
                              "protocols: {grpc: {endpoint: 0.0.0.0:4317}, http: {endpoint: 0.0.0.0:4318}}")]
    return []


def _health_check(c) -> list:
    path = c.get("path")
    return [("path", f"{path!r} must start with /")] if isinstance(path, str) and not path.startswith("/") else []


def _endpoint_required(name):
    def rule(c):
        return [] if c.get("endpoint") else [("endpoint", f"the {name} extension needs an endpoint (host:port)")]
    return rule


def _otlp_listens(c):
    protocols = c.get("protocols") or {}
    out = []
    for proto, port in (("grpc", 4317), ("http", 4318)):
        if proto in protocols:
            settings = protocols.get(proto) or {}
            out.append((f"protocols.{proto}", settings.get("endpoint") or f"localhost:{port}", "tcp"))
    return out


def _endpoint_listens(c):
    return [("endpoint", c["endpoint"], "tcp")] if c.get("endpoint") else []


OTLP_GRPC = Component(GRPC_CLIENT | EXPORTER_HELPER, rules=_otlp_grpc,
                      source="exporter/otlpexporter/config.go (core; type otlp_grpc since v0.144, otlp its alias)")
OTLP_HTTP = Component(HTTP_CLIENT | EXPORTER_HELPER | {
    "traces_endpoint": STR, "metrics_endpoint": STR, "logs_endpoint": STR, "profiles_endpoint": STR, "encoding": STR},
    rules=_otlp_http, source="exporter/otlphttpexporter/config.go (core; type otlp_http since v0.144)")

COMPONENTS = {
    "receivers": {
        "otlp": Component(Fields({"protocols": Fields({
            "grpc": GRPC_SERVER,
            "http": HTTP_SERVER | {"traces_url_path": STR, "metrics_url_path": STR, "logs_url_path": STR}},
            hint="the otlp receiver speaks grpc and http")}),
            rules=_otlp_receiver, listens=_otlp_listens, source="receiver/otlpreceiver/config.go (core)"),
        "zipkin": Component(HTTP_SERVER | {"parse_string_tags": BOOL}, signals=("traces",),
                            defaults={"endpoint": "localhost:9411"}, listens=_endpoint_listens,
                            source="receiver/zipkinreceiver (contrib)"),
        "jaeger": Component(None, signals=("traces",)),
        "prometheus": Component(None, signals=("metrics",)),
        "hostmetrics": Component(None, signals=("metrics",)),
        "filelog": Component(None, signals=("logs",)),
        "kafka": Component(None),
    },
    "processors": {
        "memory_limiter": Component(
            Fields({"check_interval": DURATION, "limit_mib": UINT, "spike_limit_mib": UINT, "limit_percentage": UINT,
                    "spike_limit_percentage": UINT, "min_gc_interval_when_soft_limited": DURATION,
                    "min_gc_interval_when_hard_limited": DURATION, "max_gc_interval_when_soft_limited": DURATION,
                    "max_gc_interval_when_hard_limited": DURATION}),
            defaults={"min_gc_interval_when_soft_limited": 10.0}, rules=_memory_limiter,
            source="internal/memorylimiter/config.go (core): Validate(), NewDefaultConfig()"),
        "batch": Component(Fields({"timeout": DURATION, "send_batch_size": UINT, "send_batch_max_size": UINT,
                                   "metadata_keys": STRS, "metadata_cardinality_limit": UINT}),
                           defaults={"timeout": 0.2, "send_batch_size": 8192, "send_batch_max_size": 0},
                           rules=_batch, source="processor/batchprocessor/config.go, factory.go (core)"),
        "attributes": Component(None), "resource": Component(None), "filter": Component(None),
        "transform": Component(None), "k8sattributes": Component(None), "resourcedetection": Component(None),
        "tail_sampling": Component(None, signals=("traces",)),
        "probabilistic_sampler": Component(None, signals=("traces", "logs")),
    },
    "exporters": {
        "otlp": OTLP_GRPC, "otlp_grpc": OTLP_GRPC, "otlphttp": OTLP_HTTP, "otlp_http": OTLP_HTTP,
        "debug": Component(Fields({"verbosity": STR, "sampling_initial": INT, "sampling_thereafter": INT,
                                   "use_internal_logger": BOOL, "output_paths": STRS, "sending_queue": QUEUE}),
                           rules=_debug, source="exporter/debugexporter/config.go (core)"),
        "zipkin": Component(HTTP_CLIENT | EXPORTER_HELPER | {"format": STR, "default_service_name": STR},
                            signals=("traces",), rules=_zipkin_exporter,
                            source="exporter/zipkinexporter/config.go, zipkin.go (contrib)"),
        "prometheus": Component(HTTP_SERVER | {
            "sending_queue": QUEUE, "namespace": STR, "const_labels": STR_MAP, "send_timestamps": BOOL,
            "metric_expiration": DURATION, "resource_to_telemetry_conversion": Fields({"enabled": BOOL}),
            "resource_constant_labels": ANY, "enable_open_metrics": BOOL, "add_metric_suffixes": BOOL,
            "translation_strategy": STR, "without_scope_info": BOOL},
            signals=("metrics",), rules=_prometheus_exporter, listens=_endpoint_listens,
            source="exporter/prometheusexporter/config.go, prometheus.go (contrib)"),
        "prometheusremotewrite": Component(None, signals=("metrics",)),
        "azuremonitor": Component(None, source="exporter/azuremonitorexporter (contrib)"),
        "file": Component(None), "kafka": Component(None),
    },
    "extensions": {
        "health_check": Component(HTTP_SERVER | {"path": STR, "response_body": ANY, "check_collector_pipeline": ANY,
                                                 "http": ANY, "grpc": ANY, "component_health": ANY},
                                  signals=(), defaults={"endpoint": "localhost:13133", "path": "/"}, rules=_health_check,
                                  listens=_endpoint_listens,
                                  source="internal/healthcheck/config.go (contrib)"),
        "pprof": Component(Fields({**NET, "block_profile_fraction": INT, "mutex_profile_fraction": INT,
                                   "save_to_file": STR}),
                           signals=(), defaults={"endpoint": "localhost:1777"}, listens=_endpoint_listens,
                           source="extension/pprofextension/config.go (contrib)"),
        "zpages": Component(HTTP_SERVER | {"expvar": Fields({"enabled": BOOL})}, signals=(),
                            defaults={"endpoint": "localhost:55679"}, rules=_endpoint_required("zpages"),
                            listens=_endpoint_listens,
                            source="extension/zpagesextension/config.go, factory.go (core)"),
    },
    "connectors": {"spanmetrics": Component(None), "count": Component(None), "forward": Component(None),
                   "routing": Component(None), "servicegraph": Component(None)},
}


def component(section: str, kind: str) -> Component | None:
    return COMPONENTS.get(section, {}).get(kind)


def known_types(section: str) -> list[str]:
    return list(COMPONENTS.get(section, {}))


# ---------------------------------------------------------------- judging settings

def judge(value, kind, path: str, problems: list):
    """``value`` decoded as the collector decodes it into ``kind``; each refusal is appended
    to ``problems`` as (path, message). Returns the decoded value (the zero value where refused)."""
    if isinstance(value, str) and "${" in value:
        return value                     # filled in from the environment when the collector starts
    if isinstance(kind, Fields):
        if value is None:
            return {}
        if not isinstance(value, dict):
            problems.append((path, f"takes settings (key: value, indented below it), not {_a(value)}"))
            return {}
        out = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if key in kind.keys:
                out[key] = judge(item, kind.keys[key], where, problems)
            elif kind.closed:
                problems.append((where, _unknown(str(key), kind)))
            else:
                out[key] = item
        return out
    if value is None:
        return kind.zero
    try:
        return kind.decode(value)
    except ValueError as exc:
        problems.append((path, f"{exc}; the collector refuses to start"))
        return kind.zero


def _unknown(key: str, kind: Fields) -> str:
    text = f"the collector has no setting {key!r} here, and refuses to start (\"has invalid keys: {key}\")"
    close = difflib.get_close_matches(key, list(kind.keys), n=1, cutoff=0.7)
    below = kind.find(key)
    if close:
        return f"{text}. Did you mean {close[0]!r}?"
    if below:
        return f"{text}: {key} goes under {below}:, e.g. {below}: {{{key}: ...}}"
    if kind.hint:
        return f"{text}: {kind.hint}"
    shown = sorted(kind.keys)
    return text + (f". It takes: {', '.join(shown)}" if len(shown) <= 12 else "")


def bare_durations(value, kind, path: str = ""):
    """Paths of durations written as a bare number (nanoseconds to the collector: ``1`` is 1 ns)."""
    if isinstance(kind, Fields) and isinstance(value, dict):
        for key, item in value.items():
            if key in kind.keys:
                yield from bare_durations(item, kind.keys[key], f"{path}.{key}" if path else str(key))
    elif kind is DURATION and isinstance(value, (int, float)) and not isinstance(value, bool) and value:
        yield path, value


# ---------------------------------------------------------------- names

_TYPE = re.compile(r"^[a-zA-Z][0-9a-zA-Z_]{0,62}$")


def id_problem(component_id) -> str | None:
    """Why the collector refuses ``type/name`` as a component (or pipeline) id, or None."""
    if not isinstance(component_id, str):
        return f"{component_id!r} is {_a(component_id)}: a component is named type or type/name"
    kind, slash, name = component_id.partition("/")
    kind = kind.strip()
    if not kind:
        return f"{component_id!r}: the type before the / is missing"
    if not _TYPE.match(kind):
        return f"{component_id!r}: a type is letters, digits and _ (no - or spaces), starting with a letter"
    if slash and (not name or any(unicodedata.category(ch)[0] in "ZCS" for ch in name)):
        return (f"{component_id!r}: the name after the / must not be empty, nor hold spaces or symbols "
                f"(letters, digits, - _ . are fine)")
    return None
