"""kit.views: the waterfall, the metrics chart, the service map and the logs table, in
picture and in text; laid out so that nothing overlaps and every text is legible (measured:
tests/view_audit.py); any value a sender can send drawn as text, never an exception."""

import re
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from opentelemetry import propagate
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from kit import capture
from kit.telemetry import setup
from kit.views import PALETTE, latest_trace_id, logs_table, metrics_chart, service_map, trace_list, waterfall
from view_audit import problems
from view_samples import T0, greenhouse, span_row


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
    # each bar says what tells it apart and no more: the service (each sends one stream)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["alerter", "processor", "sensor"]
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


def make_linked_trace(pause=0.004, port=41883):
    """sensor: read (an event in its middle) → publish; processor: process, linked to an earlier
    publish in another trace, and store, linked to the publish of its own trace."""
    a, b = setup("view-sensor"), setup("view-processor")
    with a.tracer.start_as_current_span("publish earlier", kind=SpanKind.PRODUCER) as earlier:
        pass
    with a.tracer.start_as_current_span("read", kind=SpanKind.INTERNAL) as read:
        time.sleep(pause)
        read.add_event("reading taken", {"sensor.unit": "C"})
        time.sleep(pause)
        with a.tracer.start_as_current_span("publish t", kind=SpanKind.PRODUCER,
                                            attributes={"messaging.destination.name": "t",
                                                        "server.port": port}) as publish:
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
    assert len(events) == 1 and events[0].find(f"{NS}title").text == "◆ reading taken"
    xs = [float(x) for x in re.findall(r"(-?[\d.]+),", events[0].find(f"{NS}path").get("d"))]
    x = (min(xs) + max(xs)) / 2
    left, width = float(bar.get("x")), float(bar.get("width"))
    assert left + 0.3 * width < x < left + 0.7 * width  # recorded halfway through the span
    line = next(line for line in repr(view).splitlines() if " read " in line)
    assert "◆" in line.split("▕")[1].split("▏")[0] and line.endswith("◆ reading taken")
    html = view._repr_html_()   # in the notebook: a ◆ on the bar, named in its tooltip and in the notes
    assert 'title="◆ reading taken"' in html and "◆ reading taken" in html


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
    row = span_rows(view._repr_svg_())[next(r.span.span_id for r in view.rows if r.span.name == "process t")]
    assert f"↗ link to trace {trace_id} span {span_id}" in row.find(f"{NS}title").text
    assert "↗" in "".join(row.findall(f"{NS}text")[-1].itertext())   # on its row: in full when it fits, else ↗ 1
    text = repr(view)
    assert f"  process t (view-processor) ↗ trace {trace_id} span {span_id}, not in this picture" in text
    assert "↗ 1 link" in next(line for line in text.splitlines() if "process t" in line)
    assert f"↗ trace <code>{trace_id}</code> span <code>{span_id}</code>: not in this picture" in view._repr_html_()
    both = waterfall(trace_id=[view.trace_id, trace_id])  # draw the two traces together: now an arrow
    assert len([g for g in ET.fromstring(both._repr_svg_()).iter(f"{NS}g") if g.get("class") == "link"]) == 2


def test_span_details_list_every_attribute_and_event(clean_capture):
    _, read, publish, store = make_linked_trace()
    details = waterfall().details()
    blocks = ET.fromstring(details._repr_html_()).findall(".//details")  # one per span, in the picture's order
    assert len(blocks) == 4 and "".join(blocks[0].find("summary").itertext()).strip().startswith("view-sensor · read")
    read_text, store_text = "".join(blocks[0].itertext()), "".join(blocks[-1].itertext())
    assert "◆ reading taken at +" in read_text and "sensor.unit = 'C'" in read_text
    assert "db.system = 'sqlite'" in store_text and "db.system" not in read_text
    assert f"↗ trace {hex_ids(publish)[0]} span {hex_ids(publish)[1]}: publish t (view-sensor)" in store_text
    text = repr(details)
    assert "◆ reading taken at +" in text and "attributes: db.system = 'sqlite'" in text


def test_in_a_notebook_the_waterfall_is_one_output_rows_to_click_a_png_and_its_text(clean_capture, monkeypatch):
    """The HTML (its rows open their span), a PNG beside it for where the HTML cannot be
    shown, shown at the picture's width, and the text form."""
    import IPython.display
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False, metadata=None: shown.append((obj, metadata)))
    make_trace()
    waterfall()._ipython_display_()
    [(bundle, metadata)] = shown
    assert set(bundle) == {"text/plain", "text/html", "image/png"}
    assert bundle["text/plain"].startswith("trace ") and bundle["image/png"].startswith(b"\x89PNG")
    assert metadata == {"image/png": {"width": 720}}
    rows = ET.fromstring(bundle["text/html"]).findall(".//details")
    assert len(rows) == 3 and all(r.find("summary") is not None for r in rows)
    assert "process t" in "".join(rows[2].find("summary").itertext())   # the row is the summary ...
    assert "status" in "".join(rows[2].itertext())                       # ... its span's details under it


def sanitized(texts):
    """``texts`` as nbval compares them (its own reading of notebooks/nbval_sanitize.cfg)."""
    from nbval.plugin import get_sanitize_patterns
    patterns = get_sanitize_patterns((Path(__file__).parent.parent / "notebooks" / "nbval_sanitize.cfg").read_text())
    out = []
    for text in texts:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        out.append(text)
    return out


def test_the_notebook_outputs_only_change_in_what_nbval_blanks(clean_capture):
    """Twice the same trace, once fast and once with a span ten times longer (other ticks,
    other bar widths): the text and the HTML nbval compares are the same once sanitized."""
    def outputs():
        view = waterfall()
        return sanitized([repr(view), view._repr_html_(), repr(view.details()), repr(service_map())])

    make_linked_trace()
    first = outputs()
    capture.clear()
    make_linked_trace(pause=0.04, port=41884)
    assert outputs() == first


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


# -- laid out, not guessed: every picture measured (tests/view_audit.py) ---------------

@pytest.mark.parametrize("long_names", [False, True])
def test_the_waterfall_picture_has_no_overlap_and_legible_text(long_names):
    df = greenhouse(n=1, long_names=long_names)
    svg = waterfall(df)._repr_svg_()
    assert problems(svg) == []
    assert 'width="100%"' in svg and 'viewBox="0 0 720 ' in svg   # it fits its container


@pytest.mark.parametrize("topics", [("sensors/t",), ("greenhouse/1/temperature", "greenhouse/2/humidity"),
                                    tuple(f"greenhouse/{i}/temperature" for i in range(5))])
def test_the_service_map_has_no_overlap_and_its_labels_are_beside_the_boxes(topics):
    m = service_map(greenhouse(topics, n=6))
    svg = m._repr_svg_()
    assert problems(svg) == []
    root = ET.fromstring(svg)
    cards = [g for g in root.iter(f"{NS}g") if g.get("class") == "card"]
    boxes = [g.find(f"{NS}rect") for g in root.iter(f"{NS}g") if g.get("class") == "service"]
    assert len(cards) == 2 and len(boxes) == 3
    words = ["".join(c.itertext()) for c in cards]
    for topic in topics[:3]:      # two topics between the same two services: one line each, with its count
        assert any(topic in w for w in words)
    if len(topics) > 3:
        assert any("+2 more topics" in w for w in words)
    heads = [p for g in root.iter(f"{NS}g") if g.get("class") == "flow" for p in g.findall(f"{NS}path")[1:]]
    for head in heads:            # arrowheads one size, whatever the line's width
        xs = [float(v) for v in re.findall(r"(-?[\d.]+),", head.get("d"))]
        assert max(xs) - min(xs) <= 10


def test_a_flow_that_skips_a_column_runs_above_the_boxes():
    df = pd.concat([greenhouse(n=2), pd.DataFrame([span_row("x" * 16, "publish direct", "sensor", None, 50, 1,
                                                            attributes={"messaging.destination.name": "direct"}),
                                                   span_row("y" * 16, "process direct", "alerter", "x" * 16, 51, 1)])])
    svg = service_map(df)._repr_svg_()
    assert problems(svg) == []
    flow = next(g for g in ET.fromstring(svg).iter(f"{NS}g") if g.get("data-to") == "alerter"
                and g.get("data-from") == "sensor")
    ys = [float(v) for v in re.findall(r",(-?[\d.]+)", flow.find(f"{NS}path").get("d"))]
    boxes_top = min(float(g.find(f"{NS}rect").get("y")) for g in ET.fromstring(svg).iter(f"{NS}g")
                    if g.get("class") == "service")
    assert min(ys) < boxes_top


def test_ticks_are_round_values_in_one_unit():
    from kit.views.common import ticks
    assert ticks(3.94) == (1.0, "ms", [0.0, 1.0, 2.0, 3.0])
    assert ticks(255.43, most=6) == (1.0, "ms", [0.0, 50.0, 100.0, 150.0, 200.0, 250.0])
    assert ticks(1020)[:2] == (1000.0, "s") and ticks(0.3)[:2] == (0.001, "µs")
    for total in (0.0042, 0.9, 8.52 * 3, 34.1, 999.9, 3940.0, 1e9):
        scale, unit, values = ticks(total)
        assert values[0] == 0 and values[-1] * scale <= total * (1 + 1e-9) and 2 <= len(values) <= 5
        step = values[1] - values[0]
        assert all(abs((b - a) - step) < 1e-9 for a, b in zip(values, values[1:]))
        assert re.fullmatch(r"(1|2|2\.5|5)(0*)", f"{step / 10 ** int(np.floor(np.log10(step))):g}".replace(".0", ""))
    svg = waterfall(greenhouse(n=1))._repr_svg_()
    labels = [t.text for t in ET.fromstring(svg).iter(f"{NS}text") if t.text and re.fullmatch(r"[\d.]+ ms", t.text)]
    shown = [float(t[:-3]) for t in labels]          # a 5.2 ms trace: one unit, from 0 in round steps
    assert len(shown) >= 3 and shown[0] == 0 and shown[-1] <= 5.2 and shown[1] in (1, 2, 2.5)
    assert all(b - a == shown[1] for a, b in zip(shown, shown[1:]))


def test_every_text_colour_reads_on_its_background():
    from kit.checks._result import FAIL_RED, PASS_GREEN
    from kit.views.common import DIM, ERROR_RED, INK, PALETTE, STRIPE, contrast, text_on
    for fg in (INK, DIM, ERROR_RED, PASS_GREEN, FAIL_RED, "#444444"):
        for bg in ("#ffffff", STRIPE):
            assert contrast(fg, bg) >= 4.5, (fg, bg)
    for color in PALETTE:       # a service's name on its box
        assert contrast(text_on(color), color) >= 4.5


def test_units_are_written_out():
    from kit.views.common import unit_words
    assert [unit_words(u) for u in ("{message}", "{messages}", "By", "s", "1", "", "Cel", "m/s", 3)] == \
        ["messages", "messages", "bytes", "seconds", "", "", "°C", "m/s", "3"]


def test_the_metrics_chart_is_a_sharp_png_with_legible_text_and_the_unit_in_words():
    rows = [(sec, "svc", "msgs", "counter", "{message}", {"t": "x"}, v) for sec, v in [(0, 1), (1, 1), (2, 2), (3, 3)]]
    chart = metrics_chart("msgs", points=points_frame(rows))
    fig = chart.figure()
    ax = fig.axes[0]
    assert ax.get_ylabel() == "messages" and ax.get_title(loc="left") == "msgs  (counter, messages)"
    sizes = [t.get_fontsize() for t in fig.findobj(lambda o: hasattr(o, "get_fontsize") and o.get_text().strip())]
    assert min(sizes) >= 12          # px: the PNG is 720 px wide on screen, at 72 points per 72 px
    data, meta = chart._repr_mimebundle_()
    from PIL import Image
    import io
    assert Image.open(io.BytesIO(data["image/png"])).size[0] == 2 * 720 and meta == {"image/png": {"width": 720}}


# -- any value a sender can send: drawn as text, never an exception (issue 19) ----------

HOSTILE = [None, 0, -1, 2 ** 70, 1.5, float("nan"), float("inf"), True, b"\x00\xff", ("a", 1), ["x"], {"k": "v"},
           {}, "", "$\\href{https://x/}{\\text{Restart}}$", "<script>alert(1)</script>", "\x00\x01\n\t\x7f",
           "\ud800", "x" * 5000, "🙂 漢字 \u202e", pd.NaT, np.int64(3), np.float64("nan"), object()]


def values():
    from hypothesis import strategies as st
    hostile = st.sampled_from(HOSTILE) | st.text(max_size=30) | st.integers() | st.floats() | st.binary(max_size=8)
    times = (st.sampled_from([None, pd.NaT, 0, "2026-01-01", T0, T0.tz_localize(None)])
             | st.datetimes(timezones=st.sampled_from([None, timezone.utc])))
    return hostile, times


def hostile_spans():
    """Spans DataFrames: some rows as a real sender makes them, some with any value in any column."""
    from hypothesis import strategies as st
    hostile, times = values()
    events = st.lists(st.one_of(hostile, st.tuples(hostile, hostile), st.tuples(hostile, hostile, times)), max_size=3)
    links = st.lists(st.one_of(hostile, st.tuples(hostile, hostile)), max_size=2)
    odd = st.fixed_dictionaries({
        "trace_id": st.sampled_from(["a" * 32]) | hostile, "span_id": hostile, "parent_span_id": hostile,
        "name": hostile, "kind": hostile, "service": hostile, "start": times, "duration_ms": hostile,
        "status": st.sampled_from(["ERROR", "OK"]) | hostile,
        "attributes": st.dictionaries(st.text(max_size=5), hostile, max_size=3) | hostile,
        "events": events | hostile, "links": links | hostile})
    good = st.builds(lambda i: span_row(f"{i:016x}", f"good span {i}", "good-service", None, i, 1.0),
                     st.integers(0, 10 ** 6))
    return st.lists(st.one_of(good, odd), min_size=1, max_size=6).map(
        lambda rows: pd.DataFrame(rows, columns=capture.SPAN_COLUMNS[:12]))


def check_renders(view, *, svg=True):
    """Every form Jupyter or the page asks for: no exception, valid XML, UTF-8 encodable."""
    text = repr(view)
    text.encode("utf-8")
    for form in ("_repr_html_", "_repr_svg_") if svg else ("_repr_html_",):
        out = getattr(view, form, lambda: None)()
        if out is not None:
            out.encode("utf-8")
            if form == "_repr_svg_":
                ET.fromstring(out)
    return text


def test_views_draw_any_value_as_text():
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
    @given(hostile_spans())
    def run(df):
        view = waterfall(df, trace_id=list(df.trace_id.map(lambda t: t if isinstance(t, str) else repr(t))))
        text = check_renders(view)
        check_renders(view.details())
        check_renders(service_map(df))
        check_renders(trace_list(df))
        listed = check_renders(waterfall(df))
        for name in df.name:   # one bad row never takes the good ones down
            if isinstance(name, str) and name.startswith("good span"):
                assert name in text
        if len(df) and view.rows:
            assert view._repr_png_().startswith(b"\x89PNG")
        assert listed

    run()


def test_service_map_and_trace_list_survive_the_issue_19_values():
    """service.name as an int, double, bool, array, kvlist, bytes or nothing; a topic as an int
    or an array; a span with start time 0 (no start): each is shown, the good trace too."""
    rows = [span_row("1" * 16, "publish", service, None, 0, 1, trace=f"{i:032x}",
                     attributes={"messaging.destination.name": topic}) for i, (service, topic) in enumerate(
        [(42, 7), (1.5, ("a", "b")), (True, None), (("s", 1), "t"), ({"k": "v"}, "t"), (b"\x01", "t"), (None, "t")])]
    rows += [span_row("2" * 16, "process", "alerter", "1" * 16, 1, 1, trace=f"{6:032x}")]
    rows.append({**span_row("3" * 16, "no start", "sensor", None, 0, 5, trace="f" * 32), "start": None})
    df = pd.DataFrame(rows)
    m = service_map(df)
    assert "None → alerter" not in repr(m) and "→ alerter" in repr(m) and problems(m._repr_svg_()) == []
    listed = repr(trace_list(df))
    assert "42" in listed and "{'k': 'v'}" in listed and "no start" in listed and "time unknown" in listed
    view = waterfall(df, trace_id="f" * 32)
    assert "start time unknown" in repr(view) and view._repr_png_().startswith(b"\x89PNG")


def test_a_megabyte_string_is_cut_for_display_and_whole_a_click_away():
    big = "m" * 1_000_000
    df = pd.DataFrame([span_row("1" * 16, big, big, None, 0, 1, attributes={"payload": big})])
    view = waterfall(df)
    assert len(repr(view)) < 2000 and len(view._repr_svg_()) < 20_000
    html = view._repr_html_()
    assert len(html) < 400_000                        # not the whole megabyte, thrice
    assert "the first 100,000 of 1,000,000 characters; the whole value is in the DataFrame" in html
    assert "m" * 100_000 in html                      # … and those hundred thousand, one click away
    assert len(repr(trace_list(df))) < 1000 and len(trace_list(df).html()) < 5000
    assert len(repr(service_map(df))) < 1000


def test_the_metrics_chart_takes_the_largest_floats_without_a_traceback_or_a_warning():
    """Values near the float's limit (±1.7e308: an axis' span overflows) are left out and said so;
    the rest is drawn; numpy's overflow warnings never reach the learner's cell."""
    import warnings
    rows = [(0, "s", "g", "gauge", "1", {}, 1.7e308), (1, "s", "g", "gauge", "1", {}, -1.7e308),
            (2, "s", "g", "gauge", "1", {}, 21.5),
            (3, "s", "h", "histogram", "ms", {}, {"bounds": [-1e308, 1e308], "buckets": [1, 2, 3]})]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)   # (not "error" for all: another test's socket
        chart = metrics_chart(points=points_frame(rows))  # collected here would raise its ResourceWarning)
        png = chart._repr_png_()
        titles = [ax.get_title(loc="left") for ax in chart.figure().axes]
    assert png.startswith(b"\x89PNG")
    assert titles[0].startswith("g  (gauge) · 2 points left out") and titles[1].startswith("h  (histogram")
    assert "21.5" in repr(chart)


def test_the_metrics_chart_draws_any_value_as_text():
    rows = [(0, 42, "$\\frac{$", "gauge", "$\\frac{$", {"x": b"\x00"}, 1.5),
            (1, None, "$\\frac{$", "gauge", "$\\frac{$", {}, "not a number"),
            (2, ("a",), "hist", "histogram", "By", {}, {"bounds": [1, 2], "buckets": [1, 2, 3], "count": 6, "sum": 9}),
            (3, "s", "broken", "histogram", "By", {}, {"bounds": "x"}),
            (4, "s", "inf", "gauge", "1", {}, float("inf")),
            (5, "s", "msgs", "counter", "{message}", {"t": "x"}, 3)]
    chart = metrics_chart(points=points_frame(rows))
    text = repr(chart)
    assert "$\\frac{$ (gauge, $\\frac{$)" in text and "42 {x=0x00}: 1.5" in text and "s {t=x}: 3" in text
    fig = chart.figure()
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[0].startswith("$\\frac{$  (gauge, $\\frac{$) · 1 point left out")
    assert any(t.startswith("broken") for t in titles) and any(t.startswith("msgs") for t in titles)
    assert chart._repr_png_().startswith(b"\x89PNG")

    from hypothesis import HealthCheck, given, settings, strategies as st
    hostile, times = values()

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.fixed_dictionaries({
        "time": times, "service": hostile, "name": st.sampled_from(["m", "n"]) | hostile,
        "kind": st.sampled_from(["gauge", "counter", "histogram", "summary"]) | hostile, "unit": hostile,
        "attributes": st.dictionaries(st.text(max_size=3), hostile, max_size=2) | hostile,
        "value": hostile | st.fixed_dictionaries({"bounds": st.lists(hostile, max_size=3),
                                                  "buckets": st.lists(hostile, max_size=4)})}), min_size=1, max_size=5))
    def run(rows):
        chart = metrics_chart(points=pd.DataFrame(rows, columns=capture.METRIC_COLUMNS))
        repr(chart).encode("utf-8")
        png = chart._repr_png_()
        assert png is None or png.startswith(b"\x89PNG")

    run()


def test_the_logs_table_joins_any_ids_and_keeps_mathjax_off():
    logs = pd.DataFrame([{"time": T0, "severity": "WARN", "body": "$\\href{https://x/}{\\text{x}}$", "logger": "l",
                          "service": 42, "trace_id": "a" * 32, "span_id": "1" * 16, "attributes": {}},
                         {"time": None, "severity": None, "body": b"\x00", "logger": None, "service": None,
                          "trace_id": ("odd",), "span_id": 5, "attributes": None}])
    spans = pd.DataFrame([span_row("1" * 16, "the span")])
    table = logs_table(logs=logs, spans=spans)
    assert list(table.span)[:1] == ["the span"] and len(table) == 2
    assert 'class="kit-logs tex2jax_ignore mathjax_ignore"' in table._repr_html_()
    assert list(logs_table("a" * 32, logs=logs, spans=spans)[["body"]].body) == ["$\\href{https://x/}{\\text{x}}$"]


def test_mathjax_is_kept_off_every_html_output_of_the_kit():
    from kit.checks import _result
    df = greenhouse(n=1)
    for html in (waterfall(df)._repr_html_(), waterfall(df).details()._repr_html_(), trace_list(df)._repr_html_(),
                 _result.Result(False, "$x$")._repr_html_()):
        root = ET.fromstring(html)
        assert {"tex2jax_ignore", "mathjax_ignore"} <= set(root.get("class").split())


# -- the PNG beside each picture -------------------------------------------------------

def test_the_png_draws_everything_the_views_write():
    """kit.views.png understands a subset of SVG: the views write only that subset."""
    from kit.views import png
    df = greenhouse(topics=("a/b", "c/d"), n=3)
    linked = pd.DataFrame([span_row("1" * 16, "a"), span_row("2" * 16, "b", start_ms=1, links=[("a" * 32, "1" * 16)])])
    for svg in (waterfall(df)._repr_svg_(), service_map(df)._repr_svg_(), waterfall(linked)._repr_svg_()):
        tags = {el.tag.replace(NS, "") for el in ET.fromstring(svg).iter()}
        assert tags <= png.SUPPORTED, tags - png.SUPPORTED
        assert all(re.fullmatch(r"(M-?[\d.]+,-?[\d.]+ ?|L-?[\d.]+,-?[\d.]+ ?|Z ?)+", p.get("d"))
                   for p in ET.fromstring(svg).iter(f"{NS}path"))
        image = png.to_png(svg)
        from PIL import Image
        import io
        drawn = Image.open(io.BytesIO(image)).convert("RGB")
        assert drawn.size[0] == 2 * png.view_width(svg)
        assert len(drawn.getcolors(maxcolors=100_000)) > 8     # drawn: text, colours, not a blank page


def test_the_service_map_bundle_carries_svg_png_and_text():
    m = service_map(greenhouse(n=2))
    data, meta = m._repr_mimebundle_()
    assert set(data) == {"image/svg+xml", "image/png"} and meta == {"image/png": {"width": 720}}
    assert repr(m).startswith("service map · 3 services · 2 message flows")


def test_a_self_check_in_html_is_coloured_and_wraps_between_words():
    from kit.checks._result import FAIL_RED, PASS_GREEN, Result
    good, bad = Result(True, "fine"), Result(False, "the span 'x' <b>is</b> missing")
    assert repr(good) == "✓ fine" and repr(bad) == "✗ the span 'x' <b>is</b> missing"   # the text form as before
    root = ET.fromstring(bad._repr_html_())
    mark, message = root.find("b"), root.find("span")
    assert mark.text == "✗" and FAIL_RED in mark.get("style") and PASS_GREEN in good._repr_html_()
    assert message.text == "the span 'x' <b>is</b> missing"      # escaped, shown as written
    assert "white-space:pre-wrap" in root.get("style") and "break-all" not in root.get("style")
