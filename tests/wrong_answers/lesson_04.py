from wrong_answers import Wrong

WRONG = {
    "4.1": [
        Wrong("the carrier dict passed as the context", "has no parent: it started a trace of its own",
              edits=[("context=ctx, kind=SpanKind.CONSUMER", "context=carrier, kind=SpanKind.CONSUMER")]),
        Wrong("injected after the producer span ended", "has no parent",
              edits=[("    carrier = {}\n    propagate.inject(carrier)\n", "    pass\ncarrier = {}\npropagate.inject(carrier)\n")]),
        Wrong("a link instead of a parent", "is linked to 'place order' but is not its child",
              edits=[("context=ctx, kind=SpanKind.CONSUMER",
                      "kind=SpanKind.CONSUMER,\n        links=[trace.Link(trace.get_current_span(ctx).get_span_context())]")]),
        Wrong("extracted from an empty carrier", "has no parent",
              edits=[("ctx = propagate.extract(carrier)", "ctx = propagate.extract({})")]),
    ],
    "4.2": [
        Wrong("the attribute typed in on the billing side, no baggage sent", "The carrier has no baggage",
              edits=[('propagate.inject(carrier, context=baggage.set_baggage("tenant.id", "acme"))', "propagate.inject(carrier)"),
                     ('baggage.get_baggage("tenant.id", ctx)', '"acme"')]),
        Wrong("baggage set, but not in the context injected", "The carrier has no baggage",
              edits=[('propagate.inject(carrier, context=baggage.set_baggage("tenant.id", "acme"))',
                      'tenant = baggage.set_baggage("tenant.id", "acme")\n    propagate.inject(carrier)')]),
        Wrong("read without ctx: the current context has no baggage", "Without ctx, get_baggage reads the current context",
              edits=[('baggage.get_baggage("tenant.id", ctx)', 'baggage.get_baggage("tenant.id")')]),
        Wrong("the key shortened to tenant", "with no 'tenant.id'",
              edits=[('baggage.set_baggage("tenant.id", "acme")', 'baggage.set_baggage("tenant", "acme")')]),
    ],
}
