from kit.checks import check_retained

cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="exercise-5-2-cleaner")
cleaner.connect(broker.host, broker.port)
cleaner.loop_start()
cleaner.publish("lab/status", b"", qos=1, retain=True).wait_for_publish(5)  # start clean
cleaner.disconnect()
cleaner.loop_stop()
dashboard = Inbox()

lab_sensor = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lab-sensor")
lab_sensor.connect(broker.host, broker.port)
lab_sensor.loop_start()
lab_sensor.publish("lab/status", b"online", qos=1, retain=True).wait_for_publish(5)
lab_sensor.disconnect()
lab_sensor.loop_stop()

board = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lab-dashboard")
board.on_connect = lambda c, userdata, flags, reason_code, properties: c.subscribe("lab/status", qos=1)
board.on_message = dashboard
board.connect(broker.host, broker.port)
board.loop_start()
dashboard.wait(1, timeout_s=2)
board.disconnect()
board.loop_stop()

check_retained(dashboard.messages, "lab/status", b"online", qos=1, clients=("lab-sensor", "lab-dashboard"),
               exercise="5.2")
