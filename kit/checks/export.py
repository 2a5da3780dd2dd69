"""Self-check for OTLP exporters built by hand: did the spans reach the receiver, and how?"""

from __future__ import annotations

import time
from urllib.parse import urlparse

from kit import attempts
from kit.checks._inspect import endpoint_of, exporter_of, queued, schedule_delay_s, span_processors
from kit.checks._result import Result, ok, wrong
from kit.checks.exercises import judged, trace_verdict

TRANSPORT_NAMES = {"grpc": "gRPC", "http": "HTTP/protobuf"}


@judged
def check_otlp_export(receiver, *, grpc_provider, http_provider, grpc_span: str = "sent over gRPC",
                      http_span: str = "sent over HTTP", wait_s: float = 0.3) -> Result:
    """The span ``grpc_span`` reached ``receiver`` in this cell over OTLP/gRPC from
    ``grpc_provider``, and ``http_span`` over OTLP/HTTP (protobuf, path ``/v1/traces``)
    from ``http_provider``. When one did not, the check reads the provider you built to
    say why (wrong exporter, wrong port or path, still waiting in the batch queue).
    ``force_flush()`` returns once the receiver has the spans, so the check waits only
    a moment."""
    wanted = {grpc_span: ("grpc", grpc_provider), http_span: ("http", http_provider)}
    deadline = time.monotonic() + wait_s
    while True:
        arrived = _arrivals(receiver)
        if all(name in arrived for name in wanted) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    for name, (transport, provider) in wanted.items():
        label = f"{'grpc' if transport == 'grpc' else 'http'}_provider"
        kinds = _otlp_kinds(provider)
        if name in arrived and transport not in arrived[name]:
            other = TRANSPORT_NAMES[sorted(arrived[name])[0]]
            if kinds and transport not in kinds:
                return wrong(f"{name!r} arrived over {other}, not {TRANSPORT_NAMES[transport]}: {label}'s exporter is "
                             f"the {other} one. {_import_hint(transport)[0].upper() + _import_hint(transport)[1:]}",
                             "export-transport")
            return wrong(f"{name!r} arrived over {other}, not {TRANSPORT_NAMES[transport]}: make it with the "
                         f"tracer of {label}, whose exporter is the {TRANSPORT_NAMES[transport]} one.",
                         "export-transport")
        setup = _setup_problem(provider, transport, label)
        if setup:
            return wrong(setup, "export-setup")
        if name not in arrived:
            return wrong(f"{name!r} did not reach the receiver in this cell. " +
                         _why(receiver, name, transport, provider), "export-not-arrived")
    for name, (transport, provider) in wanted.items():
        late = _sent_by_timer(receiver, name, provider)
        if late is not None:
            label = f"{'grpc' if transport == 'grpc' else 'http'}_provider"
            return wrong(f"{name!r} reached the receiver {late:.1f} s after it ended: the BatchSpanProcessor's timer "
                         f"sent it, not a flush. Waiting works in a notebook, but a program that exits before the "
                         f"timer loses its spans: call {label}.force_flush() after the span ends (it returns once "
                         f"they are sent).", "export-timer")
    whole = trace_verdict(received=attempts.received(receiver, "spans"))
    if whole is not None:
        return whole
    return ok(f"{grpc_span!r} reached the receiver over gRPC ({receiver.grpc_endpoint}) and {http_span!r} "
              f"over HTTP/protobuf ({receiver.http_endpoint}/v1/traces).")


def _arrivals(receiver) -> dict:
    """span name -> how it came, for the spans this cell made (started after it began)."""
    out: dict = {}
    for name, transport in zip(*(attempts.received(receiver, "spans")[c] for c in ("name", "transport"))):
        out.setdefault(name, set()).add(transport)
    return out


def _sent_by_timer(receiver, name: str, provider) -> float | None:
    """How long after it ended span ``name`` reached the receiver, when that is long enough that a
    batch processor's timer sent it (four fifths of its schedule delay, at least 2 s: the timer
    runs from when the processor was made, just before the span; a flush takes milliseconds, even
    one called a moment after the span); None otherwise."""
    import pandas as pd

    delays = [d for d in map(schedule_delay_s, span_processors(provider)) if d is not None]
    if not delays:
        return None
    threshold = max(2.0, 0.8 * max(delays))
    spans = attempts.received(receiver, "spans")
    rows = spans[spans.name == name]
    requests = attempts.received(receiver, "requests")
    times = [t for t, names in zip(requests.time, requests.names) if isinstance(names, list) and name in names]
    if rows.empty or not times:
        return None
    ended = (rows.start + pd.to_timedelta(rows.duration_ms, unit="ms")).min()
    late = (min(times) - ended).total_seconds()
    return late if late >= threshold else None


def _otlp_kinds(provider) -> list[str]:
    exporters = [exporter_of(p) for p in span_processors(provider)]
    return ["grpc" if ".grpc." in type(e).__module__ else "http" for e in exporters
            if e is not None and ".otlp." in type(e).__module__]


def _setup_problem(provider, transport: str, label: str) -> str | None:
    """What the task asks of the provider itself: one OTLP exporter, of this transport, in a batch processor."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    otlp = [p for p in span_processors(provider) if exporter_of(p) is not None
            and ".otlp." in type(exporter_of(p)).__module__]
    if len(otlp) > 1:
        return (f"{label} has {len(otlp)} OTLP exporters: give each provider one, of its own transport, so you can "
                f"tell which way each span went.")
    if otlp and isinstance(otlp[0], SimpleSpanProcessor):
        return (f"{label} sends through a SimpleSpanProcessor: it works, but it exports in your thread at the end "
                f"of every span. The task (and production) uses a BatchSpanProcessor.")
    return None


def _import_hint(transport: str) -> str:
    module = "grpc" if transport == "grpc" else "http"
    return f"use OTLPSpanExporter from opentelemetry.exporter.otlp.proto.{module}.trace_exporter."


def _why(receiver, name: str, transport: str, provider) -> str:
    processors = span_processors(provider)
    if not processors:
        return "Its provider has no span processor: provider.add_span_processor(BatchSpanProcessor(exporter))."
    exporters = [exporter_of(p) for p in processors]
    otlp = [e for e in exporters if e is not None and ".otlp." in type(e).__module__]
    if not otlp:
        return (f"Its provider exports with {', '.join(type(e).__name__ for e in exporters)}, not with "
                f"OTLPSpanExporter: {_import_hint(transport)}")
    exporter = otlp[0]
    kind = "grpc" if ".grpc." in type(exporter).__module__ else "http"
    if kind != transport:
        return f"Its exporter is the {TRANSPORT_NAMES[kind]} one: {_import_hint(transport)}"
    endpoint = endpoint_of(exporter) or ""
    port = _port(endpoint, kind)
    if kind == "grpc" and port == receiver.grpc_port and not getattr(exporter, "_insecure", True):
        return (f"The gRPC exporter tries TLS ({endpoint} has no http:// and insecure is not set), and the "
                f"receiver, like a collector without certificates, speaks plain gRPC: pass insecure=True (or an "
                f"http:// endpoint, as receiver.grpc_endpoint is).")
    if kind == "grpc" and port == receiver.http_port:
        return (f"The gRPC exporter sends to {endpoint}, the receiver's HTTP port: gRPC goes to "
                f"receiver.grpc_endpoint (4317 on a collector), HTTP to 4318.")
    if kind == "http" and port == receiver.grpc_port:
        return (f"The HTTP exporter sends to {endpoint}, the receiver's gRPC port: use "
                f"receiver.http_endpoint + '/v1/traces' (4318 on a collector).")
    if port not in (receiver.grpc_port, receiver.http_port):
        return f"The exporter sends to {endpoint or 'its default, localhost:4317'}, which is not this receiver."
    if kind == "http" and urlparse(endpoint).path != "/v1/traces":
        path = urlparse(endpoint).path or "/"
        return (f"The HTTP exporter posts to {path!r}, and the receiver answered 404: an endpoint given in "
                f"code is used as it is, so write the whole URL, receiver.http_endpoint + '/v1/traces'.")
    waiting = sum(queued(p) for p in processors)
    if waiting:
        label = f"{'grpc' if transport == 'grpc' else 'http'}_provider"
        when = (f"call {label}.force_flush() after the span ends, just before the check (a flush before it sends "
                f"nothing)" if attempts.cell_has(f"{label}.force_flush()") else
                f"call {label}.force_flush() before the check")
        return f"{waiting} span(s) are still waiting in its BatchSpanProcessor, which sends every 5 s: {when}."
    return (f"Did you make the span {name!r} (exactly that name) with this provider's tracer, and end it? "
            f"provider.get_tracer(...).start_as_current_span({name!r}).")


def _port(endpoint: str, kind: str) -> int | None:
    try:
        return urlparse(endpoint if "://" in endpoint else f"//{endpoint}").port
    except ValueError:
        return None
