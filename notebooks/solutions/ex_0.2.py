from kit.checks import check_tree

with tele.tracer.start_as_current_span("deliver parcel"):
    with tele.tracer.start_as_current_span("load van"):
        time.sleep(0.005)
    with tele.tracer.start_as_current_span("drive"):
        with tele.tracer.start_as_current_span("traffic jam"):
            time.sleep(0.01)

check_tree({"deliver parcel": {"load van": {}, "drive": {"traffic jam": {}}}})
