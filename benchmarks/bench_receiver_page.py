"""The receiver's page over a full store, measured in one run (ratios; the machine is shared and noisy).

The receiver runs as ``python -m kit receiver`` in a process of its own, holding 10,000
small traces (sensor → processor → alerter, 3 spans each: 30,000 spans). Then one new
trace at a time is POSTed to OTLP/HTTP (protobuf, one connection kept alive, one POST
every 20 ms, as a few exporters would):

1. with no page open (the baseline), then with the page open in headless Chromium,
   following new telemetry as it does: the POSTs' median and largest latency, and their
   ratio to the baseline (the goal: median <= 50 ms, largest <= 500 ms);
2. how long the open page takes to list a trace sent while it is open;
3. what the page costs itself: ``GET /`` and a search over the full store, opening a trace;
4. the receiver's peak memory (resident set size) over the run.

    python benchmarks/bench_receiver_page.py [traces]
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SERVICES = ("sensor", "processor", "alerter")


def traces_request(first: int, n: int, t0_ns: int, name: str = "read temperature") -> bytes:
    """``n`` traces numbered from ``first``: sensor → processor → alerter, a span each."""
    by_service = {s: [] for s in SERVICES}
    for k in range(first, first + n):
        trace_id = (k + 1).to_bytes(16, "big")
        start = t0_ns + k * 1_000_000
        parent = b""
        for i, service in enumerate(SERVICES):
            span_id = ((k + 1) * 4 + i).to_bytes(8, "big")
            by_service[service].append(Span(
                trace_id=trace_id, span_id=span_id, parent_span_id=parent, name=name if i == 0 else f"process {k}",
                kind=Span.SPAN_KIND_PRODUCER if i == 0 else Span.SPAN_KIND_CONSUMER,
                start_time_unix_nano=start + i * 200_000, end_time_unix_nano=start + i * 200_000 + 150_000,
                attributes=[KeyValue(key="messaging.destination.name", value=AnyValue(string_value=f"greenhouse/{k % 7}"))]))
            parent = span_id
    request = ExportTraceServiceRequest()
    for service, spans in by_service.items():
        request.resource_spans.append(ResourceSpans(
            resource={"attributes": [KeyValue(key="service.name", value=AnyValue(string_value=service))]},
            scope_spans=[ScopeSpans(spans=spans)]))
    return request.SerializeToString()


class Receiver:
    """``python -m kit receiver`` on free ports, its peak memory sampled."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kit", "receiver", "--grpc-port", "0", "--http-port", "0", "--page-port", "0"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.http = int(re.search(r"HTTP http://127\.0\.0\.1:(\d+)", line).group(1))
        self.url = re.search(r"traces on (http://127\.0\.0\.1:\d+)", line).group(1)
        self.peak = 0
        self._stop = threading.Event()
        self._ps = psutil.Process(self.proc.pid)
        threading.Thread(target=self._sample, daemon=True).start()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.http, timeout=120)

    def _sample(self):
        while not self._stop.wait(0.02):
            try:
                self.peak = max(self.peak, self._ps.memory_info().rss)
            except psutil.Error:
                return

    def cpu_s(self) -> float:
        t = self._ps.cpu_times()
        return t.user + t.system

    def post(self, body: bytes) -> float:
        start = time.perf_counter()
        self.conn.request("POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf"})
        reply = self.conn.getresponse()
        reply.read()
        assert reply.status == 200, reply.status
        return time.perf_counter() - start

    def stop(self):
        self._stop.set()
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(30)


def timed_get(url: str) -> str:
    """How long a GET takes, in ms (or why it failed)."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            r.read()
    except OSError as err:
        return f"failed ({err})"
    return f"{(time.perf_counter() - start) * 1000:.0f} ms"


def posts(receiver: Receiver, first: int, n: int, t0_ns: int, every_s: float = 0.02) -> list[float]:
    """The latency of each POST; ``.cpu``: the receiver's share of a core meanwhile."""
    out = Latencies()
    cpu, wall = receiver.cpu_s(), time.perf_counter()
    for k in range(first, first + n):
        out.append(receiver.post(traces_request(k, 1, t0_ns)))
        time.sleep(max(every_s - out[-1], 0))
    out.cpu = (receiver.cpu_s() - cpu) / (time.perf_counter() - wall)
    return out


class Latencies(list):
    cpu = 0.0


def line(label: str, latencies: list[float], baseline: list[float] | None = None) -> str:
    med, top = statistics.median(latencies) * 1000, max(latencies) * 1000
    ratio = "" if baseline is None else (f"   ratio {med / (statistics.median(baseline) * 1000):5.1f} (median), "
                                         f"{top / (max(baseline) * 1000):5.1f} (largest)")
    return f"   {label:<34} median {med:7.1f} ms   largest {top:7.1f} ms   receiver CPU {latencies.cpu:4.0%}{ratio}"


def main(n_traces: int = 10_000, n_posts: int = 200) -> None:
    receiver = Receiver()
    t0_ns = time.time_ns() - n_traces * 1_000_000 - 60_000_000_000
    try:
        for first in range(0, n_traces, 250):
            receiver.post(traces_request(first, min(250, n_traces - first), t0_ns))
        base = posts(receiver, n_traces, n_posts, t0_ns)
        print(f"The receiver holds {n_traces:,} traces ({3 * n_traces:,} spans); {n_posts} POSTs of one trace, "
              f"one every 20 ms:")
        print(line("no page open (baseline)", base))
        if not CHROMIUM:
            print("   (no Chromium: the page's part is not measured; Debian: apt-get install chromium)")
            return
        from playwright.sync_api import sync_playwright
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            start = time.perf_counter()
            page.goto(receiver.url, timeout=120_000)
            page.wait_for_selector("[data-trace-id]", timeout=120_000)
            opened = time.perf_counter() - start
            with_page = posts(receiver, n_traces + n_posts, n_posts, t0_ns)
            print(line("the page open, following", with_page, base))
            goal = statistics.median(with_page) <= 0.050 and max(with_page) <= 0.500
            print(f"   goal (median <= 50 ms, largest <= 500 ms): {'met' if goal else 'NOT met'}")
            k = n_traces + 2 * n_posts
            sent = time.perf_counter()
            receiver.post(traces_request(k, 1, t0_ns + 3_600_000_000_000, name="the newest trace"))
            page.locator("li[data-trace-id], tr[data-trace-id]", has_text="the newest trace").first.wait_for(timeout=60_000)
            shown = time.perf_counter() - sent
            browser.close()
        print(f"2. a trace sent while the page is open is listed after {shown:.2f} s")
        print(f"3. the page itself: opened (loaded, traces listed) in {opened:.2f} s; "
              f"GET / {timed_get(receiver.url + '/')}; "
              f"the newest 20 traces {timed_get(receiver.url + '/part/results')}; "
              f"a search by operation {timed_get(receiver.url + '/part/results?operation=process+7&limit=50')}; "
              f"one trace {timed_get(receiver.url + '/part/trace/' + (17).to_bytes(16, 'big').hex())}")
        print(f"4. the receiver's peak memory: {receiver.peak / 2**20:.0f} MB")
    finally:
        receiver.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
