from kit.checks import check_first_alert

alerts = spans[spans.name == "publish alerts/s-2"].sort_values("start")
alert_trace = alerts.trace_id.iloc[0]

check_first_alert(receiver, alert_trace, sensor="s-2", exercise="9.1")
