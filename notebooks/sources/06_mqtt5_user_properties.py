# %% [markdown]
# # 06 · Trace context in MQTT v5 user properties, by hand
#
# **Teaching:** 25 min · **Exercises:** 20 min
#
# > **Questions**
# > - How does a publisher hand its trace to a subscriber in another service?
# > - Which span kinds fit publish and subscribe, and why not the blog's SERVER/CLIENT?
# > - Should the subscriber's span be a child of the publisher's, or linked to it?
# > - What does a trace look like when a message waits for an offline subscriber?
# >
# > **Objectives**
# > - Inject the current context into MQTT v5 user properties on publish, and extract it in
# >   `on_message`: one trace across two services.
# > - Write the Getter and Setter for paho `Properties` that read them safely (repeated keys, no
# >   properties at all, MQTT 3.1.1) and write them without duplicates.
# > - Choose PRODUCER / CONSUMER kinds, and parent or link.
# > - Keep a subscriber's messages while it is offline (a persistent session), and compare parent
# >   and link on the trace of messages processed long after they were published.
#
# This is the blog's technique: the W3C "Trace Context: MQTT" format puts `traceparent`
# and `tracestate` in MQTT v5 user properties, named exactly so, in lower case.

# %%
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kit import capture, clients
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
# ## 2. Reading user properties: the traps
#
# The subscriber must read the context back. The blog did it with
# `dict(msg.properties.UserProperty)`. Three things go wrong with that:

# %%
TP_FIRST = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TP_SECOND = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

repeated = Properties(PacketTypes.PUBLISH)
repeated.UserProperty = [("traceparent", TP_FIRST)]
repeated.UserProperty = [("traceparent", TP_SECOND)]
print("1. a key sent twice: dict() keeps the LAST one,", dict(repeated.UserProperty)["traceparent"][:20], "...;",
      "OpenTelemetry Python's propagator takes the FIRST (other SDKs reject such a message): send exactly one")

try:
    Properties(PacketTypes.PUBLISH).UserProperty
except AttributeError as exc:
    print("2. no user properties sent:", type(exc).__name__, exc)

print("3. on an MQTT 3.1.1 connection msg.properties is None: None.UserProperty raises AttributeError too")

# %% [markdown]
# And on the writing side, `properties.UserProperty = [...]` **appends**: injecting twice
# into the same `Properties` (a retry, a re-used object) sends two `traceparent`s.
#
# The propagator does not care what a carrier is: it asks a **Getter** to read it and a
# **Setter** to write it. `propagate.extract(carrier, getter=g)` calls `g.get(carrier, key)`,
# which returns a *list* of the values of `key` (or None), and `g.keys(carrier)`;
# `propagate.inject(carrier, setter=s)` calls `s.set(carrier, key, value)` once per field.
# Exercise 6.1 has you write both for paho's `Properties`, traps included.
#
# ## Exercises, part 1
#
# A self-check judges the cell it is in: keep your code and the check together.
#
# ### Exercise 6.1: a Getter and a Setter for user properties
#
# Fix `PropertiesGetter` and `PropertiesSetter` so that they survive real messages: a key
# sent twice (the first value first), no user properties at all, `None` (what paho gives on
# MQTT 3.1.1), and a second inject into the same `Properties` (one `traceparent`, the
# application's own properties kept). The self-check runs them on all of these, then sends
# a context through paho's own packing and back.

# %% tags=["exercise"]
from opentelemetry.propagators.textmap import Getter, Setter

from kit.checks import check_getter_setter


class PropertiesGetter(Getter):
    def get(self, carrier, key):
        return dict(carrier.UserProperty).get(key)  # the blog's way: fix it

    def keys(self, carrier):
        return [k for k, _ in carrier.UserProperty]


class PropertiesSetter(Setter):
    def set(self, carrier, key, value):
        carrier.UserProperty = [(key, value)]


check_getter_setter(PropertiesGetter(), PropertiesSetter(), exercise="6.1")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_6.1.py

# %% [markdown]
# The kit's `user_properties_getter` and `user_properties_setter` (in `kit.propagation`,
# used from here on) are the same code, with one more guard: pairs that are not two
# strings are skipped.

# %%
import inspect

from kit import propagation
from kit.propagation import user_properties_getter, user_properties_setter

print(inspect.getsource(propagation.UserPropertiesGetter))
print(inspect.getsource(propagation.UserPropertiesSetter))
print(inspect.getsource(propagation.user_property_pairs))

# %%
reused = Properties(PacketTypes.PUBLISH)
reused.UserProperty = [("app", "1")]
for _ in range(2):
    with sensor.tracer.start_as_current_span("publish"):
        propagate.inject(reused, setter=user_properties_setter)
[key for key, _ in reused.UserProperty]

# %% [markdown]
# ## 3. The subscriber: extract in `on_message`
#
# The subscriber reads the context with the getter and starts its CONSUMER span **in** it
# (`context=ctx`):

# %%
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
        propagate.inject(properties, setter=user_properties_setter)
        publisher.publish("sensors/temp", b'{"t": 21.5}', qos=1, properties=properties)

inbox.wait(1)
sensor.flush(), processor.flush()
waterfall()

# %% [markdown]
# One trace, two services: `process sensors/temp` (processor) is the child of
# `publish sensors/temp` (sensor), although they never shared memory: only the
# `traceparent` travelled, inside the message.
#
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
# Back ends use the kinds: Grafana's service graph (Tempo, or the collector's servicegraph
# connector) pairs CLIENT → SERVER and PRODUCER → CONSUMER spans into its edges; Jaeger's
# map uses the parent → child links between services.
#
# ## 5. Parent, or link?
#
# Making the consumer a **child** of the producer reads as one story, and is what most
# learners expect (and what the kit's instrumentation does by default). The messaging
# conventions say a process span SHOULD **link** to the producer's context, and MAY also
# make it its parent when it handles a single message: a link lets the consumer start its
# own trace and point back, because a message may be processed much later, many times, or
# in a batch of messages from many traces.

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

consumer = processor.spans().query("name == 'process sensors/linked'").iloc[-1]  # the newest: re-running is fine
producer = sensor.spans().query("name == 'publish sensors/linked'").iloc[-1]
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
# ## 6. Late by design: a persistent session
#
# A retained message is not the only one that arrives late. A subscriber can ask the broker
# for a **persistent session**: while it is offline, the broker keeps its subscriptions and
# the QoS 1 and 2 messages published for it, and hands them over when it reconnects,
# minutes or days later. This is the case the messaging conventions have in mind when they
# prefer links.
#
# In MQTT v5 the subscriber connects with `clean_start=False` and a **Session Expiry
# Interval**: how long the broker keeps the session once the connection has ended (0, the
# default, ends it with the connection; MQTT 3.1.1 has `clean_session=False`, kept for
# ever). The archiver below starts clean once (a session left by an earlier run is
# dropped), subscribes, and leaves.

# %%
import json
import threading
import time

import paho.mqtt.client as mqtt

KEEP_FOR_AN_HOUR = Properties(PacketTypes.CONNECT)
KEEP_FOR_AN_HOUR.SessionExpiryInterval = 3600  # seconds the broker keeps the session after we leave


def archive_reading(client, userdata, msg):
    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    with processor.tracer.start_as_current_span("process readings/temp", context=ctx, kind=SpanKind.CONSUMER):
        pass  # as in section 3: a child of the publish span


archive = Inbox(then=archive_reading)
archiver = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="archiver-1", protocol=mqtt.MQTTv5)
archiver.on_message = archive
subscribed = threading.Event()
archiver.on_subscribe = lambda client, userdata, mid, reason_codes, properties: subscribed.set()
archiver.connect(broker.host, broker.port, clean_start=True, properties=KEEP_FOR_AN_HOUR)
archiver.loop_start()
archiver.subscribe("readings/#", qos=1)
subscribed.wait(5)
archiver.disconnect()  # gone: the broker keeps its subscription, and its messages from now on
archiver.loop_stop()
print("archiver offline; its session is kept for", KEEP_FOR_AN_HOUR.SessionExpiryInterval, "s")

# %% [markdown]
# While the archiver is away, the sensor publishes three readings, each with its PRODUCER
# span and its context in the user properties, as in section 3. (`processor-1`, subscribed
# to `#` since section 3, is told to ignore them.)

# %%
subscriber.on_message = None

with sensor.tracer.start_as_current_span("sensor round"):
    for reading in (21.5, 21.7, 22.0):
        with sensor.tracer.start_as_current_span("publish readings/temp", kind=SpanKind.PRODUCER):
            properties = Properties(PacketTypes.PUBLISH)
            propagate.inject(properties, setter=user_properties_setter)
            publisher.publish("readings/temp", json.dumps({"t": reading}), qos=1,
                              properties=properties).wait_for_publish(5)

time.sleep(1)  # the archiver stays away: one second here, hours in real life

# %% [markdown]
# The archiver comes back: the same client id, and `clean_start=False`. The broker still has
# its session (`session_present`), and hands over the three readings at once, with no new
# SUBSCRIBE:

# %%
def on_reconnect(client, userdata, flags, reason_code, properties):
    print("session present:", flags.session_present)


archiver.on_connect = on_reconnect
archiver.connect(broker.host, broker.port, clean_start=False, properties=KEEP_FOR_AN_HOUR)
archiver.loop_start()
archive.wait(3)
sensor.flush(), processor.flush()
waterfall()

# %% [markdown]
# One trace: the three publishes at the left, the three `process` spans far to the right,
# each still the child of its publish. The trace is as long as the archiver was away,
# though no code ran in that time: the messages sat in the broker.
#
# The same late processing, recorded the way the conventions prefer: one CONSUMER span for
# the batch the archiver received, in a trace of its own, with a **link** to each publish:

# %%
publishes = [trace.get_current_span(propagate.extract(m.properties, getter=user_properties_getter))
             .get_span_context() for m in archive.messages]
with processor.tracer.start_as_current_span("process readings/temp", kind=SpanKind.CONSUMER,
                                            links=[Link(p) for p in publishes]) as batch:
    pass
processor.flush()

round_trace = format(publishes[0].trace_id, "032x")
batch_trace = format(batch.get_span_context().trace_id, "032x")
waterfall(trace_id=[round_trace, batch_trace])

# %%
as_children = capture.spans_df(trace_id=round_trace)
waited_s = (as_children.query("name == 'process readings/temp'").start.min()
            - as_children.query("name == 'publish readings/temp'").start.max()).total_seconds()
linked = capture.spans_df(trace_id=batch_trace).iloc[0]
print(f"parent: one trace of {len(as_children)} spans; its processing starts {waited_s:.1f} s after the last publish")
print(f"link:   the batch's own trace lasts {linked.duration_ms:.2f} ms; it links to {len(linked.links)} publishes")

# %% [markdown]
# | | parent (child of the publish) | link (a trace of its own) |
# |---|---|---|
# | the waterfall | one story, publish to processing | two traces; the links lead back |
# | the trace's duration | includes the time in the broker: a latency alert would blame the processing | the processing only |
# | a batch of messages from many traces | impossible: a span has one parent | one span, one link per message |
#
# Use a parent for one message handled at once; a link for late, repeated or batched
# processing, persistent sessions and retained messages included. The kit's instrumentation
# (lesson 08) parents by default, and links with `links_only=True`.
#
# ## Exercises, part 2
#
# ### Exercise 6.2: the consumer side
#
# This subscriber's span starts a new trace every time. Make `process orders/new` a child
# of the publisher's span. The self-check reads the message too, and says which side is
# wrong; then it compares the cell's whole trace with this one:

# %%
from kit.checks import check_hop, exercise

exercise("6.2")

# %% tags=["exercise"]


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

check_hop(orders, "process orders/new", "publish orders/new", exercise="6.2")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_6.2.py

# %% [markdown]
# ### Exercise 6.3: the publisher side
#
# Now the subscriber extracts correctly, but its span still starts a new trace. Find what
# is missing and fix it. The trace to aim for:

# %%
exercise("6.3")

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

check_hop(alerts, "process alerts/high", "publish alerts/high", exercise="6.3")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_6.3.py

# %%
for client in (publisher, subscriber, archiver):
    client.disconnect()
    client.loop_stop()

# %% [markdown]
# > **Key points**
# > - Inject while the PRODUCER span is current; MQTT v5 carries the context in user properties `traceparent`/`tracestate`.
# > - Extract in `on_message` and start the CONSUMER span with `context=ctx`.
# > - A Getter/Setter teaches the propagator a carrier: read every value of a key (first first), survive
# >   missing properties and `None`; `UserProperty = [...]` appends, so a Setter replaces.
# > - PRODUCER / CONSUMER, not CLIENT / SERVER; names `publish {topic}` / `process {topic}`.
# > - Parent for one connected story; a link for late, repeated or batched processing (and retained messages).
# > - A persistent session (`clean_start=False` and a Session Expiry Interval) keeps a subscriber's QoS 1/2
# >   messages while it is offline; parented, their processing stretches the publisher's trace by the wait.
