alerts = logging.getLogger("myapp.alerts")

with tele.tracer.start_as_current_span("check temperature"):
    reading = 31.5
    if reading > 30:
        alerts.warning("temperature too high")

check_log_in_span("temperature too high", "check temperature", severity="WARN", exercise="3.1")
