tele = setup("greenhouse")

PahoMqttInstrumentor().instrument(message_body_size=True)
greenhouse = Inbox()
watcher = connect("greenhouse-watcher", subscribe_to="greenhouse/#", on_message=greenhouse)
thermometer = connect("greenhouse-thermometer")
for reading in readings:
    thermometer.publish("greenhouse/temp", reading, qos=1)
greenhouse.wait(len(readings))
for client in (watcher, thermometer):
    client.disconnect()
    client.loop_stop()
PahoMqttInstrumentor().uninstrument()

check_trace("8.2")
