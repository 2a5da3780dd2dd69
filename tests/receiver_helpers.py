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
