"""services/: three processes, one trace; they wait for a broker that is not up yet, and flush when stopped."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kit.broker import start_broker
from kit.ports import free_port
from kit.views import service_map, waterfall

ROOT = Path(__file__).parent.parent


def launch(name, broker_url, receiver, *args):
    env = {**os.environ, "MQTT_BROKER_URL": broker_url, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint,
           "OTEL_BSP_SCHEDULE_DELAY": "200", "PYTHONUNBUFFERED": "1"}
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
