from kit.checks import check_edge_extract

ALLOWED = ("tenant.id",)


def extract_at_edge(carrier):
    """The trace context of a message from outside, with only the ALLOWED baggage keys."""
    ctx = w3c.extract(carrier)  # the trace context only
    offered = baggage.get_all(propagate.extract(carrier))  # what the sender put in its baggage
    for key in ALLOWED:
        if key in offered:
            ctx = baggage.set_baggage(key, offered[key], context=ctx)
    return ctx


check_edge_extract(extract_at_edge, allowed=ALLOWED, exercise="11.2")
