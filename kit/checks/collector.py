"""Self-check for a collector config a learner mends."""

from __future__ import annotations

from kit.checks._result import Result, ok, wrong

PORT_HINTS = {
    "14250": "Jaeger v1's own gRPC port, gone with Jaeger v1 and the collector's jaeger exporter; Jaeger v2 "
             "takes OTLP on 4317",
    "4318": "OTLP over HTTP; the otlp exporter speaks gRPC (4317), otlphttp speaks HTTP (http://…:4318)",
    "14268": "Jaeger v1's HTTP (Thrift) port, gone with Jaeger v1; Jaeger v2 takes OTLP on 4317",
    "16686": "Jaeger's web UI, not where spans go in; Jaeger v2 takes OTLP on 4317",
}


def check_collector_config(text: str, *, otlp_to: str | None = None, debug: bool = False,
                           prometheus: str | None = None, processors: bool = False, reachable: bool = False) -> Result:
    """The config (YAML text) passes :func:`kit.collector_config.check_config` with no
    error, and its traces pipeline reaches the destinations the task asks for: an
    ``otlp`` (gRPC) exporter to ``otlp_to`` (e.g. ``"jaeger:4317"``) and, if ``debug``,
    the console (``debug`` exporter). ``prometheus``: the metrics pipeline exports to a
    ``prometheus`` exporter listening there (e.g. ``"0.0.0.0:8889"``). ``processors``:
    every pipeline runs ``memory_limiter`` first and ``batch`` last. ``reachable``: the OTLP
    receiver takes gRPC and HTTP from other containers (not on localhost)."""
    from kit.collector_config import check_config, load

    if not isinstance(text, str):
        return wrong(f"Give the config as YAML text (a str between triple quotes), not a {type(text).__name__}.")
    if not text.strip():
        return wrong("The config is empty: write the YAML between the triple quotes.")
    report = check_config(text)
    if not report.ok:
        first, more = report.errors()[0], len(report.errors()) - 1
        return wrong(f"{first.where}: {first.message}" + (f" (and {more} more error(s))" if more else ""))
    config = load(text)
    for problem in (_reachable(config, report) if reachable else []) + \
            (_processors(config) if processors else []) + (_prometheus(config, prometheus) if prometheus else []):
        return wrong(problem)
    exporters = config.get("exporters") or {}
    pipelines = (config.get("service") or {}).get("pipelines") or {}
    used = [e for name, p in pipelines.items() if name.split("/")[0] == "traces" for e in (p or {}).get("exporters") or []]
    if otlp_to:
        host, port = otlp_to.rsplit(":", 1)
        to_host = {name: settings or {} for name, settings in exporters.items()
                   if _host_port(str((settings or {}).get("endpoint", "")))[0] == host}
        if not to_host:
            return wrong(f"No exporter sends to {host} any more: the task keeps that destination. Define an otlp "
                         f"exporter (e.g. otlp/{host}) with endpoint: {otlp_to} and list it in "
                         f"service.pipelines.traces.exporters.")
        name = next((n for n in to_host if n in used), next(iter(to_host)))  # the one a pipeline uses, if any
        settings = to_host[name]
        endpoint = str(settings.get("endpoint"))
        given = _host_port(endpoint)[1]
        grpc = name.split("/")[0] in ("otlp", "otlp_grpc")  # otlp_grpc: its name since v0.144
        if grpc and given != port:
            return wrong(f"exporters.{name} sends to {endpoint}: {given} is "
                         f"{PORT_HINTS.get(given, 'not where the task sends: ' + otlp_to)}.")
        if not grpc:
            return wrong(f"exporters.{name} is a {name.split('/')[0]} exporter: use an otlp exporter (gRPC) with "
                         f"endpoint: {otlp_to}.")
        if name not in used:
            return wrong(f"exporters.{name} is defined but not in service.pipelines.traces.exporters: a component no "
                         f"pipeline uses does nothing.")
        if (settings.get("tls") or {}).get("insecure") is not True:
            return wrong(f"exporters.{name} has no `tls: insecure: true` (the boolean true): the otlp exporter uses "
                         f"TLS by default, and the Jaeger in the stack speaks plain gRPC, so every export would fail.")
        if "jaeger" in host:
            other = [(p, e) for p, pipeline in pipelines.items() if p.split("/")[0] != "traces"
                     for e in (pipeline or {}).get("exporters") or [] if e in to_host]
            if other:
                pipeline, exporter = other[0]
                return wrong(f"service.pipelines.{pipeline} exports to {exporter}, but Jaeger stores traces only: it "
                             f"refuses {pipeline.split('/')[0]} (Unimplemented), so every export of them fails and is "
                             f"logged as an error. Send Jaeger traces only (metrics belong to a metrics back end, such as the "
                             f"prometheus exporter).")
    if debug and not any(e.split("/")[0] == "debug" for e in used):
        return wrong("The traces pipeline has no console destination any more: keep one, with the debug exporter "
                     "(it replaced logging), in service.pipelines.traces.exporters.")
    warnings = len(report)
    return ok("The config has no errors" + (f" ({warnings} warning{'s' * (warnings > 1)})" if warnings else "")
              + (f", and its traces go to {otlp_to}" if otlp_to else "") + (" and the console" if debug else "")
              + (f"; its metrics wait for Prometheus on {prometheus}" if prometheus else "")
              + ("; memory_limiter first and batch last everywhere" if processors else "") + ".")


def _host_port(endpoint: str) -> tuple[str, str]:
    """``("jaeger", "4317")`` from ``jaeger:4317``, ``http://jaeger:4317`` or ``dns:///jaeger:4317``."""
    rest = endpoint.split("://", 1)[-1].lstrip("/")
    rest = rest.split("/", 1)[0]
    host, _, port = rest.rpartition(":")
    return (host, port) if host else (rest, "")


def _reachable(config, report) -> list[str]:
    pipelines = (config.get("service") or {}).get("pipelines") or {}
    used = {r for p in pipelines.values() for r in (p or {}).get("receivers") or [] if str(r).split("/")[0] == "otlp"}
    if not used:
        return ["No pipeline takes OTLP: define an otlp receiver (protocols grpc and http) and list it in each "
                "pipeline's receivers."]
    protocols = set()
    for name in used:
        protocols |= set((((config.get("receivers") or {}).get(name) or {}).get("protocols") or {}))
    missing = [p for p in ("grpc", "http") if p not in protocols]
    if missing:
        return [f"receivers.{sorted(used)[0]}.protocols has no {missing[0]}: apps send OTLP over gRPC (4317) and "
                f"HTTP (4318); take both."]
    local = [f for f in report if f.severity == "warning" and f.where.startswith("receivers.") and "listens on" in f.message]
    return [f"{local[0].where}: {local[0].message}"] if local else []


def _processors(config) -> list[str]:
    for name, pipeline in ((config.get("service") or {}).get("pipelines") or {}).items():
        used = list((pipeline or {}).get("processors") or [])
        kinds = [p.split("/")[0] for p in used]
        if "memory_limiter" not in kinds or "batch" not in kinds:
            lacking = "memory_limiter" if "memory_limiter" not in kinds else "batch"
            return [f"service.pipelines.{name} has no {lacking} processor: every pipeline runs memory_limiter "
                    f"first and batch last."]
        if kinds[0] != "memory_limiter" or kinds[-1] != "batch":
            return [f"service.pipelines.{name} runs {used}: memory_limiter must come first (it refuses data before "
                    f"anything else spends memory on it) and batch last."]
    return []


def _prometheus(config, endpoint) -> list[str]:
    pipelines = (config.get("service") or {}).get("pipelines") or {}
    exporters = config.get("exporters") or {}
    for name, pipeline in pipelines.items():
        if not name.startswith("metrics") and any(e.split("/")[0] == "prometheus"
                                                   for e in (pipeline or {}).get("exporters") or []):
            return [f"service.pipelines.{name} exports to prometheus, which takes metrics only: the collector "
                    f"would not start."]
    used = [e for e in ((pipelines.get("metrics") or {}).get("exporters") or []) if e.split("/")[0] == "prometheus"]
    if not used:
        return ["The metrics pipeline does not export to a prometheus exporter: Prometheus has nothing to scrape."]
    given = str((exporters.get(used[0]) or {}).get("endpoint", ""))
    if _listen_address(given) != _listen_address(endpoint):
        return [f"exporters.{used[0]} listens on {given or 'its default'}, expected endpoint: {endpoint} "
                f"(Prometheus in another container scrapes it there)."]
    return []


def _listen_address(endpoint: str) -> tuple[str, str]:
    """("*", "8889") for 0.0.0.0:8889, :8889 and [::]:8889 alike: every interface."""
    host, _, port = endpoint.rpartition(":")
    return ("*" if host in ("", "0.0.0.0", "::", "[::]") else host), port
