"""The course as a whole: the README and the instructor agenda match the lessons, and every
snippet of the 2023 blog appears in its working form with a then → now note."""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def minutes(path) -> int:
    head = nbformat.read(path, as_version=4).cells[0].source
    teaching, exercises = map(int, re.search(r"Teaching:\*\* (\d+) min · \*\*Exercises:\*\* (\d+) min", head).groups())
    return teaching + exercises


def text(path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_readme_lists_every_lesson_with_its_minutes(path):
    row = next((line for line in (ROOT / "README.md").read_text().splitlines()
                if f"(notebooks/{path.name})" in line), None)
    assert row, f"README does not list {path.name}"
    assert row.rstrip(" |").endswith(f"| {minutes(path)}"), f"README minutes for {path.name}: {row}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_instructor_agenda_matches_the_notebooks(path):
    row = next((line for line in (ROOT / "INSTRUCTOR.md").read_text().splitlines() if f"| {path.stem} |" in line),
               None)
    assert row and row.rstrip(" |").endswith(f"| {minutes(path)}"), f"INSTRUCTOR.md agenda for {path.stem}: {row}"


BLOG_SNIPPETS = {  # what the blog showed → the lesson that shows it working today, and a line of it
    "tracing set-up and SpanAttributes.MESSAGING_PROTOCOL": ("01_traces", "SpanAttributes.MESSAGING_PROTOCOL"),
    "the message_count counter": ("02_metrics", 'create_counter("message_count"'),
    "the logging example with LoggingHandler": ("03_logs", "opentelemetry.instrumentation.logging.handler"),
    "TraceContextTextMapPropagator().inject(carrier)": ("04_context_and_baggage", "TraceContextTextMapPropagator().inject"),
    "paho v5 publish with UserProperty = list(carrier.items())": ("06_mqtt5_user_properties",
                                                                  "properties.UserProperty = list(carrier.items())"),
    "on_message with SpanKind.SERVER": ("06_mqtt5_user_properties", "SpanKind.SERVER"),
    "the custom trace_context envelope": ("07_mqtt311_json_payload", '"trace_context"'),
    "RequestsInstrumentor().instrument()": ("08_auto_instrumentation", "RequestsInstrumentor().instrument()"),
    "the docker compose file": ("10_collector_pipeline", "jaegertracing/all-in-one"),
    "the collector config": ("10_collector_pipeline", "instrumentation_key"),
    "the Prometheus config": ("10_collector_pipeline", "otel-collector:8889"),
    "the Grafana data source": ("10_collector_pipeline", "Grafana `7.5.7`"),
    "paho 1.x client code": ("05_mqtt_basics", "on_connect(client, userdata, flags, rc)"),
    "the direct Zipkin exporter": ("10_collector_pipeline", "ZipkinExporter(endpoint="),
    "the collector's prometheus exporter options": ("10_collector_pipeline", "metric_expiration"),
    "the OTEL Collector Operator for K8s": ("10_collector_pipeline", "inject-python"),
    "the bonus reading: Dapr": ("10_collector_pipeline", "docs.dapr.io"),
}


@pytest.mark.parametrize("snippet", sorted(BLOG_SNIPPETS))
def test_every_blog_snippet_has_a_then_now_note(snippet):
    stem, marker = BLOG_SNIPPETS[snippet]
    lesson = text(ROOT / "notebooks" / f"{stem}.ipynb")
    assert marker in lesson, f"{stem} does not show {snippet}"
    assert re.search(r"\| Then", lesson), f"{stem} has no then → now table"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_welcome_lesson_lists_every_lesson_with_its_minutes(path):
    rows = [line for line in text(ROOT / "notebooks" / "00_welcome.ipynb").splitlines() if line.startswith("| ")]
    row = next((r for r in rows if r.startswith(f"| {path.stem[:2]} ")), None)
    assert row, f"lesson 00's table does not list {path.stem}"
    assert row.rstrip(" |").endswith(f"| {minutes(path)}"), f"lesson 00's minutes for {path.stem}: {row}"
