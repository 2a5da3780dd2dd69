# %% [markdown]
# # 11 · Overhead and sampling: what tracing costs, and keeping only what you need
#
# **Teaching:** 20 min · **Exercises:** 13 min
#
# > **Questions**
# > - How much does instrumentation add to each message?
# > - How do I keep a fraction of the traces, without breaking them apart?
# > - What should a production set-up keep, and what must baggage never carry?
# >
# > **Objectives**
# > - Measure the per-message cost of the paho instrumentation against the SDK's floor, and its
# >   throughput against hand-written tracing.
# > - Configure head sampling with `ParentBased(TraceIdRatioBased(...))`, in code and by environment.
# > - Tune the batch span processor, and guard baggage at a trust boundary.

# %% [markdown]
# ## 1. What a message costs
#
# `measure()` times one message, published and delivered, five ways: plain paho; the SDK's
# floor (two bare spans and one W3C inject/extract: what any tracing must do); the floor
# carrying the attributes the instrumentation records on each span; the same plus one
# histogram measurement per operation; and paho with `PahoMqttInstrumentor`, which does all
# of that and also writes the context into the message and reads it back. There is no
# broker: a socket on this machine sends every message straight back to paho, so the
# context really travels in the bytes. `kit.overhead.measure??` shows how, `kit.overhead??`
# the whole module; `benchmarks/bench_paho.py` runs longer, plus throughput over real brokers.

# %%
import kit.overhead

overhead = kit.overhead.measure(n=1000)  # 1,000 messages, each way, best of 3 runs
overhead

# %%
overhead.chart()

# %% [markdown]
# Take the numbers above from your own run: the times change from one machine to the next,
# the ratios much less. The floor grows as it carries the attributes, then the histograms:
# that is the SDK's own work, which no instrumentation can skip. It checks every attribute
# of every span (its type, its length, a copy), and turns every histogram measurement into
# a data point of the series its attributes name (hashing them, finding the bucket): the
# cost per attribute and per record is in the last sentence. Set the instrumentation's cost
# beside that floor (the second ratio) and what remains is its own work: the `traceparent`
# written into the message's user properties and parsed back by paho on delivery, its
# caches. All of it is well under a millisecond a message: small beside a handler that
# writes to a database, and a lot for a bare loop forwarding thousands of messages a second.
# Sampling (next) cuts the span part; the metrics are recorded for every message, sampled
# or not.
#
# ### Over a real broker: the instrumentation against the blog's hand-written tracing
#
# The blog traces by hand: two bare spans and the `traceparent` in the user properties. The
# instrumentation records much more (the conventions' attributes, four metrics), so what
# matters is messages per second, side by side. Its goals: with its default telemetry at
# least 0.9 × the blog's throughput; with the duration histograms off (its fast mode) at
# least as fast as the blog; and so with both sampling one trace in ten. `compare()` runs each
# way in turn, five rounds, on the embedded broker and on Mosquitto when it is installed,
# and gives each ratio's median and its range over the rounds (`kit.throughput??` shows how).

# %%
from kit.broker import start_broker
from kit.throughput import compare, start_mosquitto

broker = start_broker(protocol=5)
print(compare(broker, n=500, rounds=5, label="the embedded v5 broker"))
with start_mosquitto() as mosquitto:
    print(compare(mosquitto, n=500, rounds=5, label="Mosquitto") if mosquitto else "(Mosquitto is not installed)")

# %% [markdown]
# Read the ratios from your run; a busy machine widens their range, which is why each
# is taken within a round. The two histograms, one measurement per publish and one per
# delivery, are most of the difference between the first two lines: for a hot path,
# switch them off and keep the two counters,
# `PahoMqttInstrumentor().instrument(duration_histograms=False)`, or with no code change
# `OTEL_PYTHON_PAHO_MQTT_DURATION_HISTOGRAMS=false`. A span the sampler did not keep gets no
# attribute work at all, but its context still travels in the message, so the services
# downstream follow the decision. `benchmarks/bench_paho.py` runs the same longer.
#
# ## 2. Head sampling
#
# A **sampler** decides, when a trace starts, whether to record it. `TraceIdRatioBased(0.25)`
# keeps a trace when its trace id falls in the lowest quarter of the id space: the decision
# is a function of the id, so every service that sees the same trace id decides the same.
# `ParentBased(...)` applies that only to root spans; every other span follows its parent's
# decision, carried in the `traceparent` flags (bit `01` set, as in `-01` or `-03`: sampled;
# clear, as in `-00` or `-02`: not). Traces stay whole.

# %%
import random

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

w3c = TraceContextTextMapPropagator()


class SeededIds(RandomIdGenerator):
    """Random ids from a fixed seed, so this lesson shows the same numbers on every run."""

    def __init__(self, seed):
        self.random = random.Random(seed)

    def generate_span_id(self):
        return self.random.getrandbits(64)

    def generate_trace_id(self):
        return self.random.getrandbits(128)


exporter = InMemorySpanExporter()
sampled_provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.25)), id_generator=SeededIds(7))
sampled_provider.add_span_processor(SimpleSpanProcessor(exporter))
sampled_tracer = sampled_provider.get_tracer("sampling")

for _ in range(1000):
    with sampled_tracer.start_as_current_span("publish sensors/temp", kind=SpanKind.PRODUCER):
        with sampled_tracer.start_as_current_span("serialize"):
            pass

kept = exporter.get_finished_spans()
traces = {span.context.trace_id for span in kept}
print(f"1000 traces started, {len(traces)} kept ({len(kept)} spans, every kept trace whole: "
      f"{len(kept) == 2 * len(traces)})")

# %% [markdown]
# Across a message hop the consumer follows the producer's decision through the
# `traceparent` flags (bit `01`: sampled; bit `02` only says the trace id is random):

# %%
for _ in range(4):
    with sampled_tracer.start_as_current_span("publish") as producer:
        carrier = {}
        w3c.inject(carrier)
        producer_recorded = producer.is_recording()
    with sampled_tracer.start_as_current_span("process", context=w3c.extract(carrier)) as consumer:
        print(f"flags {carrier['traceparent'][-2:]} → producer recorded: {producer_recorded!s:<5} "
              f"| consumer recorded: {consumer.is_recording()}")

# %% [markdown]
# The same from the environment, with no code change (the SDK's autoconfiguration and
# `opentelemetry-instrument` read these):
#
# ```bash
# export OTEL_TRACES_SAMPLER=parentbased_traceidratio
# export OTEL_TRACES_SAMPLER_ARG=0.25
# ```
#
# Head sampling decides before anything happened, so it keeps a quarter of the errors too.
# To keep *all* errors and slow traces and a fraction of the rest, sample at the collector
# after the trace is complete (`tail_sampling` processor); it needs every span of a trace
# to reach the same collector.
#
# ## 3. The batch span processor
#
# | Variable | Default | What it changes |
# |---|---|---|
# | `OTEL_BSP_SCHEDULE_DELAY` | 5000 ms | how long spans wait before export: latency to your back end |
# | `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` | 512 | spans per export request |
# | `OTEL_BSP_MAX_QUEUE_SIZE` | 2048 | spans waiting; beyond it new spans are **dropped** ("Queue full, dropping Span") |
# | `OTEL_BSP_EXPORT_TIMEOUT` | 30000 ms | how long one export may take |
#
# A burst of more than 2048 spans between exports loses spans: raise the queue, or sample.
# `SimpleSpanProcessor` exports each span in the caller's thread: fine for a notebook, never
# for production.
#
# ## 4. What to keep in production
#
# | Keep | Why |
# |---|---|
# | `BatchSpanProcessor`, OTLP to a local collector | cheap for the app; retries and fan-out live in the collector |
# | `ParentBased(TraceIdRatioBased(r))`, or tail sampling in the collector | whole traces, bounded volume |
# | the messaging metrics, unsampled | rates and latencies stay exact whatever the sampling |
# | `memory_limiter` and `batch` in the collector | it refuses data instead of crashing |
# | flush on shutdown | the last batch is not lost |
# | console exporters, `SimpleSpanProcessor`, `debug` with `detailed` verbosity | only while debugging |
#
# ## 5. Baggage at a trust boundary
#
# Baggage is sent in clear text with every message, to every downstream service, including
# ones you do not run, and anyone upstream can set it. Two rules:
#
# 1. **Never put secrets or personal data in baggage** (tokens, e-mail addresses, names).
# 2. **Do not trust baggage that crosses into your system**: at the edge, keep the trace
#    context of outside messages and drop their baggage, except the keys you have decided to
#    accept (an allow-list). Even an accepted key is only what the sender claims: a service
#    that acts on its value checks it first against what it knows of the sender.

# %%
from opentelemetry import baggage, propagate

incoming = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "baggage": "user.role=admin,tenant.id=someone-else"}

everything = propagate.extract(incoming)  # the global composite propagator: trace context AND baggage
print("trusting the sender:  ", baggage.get_all(everything))

trace_only = w3c.extract(incoming)  # at the edge: trace context only
print("at the trust boundary:", baggage.get_all(trace_only))

# %% [markdown]
# The instrumentation does the same at a client's door: `incoming_baggage="drop"` lets no
# entry of a delivered message's baggage in (the trace context still joins the trace), a
# set of names lets in only those (an allow-list), and the default `"keep"` lets in
# everything, which your publishes then forward downstream. From the environment:
# `OTEL_PYTHON_PAHO_MQTT_INCOMING_BAGGAGE=tenant.id`. Here the edge accepts `tenant.id`, and
# nothing else, from a client that is not ours:

# %%
from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kit.clients import connect
from kit.inbox import Inbox

let_in = []
edge = connect(broker, "edge-gateway", subscribe_to="outside/#",
               on_message=Inbox(then=lambda client, userdata, msg: let_in.append(baggage.get_all())))
PahoMqttInstrumentor.instrument_client(edge, incoming_baggage={"tenant.id"})  # only tenant.id comes in

outsider = connect(broker, "outsider")  # not ours: it sends what it likes
properties = Properties(PacketTypes.PUBLISH)
properties.UserProperty = list(incoming.items())
outsider.publish("outside/readings", b'{"t": 21.5}', qos=1, properties=properties)
edge.on_message.wait(1)
print("let in at the edge:   ", dict(let_in[0]))
for client in (edge, outsider):
    client.disconnect()
    client.loop_stop()

# %% [markdown]
# `user.role=admin` stayed outside; `tenant.id` came in, because the allow-list accepts that
# key. Its value is still the outsider's claim (`someone-else`): use it where a wrong value
# does no harm (a label on a span, a log field), and before anything decides by it (whose
# data to read, whom to bill), compare it with the sender's identity, for an MQTT client the
# username its connection authenticated.

# %% [markdown]
# ## Exercise 11.1: keep one trace in ten
#
# Make `exercise_provider` keep 10 % of new traces, while every span whose parent was
# sampled (or not) follows its parent. The self-check asks your sampler to decide for
# 4,000 fixed trace ids, as roots and as children of sampled and unsampled parents.

# %% tags=["exercise"]
from kit.checks import check_sampler

exercise_provider = TracerProvider(sampler=TraceIdRatioBased(0.1))

check_sampler(exercise_provider, ratio=0.1, exercise="11.1")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_11.1.py

# %% [markdown]
# ## Exercise 11.2: an allow-list at the trust boundary
#
# Write `extract_at_edge(carrier)` for a service that takes messages from outside: it must
# keep the message's trace context (so the trace goes on), and of its baggage only the keys
# in `ALLOWED`. The self-check sends it a message whose baggage also claims
# `user.role=admin`, and a few malformed ones.

# %% tags=["exercise"]
from kit.checks import check_edge_extract

ALLOWED = ("tenant.id",)


def extract_at_edge(carrier):
    """The trace context of a message from outside, with only the ALLOWED baggage keys."""
    return propagate.extract(carrier)  # trusts everything the sender wrote: fix it


check_edge_extract(extract_at_edge, allowed=ALLOWED, exercise="11.2")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_11.2.py

# %% [markdown]
# > **Key points**
# > - Measure instrumentation against the SDK's floor; most of the cost is the SDK's own work per span and per measurement.
# > - Compare throughput side by side, in turns, and read a ratio with its spread; for a hot path, switch the duration histograms off.
# > - `ParentBased(TraceIdRatioBased(r))` keeps a fraction of traces, whole, consistently across services.
# > - Metrics are not sampled: rates and latencies stay exact.
# > - Tune the batch processor's queue for bursts; flush on shutdown.
# > - Baggage is public and forgeable: no secrets in it; from outside your trust boundary keep the trace
# >   context and only the baggage keys you accept (`incoming_baggage="drop"` or an allow-list), as claims.
