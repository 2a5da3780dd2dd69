"""Half-done greenhouse apps: the lab's by-hand solution with one part of the work undone
or done half right, the way learners leave it (and one complete app done the other way:
consumers linked to their producers). tests/test_capstone.py runs the checkpoint on each
and expects ✗ on exactly the findings listed here, with a message that names the mistake
(``says``) and never asks for code the app already has; tests/wrong_answers/lesson_12.py
uses them as the wrong answers of exercise 12.1.

    python tests/capstone_variants.py /tmp/half-done      # to read them

Each variant is written, when a test needs it, from the solution with the edits below
(each must match the solution exactly once, or writing it fails): a change to the
solution reaches the variants by itself.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

SOLUTION = Path(__file__).resolve().parents[1] / "capstone" / "solution" / "by_hand"

SENSOR_EXTRACT = '''    ctx = extract_user_properties(msg.properties)                # the read request's context
    ctx = baggage.set_baggage("greenhouse.id", GREENHOUSE, ctx)  # from here on, it travels with the trace
    token = context.attach(ctx)  # current: the spans below continue it, and inject() sends the baggage too
'''
SENSOR_INJECT = '''                properties = Properties(PacketTypes.PUBLISH)
                inject_user_properties(properties)  # traceparent and baggage, as MQTT v5 user properties
                client.publish(topic, json.dumps(reading), qos=1, properties=properties)
'''
READING_EXTRACT = '''    token = context.attach(extract_user_properties(msg.properties))  # the sensor's span, and the baggage
'''
COMMAND_INJECT = '''                payload = inject_json_payload(json.dumps(command))  # the 3.1.1 vent: the context goes in the JSON
                client.publish(topic, payload, qos=1)
'''
STATE_EXTRACT = '''    token = context.attach(extract_json_payload(msg.payload))  # the vent (3.1.1) sent its context in the JSON
'''
COMMAND_EXTRACT = '''    token = context.attach(extract_json_payload(msg.payload))  # 3.1.1: the context came in the JSON
'''
STATE_INJECT = '''                client.publish(topic, inject_json_payload(json.dumps(state)), qos=1)
'''
ALERT_INJECT = '''                properties = Properties(PacketTypes.PUBLISH)
                inject_user_properties(properties)
                client.publish(topic, json.dumps(alert), qos=1, properties=properties)
'''
GREENHOUSE_FROM_BAGGAGE = '''            greenhouse_id = baggage.get_baggage("greenhouse.id") or "unknown"
'''
FORECAST_SPAN = '''            with tracer.start_as_current_span("fetch forecast"):  # the slow step, named on the waterfall
                forecast = fetch_forecast()
'''
MOVE_SPAN = '''                # an exception leaving this block is recorded on its span, which ends with status ERROR
                with tracer.start_as_current_span("move vent", attributes={"vent.percent": command["percent"]}):
                    position = move_vent(command["percent"])
'''

ALERT_SPAN = '''            with tracer.start_as_current_span(f"publish {topic}", kind=SpanKind.PRODUCER, attributes=messaging(topic)):
                properties = Properties(PacketTypes.PUBLISH)
'''
STATE_ERROR_LOG = '''            log.error("the vent did not %s: %s", state["action"], state["error"])
'''
ERROR_LOG_FIRST = '''        state = json.loads(msg.payload)
        if not state["ok"]:  # said first, before the span starts
            log.error("the vent did not %s: %s", state["action"], state["error"])
'''
SENSOR_READ = '''            celsius = read_temperature(json.loads(msg.payload).get("at", ""))
            log.info("%s reads %.1f °C", SENSOR, celsius)
'''
COUNT = '''            commands.add(1, {"command": command["action"], "outcome": "ok" if state["ok"] else "failed"})
'''
STATE_PUBLISH = '''            with tracer.start_as_current_span(f"publish {topic}", kind=SpanKind.PRODUCER, attributes=messaging(topic)):
                client.publish(topic, inject_json_payload(json.dumps(state)), qos=1)
'''
VENT_SPAN = '''        with tracer.start_as_current_span(f"process {msg.topic}", kind=SpanKind.CONSUMER,
                                          attributes=messaging(msg.topic)) as span:
'''
COMMAND_PUBLISH = '''            topic = f"greenhouse/{greenhouse}/vent/command"
            with tracer.start_as_current_span(f"publish {topic}", kind=SpanKind.PRODUCER, attributes=messaging(topic)):
                payload = inject_json_payload(json.dumps(command))  # the 3.1.1 vent: the context goes in the JSON
                client.publish(topic, payload, qos=1)
'''
READING_SPAN = ALERT_SPAN  # the sensor's publish of the reading starts the same way


def in_a_client_span(text: str, name: str) -> str:
    """``text``'s first ``with`` also opens a CLIENT span ``name`` around it (the 2023 blog's nesting)."""
    return text.replace("with tracer.start_as_current_span(", f'with tracer.start_as_current_span("{name}", '
                        'kind=SpanKind.CLIENT), tracer.start_as_current_span(', 1)


TODO = "    token = context.attach(context.get_current())  # TODO: the message's context\n"

VARIANTS = {
    "no_propagation": {
        "why": "spans of the right kinds, the failure, the slow step, metrics and logs, but no context "
               "sent or read: every service starts traces of its own (and no baggage can travel)",
        "wrong": ["one trace", "kinds and parents", "baggage"],
        "edits": {
            "sensor.py": [("    ctx = extract_user_properties(msg.properties)                # the read request's context\n",
                           "    ctx = context.get_current()  # TODO: the read request's context\n"),
                          (SENSOR_INJECT, "                client.publish(topic, json.dumps(reading), qos=1)\n")],
            "controller.py": [(READING_EXTRACT, TODO),
                              (GREENHOUSE_FROM_BAGGAGE, '            greenhouse_id = msg.topic.split("/")[1]\n'),
                              (COMMAND_INJECT, "                client.publish(topic, json.dumps(command), qos=1)\n"),
                              (STATE_EXTRACT, TODO),
                              (ALERT_INJECT, "                client.publish(topic, json.dumps(alert), qos=1)\n")],
            "vent.py": [(COMMAND_EXTRACT, TODO),
                        (STATE_INJECT, "                client.publish(topic, json.dumps(state), qos=1)\n")],
        },
    },
    "traces_only": {
        "why": "one trace with the right kinds and parents, and logs, but the failure, the slow step, the "
               "baggage and the metrics left for later",
        "wrong": ["the failure", "the slow step", "baggage", "metrics"],
        "edits": {
            "sensor.py": [('    ctx = baggage.set_baggage("greenhouse.id", GREENHOUSE, ctx)  # from here on, it '
                           'travels with the trace\n', "")],
            "controller.py": [(GREENHOUSE_FROM_BAGGAGE, '            greenhouse_id = "gh-1"\n'),
                              ('            span.set_attribute("greenhouse.id", greenhouse_id)\n', ""),
                              (FORECAST_SPAN, "            forecast = fetch_forecast()\n"),
                              ('            decision_duration.record(time.perf_counter() - started, '
                               '{"greenhouse.id": greenhouse_id})\n', "")],
            "vent.py": [('            span.set_attribute("greenhouse.id", baggage.get_baggage("greenhouse.id") '
                         'or "unknown")\n', ""),
                        (MOVE_SPAN, '                position = move_vent(command["percent"])\n'),
                        ('            commands.add(1, {"command": command["action"], "outcome": "ok" if '
                         'state["ok"] else "failed"})\n', "")],
        },
    },
    "user_properties_to_vent": {
        "why": "everything, but the command goes to the MQTT 3.1.1 vent the v5 way, in user properties, "
               "which a 3.1.1 client never receives: the trace breaks at the vent",
        "wrong": ["one trace", "kinds and parents", "baggage"],
        "edits": {
            "controller.py": [(COMMAND_INJECT, "                properties = Properties(PacketTypes.PUBLISH)\n"
                                               "                inject_user_properties(properties)\n"
                                               "                client.publish(topic, json.dumps(command), qos=1, "
                                               "properties=properties)\n")],
            "vent.py": [(COMMAND_EXTRACT, "    token = context.attach(extract_user_properties(msg.properties))\n"),
                        ("from kit.propagation import extract_json_payload, inject_json_payload\n",
                         "from kit.propagation import extract_user_properties, inject_json_payload\n")],
        },
    },
    "baggage_not_attached": {
        "why": "everything, but the sensor's and the controller's reading handlers start their span with "
               "context=ctx instead of attaching ctx: the span gets ctx's parent, not its baggage, so the "
               "greenhouse id never leaves the sensor",
        "wrong": ["baggage", "metrics"],
        "edits": {"sensor.py": [lambda text: unattach(text, "def on_message(")],
                  "controller.py": [lambda text: unattach(text, "def on_reading(")]},
    },
    # -- half right: each passed all eight findings before the checkpoint judged the whole story (issue 17)
    "alert_client_span": {
        "why": "everything, but the alert is published inside a CLIENT span (the blog's kind), not a PRODUCER one",
        "wrong": ["kinds and parents"], "says": "is CLIENT, not PRODUCER",
        "edits": {"controller.py": [(ALERT_SPAN, ALERT_SPAN.replace("SpanKind.PRODUCER", "SpanKind.CLIENT"))]},
    },
    "alert_untraced": {
        "why": "everything, but the alert is published as it was: no span, no context",
        "wrong": ["one trace", "kinds and parents"], "says": "the alert (greenhouse/",
        "edits": {"controller.py": [(ALERT_SPAN + ALERT_INJECT[ALERT_INJECT.index("                inject"):],
                                     "            client.publish(topic, json.dumps(alert), qos=1)\n")]},
    },
    "error_logged_outside_span": {
        "why": "everything, but the controller logs the vent's failure before starting its span for the report "
               "(the record lands in the vent's span, the context it received)",
        "wrong": ["logs"], "says": "written outside the controller's own spans",
        "edits": {"controller.py": [(STATE_ERROR_LOG, ""),
                                    (STATE_EXTRACT + "    try:\n", STATE_EXTRACT + "    try:\n" + ERROR_LOG_FIRST)]},
    },
    "sensor_logs_before_span": {
        "why": "everything, but the sensor reads and logs before it continues the request's context",
        "wrong": ["logs"], "says": "carries no trace: it was written outside any span",
        "edits": {"sensor.py": [(SENSOR_READ, ""), (SENSOR_EXTRACT, SENSOR_READ.replace("            ", "    ")
                                                   + SENSOR_EXTRACT)]},
    },
    "vent_prints_its_failure": {
        "why": "everything, but the vent prints its failure instead of logging it, so no record says the vent jammed",
        "wrong": ["logs"], "says": "the vent wrote 1 log record",
        "edits": {"vent.py": [('                log.error("%s failed: %s", command["action"], exc)\n',
                               '                print(f"{command[\'action\']} failed: {exc}", flush=True)\n')]},
    },
    "counts_failures_only": {
        "why": "everything, but the vent counts only the commands that fail",
        "wrong": ["metrics"], "says": "the 'close' command worked 1 time this run",
        "edits": {"vent.py": [(COUNT, '            if not state["ok"]:\n                commands.add(1, {"command": '
                                      'command["action"], "outcome": "failed"})\n')]},
    },
    "counter_typed_in": {
        "why": "everything, but the counter's attributes are typed in: every command counts as a failed open",
        "wrong": ["metrics"], "says": "'outcome': 'ok'} should be 1",
        "edits": {"vent.py": [(COUNT, '            commands.add(1, {"command": "open", "outcome": "failed"})\n')]},
    },
    "vent_copies_traceparent": {
        "why": "everything, but the vent's report carries the command's own traceparent, copied, with no span of "
               "the vent's around the publish",
        "wrong": ["kinds and parents"], "says": "passed on the context it received instead of sending its own",
        "edits": {"vent.py": [(STATE_PUBLISH, '            received = json.loads(msg.payload)  # passed on as it came\n'
                                              '            state.update({k: received[k] for k in ("traceparent", '
                                              '"baggage") if k in received})\n'
                                              '            client.publish(topic, json.dumps(state), qos=1)\n')]},
    },
    "vent_span_never_ended": {
        "why": "everything, but the vent's span for the command is started with start_span and never ended, so "
               "it is never exported",
        "wrong": ["one trace", "kinds and parents", "baggage", "logs"], "says": "never ended",
        "edits": {"vent.py": [("from opentelemetry import baggage, context\n",
                               "from opentelemetry import baggage, context, trace\n"),
                              (VENT_SPAN, '        span = tracer.start_span(f"process {msg.topic}", '
                                          'kind=SpanKind.CONSUMER, attributes=messaging(msg.topic))\n'
                                          '        with trace.use_span(span, end_on_exit=False):  # TODO: end it\n')]},
    },
    "reading_context_in_json": {
        "why": "everything, but the reading's context travels in its JSON payload (and the controller reads it "
               "there), not in MQTT v5 user properties",
        "wrong": ["one trace"], "says": "carries its context in its JSON payload, and the controller reads it there",
        "edits": {"sensor.py": [("from kit.propagation import extract_user_properties, inject_user_properties\n",
                                 "from kit.propagation import extract_user_properties, inject_json_payload\n"),
                                (SENSOR_INJECT, "                client.publish(topic, inject_json_payload("
                                                "json.dumps(reading)), qos=1)\n")],
                  "controller.py": [(READING_EXTRACT, "    token = context.attach(extract_json_payload(msg.payload))\n")]},
    },
    "greenhouse_typed_in": {
        "why": "everything, but the vent's span gets the greenhouse id typed in, not from the baggage",
        "wrong": ["baggage"], "says": "typed in",
        "edits": {"vent.py": [('span.set_attribute("greenhouse.id", baggage.get_baggage("greenhouse.id") or "unknown")',
                               'span.set_attribute("greenhouse.id", "gh-1")')]},
    },
    "publish_outside_consumer": {
        "why": "everything, but the controller publishes the command after its span for the reading has ended",
        "wrong": ["kinds and parents"], "says": "is not inside its span for the reading",
        "edits": {"controller.py": [(COMMAND_PUBLISH, "\n".join(line[4:] if line else line
                                                                for line in COMMAND_PUBLISH.split("\n")))]},
    },
    "client_around_producer": {
        "why": "everything, but the sensor wraps its PRODUCER span in a CLIENT span, as the 2023 blog nested them",
        "wrong": ["kinds and parents"], "says": "is CLIENT",
        "edits": {"sensor.py": [(READING_SPAN, in_a_client_span(READING_SPAN, "send reading"))]},
    },
    "sensor_consumer_internal": {
        "why": "everything, but the sensor's span for the read request is INTERNAL, not CONSUMER",
        "wrong": ["kinds and parents"], "says": "is INTERNAL, not CONSUMER",
        "edits": {"sensor.py": [("kind=SpanKind.CONSUMER", "kind=SpanKind.INTERNAL")]},
    },
    "jam_in_a_trace_of_its_own": {
        "why": "everything, but the vent's span for moving the vent starts a trace of its own (context=Context()), "
               "so the jam is recorded outside the afternoon's story",
        "wrong": ["the failure"], "says": "in a trace of its own",
        "edits": {"vent.py": [('with tracer.start_as_current_span("move vent", ',
                               'with tracer.start_as_current_span("move vent", context=context.Context(), ')]},
    },
    "forecast_span_not_wrapping": {
        "why": "everything, but the forecast's span ends before the forecast is fetched",
        "wrong": ["the slow step"], "says": "it does not wrap the slow call",
        "edits": {"controller.py": [(FORECAST_SPAN, '            with tracer.start_as_current_span("fetch forecast"):\n'
                                                    '                pass\n'
                                                    '            forecast = fetch_forecast()\n')]},
    },
    "jam_recorded_on_ended_span": {
        "why": "everything, but the vent records the jam on its move span after that span has ended",
        "wrong": ["the failure"], "says": "on a span that had ended already",
        "edits": {"vent.py": [("from opentelemetry.trace import SpanKind\n",
                               "from opentelemetry.trace import SpanKind, Status, StatusCode\n"),
                              (MOVE_SPAN, '                with tracer.start_as_current_span("move vent") as moving:\n'
                                          '                    pass\n'
                                          '                position = move_vent(command["percent"])\n'),
                              ('                log.error("%s failed: %s", command["action"], exc)\n',
                               '                log.error("%s failed: %s", command["action"], exc)\n'
                               '                moving.record_exception(exc)  # moving has ended: ignored\n'
                               '                moving.set_status(Status(StatusCode.ERROR, str(exc)))\n')]},
    },
    "every_command_an_error": {
        "why": "everything, but the vent sets ERROR on its span for every command, the one that worked too",
        "wrong": ["the failure"], "says": "only a command that fails is an error",
        "edits": {"vent.py": [("from opentelemetry.trace import SpanKind\n",
                               "from opentelemetry.trace import SpanKind, Status, StatusCode\n"),
                              (COUNT, COUNT + '            span.set_status(Status(StatusCode.ERROR, '
                                              'state.get("error", "")))\n')]},
    },
    "forecast_a_client_call": {
        "why": "complete, with the forecast's span a CLIENT span: fetch_forecast() calls the weather service, "
               "and CLIENT is the kind of a call out to another service (only a span that wraps a message is "
               "the 2023 blog's CLIENT)",
        "wrong": [],
        "edits": {"controller.py": [('with tracer.start_as_current_span("fetch forecast"):',
                                     'with tracer.start_as_current_span("fetch forecast", kind=SpanKind.CLIENT):')]},
    },
    "client_span_wraps_the_alert": {
        "why": "everything, but the controller wraps the alert's PRODUCER span in a CLIENT span named as an action",
        "wrong": ["kinds and parents"], "says": "'raise alarm' is CLIENT",
        "edits": {"controller.py": [(ALERT_SPAN, in_a_client_span(ALERT_SPAN, "raise alarm"))]},
    },
    "failure_logged_as_info": {
        "why": "everything, but the vent logs its failure with log.info: no ERROR record to search for",
        "wrong": ["logs"], "says": "the vent wrote 0 ERROR records about the failed command",
        "edits": {"vent.py": [('log.error("%s failed: %s", command["action"], exc)',
                               'log.info("%s failed: %s", command["action"], exc)')]},
    },
    # round 2 (rt4): the 2023 blog's code, and the lesson's wording read carelessly
    "blog_envelope_to_vent": {
        "why": "everything, but the command to the vent wraps the context the 2023 blog's way, "
               "{\"trace_context\": {...}, \"payload\": command}, and the vent unwraps it: the trace goes on, "
               "but not by the W3C convention, and the app's message changed",
        "wrong": ["one trace", "kinds and parents", "baggage"], "says": "carries a traceparent inside 'trace_context'",
        "edits": {"controller.py": [(COMMAND_INJECT,
                                     "                carrier = {}\n                propagate.inject(carrier)\n"
                                     "                payload = json.dumps({\"trace_context\": carrier, \"payload\": command})\n"
                                     "                client.publish(topic, payload, qos=1)\n"),
                                    ("from opentelemetry import baggage, context\n",
                                     "from opentelemetry import baggage, context, propagate\n")],
                  "vent.py": [(COMMAND_EXTRACT,
                               "    envelope = json.loads(msg.payload)\n"
                               "    token = context.attach(propagate.extract(envelope.get(\"trace_context\", {})))\n"),
                              ("            command = json.loads(msg.payload)\n", "            command = envelope[\"payload\"]\n"),
                              ("from opentelemetry import baggage, context\n",
                               "from opentelemetry import baggage, context, propagate\n")]},
    },
    "baggage_key_misspelt": {
        "why": "everything, but the sensor puts the greenhouse in the baggage as greenhouse_id, not greenhouse.id",
        "wrong": ["baggage", "metrics"], "says": "under another key",
        "edits": {"sensor.py": [('baggage.set_baggage("greenhouse.id", GREENHOUSE, ctx)',
                                 'baggage.set_baggage("greenhouse_id", GREENHOUSE, ctx)')]},
    },
    "baggage_set_without_context": {
        "why": "everything, but the sensor calls set_baggage(key, value) without ctx: the context it attaches has "
               "the baggage and not the read request's trace",
        "wrong": ["one trace", "kinds and parents"], "says": "without a context",
        "edits": {"sensor.py": [('baggage.set_baggage("greenhouse.id", GREENHOUSE, ctx)',
                                 'baggage.set_baggage("greenhouse.id", GREENHOUSE)')]},
    },
    "vent_not_set_up": {
        "why": "everything, but the vent takes the global tracer and meter instead of setting up its own providers: "
               "nothing of the vent leaves its process, and the findings that need its spans say so, not 'attach the "
               "context'",
        "wrong": ["services", "one trace", "kinds and parents", "the failure", "baggage", "metrics", "logs"],
        "says": "no span came from 'vent'",
        "edits": {"vent.py": [('tele = setup("vent")\ntracer = tele.tracer',
                               'from opentelemetry import metrics, trace\ntracer = trace.get_tracer("vent")\n'
                               'tele = type("Global", (), {"meter": metrics.get_meter("vent"), "flush": staticmethod(lambda: None)})')]},
    },
    "linked_consumers": {
        "why": "complete, the other way the messaging conventions allow: each CONSUMER span starts a trace of its "
               "own, linked to the producer's span, and the baggage still travels",
        "wrong": [],
        "edits": {name: [lambda text: linked(text)] for name in ("sensor.py", "controller.py", "vent.py")},
    },
}


def linked(text: str) -> str:
    """Every handler: the message's context attached for its baggage only, the process span linked to the
    sender's span instead of being its child."""
    text = text.replace("from opentelemetry.trace import SpanKind\n",
                        "from opentelemetry.trace import INVALID_SPAN, Link, SpanKind, get_current_span, "
                        "set_span_in_context\n")
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith("    token = context.attach("):
            value = line.split("  #")[0].rstrip().removeprefix("    token = context.attach(")[:-1]
            if value != "ctx":
                out.append(f"    ctx = {value}\n")
            out.append("    token = context.attach(set_span_in_context(INVALID_SPAN, ctx))  # its baggage, no parent\n")
            continue
        if 'start_as_current_span(f"process {msg.topic}", ' in line:
            line = line.replace('start_as_current_span(f"process {msg.topic}", ',
                                'start_as_current_span(f"process {msg.topic}", '
                                'links=[Link(get_current_span(ctx).get_span_context())], ')
        out.append(line)
    return "".join(out)


def unattach(text: str, handler: str) -> str:
    """In the function starting with ``handler``: no context.attach(ctx), the span started with
    context=ctx instead (the block one level less indented, no try/finally)."""
    start = text.index(handler)
    end = text.index("\n\n\n", start)
    body = text[start:end].splitlines(keepends=True)
    out, in_try = [], False
    for line in body:
        if line.startswith("    token = context.attach("):
            value = line.split("  #")[0].rstrip().removeprefix("    token = context.attach(")[:-1]
            if value != "ctx":
                out.append(f"    ctx = {value}\n")
        elif line == "    try:\n":
            in_try = True
        elif line.rstrip("\n") in ("    finally:", "        context.detach(token)"):
            in_try = False
        else:
            line = line[4:] if in_try and line.startswith("        ") else line
            if "start_as_current_span(" in line and "context=ctx" not in "".join(out):
                line = line.replace('start_as_current_span(f"process {msg.topic}", ',
                                    'start_as_current_span(f"process {msg.topic}", context=ctx, ')
            out.append(line)
    return text[:start] + "".join(out) + text[end:]


def write(name: str, variant: dict, into: Path) -> Path:
    """Write the variant ``name`` into ``into/name`` and return the folder."""
    folder = into / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for source in sorted(SOLUTION.glob("*.py")):
        text = source.read_text()
        edits = variant["edits"].get(source.name, [])
        for edit in edits:
            if callable(edit):
                text = edit(text)
                continue
            old, new = edit
            if text.count(old) != 1:
                raise ValueError(f"{name}/{source.name}: the edit {old[:60]!r} matches {text.count(old)} times")
            text = text.replace(old, new)
        if edits:
            head, _, rest = text.partition('"""\n\n')
            label = "HALF-DONE ON PURPOSE" if variant["wrong"] else "DONE ANOTHER WAY"
            text = f'{head}\n{label} (a test fixture): {variant["why"]}.\n"""\n\n{rest}'
        (folder / source.name).write_text(text)
    return folder


def write_all(into: Path) -> dict[str, Path]:
    """Every variant, written into ``into``: {name: its folder}."""
    return {name: write(name, variant, into) for name, variant in VARIANTS.items()}


if __name__ == "__main__":
    for folder in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "half-done")).values():
        print("wrote", folder)
