from kit.checks import check_round_trip


def send(order_id):
    with orders.tracer.start_as_current_span("send order", kind=SpanKind.PRODUCER):
        carrier = {}
        propagate.inject(carrier, context=baggage.set_baggage("order.id", order_id))
        return carrier


def receive(carrier):
    ctx = propagate.extract(carrier)
    with shipping.tracer.start_as_current_span("receive order", context=ctx, kind=SpanKind.CONSUMER) as span:
        span.set_attribute("order.id", baggage.get_baggage("order.id", ctx))


check_round_trip(send, receive, key="order.id", producer="send order", consumer="receive order", exercise="4.3")
