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
    Wrong("published without retain", "Publish with retain=True",
          edits=[('lab_sensor.publish("lab/status", b"online", qos=1, retain=True)', 'lab_sensor.publish("lab/status", b"online", qos=1)')]),
    Wrong("subscribed at QoS 0", "so both must be 1",
          edits=[('c.subscribe("lab/status", qos=1)', 'c.subscribe("lab/status")')]),
    Wrong("published at QoS 0", "so both must be 1",
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
