from wrong_answers import Wrong

WRONG = {
    "9.1": [
        Wrong("the last alert, not the first", "That is the last of the 5 alerts for s-2",
              edits=[("alerts.trace_id.iloc[0]", "alerts.trace_id.iloc[-1]")]),
        Wrong("an alert of the first sensor", "an alert for another sensor ('publish alerts/s-1')",
              edits=[('spans.name == "publish alerts/s-2"', 'spans.name == "publish alerts/s-1"')]),
        Wrong("the span id of the alert", "16 characters is a span id",
              edits=[("alerts.trace_id.iloc[0]", "alerts.span_id.iloc[0]")]),
        Wrong("the first reading of s-2, which raised no alert", "has no alert",
              edits=[('spans.name == "publish alerts/s-2"', 'spans.name == "publish sensors/s-2/temp"')]),
    ],
}
