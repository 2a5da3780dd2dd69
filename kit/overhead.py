"""What tracing costs per MQTT message, measured on this machine in one call.

    >>> from kit.overhead import measure
    >>> overhead = measure()      # 3 runs of 3000 messages each: seconds on a laptop, more if busy
    >>> overhead                  # the numbers, and sentences made of them
    >>> overhead.chart()          # the same as horizontal bars
    >>> overhead.cost, overhead.cost_over_floor, overhead.microseconds["SDK floor"]

Five contenders, each timed for one message published and delivered:

``plain paho``
    ``publish()``, and paho reading the message back (a :class:`kit.loopback.LoopbackEcho`:
    a socket on this machine sends it straight back, no broker, paho's public API only).
``SDK floor``
    two bare spans and a W3C ``inject``/``extract`` between them: what any tracing must do.
``+ attributes``
    the floor, its spans carrying the attributes the instrumentation records
    (read from one instrumented message).
``+ attributes + histograms``
    and one ``Histogram.record`` per operation, with the instrumentation's metric attributes.
``paho + instrumentation``
    plain paho with ``PahoMqttInstrumentor``.

The instrumentation's **cost** is its contender minus plain paho. The ratios compare it
with the floor, and with the floor carrying the same attributes and histograms: the
SDK's own work, which no instrumentation can skip. The floors are written as the
lessons write tracing, with ``start_as_current_span``; the instrumentation calls
``start_span`` and ``context.attach``, a little cheaper (``benchmarks/bench_paho.py``
times the tightest form). Each contender has its own providers, as in production:
a ``BatchSpanProcessor`` (to an exporter that only counts spans) and a ``MeterProvider``.

Each time is the best of ``repeat`` runs of ``n`` messages, the contenders taking
turns so that a busy moment of the machine hits them all alike. Only the ratios
carry over from one machine to another; ``benchmarks/bench_paho.py`` runs longer.
"""

from __future__ import annotations

import io
import timeit
from collections import Counter
from dataclasses import dataclass
from typing import Callable, NamedTuple

import paho.mqtt.client as mqtt
from matplotlib.figure import Figure
from opentelemetry.instrumentation.paho_mqtt import DURATION_BUCKETS, PahoMqttInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from kit.loopback import LoopbackEcho

__all__ = ["measure", "Overhead", "CONTENDERS"]

CONTENDERS = ("plain paho", "SDK floor", "+ attributes", "+ attributes + histograms", "paho + instrumentation")
TOPIC, PAYLOAD = "bench/topic", b'{"t": 21.5}'
w3c = TraceContextTextMapPropagator()


def paho_client(tracer_provider=None, meter_provider=None) -> mqtt.Client:
    """A paho MQTT v5 client, instrumented when given a tracer provider."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench", protocol=mqtt.MQTTv5)
    if tracer_provider is not None:
        PahoMqttInstrumentor.instrument_client(client, tracer_provider, meter_provider)
    return client


class Recorded(NamedTuple):
    """What the instrumentation recorded for one message."""
    publish: ReadableSpan
    process: ReadableSpan
    metric_attributes: dict[str, dict]  # "publish"/"process" -> the attributes of its duration histogram


def one_instrumented_message() -> Recorded:
    spans, metrics = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    echo = LoopbackEcho(paho_client(tracer_provider, MeterProvider(metric_readers=[metrics])))
    echo.one_message(TOPIC, PAYLOAD)
    echo.close()
    publish, process = spans.get_finished_spans()
    points = {metric.name: metric.data.data_points[0] for resource in metrics.get_metrics_data().resource_metrics
              for scope in resource.scope_metrics for metric in scope.metrics}
    return Recorded(publish, process, {"publish": dict(points["messaging.client.operation.duration"].attributes),
                                       "process": dict(points["messaging.process.duration"].attributes)})


def sdk_floor(tracer) -> Callable[[], None]:
    """Two bare spans, the context carried from one to the other as W3C headers."""
    def one_message():
        with tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER):
            carrier = {}
            w3c.inject(carrier)
        with tracer.start_as_current_span("process", context=w3c.extract(carrier), kind=SpanKind.CONSUMER):
            pass
    return one_message


def sdk_floor_carrying(recorded: Recorded, tracer, meter=None) -> Callable[[], None]:
    """The floor with the instrumentation's span attributes and, given a meter, one
    histogram record per operation with the instrumentation's metric attributes."""
    publish_attributes, process_attributes = dict(recorded.publish.attributes), dict(recorded.process.attributes)
    publish_metric, process_metric = recorded.metric_attributes["publish"], recorded.metric_attributes["process"]
    histograms = meter is not None
    if histograms:
        operation_duration = meter.create_histogram("floor.operation.duration", unit="s",
                                                    explicit_bucket_boundaries_advisory=DURATION_BUCKETS)
        process_duration = meter.create_histogram("floor.process.duration", unit="s",
                                                  explicit_bucket_boundaries_advisory=DURATION_BUCKETS)

    def one_message():
        with tracer.start_as_current_span("publish", kind=SpanKind.PRODUCER, attributes=publish_attributes):
            carrier = {}
            w3c.inject(carrier)
        if histograms:
            operation_duration.record(0.0001, publish_metric)
        with tracer.start_as_current_span("process", context=w3c.extract(carrier), kind=SpanKind.CONSUMER,
                                          attributes=process_attributes):
            pass
        if histograms:
            process_duration.record(0.0001, process_metric)
    return one_message


class SpanCounter(SpanExporter):
    """An exporter that only counts the spans it is given, by (name, kind)."""

    def __init__(self):
        self.counts = Counter()

    def export(self, spans):
        self.counts.update((span.name, span.kind) for span in spans)
        return SpanExportResult.SUCCESS


class ContenderTelemetry:
    """One contender's providers: a BatchSpanProcessor to a SpanCounter, and a MeterProvider."""

    def __init__(self):
        self.spans = SpanCounter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(BatchSpanProcessor(self.spans))
        self.meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        self.tracer = self.tracer_provider.get_tracer("kit.overhead")
        self.meter = self.meter_provider.get_meter("kit.overhead")

    def shutdown(self):
        self.tracer_provider.shutdown()  # exports what is left, then stops the processor's thread
        self.meter_provider.shutdown()


def time_per_message(contenders: dict[str, Callable[[], None]], n: int, repeat: int) -> dict[str, list[float]]:
    """Seconds per message of each contender, in each of ``repeat`` runs of ``n``, taking turns."""
    runs = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, one_message in contenders.items():
            runs[name].append(timeit.timeit(one_message, number=n) / n)
    return runs


def measure(n: int = 3000, repeat: int = 3) -> Overhead:
    """Time the five contenders (see the module's docstring)."""
    recorded = one_instrumented_message()
    telemetry = {name: ContenderTelemetry() for name in CONTENDERS}
    _, floor, with_attributes, with_histograms, instrumentation = telemetry.values()
    plain = LoopbackEcho(paho_client())
    instrumented = LoopbackEcho(paho_client(instrumentation.tracer_provider, instrumentation.meter_provider))
    runs = time_per_message(dict(zip(CONTENDERS, [
        lambda: plain.one_message(TOPIC, PAYLOAD),
        sdk_floor(floor.tracer),
        sdk_floor_carrying(recorded, with_attributes.tracer),
        sdk_floor_carrying(recorded, with_histograms.tracer, with_histograms.meter),
        lambda: instrumented.one_message(TOPIC, PAYLOAD),
    ])), n, repeat)
    plain.close(), instrumented.close()
    for each in telemetry.values():
        each.shutdown()
    return Overhead(n, repeat, runs, {name: each.spans.counts for name, each in telemetry.items()},
                    attributes=len(recorded.publish.attributes) + len(recorded.process.attributes),
                    histogram_records=len(recorded.metric_attributes))


def ratio(value: float) -> str:
    """A ratio, always written "2.4 ×": the notebooks' output sanitizer knows this form."""
    return f"{value:.1f} ×"


@dataclass
class Overhead:
    """What :func:`measure` found."""
    n: int
    repeat: int
    runs: dict[str, list[float]]  # contender -> seconds per message, one per run
    spans: dict[str, Counter]  # contender -> the spans it produced, counted by (name, kind)
    attributes: int  # span attributes per message (both spans)
    histogram_records: int  # per message

    @property
    def microseconds(self) -> dict[str, float]:
        """Per message, each contender's best run."""
        return {name: min(seconds) * 1e6 for name, seconds in self.runs.items()}

    @property
    def cost(self) -> float:
        """What the instrumentation adds to a message, in µs."""
        return self.microseconds["paho + instrumentation"] - self.microseconds["plain paho"]

    @property
    def cost_over_floor(self) -> float:
        return self.cost / self.microseconds["SDK floor"]

    @property
    def cost_over_floor_with_telemetry(self) -> float:
        return self.cost / self.microseconds["+ attributes + histograms"]

    def summary(self) -> str:
        us = self.microseconds
        per_attribute = (us["+ attributes"] - us["SDK floor"]) / self.attributes
        per_record = (us["+ attributes + histograms"] - us["+ attributes"]) / self.histogram_records
        own = self.cost - us["+ attributes + histograms"]
        shown = {"SDK floor": "SDK floor (no paho)", "+ attributes": "  + attributes (no paho)",
                 "+ attributes + histograms": "  + attributes + histograms"}
        table = "\n".join(f"  {shown.get(name, name):<30}{us[name]:8.1f} µs" for name in CONTENDERS)
        return (
            f"Per message (publish + delivery), best of {self.repeat} runs of {self.n} messages:\n{table}\n"
            f"The SDK floor is {us['SDK floor']:.1f} µs per message; the instrumentation adds {self.cost:.1f} µs, "
            f"{ratio(self.cost_over_floor)} the floor and {ratio(self.cost_over_floor_with_telemetry)} the floor "
            f"carrying the same attributes and histograms.\n"
            f"On the floor, each of the {self.attributes} span attributes costs {per_attribute:.1f} µs and each of "
            f"the {self.histogram_records} histogram records {per_record:.1f} µs; the instrumentation's own work "
            f"(the context written into the message and parsed back by paho, its caches) is the remaining "
            f"{own:.1f} µs.")

    __repr__ = __str__ = summary

    def chart(self) -> Figure:
        """The floors and the instrumentation's cost, as horizontal bars."""
        us = self.microseconds
        figure = OverheadChart(figsize=(6, 2.6), layout="constrained")
        ax = figure.subplots()
        bars = ax.barh(["SDK floor", "+ attributes", "+ attributes\n+ histograms", "instrumentation\n(its cost)"],
                       [us["SDK floor"], us["+ attributes"], us["+ attributes + histograms"], self.cost],
                       color=["#BAB0AC", "#9D9D9D", "#79706E", "#4C78A8"])
        ax.bar_label(bars, fmt="%.1f", padding=3)
        ax.margins(x=0.15)
        ax.invert_yaxis()
        ax.set_xlabel("µs per message (publish + process), lower is better")
        return figure


class OverheadChart(Figure):
    """A matplotlib Figure that Jupyter shows as an image without pyplot, so exactly once."""

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()
