def handle_alert(client, userdata, msg):
    ctx = propagate.extract(msg.properties, getter=user_properties_getter)
    with processor.tracer.start_as_current_span("process alerts/high", context=ctx, kind=SpanKind.CONSUMER):
        pass


alerts = Inbox(then=handle_alert)
subscriber.on_message = alerts
with sensor.tracer.start_as_current_span("publish alerts/high", kind=SpanKind.PRODUCER):
    properties = Properties(PacketTypes.PUBLISH)
    propagate.inject(properties, setter=user_properties_setter)
    publisher.publish("alerts/high", b'{"t": 31.5}', qos=1, properties=properties)
alerts.wait(1)

check_hop(alerts, "process alerts/high", "publish alerts/high", exercise="6.3")
