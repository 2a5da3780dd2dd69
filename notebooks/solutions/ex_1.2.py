from kit.checks import check_handled_error


def parse_reading(text):
    with tele.tracer.start_as_current_span("parse reading") as span:
        try:
            return float(text)
        except ValueError as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, "not a number"))
            return None


check_handled_error(parse_reading, bad="twenty", good="21.5", span_name="parse reading", exercise="1.2")
