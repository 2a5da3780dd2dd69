from wrong_answers import Wrong

WRONG = {
    "5.1": [
        Wrong("a shell-style star", "'*' and '?' are not MQTT wildcards",
              edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "lab/*"')]),
        Wrong("everything: #", "Also received ['office/temp']",
              edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "#"')]),
        Wrong("the wildcard on the wrong level", "Nothing arrived on ['lab/humidity']",
              edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "+/temp"')]),
        Wrong("the parent level alone, no wildcard", "No message arrived",
              edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "lab"')]),
        Wrong("a wildcard glued to a word", "'+' and '#' must be a whole level",
              edits=[('TOPIC_FILTER = "lab/+"', 'TOPIC_FILTER = "lab/t+"')]),
    ],
}
