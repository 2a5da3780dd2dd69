"""kit.views: the waterfall, the metrics chart and the logs table, in picture and in text."""

import configparser
import re
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from opentelemetry import propagate
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from kit import capture
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
    fills = [b.get("fill") for b in bars]
    assert fills[0] == fills[1] != fills[2] and set(fills) <= set(PALETTE)  # one colour per service
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


def points_frame(rows):
    """Metric points shaped like ``capture.metric_points_df()``, at seconds after a fixed time."""
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    return pd.DataFrame([{"time": t0 + timedelta(seconds=sec), "service": service, "name": name, "kind": kind,
                          "unit": unit, "attributes": attrs, "value": value}
                         for sec, service, name, kind, unit, attrs, value in rows], columns=capture.METRIC_COLUMNS)


def integers(ticks):
    return all(float(t).is_integer() for t in ticks)


def test_histogram_is_drawn_as_its_distribution_with_bucket_counts(clean_capture):
    tele = setup("view-hist")
    sizes = tele.meter.create_histogram("view_size", unit="By", explicit_bucket_boundaries_advisory=[16, 64, 256, 1024])
    for v in (8, 40, 40, 900):
        sizes.record(v, {"t": "a"})
    sizes.record(2000, {"t": "b"})
    tele.flush()
    chart = metrics_chart("view_size")
    assert repr(chart).splitlines() == [
        "view_size (histogram, By)",
        "  view-hist {t=a}: count=4 sum=988 By",
        "    ≤16 By: 1 · ≤64 By: 2 · ≤256 By: 0 · ≤1024 By: 1 · >1024 By: 0",
        "  view-hist {t=b}: count=1 sum=2000 By",
        "    ≤16 By: 0 · ≤64 By: 0 · ≤256 By: 0 · ≤1024 By: 0 · >1024 By: 1"]
    ax = chart.figure().axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["≤16 By", "≤64 By", "≤256 By", "≤1024 By", ">1024 By"]
    assert [p.get_height() for p in ax.patches] == [1, 2, 0, 1, 0, 0, 0, 0, 0, 1]  # side by side, stream a then b
    assert ax.get_ylabel() == "count" and integers(ax.get_yticks())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (n=4)", "b (n=1)"]
    assert chart._repr_png_().startswith(b"\x89PNG")


def test_duration_buckets_are_written_in_ms_and_s():
    points = points_frame([(0, "svc", "op.duration", "histogram", "s", {}, {
        "count": 3, "sum": 0.3, "bounds": [0.005, 0.25, 2.5], "buckets": [1, 1, 1, 0]})])
    lines = repr(metrics_chart(points=points)).splitlines()
    assert lines[2] == "    ≤5 ms: 1 · ≤250 ms: 1 · ≤2.5 s: 1 · >2.5 s: 0"


def test_counters_over_time_are_lines_with_integer_ticks():
    rows = [(sec, "svc", "msgs", "counter", "{message}", {"t": "x"}, v) for sec, v in [(0, 1), (1, 1), (2, 2), (3, 3)]]
    rows += [(sec, "svc", "temp", "gauge", "Cel", {}, 20 + sec / 10) for sec in range(4)]
    chart = metrics_chart("msgs", "temp", points=points_frame(rows))
    counter, gauge = chart.figure().axes
    assert len(counter.get_lines()) == 1 and not counter.patches  # a line, no bars
    assert integers(counter.get_yticks())
    assert not integers(gauge.get_yticks())  # a gauge of temperatures keeps its decimals
    assert counter.get_xticklabels()[1].get_text().endswith(" s")


def test_few_points_from_several_services_are_bars_of_the_latest_values():
    """Lesson 09: each process sends its points as it exits, all within a few ms."""
    rows = [(offset + d, service, "sent", "counter", "{message}", {"topic": topic}, 4)
            for offset, service, topic in [(0, "sensor", "sensors/t"), (0.15, "processor", "processed/t"),
                                           (0.26, "alerter", "alerts/t")] for d in (0, 0.002)]
    chart = metrics_chart("sent", points=points_frame(rows))
    ax = chart.figure().axes[0]
    assert not ax.get_lines() and len(ax.patches) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["alerter · alerts/t", "processor · processed/t",
                                                            "sensor · sensors/t"]
    assert [t.get_text() for t in ax.texts] == ["4", "4", "4"]  # the value at each bar's end
    assert [p.get_width() for p in ax.patches] == [4, 4, 4] and integers(ax.get_xticks())
    assert "too few for a line" in ax.get_xlabel()
    assert repr(chart).splitlines()[1:] == ["  alerter {topic=alerts/t}: 4", "  processor {topic=processed/t}: 4",
                                            "  sensor {topic=sensors/t}: 4"]


NS = "{http://www.w3.org/2000/svg}"


def span_rows(svg):
    """Each span's row of the picture: {span id: its <g>}."""
    return {g.get("data-span-id"): g for g in ET.fromstring(svg).iter(f"{NS}g") if g.get("class") == "span"}


def hex_ids(span):
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def make_linked_trace():
    """sensor: read (an event in its middle) → publish; processor: process, linked to an earlier
    publish in another trace, and store, linked to the publish of its own trace."""
    a, b = setup("view-sensor"), setup("view-processor")
    with a.tracer.start_as_current_span("publish earlier", kind=SpanKind.PRODUCER) as earlier:
        pass
    with a.tracer.start_as_current_span("read", kind=SpanKind.INTERNAL) as read:
        time.sleep(0.004)
        read.add_event("reading taken", {"sensor.unit": "C"})
        time.sleep(0.004)
        with a.tracer.start_as_current_span("publish t", kind=SpanKind.PRODUCER) as publish:
            headers = {}
            propagate.inject(headers)
    with b.tracer.start_as_current_span("process t", context=propagate.extract(headers), kind=SpanKind.CONSUMER,
                                        links=[Link(earlier.get_span_context())]):
        with b.tracer.start_as_current_span("store", attributes={"db.system": "sqlite"},
                                            links=[Link(publish.get_span_context())]) as store:
            pass
    return earlier, read, publish, store


def test_every_row_names_its_service(clean_capture):
    make_trace()
    rows = list(span_rows(waterfall()._repr_svg_()).values())
    services = [[t.text for t in g.iter(f"{NS}text")][0] for g in rows]
    assert services == ["view-sensor", "view-sensor", "view-processor"]


def test_header_gives_the_start_time_and_the_total_duration(clean_capture):
    make_trace()
    view = waterfall()
    pattern = r"started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC · total \d+\.\d\d m?s"
    assert re.search(pattern, view.header()) and re.search(pattern, view._repr_svg_())


def test_span_events_are_diamonds_on_the_bar_at_their_time(clean_capture):
    _, read, _, _ = make_linked_trace()
    view = waterfall()
    row = span_rows(view._repr_svg_())[hex_ids(read)[1]]
    bar = row.find(f"{NS}rect")
    events = [g for g in row.iter(f"{NS}g") if g.get("class") == "event"]
    assert len(events) == 1 and events[0].find(f"{NS}title").text.startswith("◆ reading taken (at +")
    marker = events[0].find(f"{NS}svg")
    x = float(marker.get("x")) + float(marker.get("width")) / 2
    left, width = float(bar.get("x")), float(bar.get("width"))
    assert left + 0.3 * width < x < left + 0.7 * width  # recorded halfway through the span
    line = next(line for line in repr(view).splitlines() if " read " in line)
    assert "◆" in line.split("▕")[1].split("▏")[0] and line.endswith("◆ reading taken")


def test_a_link_inside_the_picture_is_a_dashed_arrow_between_the_two_rows(clean_capture):
    _, _, publish, store = make_linked_trace()
    view = waterfall()
    svg = view._repr_svg_()
    rows = span_rows(svg)
    links = [g for g in ET.fromstring(svg).iter(f"{NS}g") if g.get("class") == "link"]
    assert [(g.get("data-from"), g.get("data-to")) for g in links] == [(hex_ids(publish)[1], hex_ids(store)[1])]
    lines = links[0].findall(f"{NS}line")
    assert all(line.get("stroke-dasharray") for line in lines)

    def row_span(span):  # the vertical extent of a span's bar
        bar = rows[hex_ids(span)[1]].find(f"{NS}rect")
        return float(bar.get("y")), float(bar.get("y")) + float(bar.get("height"))

    (top_a, bottom_a), (top_b, bottom_b) = row_span(publish), row_span(store)
    assert top_a <= float(lines[0].get("y1")) <= bottom_a and top_b <= float(lines[-1].get("y2")) <= bottom_b
    assert "  store (view-processor) ↗ publish t (view-sensor), drawn as a dashed arrow" in repr(view).splitlines()


def test_a_link_to_a_span_outside_the_picture_is_noted_on_its_row(clean_capture):
    earlier, _, _, _ = make_linked_trace()
    view = waterfall()
    trace_id, span_id = hex_ids(earlier)
    assert f"↗ link to {trace_id}/{span_id}" in view._repr_svg_()
    text = repr(view)
    assert f"  process t (view-processor) ↗ trace {trace_id} span {span_id}, not in this picture" in text
    assert "↗ 1 link" in next(line for line in text.splitlines() if "process t" in line)
    both = waterfall(trace_id=[view.trace_id, trace_id])  # draw the two traces together: now an arrow
    assert len([g for g in ET.fromstring(both._repr_svg_()).iter(f"{NS}g") if g.get("class") == "link"]) == 2


def test_span_details_list_every_attribute_and_event(clean_capture):
    _, read, publish, store = make_linked_trace()
    details = waterfall().details()
    blocks = ET.fromstring(details._repr_html_()).findall(".//details")  # one per span, in the picture's order
    assert len(blocks) == 4 and "".join(blocks[0].find("summary").itertext()).startswith("● view-sensor · read")
    read_text, store_text = "".join(blocks[0].itertext()), "".join(blocks[-1].itertext())
    assert "◆ reading taken at +" in read_text and "sensor.unit = 'C'" in read_text
    assert "db.system = 'sqlite'" in store_text and "db.system" not in read_text
    assert f"↗ trace {hex_ids(publish)[0]} span {hex_ids(publish)[1]}: publish t (view-sensor)" in store_text
    text = repr(details)
    assert "◆ reading taken at +" in text and "attributes: db.system = 'sqlite'" in text


def test_in_a_notebook_the_picture_comes_first_then_the_details(clean_capture, monkeypatch):
    import IPython.display
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    make_trace()
    waterfall()._ipython_display_()
    picture, details = shown
    assert picture["image/svg+xml"].startswith("<svg") and picture["text/plain"].startswith("trace ")
    assert details._repr_html_().count("<details") == 3


def test_the_text_svg_and_html_only_change_in_what_nbval_blanks(clean_capture):
    cfg = configparser.ConfigParser()
    cfg.read(Path(__file__).parent.parent / "notebooks" / "nbval_sanitize.cfg")
    patterns = [(re.compile(cfg[s]["regex"]), cfg[s]["replace"].strip('"')) for s in cfg.sections()]

    def sanitized(view):
        out = []
        for text in (repr(view), view._repr_svg_(), view.details()._repr_html_(), repr(view.details())):
            for regex, replace in patterns:
                text = regex.sub(replace, text)
            out.append(text)
        return out

    make_linked_trace()
    first = sanitized(waterfall())
    capture.clear()
    make_linked_trace()
    assert sanitized(waterfall()) == first


def test_a_service_keeps_its_colour_in_every_picture():
    from kit.views.common import service_color
    first, second = service_color("colour-a"), service_color("colour-b")
    assert first != second and service_color("colour-a") == first


def test_spans_whose_parents_loop_are_each_drawn_once():
    """A hostile or buggy sender: A's parent is B, B's parent is A, C is its own parent."""
    t = pd.Timestamp("2026-01-01", tz="UTC")
    rows = [dict(trace_id="a" * 32, span_id=s * 16, parent_span_id=p * 16, name=n, kind="INTERNAL", service="s",
                 start=t, duration_ms=1.0, status="UNSET", attributes={}, events=[], links=[])
            for s, p, n in (("1", "2", "A"), ("2", "1", "B"), ("3", "3", "C"))]
    view = waterfall(pd.DataFrame(rows))
    assert sorted(row.span["name"] for row in view.rows) == ["A", "B", "C"]
    assert view._repr_svg_().count("<rect") >= 3
