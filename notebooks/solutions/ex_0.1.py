from kit.checks import check_parent

with tele.tracer.start_as_current_span("hello"):
    with tele.tracer.start_as_current_span("say hello to MQTT"):
        pass
    with tele.tracer.start_as_current_span("say goodbye"):
        pass

check_parent("say goodbye", "hello", sibling="say hello to MQTT")
