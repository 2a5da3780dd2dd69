# %% [markdown]
# # 04 · Context and baggage: how a trace crosses from one service to the next
#
# **Teaching:** 17 min · **Exercises:** 17 min
#
# > **Questions**
# > - How does the next service know which trace a message belongs to?
# > - What is inside a `traceparent`, and what happens when it is broken?
# > - What is baggage, and what must it never carry?
# >
# > **Objectives**
# > - Read the parts of a `traceparent` and a `tracestate`.
# > - Inject the current context into a carrier and extract it on the other side, so two
# >   services share one trace.
# > - Carry baggage with it, and know the composite propagator that does both.
#
# This is the ground of the MQTT lessons: there the carrier is an MQTT message (its v5 user
# properties, or its JSON payload); here it is a plain dict.

# %% [markdown]
# ## 1. Context: what is current
#
# OpenTelemetry keeps a **context**: an immutable bag of values (the current span, the
# baggage) that follows your code through calls and into asyncio tasks. A new thread (paho's
# network loop, for one) starts with an empty context: that is why a consumer extracts the
# context from the message instead of finding it current.
# `start_as_current_span` puts a span in it for the length of the `with` block.

# %%
from opentelemetry import baggage, propagate, trace
from opentelemetry.trace import SpanKind

from kit.telemetry import setup
from kit.views import waterfall

orders = setup("order-service")

print("outside any span:", trace.get_current_span().get_span_context().is_valid)
with orders.tracer.start_as_current_span("place order") as span:
    print("inside:          ", trace.get_current_span() is span)

# %% [markdown]
# ## 2. The `traceparent`: a trace in 55 characters
#
# To cross a process boundary, the context is written into the message as text. That is
# what a **propagator** does: `inject` writes the current context into a *carrier* (here a
# dict standing for message headers), `extract` reads it back.

# %%
with orders.tracer.start_as_current_span("place order", kind=SpanKind.PRODUCER) as span:
    headers = {}
    propagate.inject(headers)

headers

# %%
version, trace_id, parent_id, flags = headers["traceparent"].split("-")
print(f"version   {version}                                 always 00 today")
print(f"trace-id  {trace_id}  the whole trace, 16 random bytes")
print(f"parent-id {parent_id}                  the span that sent it: 'place order'")
print(f"flags     {flags}                                 bit 01 = sampled (recorded), "
      f"bit 02 = the trace id is random (W3C Trace Context level 2)")
print("same span?", parent_id == format(span.get_span_context().span_id, "016x"))

# %% [markdown]
# A **`tracestate`** may travel beside it: vendors' own key=value pairs, for example
# `congo=t61rcWkgMzE,rojo=00f067aa0ba902b7` (the blog's envelope shows one). Propagators
# carry it through unchanged.
#
# ## 3. Inject here, extract there: two services, one trace
#
# Both services live in this kernel, each with its own `service.name`. Service A injects
# while its span is current; service B extracts and starts its span *in that context*:

# %%
shipping = setup("shipping-service")

# service A: the producer
with orders.tracer.start_as_current_span("publish order", kind=SpanKind.PRODUCER):
    message = {"headers": {}, "body": {"order": 42}}
    propagate.inject(message["headers"])

# ... the message travels (over MQTT, later) ...

# service B: the consumer
ctx = propagate.extract(message["headers"])
with shipping.tracer.start_as_current_span("process order", context=ctx, kind=SpanKind.CONSUMER):
    with shipping.tracer.start_as_current_span("book courier"):
        pass

waterfall()

# %% [markdown]
# One trace, two services (two colours). `process order`'s parent is `publish order`, a span
# of *another* service: the `traceparent` carried its id across.
#
# Without `context=ctx`, B's span would start a trace of its own: the commonest mistake
# when instrumenting by hand (exercise 4.1).

# %% [markdown]
# ## 4. Baggage: values that travel with the trace
#
# **Baggage** is key=value data your services pass along, for example a tenant or a
# customer tier, so a downstream service can use it or tag its spans with it. It travels in
# its own `baggage` header, set by the W3C Baggage propagator.

# %%
with orders.tracer.start_as_current_span("publish order", kind=SpanKind.PRODUCER):
    ctx_with_baggage = baggage.set_baggage("customer.tier", "gold")
    headers = {}
    propagate.inject(headers, context=ctx_with_baggage)

headers

# %%
received = propagate.extract(headers)
print("B reads:", baggage.get_baggage("customer.tier", received))

with shipping.tracer.start_as_current_span("process order", context=received) as span:
    span.set_attribute("customer.tier", baggage.get_baggage("customer.tier", received))

shipping.spans().iloc[-1]["attributes"]

# %% [markdown]
# Baggage does **not** land on spans by itself: B copies what it needs (or installs a
# span processor that does it for every span).
#
# > **Never put secrets or personal data in baggage.** It is sent in clear text with every
# > message to every downstream hop, including systems you do not own, and is easy to log.
#
# ## 5. The composite propagator, and the blog's choice
#
# `propagate.inject` / `extract` use the *global* propagator. By default (and as the kit
# sets it) that is a **composite** of W3C trace context and W3C baggage, so both headers go
# out; `OTEL_PROPAGATORS=tracecontext,baggage` says the same from the environment.

# %%
textmap = propagate.get_global_textmap()
type(textmap).__name__, sorted(textmap.fields)

# %% [markdown]
# | Then (2023 blog) | Now | Why |
# |---|---|---|
# | `TraceContextTextMapPropagator().inject(carrier=carrier)` | `propagate.inject(carrier)` | the blog's propagator carries only the trace context, never baggage; the global one follows `OTEL_PROPAGATORS` |
# | `dict(msg.properties.UserProperty)` before extracting | a Getter that reads every value of a key (lesson 06) | MQTT allows a key more than once |
# | `SpanKind.SERVER` for the receiving span | `SpanKind.CONSUMER` | see lesson 01's kinds |
#
# ## 6. A broken `traceparent` never breaks the receiver
#
# Messages arrive from code you do not control. The W3C rule: a `traceparent` that does not
# parse is ignored (and its `tracestate` with it) and the receiver starts a new trace.
# The propagator never raises:

# %%
bad_values = {
    "a good one": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "too short": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
    "all-zero trace id": "00-00000000000000000000000000000000-b7ad6b7169203331-01",
    "all-zero parent id": "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
    "version not hex": "zz-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "version ff (forbidden)": "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "not a traceparent": "hello",
}
for label, value in bad_values.items():
    ctx = propagate.extract({"traceparent": value, "tracestate": "congo=t61rcWkgMzE"})
    parent = trace.get_current_span(ctx).get_span_context()
    print(f"{label:<23} → {'continues the trace' if parent.is_valid else 'new trace'}")

# %% [markdown]
# ## Exercises
#
# A self-check judges the cell it is in: keep your code and the check together.
#
# ### Exercise 4.1: continue the trace
#
# Service B extracts the context but its span `ship order` does not join the trace of
# `place order`. Fix the consumer side. The trace to aim for:

# %%
from kit.checks import check_trace, exercise

exercise("4.1")

# %% tags=["exercise"]
with orders.tracer.start_as_current_span("place order", kind=SpanKind.PRODUCER):
    carrier = {}
    propagate.inject(carrier)

ctx = propagate.extract(carrier)
with shipping.tracer.start_as_current_span("ship order", kind=SpanKind.CONSUMER):
    pass

check_trace("4.1")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_4.1.py

# %% [markdown]
# ### Exercise 4.2: baggage to billing
#
# The order service knows the tenant, `tenant` (drawn for this run in the next cell). Send it
# as **baggage** `tenant.id` in the carrier, and have the billing service read it from what it
# extracted and put it on its span `bill order` as the attribute `tenant.id`. (The check
# looks at the carrier too: the value must travel in it. Exercise 4.3 then makes sure it is
# read from there.)

# %%
billing = setup("billing-service")
lab = exercise("4.2")
tenant = lab.tenant
lab

# %% tags=["exercise"]
from kit.checks import check_baggage

with orders.tracer.start_as_current_span("place order", kind=SpanKind.PRODUCER):
    carrier = {}
    propagate.inject(carrier)  # change this side ...

ctx = propagate.extract(carrier)
with billing.tracer.start_as_current_span("bill order", context=ctx, kind=SpanKind.CONSUMER) as span:
    pass  # ... and this side

check_baggage(carrier, "tenant.id", tenant, "bill order", service="billing-service", producer="place order",
              exercise="4.2")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_4.2.py

# %% [markdown]
# ### Exercise 4.3: a message across two services, from scratch
#
# Write `send(order_id)`: with `orders.tracer`, a PRODUCER span `send order` in which you
# inject the current context, with the baggage `order.id` = `order_id`, into a new dict,
# and return it. Write `receive(carrier)`: extract it and, with `shipping.tracer`, start the
# CONSUMER span `receive order` in that context, with the attribute `order.id` read from
# the baggage. The self-check calls them with this run's orders, drawn in the next cell:
# each call of the two makes one pair of spans of this trace.

# %%
exercise("4.3")

# %% tags=["exercise"]
from kit.checks import check_round_trip


def send(order_id):
    ...  # your code here


def receive(carrier):
    ...  # your code here


check_round_trip(send, receive, key="order.id", producer="send order", consumer="receive order", exercise="4.3")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_4.3.py

# %%
waterfall()

# %% [markdown]
# > **Key points**
# > - A `traceparent` is `version-traceid-parentid-flags`; `tracestate` carries vendors' extras beside it.
# > - Inject on the sending side while its span is current; extract on the receiving side and
# >   start the span with `context=ctx`.
# > - Baggage travels in its own header and is not added to spans by itself; never put secrets in it.
# > - `propagate.inject/extract` follow the global composite propagator (trace context + baggage).
# > - A broken `traceparent` starts a new trace; it never raises.
