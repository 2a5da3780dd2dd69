"""OTLP over gRPC: the three ``Export`` methods (traces, metrics, logs), as a collector serves them.

    >>> server, port = bind(received, "127.0.0.1", 4317)    # port 0: a free one
    >>> server.start()
    >>> server.stop(grace=None)

Each method takes the raw request bytes and hands them to :meth:`Received.accept
<kit.receiver.store.Received.accept>`, so that a body that is not OTLP is answered
``INVALID_ARGUMENT`` and one too large to decode ``RESOURCE_EXHAUSTED`` (not a crash in
gRPC's own deserializer). At most ``limits.GRPC_MAX_RPCS`` calls run at once, and a message
may be at most ``limits.MAX_REQUEST_BYTES``.
"""

from __future__ import annotations

from concurrent import futures

import grpc

from kit.receiver import decode, limits

SERVICES = {"traces": "opentelemetry.proto.collector.trace.v1.TraceService",
            "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
            "logs": "opentelemetry.proto.collector.logs.v1.LogsService"}


def handlers(received, gate=None) -> list:
    """The three Export methods, taking the raw bytes so that a bad body is INVALID_ARGUMENT;
    ``gate("grpc", path, metadata)`` may refuse a call first (UNAUTHENTICATED)."""
    def export_for(signal, path):
        def export(body, context):
            why = _gate(gate, path, context)
            if why is not None:
                received.note("grpc", path, "UNAUTHENTICATED", why, signal=decode.SIGNALS[signal][2])
                context.abort(grpc.StatusCode.UNAUTHENTICATED, why)
            try:
                reply = received.accept(signal, body, "application/x-protobuf", "grpc", path)
            except decode.Invalid as err:
                received.note("grpc", path, "INVALID_ARGUMENT", str(err), signal=decode.SIGNALS[signal][2])
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(err))
            except decode.TooLarge as err:
                received.note("grpc", path, "RESOURCE_EXHAUSTED", str(err), signal=decode.SIGNALS[signal][2])
                context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(err))
            return reply.SerializeToString()
        return export

    return [grpc.method_handlers_generic_handler(service, {
        "Export": grpc.unary_unary_rpc_method_handler(export_for(signal, f"{service.rsplit('.', 1)[1]}/Export"))})
        for signal, service in SERVICES.items()]


def _gate(gate, path, context):
    if gate is None:
        return None
    try:
        return gate("grpc", path, {k: v for k, v in context.invocation_metadata() if isinstance(v, str)})
    except Exception as err:  # noqa: BLE001  a gate that fails refuses
        return f"the gate failed: {type(err).__name__}"


def bind(received, host: str, port: int, gate=None) -> tuple[grpc.Server, int]:
    """A gRPC server for ``received`` bound to ``host:port`` (not started yet), and its port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=handlers(received, gate),
                         maximum_concurrent_rpcs=limits.GRPC_MAX_RPCS,
                         options=[("grpc.max_receive_message_length", limits.MAX_REQUEST_BYTES)])
    bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise OSError(f"cannot listen on {host}:{port} for OTLP/gRPC (is a collector running?)")
    return server, bound
