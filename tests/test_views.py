"""kit.views: the waterfall, the metrics chart and the logs table, in picture and in text."""

import xml.etree.ElementTree as ET

from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode

from kit.telemetry import setup
from kit.views import PALETTE, latest_trace_id, logs_table, metrics_chart, waterfall


def make_trace():
    a, b = setup("view-sensor"), setup("view-processor")
    with a.tracer.start_as_current_span("read", kind=SpanKind.INTERNAL):
        with a.tracer.start_as_current_span("publish t", kind=SpanKind.PRODUCER):
            headers = {}
            propagate.inject(headers)
    with b.tracer.start_as_current_span("process t", context=propagate.extract(headers),
                                        kind=SpanKind.CONSUMER) as span:
        b.logger.warning("too hot")
        span.set_status(Status(StatusCode.ERROR))
    return format(span.get_span_context().trace_id, "032x")


def test_waterfall_text_nests_and_flags(clean_capture):
    trace_id = make_trace()
    text = repr(waterfall())
    lines = text.splitlines()
    assert lines[0].startswith(f"trace {trace_id} · 3 spans · services: view-sensor, view-processor")
    rows = lines[2:]
    assert "view-sensor" in rows[0] and " read " in rows[0] and "INTERNAL" in rows[0]
    assert "└─ publish t" in rows[1] and "PRODUCER" in rows[1]
    assert "   └─ process t" in rows[2] and "CONSUMER" in rows[2] and "✗ ERROR" in rows[2]
    assert all("▕" in r and "▏" in r and " ms" in r for r in rows)


def test_waterfall_svg_has_one_bar_per_span_coloured_by_service(clean_capture):
    make_trace()
    svg = waterfall()._repr_svg_()
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r for g in root.iter(f"{ns}g") for r in g.iter(f"{ns}rect")]
    assert len(bars) == 3
    assert [b.get("fill") for b in bars] == [PALETTE[0], PALETTE[0], PALETTE[1]]
    assert bars[2].get("stroke") is not None  # the ERROR span is outlined
    assert "CONSUMER" in svg and "✗ ERROR" in svg


def test_waterfall_picks_a_trace_and_handles_remote_parents(clean_capture):
    tele = setup("view-remote")
    ctx = propagate.extract({"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
    with tele.tracer.start_as_current_span("child of a remote span", context=ctx):
        pass
    assert latest_trace_id() == "0af7651916cd43dd8448eb211c80319c"
    text = repr(waterfall(trace_id="0af7651916cd43dd8448eb211c80319c"))
    assert "(parent in another process)" in text


def test_empty_waterfall_says_what_to_do(clean_capture):
    assert "no spans captured yet" in repr(waterfall())


def test_metrics_chart_png_and_text(clean_capture):
    tele = setup("view-metrics")
    c = tele.meter.create_counter("view_count", unit="{message}")
    for _ in range(3):
        c.add(1, {"t": "x"})
        tele.flush()
    chart = metrics_chart("view_count")
    assert chart._repr_png_().startswith(b"\x89PNG")
    assert repr(chart).splitlines() == ["view_count (counter, {message})", "  view-metrics {t=x}: 3"]


def test_logs_table_names_the_span_of_each_log(clean_capture):
    trace_id = make_trace()
    table = logs_table(trace_id)
    assert list(table.body) == ["too hot"] and list(table.span) == ["process t"]
