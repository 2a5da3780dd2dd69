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


def check_collector_config(text: str, *, otlp_to: str | None = None, debug: bool = False) -> Result:
    """The config (YAML text) passes :func:`kit.collector_config.check_config` with no
    error, and its traces pipeline still reaches the destinations the task keeps: an
    ``otlp`` (gRPC) exporter to ``otlp_to`` (e.g. ``"jaeger:4317"``) and, if ``debug``,
    the console (``debug`` exporter)."""
    from kit.collector_config import check_config, load

    report = check_config(text)
    if not report.ok:
        first, more = report.errors()[0], len(report.errors()) - 1
        return wrong(f"{first.where}: {first.message}" + (f" (and {more} more error(s))" if more else ""))
    config = load(text)
    exporters = config.get("exporters") or {}
    traces = ((config.get("service") or {}).get("pipelines") or {}).get("traces") or {}
    used = list(traces.get("exporters") or [])
    if otlp_to:
        host = otlp_to.rsplit(":", 1)[0]
        to_host = {name: s or {} for name, s in exporters.items()
                   if host in str((s or {}).get("endpoint", ""))}
        if not to_host:
            return wrong(f"No exporter sends to {host} any more: the task keeps that destination. Define an otlp "
                         f"exporter (e.g. otlp/{host}) with endpoint: {otlp_to} and list it in "
                         f"service.pipelines.traces.exporters.")
        name, settings = next(iter(to_host.items()))
        endpoint = str(settings.get("endpoint"))
        port = endpoint.rsplit(":", 1)[-1]
        if name.split("/")[0] == "otlp" and not endpoint.endswith(otlp_to):
            return wrong(f"exporters.{name} sends to {endpoint}: {port} is "
                         f"{PORT_HINTS.get(port, 'not where the task sends: ' + otlp_to)}.")
        if name.split("/")[0] != "otlp":
            return wrong(f"exporters.{name} is a {name.split('/')[0]} exporter: use an otlp exporter (gRPC) with "
                         f"endpoint: {otlp_to}.")
        if name not in used:
            return wrong(f"exporters.{name} is defined but not in service.pipelines.traces.exporters: a component no "
                         f"pipeline uses does nothing.")
        if not (settings.get("tls") or {}).get("insecure"):
            return wrong(f"exporters.{name} has no `tls: insecure: true`: the otlp exporter uses TLS by default, and "
                         f"the Jaeger in the stack speaks plain gRPC, so every export would fail.")
    if debug and not any(e.split("/")[0] == "debug" for e in used):
        return wrong("The traces pipeline has no console destination any more: keep one, with the debug exporter "
                     "(it replaced logging), in service.pipelines.traces.exporters.")
    warnings = len(report)
    return ok("The config has no errors" + (f" ({warnings} warning{'s' * (warnings > 1)})" if warnings else "")
              + (f", and its traces go to {otlp_to}" if otlp_to else "") + (" and the console" if debug else "")
              + ".")
