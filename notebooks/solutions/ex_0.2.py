with tele.tracer.start_as_current_span("deliver parcel"):
    with tele.tracer.start_as_current_span("load van"):
        time.sleep(0.005)
    with tele.tracer.start_as_current_span("drive"):
        with tele.tracer.start_as_current_span("traffic jam"):
            time.sleep(0.01)

check_trace("0.2")
