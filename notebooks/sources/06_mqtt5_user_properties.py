# %% [markdown]
# # 06 · Trace context in MQTT v5 user properties, by hand
#
# **Teaching:** 20 min · **Exercises:** 10 min
#
# > **Questions**
# > - How does a publisher hand its trace to a subscriber in another service?
# > - Which span kinds fit publish and subscribe, and why not the blog's SERVER/CLIENT?
# > - Should the subscriber's span be a child of the publisher's, or linked to it?
# >
# > **Objectives**
# > - Inject the current context into MQTT v5 user properties on publish, and extract it in
# >   `on_message`: one trace across two services.
# > - Read user properties safely (repeated keys, no properties at all).
# > - Choose PRODUCER / CONSUMER kinds, and parent or link.
#
# This is the blog's technique: the W3C "Trace Context: MQTT" format puts `traceparent`
# and `tracestate` in MQTT v5 user properties, named exactly so, in lower case.

# %%
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kit import clients
from kit.broker import start_broker
from kit.inbox import Inbox
from kit.telemetry import setup
from kit.views import waterfall

broker = start_broker(protocol=5)
sensor = setup("sensor")  # two services, each with its own service.name
processor = setup("processor")


def connect(client_id, subscribe_to=None, on_message=None):
    """A connected client (lesson 05's paho code, in one call: read it with `clients.connect??`)."""
    return clients.connect(broker, client_id, subscribe_to, on_message, protocol=5)


# %% [markdown]
# ## 1. The publisher: inject into user properties
#
# While the PRODUCER span is current, the propagator writes `traceparent` (and `tracestate`,
# `baggage` when there are some) into a carrier. The blog's carrier was a dict, copied into
# `Properties.UserProperty`:

# %%
publisher = connect("sensor-1")

with sensor.tracer.start_as_current_span("publish sensors/temp", kind=SpanKind.PRODUCER):
    carrier = {}
    propagate.inject(carrier)
    properties = Properties(PacketTypes.PUBLISH)
    properties.UserProperty = list(carrier.items())
    publisher.publish("sensors/temp", b'{"t": 21.5}', qos=1, properties=properties)

properties.UserProperty

# %% [markdown]
# ## 2. The subscriber: extract in `on_message`
#
# The subscriber reads the context back and starts its CONSUMER span **in** it
# (`context=ctx`). A `Getter` tells the propagator how to read the carrier; the kit's
# `user_properties_getter` reads paho `Properties` directly:

# %%
from kit.propagation import user_properties_getter


def process(client, userdata, msg):
    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    with processor.tracer.start_as_current_span(
        "process sensors/temp", context=ctx, kind=SpanKind.CONSUMER
    ) as span:
        span.add_event("reading parsed", {"sensor.reading.celsius": 21.5})


inbox = Inbox(then=process)
subscriber = connect("processor-1", subscribe_to="#", on_message=inbox)

with sensor.tracer.start_as_current_span("read and publish"):
    with sensor.tracer.start_as_current_span("publish sensors/temp", kind=SpanKind.PRODUCER):
        properties = Properties(PacketTypes.PUBLISH)
        carrier = {}
        propagate.inject(carrier)
        properties.UserProperty = list(carrier.items())
        publisher.publish("sensors/temp", b'{"t": 21.5}', qos=1, properties=properties)

inbox.wait(1)
sensor.flush(), processor.flush()
waterfall()

# %% [markdown]
# One trace, two services: `process sensors/temp` (processor) is the child of
# `publish sensors/temp` (sensor), although they never shared memory: only the
# `traceparent` travelled, inside the message.
#
# ## 3. Reading user properties safely
#
# The blog extracted with `dict(msg.properties.UserProperty)`. Three things go wrong with
# that:

# %%
from kit.propagation import user_properties_setter

repeated = Properties(PacketTypes.PUBLISH)
repeated.UserProperty = [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
repeated.UserProperty = [("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
print("1. a repeated key: dict() keeps the LAST:", dict(repeated.UserProperty)["traceparent"][:20], "...")
print("   the W3C rule and the getter use the FIRST:", user_properties_getter.get(repeated, "traceparent")[0][:20], "...")

try:
    Properties(PacketTypes.PUBLISH).UserProperty
except AttributeError as exc:
    print("2. no user properties sent:", type(exc).__name__, exc)

print("3. on an MQTT 3.1.1 connection msg.properties is None; the getter reads nothing:",
      user_properties_getter.get(None, "traceparent"))

# %% [markdown]
# And on the writing side, `properties.UserProperty = [...]` **appends**: injecting twice
# into the same `Properties` sends two `traceparent`s. The kit's `user_properties_setter`
# replaces the key instead:

# %%
reused = Properties(PacketTypes.PUBLISH)
reused.UserProperty = [("app", "1")]
for _ in range(2):
    with sensor.tracer.start_as_current_span("publish"):
        propagate.inject(reused, setter=user_properties_setter)
[key for key, _ in reused.UserProperty]

# %% [markdown]
# ## 4. Span kinds: then → now
#
# | Then (2023 blog) | Now | Why |
# |---|---|---|
# | publish span `SpanKind.CLIENT` (and `PRODUCER` nested inside) | one `PRODUCER` span per publish | PRODUCER says: my context travels with a message |
# | receive span `SpanKind.SERVER` | `CONSUMER` | SERVER/CLIENT describe a request waiting for its response; nothing waits in publish/subscribe |
# | span names `Service2_Publish_Message` | `publish sensors/temp`, `process sensors/temp` | the messaging conventions: `{operation} {destination}` |
# | `TraceContextTextMapPropagator().inject(carrier)` | `propagate.inject(...)` | the global propagator also carries baggage and follows `OTEL_PROPAGATORS` |
#
# Back ends use the kinds: Jaeger and Grafana draw the service map's edges from
# PRODUCER → CONSUMER pairs.
#
# ## 5. Parent, or link?
#
# Making the consumer a **child** of the producer reads as one story, and is what most
# learners expect (and what the kit's instrumentation does by default). The messaging
# conventions prefer a **link**: the consumer starts its own trace and points back, because
# a message may be processed much later, many times, or in a batch of messages from many
# traces.

# %%
def process_with_link(client, userdata, msg):
    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    producer = trace.get_current_span(ctx).get_span_context()
    with processor.tracer.start_as_current_span(
        "process sensors/linked", kind=SpanKind.CONSUMER, links=[Link(producer)]
    ):
        pass


linked_inbox = Inbox(then=process_with_link)
subscriber.on_message = linked_inbox
with sensor.tracer.start_as_current_span("publish sensors/linked", kind=SpanKind.PRODUCER):
    properties = Properties(PacketTypes.PUBLISH)
    propagate.inject(properties, setter=user_properties_setter)
    publisher.publish("sensors/linked", b"{}", qos=1, properties=properties)
linked_inbox.wait(1)
processor.flush()

spans = processor.spans().set_index("name")
consumer = spans.loc["process sensors/linked"]
producer = sensor.spans().set_index("name").loc["publish sensors/linked"]
print("same trace?      ", consumer.trace_id == producer.trace_id)
print("linked to it?    ", consumer.links == [(producer.trace_id, producer.span_id)])

# %% [markdown]
# In Jaeger a link shows as "references: FOLLOWS_FROM"-style pointer you can click. The
# trade-off: parent = one connected waterfall; link = honest about time and batches.
#
# **Retained messages** make the choice matter: a retained message carries the context of a
# publish that may be hours old to every *late* subscriber. Parenting would hang today's
# processing under yesterday's trace. Check `msg.retain` and link in that case.
#
# ## Exercises
#
# ### Exercise 6.1: the consumer side
#
# This subscriber's span starts a new trace every time. Make `process orders/new` a child
# of the publisher's span.

# %% tags=["exercise"]
from kit.checks import check_parent


def handle_order(client, userdata, msg):
    with processor.tracer.start_as_current_span("process orders/new", kind=SpanKind.CONSUMER):
        pass


orders = Inbox(then=handle_order)
subscriber.on_message = orders
with sensor.tracer.start_as_current_span("publish orders/new", kind=SpanKind.PRODUCER):
    properties = Properties(PacketTypes.PUBLISH)
    propagate.inject(properties, setter=user_properties_setter)
    publisher.publish("orders/new", b'{"id": 7}', qos=1, properties=properties)
orders.wait(1)

check_parent("process orders/new", "publish orders/new")

# %% [markdown]
# Solution:

# %% tags=["solution"] jupyter={"source_hidden": true}
def handle_order(client, userdata, msg):
    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    with processor.tracer.start_as_current_span("process orders/new", context=ctx, kind=SpanKind.CONSUMER):
        pass


orders = Inbox(then=handle_order)
subscriber.on_message = orders
with sensor.tracer.start_as_current_span("publish orders/new", kind=SpanKind.PRODUCER):
    properties = Properties(PacketTypes.PUBLISH)
    propagate.inject(properties, setter=user_properties_setter)
    publisher.publish("orders/new", b'{"id": 7}', qos=1, properties=properties)
orders.wait(1)

check_parent("process orders/new", "publish orders/new")

# %% [markdown]
# ### Exercise 6.2: the publisher side
#
# Now the consumer extracts correctly, but the publisher sends no context. Fix the publish.

# %% tags=["exercise"]
def handle_alert(client, userdata, msg):
    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    with processor.tracer.start_as_current_span("process alerts/high", context=ctx, kind=SpanKind.CONSUMER):
        pass


alerts = Inbox(then=handle_alert)
subscriber.on_message = alerts
with sensor.tracer.start_as_current_span("publish alerts/high", kind=SpanKind.PRODUCER):
    publisher.publish("alerts/high", b'{"t": 31.5}', qos=1)
alerts.wait(1)

check_parent("process alerts/high", "publish alerts/high")

# %% [markdown]
# Solution:

# %% tags=["solution"] jupyter={"source_hidden": true}
alerts = Inbox(then=handle_alert)
subscriber.on_message = alerts
with sensor.tracer.start_as_current_span("publish alerts/high", kind=SpanKind.PRODUCER):
    properties = Properties(PacketTypes.PUBLISH)
    propagate.inject(properties, setter=user_properties_setter)
    publisher.publish("alerts/high", b'{"t": 31.5}', qos=1, properties=properties)
alerts.wait(1)

check_parent("process alerts/high", "publish alerts/high")

# %%
for client in (publisher, subscriber):
    client.disconnect()
    client.loop_stop()

# %% [markdown]
# > **Key points**
# > - Inject while the PRODUCER span is current; MQTT v5 carries the context in user properties `traceparent`/`tracestate`.
# > - Extract in `on_message` and start the CONSUMER span with `context=ctx`.
# > - Read user properties with a getter that handles repeated keys and missing properties; `UserProperty = [...]` appends.
# > - PRODUCER / CONSUMER, not CLIENT / SERVER; names `publish {topic}` / `process {topic}`.
# > - Parent for one connected story; a link for late, repeated or batched processing (and retained messages).
