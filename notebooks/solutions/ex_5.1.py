from kit.checks import check_received

TOPIC_FILTER = "lab/+"

lab = Inbox()
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="exercise-5-1")
client.on_connect = lambda c, userdata, flags, reason_code, properties: c.subscribe(TOPIC_FILTER)
client.on_message = lab
done = threading.Event()
client.on_subscribe = lambda c, userdata, mid, reason_codes, properties: done.set()
client.connect(broker.host, broker.port)
client.loop_start()
done.wait(5)

sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sender")
sender.connect(broker.host, broker.port)
sender.loop_start()
for topic in ("lab/temp", "lab/humidity", "office/temp"):
    sender.publish(topic, b"1", qos=1).wait_for_publish(5)
lab.wait(3, timeout_s=0.5)  # on 127.0.0.1 whatever can arrive is in well within half a second
client.disconnect(), sender.disconnect()
check_received(lab.messages, ["lab/temp", "lab/humidity"], topic_filter=TOPIC_FILTER, exercise="5.1")
