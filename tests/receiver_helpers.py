"""What the receiver tests share: the SDK's own pipelines pointed at a receiver, raw HTTP
requests, and the process's peak memory while something runs."""

from __future__ import annotations

import socket
import threading
import time

import psutil


class PeakRSS:
    """The process's resident memory sampled every few ms while the block runs:
    ``.growth_mb`` is the peak over the starting value."""

    def __enter__(self):
        self._proc = psutil.Process()
        self.start = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 10.0,
                half_close: bool = False) -> tuple[int, bytes]:
    """Send bytes as they are (no client fixes them up), then (``half_close``) say that
    nothing more comes; the reply's status code and body (0 and b"" when the server closed
    without answering)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(head + body)
        except (BrokenPipeError, ConnectionResetError):  # refused before the end: its reply may be there
            pass
        if half_close:
            s.shutdown(socket.SHUT_WR)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head_part, _, rest = data.partition(b"\r\n\r\n")
                length = [int(line.split(b":", 1)[1]) for line in head_part.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")]
                if length and len(rest) >= length[0]:
                    break
    if not data.startswith(b"HTTP/1."):
        return 0, b""
    return int(data.split(b" ", 2)[1]), data.partition(b"\r\n\r\n")[2]


def post_head(path: str, headers: dict) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def send_spans(exporter, n: int = 50, attributes: dict | None = None, service: str = "sdk") -> None:
    """``n`` spans through the SDK's BatchSpanProcessor into ``exporter``, flushed."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("receiver-test")
    for i in range(n):
        with tracer.start_as_current_span(f"span {i}", attributes={"i": i, **(attributes or {})}) as span:
            span.add_event("halfway", {"at": i})
    provider.shutdown()


def send_metrics(exporter) -> None:
    """A counter and a histogram through the SDK's periodic reader into ``exporter``."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "sdk"}))
    meter = provider.get_meter("receiver-test")
    meter.create_counter("messages", unit="{message}").add(3, {"topic": "t"})
    hist = meter.create_histogram("latency", unit="ms")
    for v in (0.5, 1, 2, 4, 8, 100, 250):
        hist.record(v)
    provider.shutdown()


def send_logs(exporter, n: int = 3) -> None:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    provider = LoggerProvider(resource=Resource.create({"service.name": "sdk"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("receiver-test")
    from opentelemetry._logs import LogRecord, SeverityNumber
    for i in range(n):
        logger.emit(LogRecord(body=f"line {i}", severity_number=SeverityNumber.WARN, severity_text="WARN",
                              attributes={"i": i}))
    provider.shutdown()


class SlowClients:
    """Hostile HTTP clients, in a process of their own (so that the memory measured here is the
    receiver's), each reconnecting as soon as the server drops it: ``drippers`` send a
    request's head one byte per ``interval_s``; ``slow_bodies`` declare a body of ``declared``
    bytes and send ``block`` bytes per ``interval_s``; ``idlers`` connect and send nothing;
    ``stallers`` send all of a ``declared`` body but its last 1000 bytes at once, then one
    byte per ``interval_s``. After the block, ``.connections[kind]`` counts the connections
    each kind made and ``.replies[kind]`` the status lines it got."""

    def __init__(self, port: int, drippers=0, slow_bodies=0, idlers=0, stallers=0, interval_s=1.0,
                 declared=16 * 2**20, block=1024):
        self.args = dict(port=port, plan={"dripper": drippers, "slow body": slow_bodies, "idler": idlers,
                                          "staller": stallers}, interval_s=interval_s, declared=declared, block=block)
        self.connections, self.replies = {}, {}

    def __enter__(self):
        import json
        import subprocess
        import sys
        from pathlib import Path
        self.proc = subprocess.Popen([sys.executable, "-c", "import receiver_helpers as h; h.slow_clients_main()",
                                      json.dumps(self.args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, cwd=Path(__file__).parent)
        return self

    def all_connected(self, timeout_s=30.0) -> bool:
        """Wait until every client has connected once (the process says so)."""
        import select
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        return bool(ready) and self.proc.stdout.readline().strip() == "connected"

    def __exit__(self, *exc):
        import json
        out, _ = self.proc.communicate("", timeout=60)  # stdin closed: the clients stop
        counts = json.loads(out.strip().splitlines()[-1])
        self.connections, self.replies = counts["connections"], counts["replies"]


def slow_clients_main():
    """The process of :class:`SlowClients`: runs until its stdin closes, then prints the counts."""
    import asyncio
    import itertools
    import json
    import sys
    args = json.loads(sys.argv[1])
    port, interval, declared, block = args["port"], args["interval_s"], args["declared"], args["block"]
    connections = {kind: 0 for kind in args["plan"]}
    replies = {kind: {} for kind in args["plan"]}
    said = []
    head = (f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
            f"Content-Length: {declared}\r\n\r\n").encode()

    async def client(kind, stop):
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            connections[kind] += 1
            if not said and all(connections[k] >= n for k, n in args["plan"].items()):
                said.append(True)
                print("connected", flush=True)
            pieces = {"dripper": lambda: (bytes([b]) for b in head),
                      "slow body": lambda: [head] + [b"\x0a" * block] * (declared // block),
                      "staller": lambda: [head + bytes(declared - 1000)] + [b"\x00"] * 1000,
                      "idler": lambda: itertools.repeat(b"")}[kind]()
            try:
                for piece in pieces:
                    if piece:
                        writer.write(piece)
                        await writer.drain()
                    try:  # the client's pace, and whether the server has answered or closed
                        data = await asyncio.wait_for(reader.read(64), timeout=interval)
                    except asyncio.TimeoutError:
                        continue
                    status = data[:12].decode("latin-1") or "closed"
                    replies[kind][status] = replies[kind].get(status, 0) + 1
                    break
            except (ConnectionError, OSError):
                replies[kind]["reset"] = replies[kind].get("reset", 0) + 1
            finally:
                writer.close()

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.read() or stop.set())
        tasks = [asyncio.ensure_future(client(kind, stop)) for kind, n in args["plan"].items() for _ in range(n)]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    print(json.dumps({"connections": connections, "replies": replies}), flush=True)


class GrpcStallers:
    """``n`` gRPC calls to ``method`` that send their headers and then nothing (a unary call's
    message never comes), each started again as soon as the server ends it, in a process of
    their own. After the block, ``.calls`` counts the calls made and ``.codes`` how they ended."""

    def __init__(self, port: int, n: int, method="/opentelemetry.proto.collector.trace.v1.TraceService/Export"):
        self.args = {"port": port, "n": n, "method": method}
        self.calls, self.codes = 0, {}

    def __enter__(self):
        import json
        import subprocess
        import sys
        from pathlib import Path
        self.proc = subprocess.Popen([sys.executable, "-c", "import receiver_helpers as h; h.grpc_stallers_main()",
                                      json.dumps(self.args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, cwd=Path(__file__).parent)
        return self

    def all_started(self, timeout_s=30.0) -> bool:
        import select
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        return bool(ready) and self.proc.stdout.readline().strip() == "started"

    def __exit__(self, *exc):
        import json
        out, _ = self.proc.communicate("", timeout=60)
        counts = json.loads(out.strip().splitlines()[-1])
        self.calls, self.codes = counts["calls"], counts["codes"]


def grpc_stallers_main():
    import asyncio
    import json
    import sys

    import grpc
    args = json.loads(sys.argv[1])
    counts = {"calls": 0, "codes": {}}

    async def stall(channel, stop):
        call = channel.stream_unary(args["method"], request_serializer=lambda b: b, response_deserializer=lambda b: b)

        async def nothing():
            await stop.wait()
            return
            yield b""
        while not stop.is_set():
            counts["calls"] += 1
            if counts["calls"] == args["n"]:
                print("started", flush=True)
            try:
                await call(nothing())
                code = "OK"
            except grpc.RpcError as err:
                code = err.code().name
            counts["codes"][code] = counts["codes"].get(code, 0) + 1

    async def main():
        stop = asyncio.Event()
        asyncio.get_running_loop().add_reader(sys.stdin.fileno(), lambda: sys.stdin.read() or stop.set())
        channels = [grpc.aio.insecure_channel(f"127.0.0.1:{args['port']}") for _ in range(args["n"])]
        tasks = [asyncio.ensure_future(stall(c, stop)) for c in channels]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels:
            await channel.close()

    asyncio.run(main())
    print(json.dumps(counts), flush=True)
