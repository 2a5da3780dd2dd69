"""OTLP over gRPC: the three ``Export`` methods (traces, metrics, logs), as a collector serves them.

    >>> server, port = bind(received, "127.0.0.1", 4317)    # port 0: a free one
    >>> server.start()
    >>> server.stop(grace=None)

Each method takes the raw request bytes and hands them to :meth:`Received.accept
<kit.receiver.store.Received.accept>`, so that a body that is not OTLP is answered
``INVALID_ARGUMENT`` and one too large to decode ``RESOURCE_EXHAUSTED`` (not a crash in
gRPC's own deserializer). A message may be at most ``limits.MAX_REQUEST_BYTES``.

Slow or stalled clients keep no one out, as they cannot in Go's gRPC server under the
Collector (a goroutine per call). It is gRPC's asyncio server, on a loop of its own: a call
waiting for its message holds no thread (the thread-pool server gave each call a thread
until its message came, with no limit in time: 4 calls that sent their headers and then
nothing stopped every export). And:

* its message is due ``limits.GRPC_MESSAGE_TIMEOUT_S`` after the call starts
  (``DEADLINE_EXCEEDED`` otherwise);
* at most ``limits.GRPC_READERS`` calls read their message at once, so that at most that
  many messages are in memory while they arrive; a call still reading after
  ``limits.GRPC_SLOW_MESSAGE_S`` gives its place up when another waits (``UNAVAILABLE``: retry), and
  the calls waiting for a place cost next to nothing (no BDP probing, so gRPC does not take
  a waiting call's bytes in ahead of it). A place that comes free goes to the call that
  came last, but the calls of a connection that had one cut or timed out go after all the
  others for ``limits.GRPC_SLOW_PEER_S``;
* ``limits.GRPC_MAX_RPCS`` calls at once (then ``RESOURCE_EXHAUSTED``), a connection must
  finish its handshake within ``limits.HEADER_TIMEOUT_S``.

The SDK's exporter sends its request in one go: it is read in well under a second.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent import futures

import grpc

from kit.receiver import decode, limits

SERVICES = {"traces": "opentelemetry.proto.collector.trace.v1.TraceService",
            "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
            "logs": "opentelemetry.proto.collector.logs.v1.LogsService"}


class _Late(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


class _Readers:
    """The calls reading their message (at most GRPC_READERS); used on the server's loop only.
    A place that comes free is kept for the call that has waited the least: a well-behaved
    client's message is there at once, a slow client is cut within seconds."""

    def __init__(self):
        self.reading: dict = {}   # a call's token → (when it started reading, an Event set to cut it)
        self.waiting: list = []   # (when it came, a future) of each call waiting for a place
        self.kept = 0             # places kept for a waiting call that has not taken it yet
        self.slow_peers: dict = {}  # a connection whose call was cut → until when its calls go last

    def _full(self) -> bool:
        return len(self.reading) + self.kept >= limits.GRPC_READERS

    def _pass_on(self) -> None:
        now = time.monotonic()
        while self.waiting and not self._full():
            # a connection whose call was cut lately goes last; then the call that came last
            first = max(self.waiting, key=lambda w: (self.slow_peers.get(w[2], 0) < now, w[0]))
            self.waiting.remove(first)
            if not first[1].done():
                first[1].set_result(None)
                self.kept += 1

    def _slow(self, peer: str) -> None:
        now = time.monotonic()
        if len(self.slow_peers) > 10_000:
            self.slow_peers = {p: t for p, t in self.slow_peers.items() if t > now}
        self.slow_peers[peer] = now + limits.GRPC_SLOW_PEER_S

    async def _wait_for_a_place(self, deadline: float, peer: str) -> None:
        kept, came = False, time.monotonic()
        try:
            while not kept and self._full():
                self._cut_the_slowest()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _Late(grpc.StatusCode.UNAVAILABLE,
                                "the receiver is busy reading other requests: retry later")
                place = asyncio.get_running_loop().create_future()
                waiter = (came, place, peer)
                self.waiting.append(waiter)
                try:  # until a place is kept for it, or the oldest reader may be cut
                    await asyncio.wait_for(asyncio.shield(place), min(left, self._until_one_is_slow()))
                except asyncio.TimeoutError:
                    pass
                finally:
                    if waiter in self.waiting:
                        self.waiting.remove(waiter)
                    kept = place.done()
        finally:
            if kept:
                self.kept -= 1

    async def read(self, context, deadline: float) -> bytes:
        peer = context.peer()
        try:
            await self._wait_for_a_place(deadline, peer)
        except BaseException:
            self._pass_on()  # a place kept for it goes to the next
            raise
        token, cut = object(), asyncio.Event()
        self.reading[token] = (time.monotonic(), cut)
        reading, cutting = asyncio.ensure_future(context.read()), asyncio.ensure_future(cut.wait())
        try:
            await asyncio.wait({reading, cutting}, timeout=max(deadline - time.monotonic(), 0),
                               return_when=asyncio.FIRST_COMPLETED)
            if reading.done():
                return reading.result()
            self._slow(peer)
            if cut.is_set():
                raise _Late(grpc.StatusCode.UNAVAILABLE, f"cut to make room for other requests: its message was "
                                                         f"still arriving after {limits.GRPC_SLOW_MESSAGE_S:g} s: retry later")
            raise _Late(grpc.StatusCode.DEADLINE_EXCEEDED,
                        f"the message did not arrive within {limits.GRPC_MESSAGE_TIMEOUT_S:g} s")
        finally:
            reading.cancel()
            cutting.cancel()
            del self.reading[token]
            self._pass_on()

    def _until_one_is_slow(self) -> float:
        started = [t for t, cut in self.reading.values() if not cut.is_set()]
        return max(min(started, default=time.monotonic()) + limits.GRPC_SLOW_MESSAGE_S - time.monotonic(), 0.01)

    def _cut_the_slowest(self) -> None:
        now = time.monotonic()
        slow = [(started, cut) for started, cut in self.reading.values()
                if not cut.is_set() and now - started > limits.GRPC_SLOW_MESSAGE_S]
        if slow:
            min(slow, key=lambda s: s[0])[1].set()


def handlers(received, readers: _Readers, pool, gate=None) -> list:
    """The three Export methods, taking the raw bytes so that a bad body is INVALID_ARGUMENT
    (stream-unary on the server, so that the call's message is read when and as long as it
    may be: a unary client sends exactly this); ``gate("grpc", path, metadata)`` may refuse a
    call first (UNAUTHENTICATED), before its message is read."""
    def export_for(signal, path):
        kind = decode.SIGNALS[signal][2]

        async def refuse(context, code, message):
            received.note("grpc", path, code.name, message, signal=kind)
            await context.abort(code, message)

        async def export(request_iterator, context):
            why = _gate(gate, path, context)
            if why is not None:
                return await refuse(context, grpc.StatusCode.UNAUTHENTICATED, why)
            deadline = time.monotonic() + limits.GRPC_MESSAGE_TIMEOUT_S
            try:
                body = await readers.read(context, deadline)
            except _Late as late:
                return await refuse(context, late.code, late.message)
            except (grpc.RpcError, grpc.aio.AbortError):
                return b""  # the call ended already (the client left, or its message was too large)
            if body is grpc.aio.EOF:
                return await refuse(context, grpc.StatusCode.INVALID_ARGUMENT, "the call carried no request message")
            try:
                reply = await asyncio.get_running_loop().run_in_executor(
                    pool, received.accept, signal, body, "application/x-protobuf", "grpc", path)
            except decode.Invalid as err:
                return await refuse(context, grpc.StatusCode.INVALID_ARGUMENT, str(err))
            except decode.TooLarge as err:
                return await refuse(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(err))
            return reply.SerializeToString()
        return export

    return [grpc.method_handlers_generic_handler(service, {
        "Export": grpc.stream_unary_rpc_method_handler(export_for(signal, f"{service.rsplit('.', 1)[1]}/Export"))})
        for signal, service in SERVICES.items()]


def _gate(gate, path, context):
    if gate is None:
        return None
    try:
        return gate("grpc", path, {k: v for k, v in context.invocation_metadata() if isinstance(v, str)})
    except Exception as err:  # noqa: BLE001  a gate that fails refuses
        return f"the gate failed: {type(err).__name__}"


class GrpcServer:
    """gRPC's asyncio server on a loop in a thread of its own (see the module)."""

    def __init__(self, received, host: str, port: int, gate=None):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="otlp-grpc", daemon=True)
        self._thread.start()
        self._pool = futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="otlp-grpc-decode")
        try:
            self._server, self.port = self._run(self._bind(received, host, port, gate))
        except BaseException:
            self._close_loop()
            raise

    def _run(self, coroutine, timeout=30):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _bind(self, received, host, port, gate=None):
        readers = _Readers()
        server = grpc.aio.server(
            handlers=handlers(received, readers, self._pool, gate),
            maximum_concurrent_rpcs=limits.GRPC_MAX_RPCS,
            options=[("grpc.max_receive_message_length", limits.MAX_REQUEST_BYTES),
                     ("grpc.http2.bdp_probe", 0),  # no bytes taken in for a call that does not read yet
                     ("grpc.server_handshake_timeout_ms", int(limits.HEADER_TIMEOUT_S * 1000))])
        try:
            bound = server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:
            bound = 0
        if not bound:
            raise OSError(f"cannot listen on {host}:{port} for OTLP/gRPC (is a collector running?)")
        return server, bound

    def start(self) -> None:
        self._run(self._server.start())

    def stop(self, grace=None) -> None:
        try:
            self._run(self._server.stop(grace))
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._pool.shutdown(wait=False)


def bind(received, host: str, port: int, gate=None) -> tuple[GrpcServer, int]:
    """A gRPC server for ``received`` bound to ``host:port`` (not started yet), and its port;
    ``gate``: see :func:`handlers`."""
    server = GrpcServer(received, host, port, gate)
    return server, server.port
