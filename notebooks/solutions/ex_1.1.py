with tele.tracer.start_as_current_span("read sensor") as span:
    span.set_attribute("sensor.id", "s-1")
    span.add_event("reading taken")

check_trace("1.1")
