"""What PahoMqttInstrumentor costs, as ratios measured in one run (this machine is shared and noisy).

1. Per message, over a loopback echo (``kit.overhead``: no broker, paho's public
   API, the message's bytes really sent and parsed back): an instrumented
   publish + process minus the same uninstrumented, divided by the SDK floor (two
   bare spans and one W3C inject/extract through a dict, with a
   BatchSpanProcessor). Beside it, the SDK calls the instrumentation is asked to
   make, written bare and as tight as they go: no implementation can cost less.
   And unsampled: the instrumentation when the sampler says no to every trace,
   against the propagation-only cost (two unsampled spans, the context written
   into the message's user properties, packed, parsed and extracted, by hand as
   tight as it goes): what an unsampled message cannot avoid.
2. Throughput over a real broker, the embedded v5 broker and Mosquitto, publisher
   and subscriber in this process, QoS 0 as in the blog (``kit.throughput``): the
   kit's three goals against the blog's hand-written tracing at the same sampling,
   default telemetry >= 0.9 x, histograms off >= 1.0 x, histograms off and both
   sampled at 10 % >= 1.0 x; each ratio taken within a round, its median and range
   over the rounds (>= 5, contenders taking turns). Beside them: the blog's technique
   written by hand with everything the kit records, and the kit with its OTLP
   exporter pointing at a port where nothing listens. Messages lost are counted:
   goal zero.

    python benchmarks/bench_paho.py [messages] [rounds]
"""

from __future__ import annotations

import logging
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from opentelemetry import context as otel_context  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.instrumentation.paho_mqtt import DURATION_BUCKETS, PahoMqttInstrumentor  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402

from kit import overhead, throughput  # noqa: E402
from kit.broker import start_broker  # noqa: E402
from kit.loopback import LoopbackEcho  # noqa: E402
from kit.ports import free_port  # noqa: E402
from kit.throughput import GOALS, Contender, ratio  # noqa: E402


# ------------------------------------------------------------ 1. per message, over a loopback echo

def required_calls(recorded: overhead.Recorded, tracer, meter):
    """The SDK calls the instrumentation is asked to make, written bare, as tight as
    they go: two spans with the attributes the instrumentation records, the context
    injected and extracted (W3C, through a dict), the consumer span made current, and
    two duration histograms with the instrumentation's metric attributes. No
    implementation that records all of this can cost less (the lesson's floor,
    ``kit.overhead``, is written with ``start_as_current_span``, which adds two context
    managers per message)."""
    tc = TraceContextTextMapPropagator()
    buckets = dict(unit="s", explicit_bucket_boundaries_advisory=DURATION_BUCKETS)
    sent = meter.create_histogram("bench.operation.duration", **buckets)
    processed = meter.create_histogram("bench.process.duration", **buckets)
    publish_attrs, process_attrs = dict(recorded.publish.attributes), dict(recorded.process.attributes)
    publish_metric, process_metric = recorded.metric_attributes["publish"], recorded.metric_attributes["process"]

    def required():
        span = tracer.start_span("publish bench/topic", kind=SpanKind.PRODUCER, attributes=publish_attrs)
        carrier = {}
        tc.inject(carrier, trace.set_span_in_context(span))
        span.end()
        sent.record(0.0001, publish_metric)
        ctx = tc.extract(carrier)
        span = tracer.start_span("process bench/topic", ctx, kind=SpanKind.CONSUMER, attributes=process_attrs)
        token = otel_context.attach(trace.set_span_in_context(span, ctx))
        otel_context.detach(token)
        span.end()
        processed.record(0.0001, process_metric)

    return required


class Unsampled(overhead.ContenderTelemetry):
    """A contender's providers whose sampler says no to every trace (a root's children follow it)."""

    def __init__(self):
        super().__init__()
        self.tracer_provider.shutdown()
        self.tracer_provider = TracerProvider(sampler=ParentBased(ALWAYS_OFF))
        self.tracer_provider.add_span_processor(BatchSpanProcessor(self.spans))
        self.tracer = self.tracer_provider.get_tracer("kit.overhead")


def propagation_only(tracer) -> LoopbackEcho:
    """What any tracing that carries the context in MQTT user properties must do for a
    message it does not sample, written by hand as tight as it goes: two unsampled spans,
    the ``traceparent`` injected into the message's user properties, packed and parsed by
    paho, and extracted on delivery; no attributes, no metrics."""
    tc = TraceContextTextMapPropagator()
    echo = LoopbackEcho(overhead.paho_client())
    counted, publish = echo.client.on_message, echo.client.publish

    def on_message(client, userdata, msg):
        ctx = tc.extract(dict(msg.properties.UserProperty))
        span = tracer.start_span("process", ctx, kind=SpanKind.CONSUMER)
        token = otel_context.attach(trace.set_span_in_context(span, ctx))
        counted(client, userdata, msg)
        otel_context.detach(token)
        span.end()

    def traced_publish(topic, payload, properties=None):
        span = tracer.start_span("publish", kind=SpanKind.PRODUCER)
        carrier = {}
        tc.inject(carrier, trace.set_span_in_context(span))
        properties = Properties(PacketTypes.PUBLISH)
        properties.UserProperty = list(carrier.items())
        info = publish(topic, payload, properties=properties)
        span.end()
        return info

    echo.client.on_message, echo.client.publish = on_message, traced_publish
    return echo


def per_message(n=5000, repeat=5):
    """kit.overhead's floor, plain paho and instrumented paho, beside the required calls; and unsampled."""
    recorded = overhead.one_instrumented_message()
    floor, bare, kit = overhead.ContenderTelemetry(), overhead.ContenderTelemetry(), overhead.ContenderTelemetry()
    unsampled_floor, unsampled, unsampled_no_hist = Unsampled(), Unsampled(), Unsampled()
    plain_echo = LoopbackEcho(overhead.paho_client())
    kit_echo = LoopbackEcho(overhead.paho_client(kit.tracer_provider, kit.meter_provider))
    unsampled_echo = LoopbackEcho(overhead.paho_client(unsampled.tracer_provider, unsampled.meter_provider))
    no_hist_client = overhead.paho_client()
    PahoMqttInstrumentor.instrument_client(no_hist_client, unsampled_no_hist.tracer_provider,
                                           unsampled_no_hist.meter_provider, duration_histograms=False)
    no_hist_echo = LoopbackEcho(no_hist_client)
    propagation_echo = propagation_only(unsampled_floor.tracer)
    echoes = (plain_echo, kit_echo, unsampled_echo, no_hist_echo, propagation_echo)
    runs = overhead.time_per_message({
        "floor": overhead.sdk_floor(floor.tracer),
        "required": required_calls(recorded, bare.tracer, bare.meter),
        "plain": lambda: plain_echo.one_message(overhead.TOPIC, overhead.PAYLOAD),
        "kit": lambda: kit_echo.one_message(overhead.TOPIC, overhead.PAYLOAD),
        "propagation only": lambda: propagation_echo.one_message(overhead.TOPIC, overhead.PAYLOAD),
        "kit unsampled": lambda: unsampled_echo.one_message(overhead.TOPIC, overhead.PAYLOAD),
        "kit unsampled, histograms off": lambda: no_hist_echo.one_message(overhead.TOPIC, overhead.PAYLOAD)},
        n, repeat)
    for echo in echoes:
        echo.close()
    for telemetry in (floor, bare, kit, unsampled_floor, unsampled, unsampled_no_hist):
        telemetry.shutdown()
    m = {name: min(seconds) for name, seconds in runs.items()}  # best of: what the code costs, less the machine's noise
    f, req, pl = m["floor"], m["required"], m["plain"]
    cost = m["kit"] - pl
    bare_unsampled = m["propagation only"] - pl
    print(f"1. per message, over a loopback echo (best of {repeat} x {n}, contenders taking turns):")
    print(f"   SDK floor (2 spans + inject/extract)                 {f * 1e6:7.1f} µs")
    print(f"   the SDK calls required, bare (+ attributes, metrics) {req * 1e6:7.1f} µs   "
          f"= {req / f:4.2f} x floor: no implementation can go below this")
    print(f"   instrumentation cost (kit - plain paho)              {cost * 1e6:7.1f} µs")
    print(f"   ratio cost / floor                                   {cost / f:7.2f}")
    print(f"   ratio cost / required SDK calls                      {cost / req:7.2f}   (the kit's own share)")
    print(f"   unsampled, propagation only (cost): 2 unsampled spans, the context in user properties "
          f"{bare_unsampled * 1e6:7.1f} µs")
    for name in ("kit unsampled", "kit unsampled, histograms off"):
        c = m[name] - pl
        print(f"   {name + ' (cost)':<44}         {c * 1e6:7.1f} µs = {c / bare_unsampled:4.2f} x propagation only")
    return {"cost/floor": cost / f, "required/floor": req / f, "cost/required": cost / req,
            "unsampled/propagation": (m["kit unsampled, histograms off"] - pl) / bare_unsampled}


# ------------------------------------------------------------ 2. throughput over a broker

def hand_written(pub, sub, tracer_provider, meter_provider):
    """The blog's technique plus everything the kit records, written by hand the
    straightforward way: the same span names and attributes, the same four metrics."""
    tracer, meter = tracer_provider.get_tracer("hand"), meter_provider.get_meter("hand")
    tc = TraceContextTextMapPropagator()
    buckets = dict(unit="s", explicit_bucket_boundaries_advisory=DURATION_BUCKETS)
    sent = meter.create_counter("hand.sent.messages", unit="{message}")
    consumed = meter.create_counter("hand.consumed.messages", unit="{message}")
    operation_duration = meter.create_histogram("hand.operation.duration", **buckets)
    process_duration = meter.create_histogram("hand.process.duration", **buckets)
    original_on_message = sub.on_message

    def span_attributes(client, operation, topic, qos, retain):
        return {"messaging.system": "mqtt", "server.address": client.host, "server.port": client.port,
                "messaging.client.id": client._client_id.decode(), "messaging.operation.type": "send"
                if operation == "publish" else "process", "messaging.operation.name": operation,
                "messaging.destination.name": topic, "messaging.mqtt.qos": qos, "messaging.mqtt.retain": retain}

    def metric_attributes(client, operation):
        return {"messaging.system": "mqtt", "server.address": client.host, "server.port": client.port,
                "messaging.operation.name": operation}

    def publish(topic, payload, qos=0, retain=False):
        with tracer.start_as_current_span(f"publish {topic}", kind=SpanKind.PRODUCER,
                                          attributes=span_attributes(pub, "publish", topic, qos, retain)):
            carrier = {}
            tc.inject(carrier=carrier)
            properties = Properties(PacketTypes.PUBLISH)
            properties.UserProperty = list(carrier.items())
            start = time.perf_counter()
            info = pub.publish(topic, payload, qos=qos, retain=retain, properties=properties)
            attrs = metric_attributes(pub, "publish")
            operation_duration.record(time.perf_counter() - start, attrs)
            sent.add(1, attrs)
            return info

    def on_message(client, userdata, msg):
        ctx = tc.extract(carrier=dict(msg.properties.UserProperty))
        with tracer.start_as_current_span(f"process {msg.topic}", context=ctx, kind=SpanKind.CONSUMER,
                                          attributes=span_attributes(client, "process", msg.topic, msg.qos,
                                                                     msg.retain)):
            start = time.perf_counter()
            original_on_message(client, userdata, msg)
            attrs = metric_attributes(client, "process")
            process_duration.record(time.perf_counter() - start, attrs)
            consumed.add(1, attrs)

    sub.on_message = on_message
    return publish


@dataclass(frozen=True)
class ExporterDown(Contender):
    """The kit, its spans also sent over OTLP to a port where nothing listens."""

    def providers(self):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        tracer_provider, meter_provider = super().providers()
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
            endpoint=f"http://127.0.0.1:{free_port()}", insecure=True, timeout=2)))
        return tracer_provider, meter_provider


CONTENDERS = {**throughput.CONTENDERS,
              "hand-written, same telemetry": Contender(hand_written),
              "kit, exporter down": ExporterDown("kit")}


def compare(broker, label: str, n: int, rounds: int) -> throughput.Comparison:
    result = throughput.compare(broker, n, rounds, CONTENDERS, label)
    base = statistics.median(result.rates["plain paho"])
    print(f"2. throughput on {label}, {n} messages x {rounds} rounds, contenders taking turns:")
    for name, rates in result.rates.items():
        r = statistics.median(rates)
        print(f"   {name:<36} {r:7.0f} msg/s   {r / base:5.2f} x plain paho   lost {result.lost[name]}")
    for goal in GOALS:
        median, low, high = result.goal(goal)
        print(f"   goal: {goal.contender} / {goal.against}: {ratio(median)} (rounds {ratio(low)} to {ratio(high)}), "
              f"goal >= {ratio(goal.at_least)}: {'met' if result.met(goal) else 'NOT met'}")
    hand = result.ratios("kit", "hand-written, same telemetry")
    print(f"   kit / hand-written with the same telemetry: {ratio(statistics.median(hand))} "
          f"(rounds {ratio(min(hand))} to {ratio(max(hand))})")
    return result


def main(n=3000, rounds=5):
    # the dead exporter's retries and its full queue are expected here: keep the report readable
    logging.getLogger("opentelemetry.exporter.otlp").setLevel(logging.CRITICAL)
    logging.getLogger("opentelemetry.sdk._shared_internal").setLevel(logging.ERROR)
    per_message()
    results = {"embedded": compare(start_broker(protocol=5), "the embedded v5 broker", n, rounds)}
    with throughput.start_mosquitto() as broker:
        if broker:
            results["mosquitto"] = compare(broker, "Mosquitto", n, rounds)
        else:
            print("   (Mosquitto not installed: skipped)")
    return results


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
