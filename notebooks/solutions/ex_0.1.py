with tele.tracer.start_as_current_span("hello"):
    with tele.tracer.start_as_current_span("say hello to MQTT"):
        pass
    with tele.tracer.start_as_current_span("say goodbye"):
        pass

check_trace("0.1")
