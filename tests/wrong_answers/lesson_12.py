import atexit
import shutil
import tempfile
from pathlib import Path

from capstone_variants import VARIANTS, write
from wrong_answers import Wrong

SOLUTION_APP = '"../capstone/solution/by_hand"'
HALF_DONE = Path(tempfile.mkdtemp(prefix="capstone-half-done-"))
atexit.register(shutil.rmtree, HALF_DONE, True)


def half_done(name: str) -> list:
    """The solution cell pointed at a half-done app (tests/capstone_variants.py says what each lacks)."""
    return [(SOLUTION_APP, repr(str(write(name, VARIANTS[name], HALF_DONE))))]


WRONG = {
    "12.1": [
        Wrong("no context sent or read: every program starts traces of its own", "the sensor does not continue it",
              edits=half_done("no_propagation")),
        Wrong("traces and logs only: the failure, the slow step, baggage and metrics left for later",
              "nothing inside it says where the time goes", edits=half_done("traces_only")),
        Wrong("the command to the 3.1.1 vent sent the v5 way, in user properties",
              "speaks MQTT 3.1.1 and never receives them", edits=half_done("user_properties_to_vent")),
        Wrong("spans started with context=ctx, the context never attached: the baggage stays behind",
              "carries no baggage greenhouse.id=gh-", edits=half_done("baggage_not_attached")),
        # half right (issue 17): each passed all eight findings before the checkpoint judged the whole story
        Wrong("the alert published inside a CLIENT span", "is CLIENT, not PRODUCER", edits=half_done("alert_client_span")),
        Wrong("the alert published as it was: no span, no context", "the alert (greenhouse/",
              edits=half_done("alert_untraced")),
        Wrong("the vent's failure logged before the controller's span starts", "written outside the controller's own spans",
              edits=half_done("error_logged_outside_span")),
        Wrong("the counter counts only the failed commands", "the 'close' command worked 1 time this run",
              edits=half_done("counts_failures_only")),
        Wrong("the vent's report passes on the command's traceparent, with no span of its own",
              "passed on the context it received instead of sending its own", edits=half_done("vent_copies_traceparent")),
        Wrong("the vent's span started with start_span and never ended", "never ended",
              edits=half_done("vent_span_never_ended")),
        Wrong("the reading's context in its JSON payload, between two MQTT v5 programs",
              "carries its context in its JSON payload", edits=half_done("reading_context_in_json")),
        Wrong("the greenhouse id typed into the vent's span", "typed in", edits=half_done("greenhouse_typed_in")),
        Wrong("the command published after the span for the reading ended", "is not inside its span for the reading",
              edits=half_done("publish_outside_consumer")),
        Wrong("the vent's failure logged with log.info", "the vent wrote 0 ERROR records",
              edits=half_done("failure_logged_as_info")),
        # round 2 (rt4): the blog's envelope, and the lesson's wording read carelessly
        Wrong("the command's context in the 2023 blog's envelope", "carries a traceparent inside 'trace_context'",
              edits=half_done("blog_envelope_to_vent")),
        Wrong("the greenhouse in the baggage as greenhouse_id", "under another key",
              edits=half_done("baggage_key_misspelt")),
        Wrong("set_baggage(key, value) without ctx: the trace is lost", "without a context",
              edits=half_done("baggage_set_without_context")),
    ],
    "12.2": [
        Wrong("the script started as it is, without opentelemetry-instrument", "start each script under opentelemetry-instrument",
              edits=[("[INSTRUMENT, sys.executable, script]", "[sys.executable, script]")]),
        Wrong("no service name: every program is unknown_service", "unknown_service",
              edits=[('{"OTEL_SERVICE_NAME": service,             # each program its own name\n           ', "{")]),
        Wrong("one service name for the whole app", "spans came as 'greenhouse'",
              edits=[('"OTEL_SERVICE_NAME": service,', '"OTEL_SERVICE_NAME": "greenhouse",')]),
        Wrong("no JSON payload option for the 3.1.1 vent", "OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD=true for the vent",
              edits=[('           "OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD": "true"}', "           }")]),
        # round 2 (rt4): a command line as the shell writes it, the pair the other way round, a flag as 1
        Wrong("the command as one string, as typed in a shell", "returned the command as one string",
              edits=[("    command = [INSTRUMENT, sys.executable, script]",
                      '    command = f"{INSTRUMENT} {sys.executable} {script}"')]),
        Wrong("the variables returned first, the command second", "returned the variables first",
              edits=[("    return command, env", "    return env, command")]),
        Wrong("the JSON option switched on with 1, not true", "OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD='1'",
              edits=[('"OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD": "true"}', '"OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD": "1"}')]),
    ],
}

RIGHT = {
    "12.1": [Wrong("the forecast's span a CLIENT span: a call out to the weather service", "",
                   edits=half_done("forecast_a_client_call"))],
}
