def handle_order(client, userdata, msg):
    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    with processor.tracer.start_as_current_span("process orders/new", context=ctx, kind=SpanKind.CONSUMER):
        pass


orders = Inbox(then=handle_order)
subscriber.on_message = orders
with sensor.tracer.start_as_current_span("publish orders/new", kind=SpanKind.PRODUCER):
    properties = Properties(PacketTypes.PUBLISH)
    propagate.inject(properties, setter=user_properties_setter)
    publisher.publish("orders/new", b'{"id": 7}', qos=1, properties=properties)
orders.wait(1)

check_hop(orders, "process orders/new", "publish orders/new", exercise="6.2")
