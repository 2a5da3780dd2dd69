with tele.tracer.start_as_current_span(
    "publish sensors/temp", kind=SpanKind.PRODUCER, attributes={MESSAGING_SYSTEM: "mqtt"}
):
    pass

check_trace("1.3")
