tele = setup("sensor-app")


def add_sensor_id(span, client, topic, payload):
    span.set_attribute("app.sensor.id", "s-1")


PahoMqttInstrumentor().instrument(publish_hook=add_sensor_id)

lab = connect("sensor-9")
lab.publish("lab/temp", b'{"t": 20.0}', qos=1).wait_for_publish(5)
lab.disconnect()
PahoMqttInstrumentor().uninstrument()

check_trace("8.1")
