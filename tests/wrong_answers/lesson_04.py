from pathlib import Path

from wrong_answers import Wrong

SOLUTIONS = Path(__file__).resolve().parents[2] / "notebooks" / "solutions"

WRONG = {
    "4.1": [
        Wrong("the carrier dict passed as the context", "has no parent: it started a trace of its own",
              edits=[("context=ctx, kind=SpanKind.CONSUMER", "context=carrier, kind=SpanKind.CONSUMER")]),
        Wrong("injected after the producer span ended", "has no parent",
              edits=[("    carrier = {}\n    propagate.inject(carrier)\n", "    pass\ncarrier = {}\npropagate.inject(carrier)\n")]),
        Wrong("a link instead of a parent", "is linked to 'place order' but is not its child",
              edits=[("context=ctx, kind=SpanKind.CONSUMER",
                      "kind=SpanKind.CONSUMER,\n        links=[trace.Link(trace.get_current_span(ctx).get_span_context())]")]),
        Wrong("extracted from an empty carrier", "has no parent: it started a trace of its own. It is started with "
              "context=ctx, but that ctx holds no trace context",
              edits=[("ctx = propagate.extract(carrier)", "ctx = propagate.extract({})")]),
    ],
    "4.2": [
        Wrong("the attribute typed in on the billing side, no baggage sent", "The carrier has no baggage",
              edits=[('propagate.inject(carrier, context=baggage.set_baggage("tenant.id", tenant))', "propagate.inject(carrier)"),
                     ('baggage.get_baggage("tenant.id", ctx)', 'tenant')]),
        Wrong("baggage set, but not in the context injected", "The carrier has no baggage",
              edits=[('propagate.inject(carrier, context=baggage.set_baggage("tenant.id", tenant))',
                      'with_tenant = baggage.set_baggage("tenant.id", tenant)\n    propagate.inject(carrier)')]),
        Wrong("read without ctx: the current context has no baggage", "Without ctx, get_baggage reads the current context",
              edits=[('baggage.get_baggage("tenant.id", ctx)', 'baggage.get_baggage("tenant.id")')]),
        Wrong("the key shortened to tenant", "with no 'tenant.id'",
              edits=[('baggage.set_baggage("tenant.id", tenant)', 'baggage.set_baggage("tenant", tenant)')]),
    ],
}

WRONG["4.3"] = [
    Wrong("the order id typed in on the receiving side", "a value typed in passes only once",
          edits=[('span.set_attribute("order.id", baggage.get_baggage("order.id", ctx))', 'span.set_attribute("order.id", "o-1")')]),
    Wrong("the consumer span not started in the extracted context", "is not a child of 'send order'",
          edits=[('start_as_current_span("receive order", context=ctx, kind=SpanKind.CONSUMER)',
                  'start_as_current_span("receive order", kind=SpanKind.CONSUMER)')]),
    Wrong("no baggage in the injected context", "carries order.id=None",
          edits=[('propagate.inject(carrier, context=baggage.set_baggage("order.id", order_id))', "propagate.inject(carrier)")]),
    Wrong("the kinds the other way round", "the sending side is a PRODUCER",
          edits=[('"send order", kind=SpanKind.PRODUCER', '"send order", kind=SpanKind.CONSUMER'),
                 ('"receive order", context=ctx, kind=SpanKind.CONSUMER', '"receive order", context=ctx, kind=SpanKind.PRODUCER')]),
    Wrong("the carrier not returned", "returned NoneType",
          edits=[("        return carrier\n", "")]),
]

WRONG["4.1"] += [
    Wrong("the consumer nested inside the producer's block: no propagation at all", "but not through the carrier",
          edits=[('    propagate.inject(carrier)\n\nctx = propagate.extract(carrier)\n'
                  'with shipping.tracer.start_as_current_span("ship order", context=ctx, kind=SpanKind.CONSUMER):\n    pass\n',
                  '    propagate.inject(carrier)\n'
                  '    with shipping.tracer.start_as_current_span("ship order", kind=SpanKind.CONSUMER):\n        pass\n')]),
    Wrong("the producer's span object handed over", "but not through the carrier",
          edits=[('with orders.tracer.start_as_current_span("place order", kind=SpanKind.PRODUCER):',
                  'with orders.tracer.start_as_current_span("place order", kind=SpanKind.PRODUCER) as place:'),
                 ("context=ctx, kind=SpanKind.CONSUMER", "context=trace.set_span_in_context(place), kind=SpanKind.CONSUMER")]),
]
WRONG["4.2"] += [
    Wrong("an old carrier handed to the check, a new one without baggage used", "does not name the 'place order' this cell made",
          before=(SOLUTIONS / "ex_4.2.py").read_text(),
          edits=[('    carrier = {}\n    propagate.inject(carrier, context=baggage.set_baggage("tenant.id", tenant))',
                  '    headers = {}\n    propagate.inject(headers)'),
                 ("ctx = propagate.extract(carrier)", "ctx = propagate.extract(headers)"),
                 ('baggage.get_baggage("tenant.id", ctx)', 'tenant')]),
    Wrong("the billing span not in the extracted context", "is not a child of 'place order'",
          edits=[('start_as_current_span("bill order", context=ctx, kind=SpanKind.CONSUMER)',
                  'start_as_current_span("bill order", kind=SpanKind.CONSUMER)')]),
]

# Written from issue 17's classes: kinds, contexts left attached, values typed in, the whole trace.
WRONG["4.1"] += [
    Wrong("the blog's SERVER kind on the consumer", "has kind SERVER, expected CONSUMER",
          edits=[('"ship order", context=ctx, kind=SpanKind.CONSUMER', '"ship order", context=ctx, kind=SpanKind.SERVER')]),
    Wrong("the extracted context attached and never detached", "still the current context: a context.attach(...)",
          edits=[("ctx = propagate.extract(carrier)\n",
                  "ctx = propagate.extract(carrier)\nfrom opentelemetry import context\ncontext.attach(ctx)\n"),
                 ('"ship order", context=ctx, kind=SpanKind.CONSUMER', '"ship order", kind=SpanKind.CONSUMER')]),
    Wrong("the consumer's block written twice", "'ship order' appears twice in this cell",
          edits=[('kind=SpanKind.CONSUMER):\n    pass\n', 'kind=SpanKind.CONSUMER):\n    pass\n'
                  'with shipping.tracer.start_as_current_span("ship order", context=ctx, kind=SpanKind.CONSUMER):\n'
                  '    pass\n')]),
    Wrong("the consumer span made with the order service's tracer", "comes from service 'order-service', not "
          "'shipping-service'",
          edits=[('shipping.tracer.start_as_current_span("ship order"', 'orders.tracer.start_as_current_span("ship order"')]),
]
WRONG["4.2"] += [
    Wrong("the lesson's old tenant typed in on the sending side", "The carrier's baggage has tenant.id='acme', expected",
          edits=[('baggage.set_baggage("tenant.id", tenant)', 'baggage.set_baggage("tenant.id", "acme")')]),
    Wrong("the tenant typed in on the billing side", "but the carrier's baggage says",
          edits=[('baggage.get_baggage("tenant.id", ctx)', '"acme"')]),
    Wrong("the billing span a SERVER, as the blog's", "has kind SERVER, expected CONSUMER",
          edits=[('"bill order", context=ctx, kind=SpanKind.CONSUMER', '"bill order", context=ctx, kind=SpanKind.SERVER')]),
    Wrong("the baggage attached to inject it, and never detached", "still the current context",
          edits=[('    propagate.inject(carrier, context=baggage.set_baggage("tenant.id", tenant))',
                  '    propagate.inject(carrier)'),
                 ('with orders.tracer.start_as_current_span("place order"',
                  'from opentelemetry import context\ncontext.attach(baggage.set_baggage("tenant.id", tenant))\n'
                  'with orders.tracer.start_as_current_span("place order"')]),
]
WRONG["4.3"] += [
    Wrong("the receiving side a SERVER span", "the receiving side a CONSUMER",
          edits=[('"receive order", context=ctx, kind=SpanKind.CONSUMER', '"receive order", context=ctx, kind=SpanKind.SERVER')]),
    Wrong("receive attaches the extracted context and never detaches it", "After receive(...) returned",
          edits=[("    ctx = propagate.extract(carrier)\n",
                  "    ctx = propagate.extract(carrier)\n    context.attach(ctx)\n")],
          before="from opentelemetry import context"),
    Wrong("send makes a span of its own besides the PRODUCER", "also made 'serialize order' (INTERNAL, inside 'send order')",
          edits=[("        carrier = {}\n", "        with orders.tracer.start_as_current_span('serialize order'):\n"
                                           "            carrier = {}\n")]),
    Wrong("the order id typed in on the sending side", "carries order.id='o-1', expected",
          edits=[('baggage.set_baggage("order.id", order_id)', 'baggage.set_baggage("order.id", "o-1")')]),
]

WRONG["4.3"].append(
    Wrong("receive reads the baggage without ctx", "For 'o-",
          edits=[('baggage.get_baggage("order.id", ctx)', 'baggage.get_baggage("order.id")')]))
RIGHT = {
    "4.1": [Wrong("the extracted context attached around the span, and detached", "",
                  edits=[('with shipping.tracer.start_as_current_span("ship order", context=ctx, kind=SpanKind.CONSUMER):\n    pass\n',
                          'from opentelemetry import context\n\ntoken = context.attach(ctx)\ntry:\n'
                          '    with shipping.tracer.start_as_current_span("ship order", kind=SpanKind.CONSUMER):\n'
                          '        pass\nfinally:\n    context.detach(token)\n')])],
    "4.3": [Wrong("the W3C propagators by hand", "",
                  edits=[("        propagate.inject(carrier, context=baggage.set_baggage(\"order.id\", order_id))",
                          "        ctx = baggage.set_baggage(\"order.id\", order_id)\n"
                          "        TraceContextTextMapPropagator().inject(carrier, context=ctx)\n"
                          "        W3CBaggagePropagator().inject(carrier, context=ctx)"),
                         ("def send(order_id):", "from opentelemetry.baggage.propagation import W3CBaggagePropagator\n"
                          "from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator\n\n\n"
                          "def send(order_id):")])],
}

# Found by trying answers blind (rt1): the check sends every order before receiving any.
WRONG["4.3"] += [
    Wrong("receive reads the order id from a variable send left behind, not from the carrier",
          "is what the last send left behind, not what this carrier holds",
          edits=[("def send(order_id):\n", "last = {}\n\n\ndef send(order_id):\n    last['order.id'] = order_id\n"),
                 ('baggage.get_baggage("order.id", ctx)', "last['order.id']")]),
    Wrong("one carrier dict for every message, made once outside send", "was changed by a later send",
          edits=[("def send(order_id):\n", "carrier = {}\n\n\ndef send(order_id):\n"),
                 ("        carrier = {}\n", "")]),
]
WRONG["4.3"].append(
    Wrong("the carrier injected inside a span of its own within 'send order'", "a span inside 'send order': the carrier "
          "was injected while that inner span was current",
          edits=[("        carrier = {}\n        propagate.inject(carrier, context=baggage.set_baggage(\"order.id\", order_id))\n",
                  "        with orders.tracer.start_as_current_span('serialize order'):\n            carrier = {}\n"
                  "            propagate.inject(carrier, context=baggage.set_baggage(\"order.id\", order_id))\n")]))

# Found by trying answers blind, as the learner of the guide (rt3).
WRONG["4.2"] += [
    Wrong("the baggage read right, but set as the attribute 'tenant_id'",
          "under the attribute 'tenant_id', not 'tenant.id'", edits=[('span.set_attribute("tenant.id"', 'span.set_attribute("tenant_id"')]),
    Wrong("the baggage context built before the producer's span, and injected inside it",
          "holds the baggage but no traceparent",
          edits=[('with orders.tracer.start_as_current_span("place order", kind=SpanKind.PRODUCER):\n'
                  '    carrier = {}\n    propagate.inject(carrier, context=baggage.set_baggage("tenant.id", tenant))',
                  'bctx = baggage.set_baggage("tenant.id", tenant)\n'
                  'with orders.tracer.start_as_current_span("place order", kind=SpanKind.PRODUCER):\n'
                  '    carrier = {}\n    propagate.inject(carrier, context=bctx)')]),
]
WRONG["4.3"].append(
    Wrong("the baggage read right, but set as the attribute 'order_id'", "under the attribute 'order_id', not 'order.id'",
          edits=[('span.set_attribute("order.id"', 'span.set_attribute("order_id"')]))
