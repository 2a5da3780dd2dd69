from kit.checks import check_span

with tele.tracer.start_as_current_span(
    "publish sensors/temp", kind=SpanKind.PRODUCER, attributes={MESSAGING_SYSTEM: "mqtt"}
):
    pass

check_span("publish sensors/temp", kind="PRODUCER", attributes={"messaging.system": "mqtt"})
