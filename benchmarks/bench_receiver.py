"""The embedded OTLP receiver, measured in one run (ratios; the machine is shared and noisy).

1. Throughput: spans per second from the SDK's OTLP gRPC exporter (BatchSpanProcessor)
   into kit.receiver, against the same SDK pipeline into an in-memory exporter.
2. Delay from an MQTT publish to its CONSUMER span being in a DataFrame: in the
   notebook's own capture, and through OTLP to the receiver (BatchSpanProcessor with
   its default 5 s schedule delay, and with OTEL_BSP_SCHEDULE_DELAY=200).

    python benchmarks/bench_receiver.py [spans]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from kit.receiver import start_receiver  # noqa: E402


def spans_per_second(exporter, done, n) -> float:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=n + 1))
    tracer = provider.get_tracer("bench")
    start = time.perf_counter()
    for i in range(n):
        with tracer.start_as_current_span("s", attributes={"i": i}):
            pass
    provider.force_flush(60_000)
    while not done():
        time.sleep(0.001)
    elapsed = time.perf_counter() - start
    provider.shutdown()
    return n / elapsed


def throughput(n: int, rounds: int = 3) -> None:
    receiver = start_receiver(grpc_port=0, http_port=0)
    to_receiver, in_memory = [], []
    for _ in range(rounds):
        # counted by the store's running total: its rows stop growing at their bound
        before = receiver.received.totals()["spans"]
        exporter = OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)
        to_receiver.append(spans_per_second(exporter, lambda: receiver.received.totals()["spans"] - before >= n, n))
        memory = InMemorySpanExporter()
        in_memory.append(spans_per_second(memory, lambda: len(memory.get_finished_spans()) >= n, n))
    receiver.stop()
    r, m = statistics.median(to_receiver), statistics.median(in_memory)
    print(f"1. throughput, {n} spans x {rounds} rounds (median):")
    print(f"   SDK → in-memory exporter (baseline)   {m:9.0f} spans/s")
    print(f"   SDK → OTLP gRPC → kit.receiver        {r:9.0f} spans/s   ratio {r / m:.2f}")


def delay(rounds: int = 5) -> None:
    import os
    import paho.mqtt.client as mqtt
    from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor
    from kit import capture
    from kit.broker import start_broker
    from kit.inbox import Inbox
    from kit.telemetry import setup

    broker = start_broker(protocol=5)
    receiver = start_receiver(grpc_port=0, http_port=0)
    results = {}
    for label, env_delay, exporters in [("in the notebook's capture", None, None),
                                        ("via OTLP, default batch delay", None, "otlp"),
                                        ("via OTLP, OTEL_BSP_SCHEDULE_DELAY=200", "200", "otlp")]:
        if env_delay:
            os.environ["OTEL_BSP_SCHEDULE_DELAY"] = env_delay
        else:
            os.environ.pop("OTEL_BSP_SCHEDULE_DELAY", None)
        tele = setup(f"delay-{len(results)}", exporters=exporters, endpoint=receiver.grpc_endpoint, check=False)
        inbox = Inbox()
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        for c in (sub, pub):
            PahoMqttInstrumentor.instrument_client(c, tele.tracer_provider, tele.meter_provider)
        ready = Inbox()
        sub.on_connect = lambda c, u, f, rc, p: c.subscribe("delay/#", qos=1)
        sub.on_subscribe = lambda c, u, mid, rc, p: ready(c, u, mid)
        sub.on_message = inbox
        sub.connect(broker.host, broker.port)
        sub.loop_start()
        ready.wait(1)
        pub.connect(broker.host, broker.port)
        pub.loop_start()
        delays = []
        for i in range(rounds):
            topic = f"delay/{len(results)}/{i}"
            start = time.perf_counter()
            pub.publish(topic, b"x", qos=1)
            name = f"process {topic}"
            if exporters:
                receiver.wait_for_spans(lambda df: (df.name == name).any(), timeout_s=30)
            else:
                while not any(s.name == name for s in capture.finished_spans()):
                    time.sleep(0.0005)
            delays.append(time.perf_counter() - start)
        results[label] = statistics.median(delays)
        for c in (sub, pub):
            c.disconnect()
            c.loop_stop()
        setup(f"delay-{len(results) - 1}")
    receiver.stop()
    print(f"2. delay from publish() to the consumer span in a DataFrame (median of {rounds}):")
    for label, seconds in results.items():
        print(f"   {label:<40} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    throughput(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
    delay()
