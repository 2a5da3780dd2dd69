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

WRONG["9.2"] = [
    Wrong("the sum of the span durations", "is the sum of every span's duration",
          edits=[("end_to_end_ms = (ends.max() - trace_spans.start.min()).total_seconds() * 1000",
                  "end_to_end_ms = trace_spans.duration_ms.sum()")]),
    Wrong("the root span's duration", "is the duration of the root span",
          edits=[("end_to_end_ms = (ends.max() - trace_spans.start.min()).total_seconds() * 1000",
                  "end_to_end_ms = trace_spans[trace_spans.parent_span_id.isna()].duration_ms.iloc[0]")]),
    Wrong("in seconds", "looks like seconds",
          edits=[("end_to_end_ms = (ends.max() - trace_spans.start.min()).total_seconds() * 1000",
                  "end_to_end_ms = (ends.max() - trace_spans.start.min()).total_seconds()")]),
    Wrong("the last alert's trace", "not of the first",
          edits=[('.sort_values("start").trace_id.iloc[0]', '.sort_values("start").trace_id.iloc[-1]')]),
]

WRONG["9.1"].append(
    Wrong("the trace id in capitals", "in capitals: trace ids are written in lower-case hex",
          edits=[("alert_trace = alerts.trace_id.iloc[0]", "alert_trace = alerts.trace_id.iloc[0].upper()")]))
WRONG["9.1"].append(
    Wrong("a Series, not one value", "is a pandas Series",
          edits=[("alert_trace = alerts.trace_id.iloc[0]", "alert_trace = alerts.trace_id.head(1)")]))

# Written from issue 17's classes.
WRONG["9.1"] += [
    Wrong("the trace id as bytes", "should be a trace id, 32 hex characters",
          edits=[("alert_trace = alerts.trace_id.iloc[0]", "alert_trace = alerts.trace_id.iloc[0].encode()")]),
]
WRONG["9.2"] += [
    Wrong("the duration as a Timedelta, not a number of milliseconds", "is a Timedelta",
          edits=[("end_to_end_ms = (ends.max() - trace_spans.start.min()).total_seconds() * 1000",
                  "end_to_end_ms = ends.max() - trace_spans.start.min()")]),
    Wrong("the last span's start, not its end", "is not the time from the first span's start to the last span's end",
          edits=[("end_to_end_ms = (ends.max() - trace_spans.start.min()).total_seconds() * 1000",
                  "end_to_end_ms = (trace_spans.start.max() - trace_spans.start.min()).total_seconds() * 1000")]),
]
