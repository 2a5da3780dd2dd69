"""Messages per second over a real broker: PahoMqttInstrumentor against the blog's
hand-written tracing, and the instrumentation's three performance goals, in one call.

    >>> from kit.throughput import compare, start_mosquitto
    >>> result = compare(start_broker(protocol=5), n=1000, rounds=5)
    >>> result                   # the three goals: ratios with their spread
    >>> result.rates["kit"]      # messages per second, one per round

A publisher and a subscriber in this process send ``n`` QoS 0 messages through the
broker, as fast as paho takes them (the blog's set-up); the time runs from the first
publish to the last delivery. Contenders:

``plain paho``                  no tracing
``blog-style``                  the blog's technique: two spans, ``traceparent`` in user properties
``kit``                         ``PahoMqttInstrumentor``, default telemetry (spans with the
                                conventions' attributes, four metrics)
``kit, histograms off``         ``duration_histograms=False``, the fast mode for hot paths
``… 10 % sampled``              both with ``ParentBased(TraceIdRatioBased(0.1))``

The goals compare the kit with the blog at the same sampling: default telemetry
≥ 0.9 × the blog's throughput, histograms off ≥ 1.0 ×, histograms off and both sampled
at 10 % ≥ 1.0 ×. Each round runs every contender once, in turn (starting one further
each round), so a busy moment of a shared machine hits them all alike; a ratio is taken
within each round, and the result gives its median and its range over the rounds.
``benchmarks/bench_paho.py`` runs it longer, on the embedded broker and on Mosquitto.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import paho.mqtt.client as mqtt
from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kit.broker import Broker
from kit.ports import free_port, is_listening

__all__ = ["compare", "throughput", "Comparison", "Contender", "CONTENDERS", "GOALS", "start_mosquitto"]

TOPIC, PAYLOAD = "bench/t", b'{"t": 21.5}'


class Discard(SpanExporter):
    """An exporter that drops what it is given: the spans are made and batched, not sent."""

    def export(self, spans):
        return SpanExportResult.SUCCESS


@dataclass(frozen=True)
class Contender:
    """How one contender traces: ``style`` "plain", "blog" or "kit" (or a function
    ``style(pub, sub, tracer_provider, meter_provider) -> publish``), the kit's options,
    and the share of traces sampled."""
    style: object = "plain"
    options: dict = field(default_factory=dict)
    sampled: float = 1.0

    def providers(self):
        sampler = ParentBased(TraceIdRatioBased(self.sampled)) if self.sampled < 1 else None
        tracer_provider = TracerProvider(sampler=sampler) if sampler else TracerProvider()
        tracer_provider.add_span_processor(BatchSpanProcessor(Discard()))
        return tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()])


CONTENDERS = {
    "plain paho": Contender(),
    "blog-style": Contender("blog"),
    "kit": Contender("kit"),
    "kit, histograms off": Contender("kit", {"duration_histograms": False}),
    "blog-style, 10 % sampled": Contender("blog", sampled=0.1),
    "kit, histograms off, 10 % sampled": Contender("kit", {"duration_histograms": False}, sampled=0.1),
}


class Goal(NamedTuple):
    contender: str
    against: str
    at_least: float


GOALS = [Goal("kit", "blog-style", 0.9), Goal("kit, histograms off", "blog-style", 1.0),
         Goal("kit, histograms off, 10 % sampled", "blog-style, 10 % sampled", 1.0)]


def blog_style(pub, sub, tracer_provider, meter_provider=None):
    """The blog's technique, hand-written: what a learner would do without the kit."""
    tracer = tracer_provider.get_tracer("blog")
    tc = TraceContextTextMapPropagator()
    original_on_message = sub.on_message

    def publish(topic, payload, qos=0):
        with tracer.start_as_current_span("Service2_Publish_Message", kind=SpanKind.PRODUCER):
            carrier = {}
            tc.inject(carrier=carrier)
            properties = Properties(PacketTypes.PUBLISH)
            properties.UserProperty = list(carrier.items())
            return pub.publish(topic, payload, qos=qos, properties=properties)

    def on_message(client, userdata, msg):
        ctx = tc.extract(carrier=dict(msg.properties.UserProperty))
        with tracer.start_as_current_span("Service2_Receive_Message", context=ctx, kind=SpanKind.CONSUMER):
            original_on_message(client, userdata, msg)

    sub.on_message = on_message
    return publish


def _kit(options):
    def instrument(pub, sub, tracer_provider, meter_provider):
        for client in (pub, sub):
            PahoMqttInstrumentor.instrument_client(client, tracer_provider, meter_provider, **options)
        return pub.publish
    return instrument


def throughput(broker: Broker, contender: Contender, n: int) -> tuple[float, int]:
    """Messages per second for ``n`` messages published and delivered; and how many were lost."""
    got, subscribed, connected = threading.Event(), threading.Event(), threading.Event()
    count = [0]

    def on_message(c, u, m):
        count[0] += 1
        if count[0] == n:
            got.set()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("bench/#", qos=0)
    sub.on_subscribe = lambda *a: subscribed.set()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.max_queued_messages_set(0)
    pub.on_connect = lambda *a: connected.set()
    tracer_provider, meter_provider = contender.providers()
    style = {"plain": lambda p, s, tp, mp: p.publish, "blog": blog_style,
             "kit": _kit(contender.options)}.get(contender.style, contender.style)
    publish: Callable = style(pub, sub, tracer_provider, meter_provider)
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    ready = subscribed.wait(10) and connected.wait(10)
    start = time.perf_counter()
    if ready:
        for _ in range(n):
            publish(TOPIC, PAYLOAD, qos=0)
        got.wait(60)
    elapsed = time.perf_counter() - start
    pub.disconnect(), sub.disconnect()
    pub.loop_stop(), sub.loop_stop()
    tracer_provider.shutdown()
    meter_provider.shutdown()
    return count[0] / elapsed, n - count[0]


def ratio(value: float) -> str:
    """A ratio, always written "0.94 ×": the notebooks' output sanitizer knows this form."""
    return f"{value:.2f} ×"


@dataclass
class Comparison:
    """What :func:`compare` found on one broker."""
    broker: str
    n: int
    rates: dict[str, list[float]]  # contender -> messages per second, one per round
    lost: dict[str, int]

    def ratios(self, contender: str, against: str) -> list[float]:
        """``contender``'s throughput over ``against``'s, within each round."""
        return [a / b for a, b in zip(self.rates[contender], self.rates[against])]

    def goal(self, goal: Goal) -> tuple[float, float, float]:
        """(median, lowest, highest) of the goal's ratio over the rounds."""
        r = self.ratios(goal.contender, goal.against)
        return statistics.median(r), min(r), max(r)

    def met(self, goal: Goal) -> bool:
        return self.goal(goal)[0] >= goal.at_least

    def summary(self) -> str:
        rounds = len(next(iter(self.rates.values())))
        lines = [f"{self.broker}: {self.n} messages per contender, {rounds} rounds taking turns"]
        for goal in GOALS:
            median, low, high = self.goal(goal)
            lines.append(f"  {goal.contender + ' / ' + goal.against:<63} {ratio(median)} "
                         f"(rounds {ratio(low)} to {ratio(high)}; goal ≥ {ratio(goal.at_least)})")
        return "\n".join(lines)

    __repr__ = __str__ = summary


def compare(broker: Broker, n: int = 1000, rounds: int = 5, contenders: dict[str, Contender] | None = None,
            label: str | None = None) -> Comparison:
    """Every contender ``rounds`` times on ``broker``, in turn; see the module's docstring."""
    contenders = dict(CONTENDERS if contenders is None else contenders)
    names = list(contenders)
    rates = {name: [] for name in names}
    lost = {name: 0 for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:  # a different one first each round
            rate, missing = throughput(broker, contenders[name], n)
            rates[name].append(rate)
            lost[name] += missing
    return Comparison(label or f"{broker.implementation} broker", n, rates, lost)


@contextmanager
def start_mosquitto():
    """A Mosquitto of its own on a free port, if Mosquitto is installed (else None), stopped afterwards."""
    exe = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
    if not exe:
        yield None
        return
    port = free_port()
    proc = subprocess.Popen([exe, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not is_listening("127.0.0.1", port) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)  # polling a port another process opens, with a deadline
        yield Broker("127.0.0.1", port, "5", "Mosquitto", embedded=False)
    finally:
        proc.terminate()
        proc.wait(10)
