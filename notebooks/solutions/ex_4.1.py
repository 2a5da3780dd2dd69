with orders.tracer.start_as_current_span("place order", kind=SpanKind.PRODUCER):
    carrier = {}
    propagate.inject(carrier)

ctx = propagate.extract(carrier)
with shipping.tracer.start_as_current_span("ship order", context=ctx, kind=SpanKind.CONSUMER):
    pass

check_trace("4.1")
