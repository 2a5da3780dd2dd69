# %% [markdown]
# # 07 · Trace context on MQTT 3.1.1: the JSON payload
#
# **Teaching:** 14 min · **Exercises:** 6 min
#
# > **Questions**
# > - MQTT 3.1.1 has no user properties: where can the trace context go?
# > - What does each placement cost the application?
# >
# > **Objectives**
# > - Put `traceparent`/`tracestate` in a JSON payload the W3C way, and read it back.
# > - Keep every payload that is not a JSON object exactly as it was.
# > - Compare the three placements: v5 user properties, JSON fields, a custom envelope.
#
# Many devices and brokers still speak MQTT 3.1.1 (amqtt, the kit's default broker, speaks
# nothing else). The W3C "Trace Context: MQTT" draft *recommends* (for 3.1.1, JSON payloads)
# writing `traceparent` and `tracestate` as fields of the **outermost JSON object**.

# %%
from opentelemetry.trace import SpanKind

from kit import clients
from kit.broker import start_broker
from kit.inbox import Inbox
from kit.telemetry import setup
from kit.views import waterfall

broker = start_broker()  # MQTT 3.1.1
sensor, processor = setup("sensor"), setup("processor")


def connect(client_id, subscribe_to=None, on_message=None):
    """A connected client (lesson 05's paho code, in one call: read it with `clients.connect??`)."""
    return clients.connect(broker, client_id, subscribe_to, on_message, protocol='3.1.1')


# %% [markdown]
# ## 1. The envelope the blog thought of first
#
# Before finding the W3C draft, the blog considered wrapping every message:
#
# ```json
# {"trace_context": {"traceparent": "00-0af7…-b7ad…-01", "tracestate": "congo=BleG…"},
#  "payload": ""}
# ```
#
# It works, but every consumer, traced or not, must now unwrap `payload`: the message format
# of the application changed for the sake of telemetry.
#
# | Then (2023 blog) | Now | Why |
# |---|---|---|
# | a custom `{"trace_context": {...}, "payload": ...}` envelope | `traceparent`/`tracestate` as fields of the message's own JSON object (3.1.1), or v5 user properties | the W3C convention: consumers that do not trace read the message as before |
# | "MQTT v3 (recommendation)" read as optional | the only W3C placement for 3.1.1, and only for JSON objects | binary payloads cannot carry it: use MQTT v5 |
#
# ## 2. The W3C way: two more fields in the object you already send

# %%
from kit.propagation import extract_json_payload, inject_json_payload

reading = b'{"t": 21.5, "unit": "C"}'
with sensor.tracer.start_as_current_span("publish sensors/temp", kind=SpanKind.PRODUCER):
    sent = inject_json_payload(reading)
sent

# %% [markdown]
# The context fields are written right after the opening brace; every other byte of the
# application's JSON stays the same, so its own fields, their order, spacing and number
# formats are untouched. Read `inject_json_payload??` to see how.
#
# The consumer reads them back with `extract_json_payload` and can ignore the extra fields:

# %%
def process(client, userdata, msg):
    ctx = extract_json_payload(msg.payload)
    with processor.tracer.start_as_current_span("process sensors/temp", context=ctx, kind=SpanKind.CONSUMER):
        pass


inbox = Inbox(then=process)
subscriber = connect("processor-1", subscribe_to="#", on_message=inbox)
publisher = connect("sensor-1")

with sensor.tracer.start_as_current_span("publish sensors/temp", kind=SpanKind.PRODUCER):
    publisher.publish("sensors/temp", inject_json_payload(reading), qos=1)

inbox.wait(1)
waterfall()

# %% [markdown]
# ## 3. Payloads that are not JSON objects are left alone
#
# MQTT payloads are bytes: images, protobuf, CSV, a bare number. The rule is to touch only a
# payload that parses as a JSON **object**; anything else goes out exactly as it came, and
# the consumer simply starts a new trace.

# %%
with sensor.tracer.start_as_current_span("publish"):
    for payload in [b"21.5", b"[21.5, 21.7]", b"\x89PNG\r\n", b"", b'{"t": 21.5}']:
        out = inject_json_payload(payload)
        print(f"{payload!r:<18} → {'unchanged' if out == payload else 'context added'}")

# %% [markdown]
# A payload that already carries a `traceparent` is also left as it is: the sender's own
# context wins.
#
# ## 4. Three placements, compared
#
# | Placement | Works on | Application's message | Consumers that don't know | Notes |
# |---|---|---|---|---|
# | MQTT v5 user properties `traceparent`/`tracestate` (lesson 06) | MQTT v5 clients and brokers | unchanged | see nothing | the W3C draft's normative format; brokers must forward user properties unchanged |
# | JSON fields `traceparent`/`tracestate` in the payload (this lesson) | MQTT 3.1.1 and v5, JSON-object payloads | two extra fields | see two unknown fields | W3C recommendation for 3.1.1; a strict schema may reject unknown fields; binary payloads cannot carry it |
# | A custom envelope `{"trace_context": …, "payload": …}` | anything | wrapped | must unwrap, or break | your own convention: every consumer must know it |
#
# The W3C marked the draft "discontinued" in November 2025, yet brokers (EMQX), the
# OpenTelemetry messaging conventions and real deployments follow it: treat it as the
# de-facto convention. Baggage is not covered by the draft; this kit sends it as a
# `baggage` field (JSON) or user property (v5), its own convention.
#
# ## Exercise 7.1: the consumer side on 3.1.1
#
# The publisher puts the context in the JSON payload. Make `process orders/new` continue
# its trace.

# %% tags=["exercise"]
from kit.checks import check_parent


def handle_order(client, userdata, msg):
    with processor.tracer.start_as_current_span("process orders/new", kind=SpanKind.CONSUMER):
        pass


orders = Inbox(then=handle_order)
subscriber.on_message = orders
with sensor.tracer.start_as_current_span("publish orders/new", kind=SpanKind.PRODUCER):
    publisher.publish("orders/new", inject_json_payload(b'{"id": 7}'), qos=1)
orders.wait(1)

check_parent("process orders/new", "publish orders/new")

# %% [markdown]
# Solution:

# %% tags=["solution"] jupyter={"source_hidden": true}
def handle_order(client, userdata, msg):
    ctx = extract_json_payload(msg.payload)
    with processor.tracer.start_as_current_span("process orders/new", context=ctx, kind=SpanKind.CONSUMER):
        pass


orders = Inbox(then=handle_order)
subscriber.on_message = orders
with sensor.tracer.start_as_current_span("publish orders/new", kind=SpanKind.PRODUCER):
    publisher.publish("orders/new", inject_json_payload(b'{"id": 7}'), qos=1)
orders.wait(1)

check_parent("process orders/new", "publish orders/new")

# %%
for client in (publisher, subscriber):
    client.disconnect()
    client.loop_stop()

# %% [markdown]
# > **Key points**
# > - On MQTT 3.1.1, put `traceparent`/`tracestate` as fields of the outermost JSON object (W3C recommendation).
# > - Touch only payloads that are JSON objects, and only by adding fields; leave everything else byte for byte.
# > - v5 user properties keep the application's message unchanged: prefer them where you can.
# > - A custom envelope works anywhere but makes every consumer unwrap.
