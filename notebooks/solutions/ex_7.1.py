import json

from opentelemetry import propagate

from kit.checks import check_json_propagation


def inject_json(payload: bytes) -> bytes:
    """The payload with the current context's fields at the root of its JSON object;
    any other payload exactly as it came."""
    try:
        obj = json.loads(payload)
    except ValueError:  # not UTF-8, not JSON
        return payload
    if not isinstance(obj, dict):  # a number, a string, an array: nowhere to put fields
        return payload
    propagate.inject(obj)  # traceparent (tracestate, baggage) beside the app's own fields
    return json.dumps(obj).encode()


def extract_json(payload: bytes):
    """The context in a JSON payload's fields; an empty context for anything else."""
    try:
        obj = json.loads(payload)
    except ValueError:
        obj = None
    if not isinstance(obj, dict):
        return propagate.extract({})
    return propagate.extract({k: v for k, v in obj.items() if isinstance(v, str)})  # a field may hold any JSON value


check_json_propagation(inject_json, extract_json, exercise="7.1")
