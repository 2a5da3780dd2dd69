"""Half-done greenhouse apps: the lab's by-hand solution with one part of the work undone,
the way learners leave it (and one complete app done the other way: consumers linked to
their producers). tests/test_capstone.py runs the checkpoint on each and expects ✗ on
exactly the findings listed here; tests/wrong_answers/lesson_12.py uses them as the
wrong answers of exercise 12.1.

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
