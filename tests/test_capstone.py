"""The capstone (lesson 12): the greenhouse app as processes, and its checkpoint proven
against the untouched app (every finding ✗), half-done and half-right apps (✗ exactly
where they are wrong, saying what) and the solutions (all ✓).

One broker and one receiver serve the whole module; each run starts the app's three
programs, sends two read requests and stops them (a few seconds each).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

from kit.broker import start_broker
from kit.capstone import SOLUTION, STARTING_APP, Greenhouse, compare, copy_app
from kit.checks import check_checkpoint
from kit.checks.checkpoint import FINDINGS

import capstone_variants as variants

ROOT = Path(__file__).resolve().parent.parent


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


zero_code = _load(SOLUTION / "zero_code.py", "capstone_zero_code")


@pytest.fixture(scope="module")
def lab():
    from kit.receiver import start_receiver

    broker = start_broker(protocol=5)
    receiver = start_receiver(grpc_port=0, http_port=0)
    yield Greenhouse(broker, receiver)
    receiver.stop()
    broker.stop()


def verdicts(result) -> dict:
    return {f.name: f.status for f in result.findings}


def show(result) -> str:
    return "\n" + repr(result)


# ---------------------------------------------------------------- the app as given

def test_the_starting_app_is_plain_paho():
    """No OpenTelemetry and no kit in the scripts the learner starts from; paho 2.x callbacks;
    MQTT v5 for the sensor and controller, 3.1.1 for the vent."""
    protocols = {}
    for script in sorted(STARTING_APP.glob("*.py")):
        tree = ast.parse(script.read_text())
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not imported & {"opentelemetry", "kit"}, f"{script.name} imports {imported & {'opentelemetry', 'kit'}}"
        source = script.read_text()
        if "mqtt.Client(" in source:
            assert "CallbackAPIVersion.VERSION2" in source
            protocols[script.stem] = "3.1.1" if "MQTTv311" in source else "5" if "MQTTv5" in source else "?"
    assert protocols == {"sensor": "5", "controller": "5", "vent": "3.1.1"}


def test_copy_app_keeps_the_learners_files(tmp_path):
    mine = copy_app(tmp_path / "my_greenhouse")
    (mine / "vent.py").write_text("# my work\n")
    copy_app(mine)
    assert (mine / "vent.py").read_text() == "# my work\n"
    assert sorted(p.name for p in mine.glob("*.py")) == sorted(p.name for p in STARTING_APP.glob("*.py"))


@pytest.fixture(scope="module")
def half_done(tmp_path_factory) -> dict:
    """The half-done apps of capstone_variants, written from the solution."""
    return variants.write_all(tmp_path_factory.mktemp("half-done"))


def test_each_variant_is_the_solution_with_its_edits_and_says_so(half_done):
    for name, folder in half_done.items():
        edited = set(variants.VARIANTS[name]["edits"])
        for script in sorted(SOLUTION.joinpath("by_hand").glob("*.py")):
            text = (folder / script.name).read_text()
            if script.name in edited:
                assert text != script.read_text() and "(a test fixture)" in text, f"{name}/{script.name}"
            else:
                assert text == script.read_text(), f"{name}/{script.name} should be the solution's"


# ---------------------------------------------------------------- the checkpoint

def test_untouched_app_fails_every_finding(lab):
    run = lab.run(STARTING_APP)
    assert run.alerted and not run.problems, run.console  # the app works; it only sends no telemetry
    result = check_checkpoint(run)
    print(show(result))
    assert not result.passed
    assert verdicts(result) == {name: "✗" for name in FINDINGS}
    assert all("Fix:" in f.text for f in result.findings), show(result)


@pytest.mark.parametrize("name", list(variants.VARIANTS))
def test_half_done_app_fails_where_it_is_half_done(lab, half_done, name):
    """(and linked_consumers, complete the other way, passes: links count as continuing the story). The ✗
    names the mistake, and never asks for code the app already has: what a ✗ suggests adding is not in the
    program it names, as the program ran."""
    variant = variants.VARIANTS[name]
    run = lab.run(half_done[name])
    assert run.alerted and not run.problems, run.console
    result = check_checkpoint(run)
    print(show(result))
    wrong = variant["wrong"]
    assert verdicts(result) == {f: "✗" if f in wrong else "✓" for f in FINDINGS}, show(result)
    assert result.passed == (not wrong)
    if "says" in variant:
        assert variant["says"] in result.finding(wrong[0]).text, show(result)
    for finding in result.findings:
        for service, code in finding.suggests.items():
            source = (half_done[name] / f"{service}.py").read_text()
            assert not any(c in source for c in code), f"{finding} asks for {code} in {service}.py, which has it"


def test_messages_never_name_what_is_not_wrong(lab, half_done):
    """Class 10 of issue 17: a vent span never ended is not 'no CONSUMER span at all'; a context sent in the
    v5 JSON payload is not 'the sensor sends no context'."""
    never_ended = check_checkpoint(lab.run(half_done["vent_span_never_ended"]))
    assert "no CONSUMER span at all" not in never_ended.message, show(never_ended)
    assert "never ended" in never_ended.finding("one trace").text, show(never_ended)
    in_json = check_checkpoint(lab.run(half_done["reading_context_in_json"]))
    assert "sends no context" not in in_json.message and "no traceparent" not in in_json.message, show(in_json)
    assert "carries its context in its JSON payload" in in_json.finding("one trace").text, show(in_json)


def test_the_lab_drives_both_outcomes(lab):
    """Two read requests, each with its own traceparent: the morning's command works, the afternoon's jams
    and raises the one alert; every message is tagged with the request it followed."""
    run = lab.run(STARTING_APP)
    assert [r.read.outcome for r in run.requests] == ["ok", "failed"] and len({r.trace_id for r in run.requests}) == 2
    states = [(m.request, m.json().get("ok")) for m in run.messages if m.topic.endswith("/vent/state")]
    assert states == [(0, True), (1, False)], run.messages
    alerts = [m.request for m in run.messages if m.topic.endswith("/alerts")]
    assert alerts == [1]
    assert all(m.topic.startswith(f"greenhouse/{run.greenhouse}/") for m in run.messages)
    assert run.greenhouse != "gh-1" and run.requests[0].sent < run.requests[1].sent
    assert run.sources["vent"] == (STARTING_APP / "vent.py").read_text()


def test_the_story_is_a_module_of_its_own():
    """kit.greenhouse holds the story; the checkpoint imports it, not the lab runner (no import circle)."""
    import subprocess

    code = "import sys, kit.checks.checkpoint; print('kit.capstone' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


@pytest.fixture(scope="module")
def by_hand(lab):
    """One run of the by-hand solution, for the tests that judge it or a doctored copy of it."""
    return lab.run(SOLUTION / "by_hand")


def test_solution_by_hand_passes_every_finding(by_hand):
    result = check_checkpoint(by_hand)
    print(show(result))
    assert result.passed and verdicts(result) == {name: "✓" for name in FINDINGS}, show(result)
    assert len(by_hand.trace_ids) == 2 and set(by_hand.spans.service) == {"sensor", "controller", "vent"}


def doctored(run, **frames):
    """A copy of ``run`` with some of its DataFrames changed: mistakes too small for an app of their own."""
    return dataclasses.replace(run, **{k: v(run.__dict__[k].copy(deep=True)) for k, v in frames.items()})


def test_finer_mistakes_are_named(by_hand):
    def status_unset(spans):
        spans.loc[spans.status == "ERROR", "status"] = "UNSET"
        return spans

    def no_exception_event(spans):
        spans["events"] = [[e for e in events if e[0] != "exception"] for events in spans.events]
        return spans

    def milliseconds(metrics):
        metrics["value"] = [dict(v, sum=v["sum"] * 1000) if isinstance(v, dict) else v for v in metrics.value]
        return metrics

    def unit_ms(metrics):
        metrics.loc[metrics.name == "greenhouse.decision.duration", "unit"] = "ms"
        return metrics

    def logs_outside_spans(logs):
        logs.loc[logs.service == "vent", ["trace_id", "span_id"]] = None
        return logs

    cases = [("the failure", {"spans": status_unset}, "record_exception does not set it"),
             ("the failure", {"spans": no_exception_event}, "no exception event says what failed"),
             ("metrics", {"metrics": milliseconds}, "milliseconds, in a histogram whose unit is 's'"),
             ("metrics", {"metrics": unit_ms}, "durations are in seconds, unit='s'"),
             ("logs", {"logs": logs_outside_spans}, "record 'close: the vent is at 0 %' carries no trace: it was "
                                                    "written outside any span")]
    for finding, frames, fragment in cases:
        result = check_checkpoint(doctored(by_hand, **frames))
        wrong = [f.name for f in result.findings if f.status == "✗"]
        assert wrong == [finding] and fragment in result.finding(finding).text, show(result)


def test_the_checkpoint_never_raises_on_an_odd_run(by_hand):
    """Whatever the programs sent (values of odd shapes, parents in a loop, payloads that are not JSON, a
    record with no time), every finding is a ✓ or a ✗ that says what it could not judge."""
    from kit.greenhouse import Message

    def histogram_of_none(metrics):
        metrics["value"] = [None if n == "greenhouse.decision.duration" else v
                            for n, v in zip(metrics.name, metrics.value)]
        return metrics

    def parents_in_a_loop(spans):
        ids = list(spans.span_id)
        spans["parent_span_id"] = ids[1:] + ids[:1]
        return spans

    def odd_spans(spans):
        spans["attributes"] = [None] * len(spans)
        spans["events"] = [[("exception", None)]] * len(spans)
        spans["links"] = [None] * len(spans)
        return spans

    def no_times(logs):
        logs["time"] = None
        return logs

    odd = [({"metrics": histogram_of_none}, "metrics"), ({"spans": parents_in_a_loop}, "one trace"),
           ({"spans": odd_spans}, "baggage"), ({"logs": no_times}, None)]   # a record's time is not judged
    for frames, wrong in odd:
        result = check_checkpoint(doctored(by_hand, **frames))
        assert [f.name for f in result.findings] == list(FINDINGS), show(result)
        assert (result.finding(wrong).status == "✗") if wrong else result.passed, show(result)
    garbled = dataclasses.replace(by_hand, messages=[Message(m.topic, b"\xff{not json", [("traceparent", 7)], m.request)
                                                     for m in by_hand.messages])
    result = check_checkpoint(garbled)
    assert [f.name for f in result.findings] == list(FINDINGS) and not result.passed, show(result)
    assert "no traceparent" in result.finding("one trace").text, show(result)


def test_zero_code_sent_elsewhere_is_named(by_hand):
    import pandas as pd

    nothing = {k: (lambda df: df.iloc[0:0]) for k in ("spans", "logs", "metrics")}
    run = doctored(by_hand, **nothing)
    run.processes = {name: dataclasses.replace(p, argv=["opentelemetry-instrument", "python", f"{name}.py"],
                                               env={"OTEL_SERVICE_NAME": name,
                                                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})
                     for name, p in by_hand.processes.items()}
    result = check_checkpoint(run, zero_code=True)
    assert "you set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf" in result.finding("services").text, show(result)
    assert isinstance(run.spans, pd.DataFrame) and run.spans.empty


def test_solution_zero_code_passes_what_zero_code_can_do(lab, by_hand):
    run = lab.run(STARTING_APP, command=zero_code.command)
    result = check_checkpoint(run, zero_code=True)
    print(show(result))
    assert result.passed, show(result)
    assert verdicts(result) == {"services": "✓", "one trace": "✓", "kinds and parents": "✓", "the failure": "·",
                                "the slow step": "·", "baggage": "·", "metrics": "✓", "logs": "✓"}
    full = check_checkpoint(run)  # judged as a by-hand app: the trace breaks at the 3.1.1 vent
    assert not full.passed and verdicts(full)["one trace"] == "✗" and "3.1.1" in full.finding("one trace").text
    table = compare(by_hand, run)
    print(table.to_string())
    assert table.loc["traces per read request"].tolist() == [1, 3]
    assert table.loc["the failure"].tolist() == ["✓", "·"]


def test_a_crashing_program_is_reported(lab, tmp_path):
    app = copy_app(tmp_path / "broken")
    controller = app / "controller.py"
    controller.write_text(controller.read_text().replace("    forecast = fetch_forecast()\n",
                                                         "    forecast = fetch_forcast()\n"))
    lab_fast = Greenhouse(lab.broker, lab.receiver, alert_timeout_s=5)
    run = lab_fast.run(app)
    assert any("controller printed a traceback: NameError" in p for p in run.problems), run.problems
    result = check_checkpoint(run)
    assert "! controller printed a traceback: NameError" in result.message


def test_check_checkpoint_wants_a_run():
    result = check_checkpoint("my_greenhouse")
    assert not result.passed and "lab.run" in result.message


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-n", "0", "-s"]))
