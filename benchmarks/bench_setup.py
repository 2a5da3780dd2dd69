"""Cold set-up cost of kit.telemetry, as a ratio to the same set-up written by hand.

Each contender runs in a fresh Python process (cold imports included), several
times, alternating, and the medians are compared. The baseline builds what a
learner would write without the kit: a Resource, the three SDK providers with
in-memory exporters, and the logging handler. Ratios, not seconds: this machine
is shared and noisy.

    python benchmarks/bench_setup.py [runs]
"""

import statistics
import subprocess
import sys
import time

BY_HAND = """
import logging
from opentelemetry import trace, metrics, _logs
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.instrumentation.logging.handler import LoggingHandler
import pandas
r = Resource.create({"service.name": "bench"})
tp = TracerProvider(resource=r); tp.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
trace.set_tracer_provider(tp)
metrics.set_meter_provider(MeterProvider(resource=r, metric_readers=[InMemoryMetricReader()]))
lp = LoggerProvider(resource=r); lp.add_log_record_processor(SimpleLogRecordProcessor(InMemoryLogRecordExporter()))
_logs.set_logger_provider(lp)
logging.getLogger().addHandler(LoggingHandler(logger_provider=lp))
with trace.get_tracer("b").start_as_current_span("first"): pass
"""

WITH_KIT = """
from kit.telemetry import setup
tele = setup("bench")
with tele.tracer.start_as_current_span("first"): pass
"""


def run(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main(runs: int = 7) -> None:
    run(BY_HAND), run(WITH_KIT)  # warm the OS file cache for both
    hand, kit = [], []
    for _ in range(runs):
        hand.append(run(BY_HAND))
        kit.append(run(WITH_KIT))
    h, k = statistics.median(hand), statistics.median(kit)
    print(f"cold set-up, process start to first span (median of {runs}):")
    print(f"  by hand (baseline)  {h * 1000:7.0f} ms")
    print(f"  kit.telemetry       {k * 1000:7.0f} ms")
    print(f"  ratio kit / by hand {k / h:7.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
