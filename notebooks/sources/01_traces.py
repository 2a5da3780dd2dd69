# %% [markdown]
# # 01 · Traces: providers, spans and exporters
#
# **Teaching:** 27 min · **Exercises:** 20 min
#
# > **Questions**
# > - What do I need to set up before my code can make spans?
# > - What can a span carry, and which *kind* should it be in a messaging app?
# > - How do spans leave the process, and when?
# >
# > **Objectives**
# > - Build a `TracerProvider` with a `Resource`, a span processor and an exporter by hand.
# > - Give spans a kind, attributes, events, a status and recorded exceptions; nest them.
# > - Choose between `SimpleSpanProcessor` and `BatchSpanProcessor`, and between the console,
# >   in-memory and OTLP exporters; send OTLP over gRPC and over HTTP by hand.
# > - Run the blog's tracing snippet in its working 2026 form, and know what changed.

# %% [markdown]
# ## 1. By hand: the pieces of the SDK
#
# The blog (January 2023) builds tracing in four steps, and they have not changed:
# a **Resource** says *who* is reporting, a **TracerProvider** makes tracers, a **span
# processor** decides *when* finished spans leave, an **exporter** decides *where* they go.

# %%
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

resource = Resource.create({SERVICE_NAME: "Service1", SERVICE_INSTANCE_ID: "1"})
provider = TracerProvider(resource=resource)
provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))

tracer = provider.get_tracer("Service1")
with tracer.start_as_current_span("Service1_Create_Message"):
    pass

# %% [markdown]
# That JSON is one span as the console exporter prints it: a `trace_id` and `span_id`, no
# `parent_id` (it is a root span), `kind`, start and end times, and the resource.
#
# The blog used `BatchSpanProcessor` with the console exporter. In a notebook that prints
# *a second later, in whatever cell runs next*: use `SimpleSpanProcessor` for the console.
#
# ### The global tracer provider, and a trap
#
# The blog then calls `trace.set_tracer_provider(provider)` so that `trace.get_tracer(...)`
# anywhere in the process uses it. A process may do this **once**. In a notebook you
# re-run cells, and the second call is ignored with only a log line: your new provider
# (and its exporters) silently receives nothing.
#
# The kit solves this for you: `kit.telemetry.setup()` sets the global providers once, to
# small routers that forward to the service you set up last; re-running `setup()` keeps
# the providers and swaps the exporters. Watch what happens when we now try the blog's call:

# %%
from opentelemetry import trace

from kit.telemetry import setup

tele = setup("sensor")
trace.set_tracer_provider(provider)  # the blog's call, now that a global provider exists

# %% [markdown]
# `trace.get_tracer()` still goes to the kit's `sensor` service, not to `provider`.
# Nothing broke, but nothing was replaced either: that is the log line's meaning.

# %%
tele.resource.attributes

# %% [markdown]
# `setup("sensor")` made the resource (`service.name`, a stable `service.instance.id`, the
# SDK's own attributes, and anything in `OTEL_RESOURCE_ATTRIBUTES`), the three providers
# (traces, metrics, logs), an in-memory copy of everything for the views, and the exporters
# named in `OTEL_TRACES_EXPORTER` (none here). Read it with `setup??`.

# %% [markdown]
# ## 2. What a span carries
#
# ### Kinds
#
# | Kind | Use it for | In an MQTT app |
# |---|---|---|
# | `INTERNAL` (default) | work inside one service | parsing, computing |
# | `PRODUCER` | sending a message whose context travels with it | `publish` |
# | `CONSUMER` | handling a message that was pushed to you | `on_message` |
# | `CLIENT` / `SERVER` | a request and its response (HTTP, RPC); a pull `receive` is `CLIENT` | not for publish/subscribe |
#
# ### Attributes, events, status
#
# **Attributes** are key/value facts about the whole span; use the semantic-convention
# names where one exists. **Events** are timestamped moments inside a span. The
# **status** says whether the operation failed.

# %%
from opentelemetry.trace import SpanKind, Status, StatusCode

from kit.views import waterfall

with tele.tracer.start_as_current_span("read sensor", attributes={"sensor.id": "s-7"}) as span:
    span.set_attribute("sensor.reading.celsius", 21.5)
    span.add_event("reading taken", {"sensor.unit": "C"})

tele.spans().iloc[-1][["name", "kind", "attributes", "events"]].to_dict()

# %% [markdown]
# ### Exceptions
#
# `start_as_current_span` records an exception that escapes the `with` block as an
# `exception` event and sets the status to `ERROR`, then lets the exception go on.

# %%
try:
    with tele.tracer.start_as_current_span("parse reading"):
        int("twenty")
except ValueError as exc:
    print("the app still sees the exception:", exc)

parsed = tele.spans().iloc[-1]
parsed["status"], [name for name, _ in parsed["events"]]

# %% [markdown]
# When you handle the error yourself, the span cannot see it: record it and set the status
# by hand, with `span.record_exception(exc)` and `span.set_status(Status(StatusCode.ERROR, "why"))`.
# (That is exercise 1.2.)
#
# ### Nesting, and the decorator form
#
# A span started while another is current becomes its child. A tracer can also decorate a
# function: every call becomes a span.

# %%
import time


@tele.tracer.start_as_current_span("compute average")
def average(values):
    time.sleep(0.005)
    return sum(values) / len(values)


with tele.tracer.start_as_current_span("handle batch"):
    with tele.tracer.start_as_current_span("validate"):
        time.sleep(0.002)
    average([20.5, 21.0, 22.5])

waterfall()

# %% [markdown]
# ## 3. When spans leave: Simple vs Batch processors
#
# `SimpleSpanProcessor` exports each span the moment it ends, in your thread: simple, but
# every `end()` waits for the exporter (for OTLP, a network round trip). `BatchSpanProcessor`
# queues spans and exports them from a background thread every few seconds (5 s by default,
# `OTEL_BSP_SCHEDULE_DELAY`) or when 512 are waiting: use it in production.
# The price: right after a span ends, the exporter has not seen it yet.

# %%
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
batch_provider = TracerProvider(resource=resource)
batch_provider.add_span_processor(BatchSpanProcessor(exporter))

with batch_provider.get_tracer("demo").start_as_current_span("queued"):
    pass
print("exported right after the span ended:", len(exporter.get_finished_spans()))

batch_provider.force_flush()
print("exported after force_flush():       ", len(exporter.get_finished_spans()))

# %% [markdown]
# That is why a script (or a cell) must **flush** before it ends or looks at its results.
# The kit's `tele.flush()` does it for traces, metrics and logs at once, with a time limit;
# providers also flush when the process exits normally.

# %% [markdown]
# ## 4. Where spans go: console, in-memory, OTLP
#
# | Exporter | Package | Good for |
# |---|---|---|
# | `ConsoleSpanExporter` | `opentelemetry-sdk` | a first look; debugging |
# | `InMemorySpanExporter` | `opentelemetry-sdk` | tests; the kit's views use one like it |
# | `OTLPSpanExporter` (gRPC, port 4317, or HTTP/protobuf, port 4318) | `opentelemetry-exporter-otlp` | a collector or any OTLP back end |
#
# The blog exported OTLP over gRPC: `OTLPSpanExporter(endpoint="http://127.0.0.1:4317",
# insecure=True)` inside a `BatchSpanProcessor`. To try it here, offline, the kit starts an
# OTLP endpoint in this notebook (lesson 09 does much more with it), on free ports:

# %%
from kit.receiver import start_receiver

receiver = start_receiver(grpc_port=0, http_port=0)
receiver.grpc_endpoint, receiver.http_endpoint

# %% [markdown]
# OTLP comes in two transports, each with its own exporter class and its own port:
#
# | Transport | Exporter | Collector port | `endpoint=` in code |
# |---|---|---|---|
# | gRPC | `opentelemetry.exporter.otlp.proto.grpc.trace_exporter.OTLPSpanExporter` | 4317 | `"http://host:4317"`, plus `insecure=True` for plain (not TLS) gRPC |
# | HTTP/protobuf | `opentelemetry.exporter.otlp.proto.http.trace_exporter.OTLPSpanExporter` | 4318 | the whole URL: `"http://host:4318/v1/traces"` |
#
# An endpoint given in code is used **as it is**; only the generic variable
# `OTEL_EXPORTER_OTLP_ENDPOINT` gets `/v1/traces` appended for you. Both exporters go
# inside a `BatchSpanProcessor`, which sends every 5 s (`schedule_delay_millis`), or when
# you call `provider.force_flush()`. Exercise 1.4 has you build both.
#
# With the kit you choose by name, or by the standard variables, with no code change:
# `setup("sensor", exporters="otlp")` or `OTEL_TRACES_EXPORTER=otlp`;
# `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_EXPORTER_OTLP_PROTOCOL` say where and how.
# The in-memory copy stays on either way.
#
# What if no collector is running? Here is a port where nothing listens:

# %%
from kit.ports import free_port

nowhere = f"http://127.0.0.1:{free_port()}"
tele = setup("sensor", exporters="otlp", endpoint=nowhere)

# %% [markdown]
# The kit checked the endpoint once and said what is wrong. The app is not affected:
# spans are still made (and kept in memory); the exporter gives up after its timeout and
# `flush()` says so in one line.

# %%
with tele.tracer.start_as_current_span("while the collector is down"):
    pass
tele.flush(timeout_s=2)

# %% [markdown]
# The same check catches the most common mix-up: a gRPC exporter pointed at the HTTP port
# 4318, or the other way round. Try `from kit.otlp import check_endpoint` and then
# `check_endpoint(receiver.http_endpoint, "grpc")`.
# Back to in-memory only:

# %%
tele = setup("sensor")
tele

# %% [markdown]
# ## 5. The blog's tracing snippet, then → now
#
# | Then (2023 blog) | Now (2026) | Why |
# |---|---|---|
# | `from opentelemetry.semconv.trace import SpanAttributes` | `opentelemetry.semconv._incubating.attributes.messaging_attributes` | `SpanAttributes` is deprecated; messaging names moved |
# | `SpanAttributes.MESSAGING_PROTOCOL: "MQTT"` | `messaging.system="mqtt"` and `messaging.operation.name="publish"` (both required), `network.protocol.name="mqtt"` | the attribute was removed from the conventions |
# | publish span with `kind=SpanKind.CLIENT` | `kind=SpanKind.PRODUCER` | a send whose context travels with the message is a producer |
# | `tracer.start_as_current_span("publish_message", kind=...):` | `with tracer.start_as_current_span(...):` | without `with` the line is a syntax error |
# | `publish_message(msg)` inside `try` **and** after it | once | the snippet published every message twice |
# | `record_exception` + `set_status` inside a decorated function, then `raise` | let it raise | the decorator records it too: the exception was recorded twice |
# | `SERVICE_INSTANCE_ID: "1"` | leave it out, or a unique id | every copy claimed to be instance 1; the SDK now adds a random id |
# | `BatchSpanProcessor(ConsoleSpanExporter(), ...)` | `SimpleSpanProcessor` for the console | batch output lands later, in another cell |
# | `trace.set_tracer_provider(provider)` | once per process (`kit.telemetry.setup` handles re-runs) | a second call is ignored |
#
# The snippet, working:

# %%
from opentelemetry.semconv._incubating.attributes.messaging_attributes import (
    MESSAGING_DESTINATION_NAME,
    MESSAGING_OPERATION_NAME,
    MESSAGING_OPERATION_TYPE,
    MESSAGING_SYSTEM,
)
from opentelemetry.semconv.attributes.network_attributes import NETWORK_PROTOCOL_NAME

service1 = setup("Service1")
tracer = service1.tracer


@tracer.start_as_current_span("Service1_Create_Message", kind=SpanKind.INTERNAL)
def some_function(msg):
    publish_message(msg)  # an exception here is recorded on this span, status ERROR


@tracer.start_as_current_span(
    "publish otel-demo/output1",
    kind=SpanKind.PRODUCER,
    attributes={
        MESSAGING_SYSTEM: "mqtt",
        MESSAGING_OPERATION_NAME: "publish",
        MESSAGING_OPERATION_TYPE: "send",
        MESSAGING_DESTINATION_NAME: "otel-demo/output1",
        NETWORK_PROTOCOL_NAME: "mqtt",
    },
)
def publish_message(payload):
    pass  # the real MQTT publish comes in lesson 05


some_function("hello")
waterfall()

# %% [markdown]
# ## Exercises
#
# ### Exercise 1.1: attributes and an event
#
# Give the span `read sensor` the attribute `sensor.id` = `"s-1"` and an event called
# `reading taken`. (A self-check judges the cell it is in: keep your code and the check
# together, and re-run it as often as you like.) It compares the whole trace your cell
# makes with the trace to aim for:

# %%
from kit.checks import check_trace, exercise

exercise("1.1")

# %% tags=["exercise"]
with tele.tracer.start_as_current_span("read sensor") as span:
    pass  # your code here

check_trace("1.1")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_1.1.py

# %% [markdown]
# ### Exercise 1.2: an error you handle yourself
#
# `parse_reading` swallows bad input and returns `None`. Make its span record the
# `ValueError` and end with status `ERROR`, without letting the exception escape (the
# self-check calls `parse_reading("twenty")` and `parse_reading("21.5")`: two calls, two spans).

# %%
exercise("1.2")

# %% tags=["exercise"]
from kit.checks import check_handled_error


def parse_reading(text):
    with tele.tracer.start_as_current_span("parse reading") as span:
        try:
            return float(text)
        except ValueError as exc:
            return None  # your code here


check_handled_error(parse_reading, bad="twenty", good="21.5", span_name="parse reading", exercise="1.2")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_1.2.py

# %% [markdown]
# ### Exercise 1.3: the right kind
#
# Make `publish sensors/temp` a span of the kind a publish should be, with
# `messaging.system` = `"mqtt"`: one span, this one.

# %%
exercise("1.3")

# %% tags=["exercise"]
with tele.tracer.start_as_current_span("publish sensors/temp"):
    pass

check_trace("1.3")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_1.3.py

# %% [markdown]
# ### Exercise 1.4: OTLP by hand, both ways
#
# Give `grpc_provider` a `BatchSpanProcessor` with the **gRPC** `OTLPSpanExporter`, sending
# to `receiver.grpc_endpoint`, and `http_provider` one with the **HTTP** exporter, sending
# to the receiver's HTTP port. Then make both send their span now. The self-check asks the
# receiver what arrived, and how: these two spans, each once, and nothing else.

# %%
exercise("1.4")

# %% tags=["exercise"]
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

from kit.checks import check_otlp_export

grpc_provider = TracerProvider(resource=resource)
# your code: its processor and exporter

http_provider = TracerProvider(resource=resource)
# your code: its processor and exporter

with grpc_provider.get_tracer("exercise").start_as_current_span("sent over gRPC"):
    pass
with http_provider.get_tracer("exercise").start_as_current_span("sent over HTTP"):
    pass
# your code: send them now

check_otlp_export(receiver, grpc_provider=grpc_provider, http_provider=http_provider, exercise="1.4")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_1.4.py

# %% [markdown]
# What the receiver got in exercise 1.4 (after you solved it): one trace per transport.

# %%
received = receiver.spans_df()
waterfall(received, trace_id=list(received.trace_id.unique())) if not received.empty else "nothing received yet"

# %% [markdown]
# > **Key points**
# > - Resource (who) → TracerProvider → span processor (when) → exporter (where).
# > - Spans carry a kind, attributes, events and a status; an escaping exception is recorded for you.
# > - In messaging: publish is `PRODUCER`, handling a pushed message is `CONSUMER`; not `CLIENT`/`SERVER`.
# > - `BatchSpanProcessor` in production, and flush before you look or exit.
# > - OTLP over gRPC goes to 4317 (`insecure=True` for plain gRPC), over HTTP to 4318 with the whole
# >   URL `…/v1/traces` when you give it in code.
# > - The global provider can be set once per process; `kit.telemetry.setup` makes re-running cells safe.
# > - A collector that is down never stops the app; the kit tells you what is wrong.
