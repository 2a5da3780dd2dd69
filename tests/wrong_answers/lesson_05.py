from wrong_answers import Wrong

WRONG = {
    "5.1": [
        Wrong("a shell-style star", "'*' and '?' are not MQTT wildcards",
              edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "lab/*"')]),
        Wrong("everything: #", "also matches 'office/temp'",
              edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "#"')]),
        Wrong("the wildcard on the wrong level", "does not match 'lab/humidity'",
              edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "+/temp"')]),
        Wrong("the parent level alone, no wildcard", "does not match 'lab/temp'",
              edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "lab"')]),
        Wrong("a wildcard glued to a word", "'+' and '#' must be a whole level",
              edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "lab/t+"')]),
    ],
}

WRONG["5.2"] = [
    Wrong("published without retain", "Nothing is retained on 'lab/status' at the broker",
          edits=[('lab_sensor.publish("lab/status", b"online", qos=1, retain=True)', 'lab_sensor.publish("lab/status", b"online", qos=1)')]),
    Wrong("subscribed at QoS 0", "the publish was at QoS 1, the dashboard subscribed at QoS 0",
          edits=[('c.subscribe("lab/status", qos=1)', 'c.subscribe("lab/status")')]),
    Wrong("published at QoS 0", "the publish was at QoS 0: publish(..., qos=1)",
          edits=[('b"online", qos=1, retain=True)', 'b"online", retain=True)')]),
    Wrong("the check before the message arrived: no wait", "The late subscriber got nothing",
          edits=[("dashboard.wait(1, timeout_s=2)\n", "")]),
    Wrong("the dashboard connected first, the status published after", "not as a retained message",
          edits=[('lab_sensor = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lab-sensor")\n'
                  'lab_sensor.connect(broker.host, broker.port)\nlab_sensor.loop_start()\n'
                  'lab_sensor.publish("lab/status", b"online", qos=1, retain=True).wait_for_publish(5)\n'
                  'lab_sensor.disconnect()\nlab_sensor.loop_stop()\n\n', ''),
                 ("board.loop_start()\n", 'board.loop_start()\nimport time\ntime.sleep(0.5)\n'
                  'lab_sensor = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lab-sensor")\n'
                  'lab_sensor.connect(broker.host, broker.port)\nlab_sensor.loop_start()\n'
                  'lab_sensor.publish("lab/status", b"online", qos=1, retain=True).wait_for_publish(5)\n')]),
]

WRONG["5.1"] += [
    Wrong("the filter left, a second subscription added", "does not match 'lab/humidity'",
          edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "lab/temp"'),
                 ("c.subscribe(TOPIC_FILTER)", '(c.subscribe(TOPIC_FILTER), c.subscribe("lab/humidity"))')]),
    Wrong("a list of two filters", "TOPIC_FILTER is a list",
          edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = [("lab/temp", 0), ("lab/humidity", 0)]')]),
]

# Written from issue 17's classes: callbacks paho cannot call, clients left connected, one client for two.
WRONG["5.1"] += [
    Wrong("paho 1.x's on_connect(client, userdata, flags, rc)", "That is paho 1.x's signature",
          edits=[("client.on_connect = lambda c, userdata, flags, reason_code, properties: c.subscribe(TOPIC_FILTER)",
                  "client.on_connect = lambda c, userdata, flags, rc: c.subscribe(TOPIC_FILTER)")]),
    Wrong("paho 1.x's on_subscribe(client, userdata, mid, granted_qos)", "a CallbackAPIVersion.VERSION2 client calls "
          "it with 5 arguments",
          edits=[("client.on_subscribe = lambda c, userdata, mid, reason_codes, properties: done.set()",
                  "client.on_subscribe = lambda c, userdata, mid, granted_qos: done.set()")]),
    Wrong("the client made without CallbackAPIVersion.VERSION2", "was made without CallbackAPIVersion.VERSION2",
          edits=[('client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="exercise-5-1")',
                  'client = mqtt.Client(client_id="exercise-5-1")')]),
    Wrong("the sender left connected", "(client 'sender') is still connected when the exercise ends",
          edits=[("client.disconnect(), sender.disconnect()", "client.disconnect()")]),
]
WRONG["5.2"] += [
    Wrong("one client publishes and then subscribes to its own status", "The status arrived at the client 'lab-sensor'",
          edits=[('lab_sensor.disconnect()\nlab_sensor.loop_stop()\n\n', ''),
                 ('board = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lab-dashboard")\n', 'board = lab_sensor\n'),
                 ('board.connect(broker.host, broker.port)\nboard.loop_start()\n',
                  'board.subscribe("lab/status", qos=1)\n')]),
    Wrong("the clients never disconnected", "is still connected when the exercise ends",
          edits=[("lab_sensor.disconnect()\nlab_sensor.loop_stop()\n", ""),
                 ("board.disconnect()\nboard.loop_stop()\n", "")]),
    Wrong("the loop stopped, the connection left open", "(client 'lab-dashboard') is still connected",
          edits=[("board.disconnect()\nboard.loop_stop()\n", "board.loop_stop()\n")]),
    Wrong("paho 1.x's on_connect for the dashboard", "That is paho 1.x's signature",
          edits=[('board.on_connect = lambda c, userdata, flags, reason_code, properties: c.subscribe("lab/status", qos=1)',
                  'def on_connect(client, userdata, flags, rc):\n    client.subscribe("lab/status", qos=1)\n\n\n'
                  'board.on_connect = on_connect')]),
    Wrong("the dashboard named as the sensor: one client id for two", "The status arrived at the client 'lab-sensor'",
          edits=[('client_id="lab-dashboard"', 'client_id="lab-sensor"')]),
]

WRONG["5.1"].append(
    Wrong("two wildcards: every two-level topic", "also matches 'office/temp'",
          edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "+/+"')]))
RIGHT = {
    "5.1": [Wrong("# after the lab level: the same two topics here", "",
                  edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "lab/#"')])],
}

# Found by trying answers blind (rt1).
WRONG["5.2"] += [
    Wrong("the sensor disconnects right after publish, without waiting for the broker's PUBACK",
          "The broker never confirmed the publish of lab_sensor",
          edits=[('lab_sensor.publish("lab/status", b"online", qos=1, retain=True).wait_for_publish(5)\n'
                  'lab_sensor.disconnect()\n',
                  'lab_sensor.publish("lab/status", b"online", qos=1, retain=True)\nlab_sensor.disconnect()\n')]),
]
RIGHT["5.2"] = RIGHT.get("5.2", []) + [
    Wrong("the sensor as paho's one-shot publish.single, with the client id lab-sensor", "",
          edits=[('lab_sensor = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="lab-sensor")\n'
                  'lab_sensor.connect(broker.host, broker.port)\nlab_sensor.loop_start()\n'
                  'lab_sensor.publish("lab/status", b"online", qos=1, retain=True).wait_for_publish(5)\n'
                  'lab_sensor.disconnect()\nlab_sensor.loop_stop()\n',
                  'import paho.mqtt.publish\n\npaho.mqtt.publish.single("lab/status", b"online", qos=1, retain=True, '
                  'hostname=broker.host, port=broker.port, client_id="lab-sensor")\n')]),
]

# Found by trying answers blind, as the learner of the guide (rt3).
RIGHT["5.1"] += [
    Wrong("the filter given with its QoS, a (filter, qos) pair subscribe() takes as one subscription", "",
          edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = ("lab/+", 1)')]),
]
WRONG["5.1"] += [
    Wrong("two filters in a tuple", "TOPIC_FILTER is a tuple",
          edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = ("lab/temp", "lab/humidity")'),
                 ("c.subscribe(TOPIC_FILTER)", "c.subscribe([(t, 0) for t in TOPIC_FILTER])")]),
]
