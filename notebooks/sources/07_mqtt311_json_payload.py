# %% [markdown]
# # 07 · Trace context on MQTT 3.1.1: the JSON payload
#
# **Teaching:** 14 min · **Exercises:** 13 min
#
# > **Questions**
# > - MQTT 3.1.1 has no user properties: where can the trace context go?
# > - What does each placement cost the application?
# >
# > **Objectives**
# > - Write the W3C JSON-payload inject and extract by hand, then use the kit's helpers.
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
# ## 2. The W3C way, by hand: two more fields in the object you already send
#
# On the publishing side: parse the payload, and only if it is a JSON **object** add the
# context fields at its root with `propagate.inject(obj)` (a dict is a carrier the
# propagator writes into as it is), then serialize it again. Anything else (bytes that are
# not UTF-8, not JSON, a bare number or an array) goes out exactly as it came, byte for
# byte (not `json.dumps` of it: `21.50` would come back as `21.5`): an MQTT payload is the
# application's, and telemetry must never break it. On the consuming side: parse, and hand
# the propagator the object's **text** fields, `propagate.extract({k: v for k, v in
# obj.items() if isinstance(v, str)})` (a field can hold any JSON value, and the propagator
# expects text: given `{"traceparent": 5}` it raises); for anything that is not an object,
# an empty context, so the consumer starts a new trace. `json.loads` takes bytes and raises
# `ValueError` (its `JSONDecodeError` and `UnicodeDecodeError` are both ValueErrors) for
# what it cannot read.
#
# ## Exercises, part 1
#
# A self-check judges the cell it is in: keep your code and the check together.
#
# ### Exercise 7.1: inject and extract, by hand
#
# Write `inject_json(payload)` and `extract_json(payload)` as described above. The
# self-check calls them on JSON readings (with a context it makes up at each run) and on
# payloads that are not JSON objects (numbers such as `21.50`, an array, a PNG header, empty
# bytes, text, bytes that are not UTF-8).

# %% tags=["exercise"]
import json

from opentelemetry import propagate

from kit.checks import check_json_propagation


def inject_json(payload: bytes) -> bytes:
    """The payload with the current context's fields at the root of its JSON object;
    any other payload exactly as it came."""
    return payload  # your code here


def extract_json(payload: bytes):
    """The context in a JSON payload's fields; an empty context for anything else."""
    return propagate.extract({})  # your code here


check_json_propagation(inject_json, extract_json, exercise="7.1")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_7.1.py

# %% [markdown]
# ## 3. The kit's helpers: the same rule, every byte kept
#
# `kit.propagation` has the same pair, `inject_json_payload` and `extract_json_payload`,
# with one difference: instead of serializing the object again (which adds spaces, turns
# `21.50` into `21.5` and `°` into `\u00b0`), it writes the new fields right after the
# opening brace and leaves every other byte of the application's JSON as it was:

# %%
from kit.propagation import extract_json_payload, inject_json_payload

reading = '{"t":21.50,"unit":"°C"}'.encode()  # compact JSON, as small devices send it
with sensor.tracer.start_as_current_span("publish sensors/temp", kind=SpanKind.PRODUCER):
    obj = json.loads(reading)
    propagate.inject(obj)
    by_hand = json.dumps(obj).encode()
    sent = inject_json_payload(reading)
print("re-serialized:", by_hand.decode())
print("kit's helper: ", sent.decode())

# %% [markdown]
# Its own fields, their order, spacing and number formats are untouched. Read
# `inject_json_payload??` to see how.
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
# ## 4. Payloads that are not JSON objects are left alone
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
# A payload that already carries a valid `traceparent` is also left as it is: the sender's
# own context wins. An invalid one is replaced, and its `tracestate` goes with it: a
# `tracestate` belongs to the `traceparent` beside it, never to another parent.
#
# ## 5. Three placements, compared
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
# ## Exercises, part 2
#
# ### Exercise 7.2: the consumer side on 3.1.1
#
# The publisher puts the context in the JSON payload. Make `process orders/new` continue
# its trace. The trace to aim for:

# %%
from kit.checks import check_hop, exercise

exercise("7.2")

# %% tags=["exercise"]


def handle_order(client, userdata, msg):
    with processor.tracer.start_as_current_span("process orders/new", kind=SpanKind.CONSUMER):
        pass


orders = Inbox(then=handle_order)
subscriber.on_message = orders
with sensor.tracer.start_as_current_span("publish orders/new", kind=SpanKind.PRODUCER):
    publisher.publish("orders/new", inject_json_payload(b'{"id": 7}'), qos=1)
orders.wait(1)

check_hop(orders, "process orders/new", "publish orders/new", placement="json", exercise="7.2")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_7.2.py

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
