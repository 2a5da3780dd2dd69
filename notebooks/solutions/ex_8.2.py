from kit.checks import check_each

readings = [b'{"t": 20.5}', b'{"t": 21.0, "rh": 40}', b'{"t": 19.5, "rh": 42, "co2": 600}']
tele = setup("greenhouse")

PahoMqttInstrumentor().instrument(message_body_size=True)
greenhouse = Inbox()
watcher = connect("greenhouse-watcher", subscribe_to="greenhouse/#", on_message=greenhouse)
thermometer = connect("greenhouse-thermometer")
for reading in readings:
    thermometer.publish("greenhouse/temp", reading, qos=1)
greenhouse.wait(3)
for client in (watcher, thermometer):
    client.disconnect()
    client.loop_stop()
PahoMqttInstrumentor().uninstrument()

check_each("process greenhouse/temp", 3, kind="CONSUMER", attribute="messaging.message.body.size",
           values=[len(r) for r in readings], parent="publish greenhouse/temp",
           how="PahoMqttInstrumentor().instrument(message_body_size=True), or a process_hook(span, client, "
               "message) that sets it to len(message.payload).")
