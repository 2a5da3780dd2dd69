def handle_order(client, userdata, msg):
    ctx = extract_json_payload(msg.payload)
    with processor.tracer.start_as_current_span("process orders/new", context=ctx, kind=SpanKind.CONSUMER):
        pass


orders = Inbox(then=handle_order)
subscriber.on_message = orders
with sensor.tracer.start_as_current_span("publish orders/new", kind=SpanKind.PRODUCER):
    publisher.publish("orders/new", inject_json_payload(b'{"id": 7}'), qos=1)
orders.wait(1)

check_hop(orders, "process orders/new", "publish orders/new", placement="json", exercise="7.2")
