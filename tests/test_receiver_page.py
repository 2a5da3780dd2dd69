"""The README's no-Docker commands, then the receiver's page in headless Chromium: the
sensor → processor → alerter trace appears by itself (the page was opened before the sensor
ran), opens as a waterfall with its logs and service map; the background jobs stop cleanly
as the README says. Also: a notebook reads the same receiver (kit.remote). Screenshots go
to test-artifacts/ for a person to look at."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kit.ports import free_port

ROOT = Path(__file__).parent.parent
CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(p)), None)


def readme_commands() -> list[str]:
    """The commands of the README's no-Docker block, one per process, in order."""
    text = (ROOT / "README.md").read_text()
    block = text.split("With no Docker", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        commands += [c.strip() for c in line.split(" & ") if c.strip().rstrip("&").strip()]
    return [c.rstrip("&").strip() for c in commands]


def test_the_readme_block_is_what_this_test_runs():
    assert readme_commands() == ["python -m kit broker --protocol 5 --port 1883", "python -m kit receiver",
                                 "python services/processor.py", "python services/alerter.py",
                                 "python services/sensor.py --count 10 --start 30"]
    readme = (ROOT / "README.md").read_text()
    assert "http://127.0.0.1:16686" in readme and "kill %3 %4; wait %3 %4" in readme and "kill %2 %1; wait" in readme


class Jobs:
    """The README's background jobs, on free ports (other tests may hold the defaults)."""

    def __init__(self):
        self.mqtt, self.grpc, self.http, self.page = free_port(), free_port(), free_port(), free_port()
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT),
                    "MQTT_BROKER_URL": f"mqtt://127.0.0.1:{self.mqtt}",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.grpc}", "OTEL_BSP_SCHEDULE_DELAY": "200"}
        self.procs = {}

    def start(self, command: str, ready: str | None):
        args = command.split()[1:]
        if args[:3] == ["-m", "kit", "broker"]:
            args[args.index("--port") + 1] = str(self.mqtt)
        elif args[:3] == ["-m", "kit", "receiver"]:
            args += ["--grpc-port", str(self.grpc), "--http-port", str(self.http), "--page-port", str(self.page)]
        env = self.env if args[0] != "-m" else {k: v for k, v in self.env.items()  # as in a fresh shell
                                                if k not in ("MQTT_BROKER_URL", "OTEL_EXPORTER_OTLP_ENDPOINT")}
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.procs[command] = proc
        lines = []
        for line in proc.stdout:  # each says when it is ready
            lines.append(line)
            if ready is None or ready in line:
                return line
        raise AssertionError(f"{command} ended before it was ready: {''.join(lines)}")

    def stop(self, command: str) -> str:
        proc = self.procs.pop(command)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        return out

    def kill_all(self):
        for proc in self.procs.values():
            proc.kill()
            proc.wait(10)


@pytest.fixture
def jobs():
    j = Jobs()
    yield j
    j.kill_all()


@pytest.mark.skipif(not CHROMIUM, reason="Chromium is not installed (Debian: apt-get install chromium); CI installs it")
def test_the_trace_appears_on_the_page_after_the_readme_commands(jobs):
    from playwright.sync_api import sync_playwright
    broker, receiver, processor, alerter, sensor = readme_commands()
    jobs.start(broker, "ready")
    line = jobs.start(receiver, "OTLP receiver ready")
    url = re.search(r"traces on (http://127\.0\.0\.1:\d+)", line).group(1)
    assert url == f"http://127.0.0.1:{jobs.page}"
    jobs.start(processor, "processor: ready")
    jobs.start(alerter, "alerter: ready")
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        try:
            page.goto(url, timeout=30_000)
            page.get_by_text("No traces yet").wait_for(timeout=10_000)  # opened before any trace
            out = subprocess.run([sys.executable, *sensor.split()[1:]], cwd=ROOT, env=jobs.env, text=True,
                                 capture_output=True, timeout=120)
            assert out.returncode == 0 and "sensor: sent 10 readings" in out.stdout, out.stderr
            # the page refreshes by itself: a trace crossing the three services shows up in the list
            three = page.locator("table.kit-traces tr", has_text="alerter").filter(has_text="processor") \
                .filter(has_text="sensor")
            three.first.wait_for(timeout=30_000)
            rows = page.locator("table.kit-traces tbody tr")
            started = [t.split(" ")[0] for t in rows.locator("td:first-child").all_inner_texts()]
            assert started == sorted(started, reverse=True)  # newest first
            newest = three.first.get_attribute("data-trace-id")
            three.first.locator("a").click()
            page.locator("#trace h2", has_text=newest).wait_for(timeout=10_000)
            waterfall = page.locator("#trace .kit-waterfall svg")
            page.wait_for_function(  # spans still arriving make the trace grow: wait for all 6
                "() => document.querySelectorAll('#trace .kit-waterfall svg g.span').length >= 6", timeout=20_000)
            svg = waterfall.inner_html()
            for text in ("sensor", "processor", "alerter", "read temperature", "publish alerts/s-1"):
                assert text in svg, text
            assert page.locator("#trace details").count() >= 6  # span details, to click open
            page.wait_for_function(  # the logs come too: one from each service
                "() => document.querySelectorAll('#trace table.kit-logs tbody tr').length >= 3", timeout=20_000)
            logs = page.locator("#trace table.kit-logs").inner_text()
            assert all(s in logs for s in ("sensor", "processor", "alerter"))
            assert page.locator("#map svg").inner_html().count("sensor") >= 1
            page.locator("#trace details summary").nth(1).click()
            assert "attributes" in page.locator("#trace details[open]").first.inner_text()
            sixth = page.locator("#trace details").nth(5)
            waterfall.locator("g.span").nth(5).locator("rect").click()  # its bar in the picture opens its details
            assert sixth.get_attribute("open") is not None and "publish alerts/s-1" in sixth.inner_text()
            page.screenshot(path=str(artifacts / "receiver-page.png"), full_page=True)
            box = waterfall.bounding_box()
            assert box and box["width"] > 500 and box["height"] > 150
        except Exception:
            page.screenshot(path=str(artifacts / "receiver-page-failed.png"), full_page=True)
            raise
        finally:
            browser.close()
    # the README's way to stop: services first (they flush), then the receiver and the broker
    for service in (processor, alerter):
        assert "stopped, telemetry flushed" in jobs.stop(service)
    assert "receiver stopped:" in jobs.stop(receiver)
    jobs.stop(broker)


def test_a_notebook_reads_a_running_receiver(jobs):
    from kit.remote import connect
    from kit.views import service_map, waterfall
    broker, receiver, processor, alerter, sensor = readme_commands()
    jobs.start(broker, "ready")
    jobs.start(receiver, "OTLP receiver ready")
    jobs.start(processor, "processor: ready")
    jobs.start(alerter, "alerter: ready")
    remote = connect(f"http://127.0.0.1:{jobs.page}")
    assert remote.grpc_endpoint == f"http://127.0.0.1:{jobs.grpc}"
    subprocess.run([sys.executable, "services/sensor.py", "--count", "2", "--interval", "0.1", "--start", "30"],
                   cwd=ROOT, env=jobs.env, check=True, capture_output=True, timeout=120)
    assert remote.wait_for_spans(lambda df: (df.name == "publish alerts/s-1").sum() == 2, timeout_s=30)
    spans = remote.spans_df()
    alert = spans[spans.name == "publish alerts/s-1"].iloc[0]
    text = repr(waterfall(spans, trace_id=alert.trace_id))
    assert all(s in text for s in ("sensor", "processor", "alerter"))
    assert "sensor → processor" in repr(service_map(spans))
    logs = remote.logs_df()
    assert (logs.trace_id == alert.trace_id).any() and logs.time.notna().all()
    assert set(remote.requests_df().transport) == {"grpc"}
    for service in (processor, alerter):
        jobs.stop(service)
    assert not remote.metric_points_df().empty
    remote.stop()  # forgets the connection; the terminal's receiver goes on
    assert remote.totals()["spans"] >= 12


def test_a_browser_that_closes_mid_reply_prints_nothing_and_a_page_bug_one_line(capfd):
    from kit.receiver import start_receiver
    from kit.receiver.page import PageServer
    receiver = start_receiver()
    page = PageServer(receiver, port=0)
    try:
        for error in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset"), ValueError("bad row")):
            try:
                raise error
            except Exception:
                page._http.handle_error(None, ("127.0.0.1", 40000))
        assert capfd.readouterr().err == "kit: the receiver's page failed: ValueError: bad row\n"
    finally:
        page.stop()
        receiver.stop()


def test_a_notebook_elsewhere_gets_the_very_dataframes_of_the_receiver(receiver):
    """kit.remote reads the rows through the page's JSON: every signal comes back equal, with
    tuples, span events and their times, and the Zipkin spans that lack some columns."""
    import json
    import urllib.request

    import pandas as pd
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from receiver_helpers import send_logs, send_metrics, send_spans

    from kit.remote import RemoteReceiver, connect

    send_spans(OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True), n=3, attributes={"tags": ("a", "b")})
    send_logs(OTLPLogExporter(endpoint=receiver.grpc_endpoint, insecure=True))
    send_metrics(OTLPMetricExporter(endpoint=receiver.grpc_endpoint, insecure=True))
    zipkin = [{"traceId": "1" * 32, "id": "2" * 16, "name": "by zipkin", "timestamp": 1_700_000_000_000_000,
               "duration": 1500, "localEndpoint": {"serviceName": "z"}, "annotations": [{"value": "plain note"}]}]
    urllib.request.urlopen(urllib.request.Request(receiver.http_endpoint + "/api/v2/spans", json.dumps(zipkin).encode(),
                                                  {"Content-Type": "application/json"}), timeout=10).close()
    remote = connect(receiver.serve_page(port=0).url)
    for name in ("spans_df", "logs_df", "metric_points_df", "requests_df"):
        assert getattr(RemoteReceiver, name) is getattr(type(receiver), name)  # one implementation of each
        here, there = getattr(receiver, name)(), getattr(remote, name)()
        assert len(here) > 0
        pd.testing.assert_frame_equal(here, there)
    spans = remote.spans_df()
    assert spans.attributes[spans.name == "span 0"].iloc[0]["tags"] == ("a", "b")
    assert [e.time is not None for e in spans.events[spans.name == "span 0"].iloc[0]] == [True]
    assert spans.scope[spans.name == "by zipkin"].iloc[0] is None
