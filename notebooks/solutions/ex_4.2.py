from kit.checks import check_baggage

with orders.tracer.start_as_current_span("place order", kind=SpanKind.PRODUCER):
    carrier = {}
    propagate.inject(carrier, context=baggage.set_baggage("tenant.id", tenant))

ctx = propagate.extract(carrier)
with billing.tracer.start_as_current_span("bill order", context=ctx, kind=SpanKind.CONSUMER) as span:
    span.set_attribute("tenant.id", baggage.get_baggage("tenant.id", ctx))

check_baggage(carrier, "tenant.id", tenant, "bill order", service="billing-service", producer="place order",
              exercise="4.2")
