"""services/: three processes, one trace; they wait for a broker that is not up yet, and flush when stopped."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mqtt_helpers import Subscriber, publisher

from kit.broker import start_broker
from kit.ports import free_port
from kit.views import service_map, waterfall

ROOT = Path(__file__).parent.parent


def launch(name, broker_url, receiver, *args):
    env = {**os.environ, "MQTT_BROKER_URL": broker_url, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint,
           "OTEL_BSP_SCHEDULE_DELAY": "200", "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}  # this kit
    for var in ("OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_LOGS_EXPORTER"):
        env.pop(var, None)  # the services export OTLP by default
    return subprocess.Popen([sys.executable, str(ROOT / "services" / f"{name}.py"), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err


@pytest.fixture
def three_services(receiver):
    broker = start_broker(protocol=5)
    procs = [launch("processor", broker.url, receiver), launch("alerter", broker.url, receiver)]
    for p in procs:  # "connected to ...", then "ready"
        lines = [p.stdout.readline() for _ in range(2)]
        assert lines[-1].endswith("ready\n"), lines
    yield broker, procs
    for p in procs:
        if p.poll() is None:
            p.kill()


def test_one_trace_across_three_processes(receiver, three_services):
    broker, (processor, alerter) = three_services
    sensor = launch("sensor", broker.url, receiver, "--count", "4", "--interval", "0.1", "--start", "30")
    assert sensor.wait(60) == 0, sensor.stderr.read()

    def has_alert_trace(df):
        alerts = df[df.name.str.startswith("publish alerts/")]
        return not alerts.empty and df[df.trace_id == alerts.trace_id.iloc[0]].service.nunique() == 3

    assert receiver.wait_for_spans(has_alert_trace, timeout_s=30)
    codes = [stop(p) for p in (processor, alerter)]
    assert [c[0] for c in codes] == [0, 0]
    assert all("telemetry flushed" in c[1] for c in codes)

    df = receiver.spans_df()
    alert = df[df.name.str.startswith("publish alerts/")].iloc[0]
    trace = df[df.trace_id == alert.trace_id]
    assert set(trace.service) == {"sensor", "processor", "alerter"}
    chain = ["read temperature", "publish sensors/s-1/temp", "process sensors/s-1/temp",
             "publish processed/s-1/temp", "process processed/s-1/temp", "publish alerts/s-1"]
    by_id = trace.set_index("span_id")
    span = trace[trace.name == "publish alerts/s-1"].iloc[0]
    names = [span["name"]]
    while span.parent_span_id in by_id.index:
        span = by_id.loc[span.parent_span_id]
        names.append(span["name"])
    assert names[::-1] == chain
    logs = receiver.logs_df()
    alert_logs = logs[logs.body.astype(str).str.startswith("ALERT")]
    assert alert.trace_id in set(alert_logs.trace_id)
    assert "alerter" in repr(waterfall(df, trace_id=alert.trace_id))
    flows = repr(service_map(df))
    assert "sensor → processor" in flows and "processor → alerter" in flows


def test_a_service_waits_for_the_broker_and_says_so(receiver):
    port = free_port()
    processor = launch("processor", f"mqtt://127.0.0.1:{port}", receiver)
    line = processor.stderr.readline()
    assert "not reachable" in line and "retrying" in line
    broker = start_broker(protocol=5, port=port)
    assert processor.stdout.readline().startswith(f"processor: connected to mqtt://127.0.0.1:{port}")
    code, out, err = stop(processor)
    assert code == 0 and "telemetry flushed" in out and "Traceback" not in err
    broker.stop()


def test_a_service_started_before_the_receiver_says_so_and_keeps_running(tmp_path):
    from kit.receiver import start_receiver
    grpc_port = free_port()
    broker = start_broker(protocol=5)
    env_receiver = type("R", (), {"grpc_endpoint": f"http://127.0.0.1:{grpc_port}"})()
    sensor = launch("sensor", broker.url, env_receiver, "--count", "3", "--interval", "0.1")
    code = sensor.wait(60)
    err = sensor.stderr.read()
    assert code == 0 and "nothing is listening" in err, err
    receiver = start_receiver(grpc_port=grpc_port, http_port=0)
    try:
        sensor = launch("sensor", broker.url, receiver, "--count", "2", "--interval", "0.1")
        assert sensor.wait(60) == 0
        assert receiver.wait_for_spans(lambda df: (df.service == "sensor").any(), timeout_s=20)
    finally:
        receiver.stop()


BAD_MESSAGES = [b"not json", b"\xff\xfe", b"[21.5]", b'{"sensor": "s-9", "celsius": "hot"}', b'{"celsius": 30}']


def test_a_bad_message_is_logged_recorded_on_its_span_and_skipped(receiver, three_services):
    """One non-JSON message used to kill the processor's paho thread: the process kept
    saying "ready" and processed none of the next readings. Same for the alerter."""
    broker, (processor, alerter) = three_services
    raw = publisher(broker)
    for topic in ("sensors/s-9/temp", "processed/s-9/temp"):
        for payload in BAD_MESSAGES:
            raw.publish(topic, payload, qos=1).wait_for_publish(5)
    raw.disconnect()
    sensor = launch("sensor", broker.url, receiver, "--sensor-id", "s-9", "--count", "3", "--interval", "0.1",
                    "--start", "30")
    assert sensor.wait(60) == 0, sensor.stderr.read()
    assert receiver.wait_for_spans(lambda df: (df.name == "publish alerts/s-9").sum() == 3, timeout_s=30), \
        "the services stopped processing after a bad message"
    codes = [stop(p) for p in (processor, alerter)]
    assert [c[0] for c in codes] == [0, 0] and not any("Traceback" in c[2] for c in codes), codes
    df = receiver.spans_df()
    for service, topic in (("processor", "sensors/s-9/temp"), ("alerter", "processed/s-9/temp")):
        mine = df[(df.service == service) & (df.name == f"process {topic}")]
        failed = mine[mine.status == "ERROR"]
        assert len(failed) == len(BAD_MESSAGES), (service, list(mine.status))
        assert all(a.get("error.type") for a in failed.attributes)
        assert all("exception" in [e[0] for e in events] for events in failed.events)
    logs = receiver.logs_df()
    skipped = logs[logs.body.astype(str).str.startswith("skipped a message")]
    assert sorted(skipped.service.value_counts().items()) == [("alerter", 5), ("processor", 5)]
    assert set(skipped.trace_id) <= set(df.trace_id)  # each logged inside its span


def test_a_service_stops_within_its_deadline_against_a_black_hole_collector(black_hole):
    """A collector that accepts connections and never answers made a service's stop take
    26.6 s (the flush, then every exporter's own timeout at exit)."""
    broker = start_broker(protocol=5)
    hole = type("R", (), {"grpc_endpoint": black_hole})()
    processor = launch("processor", broker.url, hole)
    lines = [processor.stdout.readline() for _ in range(2)]
    assert lines[-1].endswith("ready\n"), lines
    processed = Subscriber(broker, "processed/#")
    raw = publisher(broker)
    raw.publish("sensors/s-1/temp", json.dumps({"sensor": "s-1", "celsius": 21.5}), qos=1).wait_for_publish(5)
    raw.disconnect()
    # the processor has handled it (it republished): its spans now wait for the black hole
    assert processed.wait_for(1), "the processor never republished the reading"
    processed.close()
    start = time.monotonic()
    code, out, err = stop(processor)
    took = time.monotonic() - start
    print(f"stopped in {took:.1f} s")
    assert code == 0 and "telemetry flushed" in out and "Traceback" not in err, err
    assert took < 5 + 2.5, f"the stop took {took:.1f} s"
    assert "failed" in err or "did not finish within 5 s" in err


@pytest.mark.parametrize("program", ["services/sensor.py", "services/processor.py", "services/alerter.py",
                                     "capstone/solution/by_hand/sensor.py", "capstone/solution/by_hand/vent.py",
                                     "capstone/solution/by_hand/controller.py"])
def test_a_program_that_sends_telemetry_never_loads_pandas_or_ipython(program):
    """A service imports the kit's telemetry and propagation helpers; the frames and the kernel's
    watermark are the notebook's business. Loading pandas and IPython made each program start
    0.8 s slower (the lab starts three of them at every run)."""
    import ast
    path = ROOT / program
    imports = [ast.unparse(node) for node in ast.parse(path.read_text()).body
               if isinstance(node, (ast.Import, ast.ImportFrom))]
    code = "\n".join(["import sys", f"sys.path[:0] = [{str(ROOT)!r}, {str(path.parent)!r}]", *imports,
                      "from kit.telemetry import setup", "setup('probe')",
                      "print(sorted(m for m in ('pandas', 'numpy', 'IPython', 'matplotlib') if m in sys.modules))"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
