"""The page's JSON and kit.remote: any value a sender can put in a span or a log record comes
back exactly, in strict JSON (a map of the user's is never read as one of the kit's marks,
NaN and the infinities are no bare tokens)."""

import json
import math
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit import rows
from kit.remote import connect


def same(a, b) -> bool:
    """Equal, and of the same types all the way down (1 is not True, nor 1.0; a tuple is no list);
    NaN equals NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def strict(text: str):
    def no_constant(token):
        raise ValueError(f"{token} is not JSON")
    return json.loads(text, parse_constant=no_constant)


MARKS = ["$bytes", "$tuple", "$map", "$float", "$", "$$bytes", "$time", "bytes"]
keys = st.text(st.characters(exclude_categories=()), max_size=6) | st.sampled_from(MARKS)
scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.binary(max_size=6)
           | st.text(st.characters(exclude_categories=()), max_size=8) | st.sampled_from(["not base64!", "NaN"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.lists(inner, max_size=3).map(tuple)
                      | st.dictionaries(keys, inner, max_size=3), max_leaves=12)
user_maps = st.dictionaries(keys, values, max_size=3)


def span_row(attributes, event_attributes) -> dict:
    return {"trace_id": "01" * 16, "span_id": "02" * 8, "parent_span_id": None, "name": "s", "kind": "INTERNAL",
            "service": "svc", "start": datetime(2024, 5, 1, tzinfo=timezone.utc), "duration_ms": 1.5,
            "status": "UNSET", "attributes": attributes,
            "events": [rows.SpanEvent("e", event_attributes, datetime(2024, 5, 1, tzinfo=timezone.utc))],
            "links": [rows.SpanLink("03" * 16, "04" * 8, event_attributes)], "parent_remote": None, "scope": None,
            "transport": "http", "resource": attributes, "scope_version": "1.0", "status_message": "bad <b>",
            "trace_state": "a=b", "dropped_attributes_count": 1, "dropped_events_count": 0, "dropped_links_count": 2}


def log_row(body, attributes) -> dict:
    return {"time": datetime(2024, 5, 1, tzinfo=timezone.utc), "severity": "INFO", "body": body, "logger": "l",
            "service": "svc", "trace_id": None, "span_id": None, "attributes": attributes, "transport": "http",
            "severity_number": 9, "observed_time": datetime(2024, 5, 1, 0, 0, 1, tzinfo=timezone.utc),
            "event_name": "greenhouse.alert", "resource": attributes}


@settings(max_examples=500, deadline=None)
@given(attributes=user_maps, event_attributes=user_maps, body=values)
def test_any_value_round_trips_exactly_through_strict_json(attributes, event_attributes, body):
    for signal, row in (("spans", span_row(attributes, event_attributes)), ("logs", log_row(body, attributes))):
        text = json.dumps(rows.encode(signal, [row]))
        [back] = rows.decode(signal, strict(text))
        assert same(back, {**row, "events": back["events"]} if signal == "spans" else row)
        if signal == "spans":
            assert same(back["events"][0].attributes, event_attributes) and back["events"][0].time == row["events"][0].time
            assert same(back["links"][0].attributes, event_attributes) and same(back["resource"], attributes)


HOSTILE = {"a map like the kit's bytes": {"$bytes": "not base64!"}, "a map like the kit's tuple": {"$tuple": "not a tuple"},
           "a map like the kit's map": {"$map": {"$bytes": 5}}, "NaN": float("nan"), "infinity": float("inf"),
           "minus infinity": float("-inf"), "a list of them": [float("nan"), {"$tuple": [1]}]}


def through_the_page(receiver, signal) -> list:
    """The page's /api/ answer for ``signal``, parsed strictly and decoded as kit.remote does."""
    import urllib.request
    with urllib.request.urlopen(f"{receiver.serve_page(port=0).url}/api/{signal}", timeout=10) as reply:
        return rows.decode(signal, strict(reply.read().decode()))


def same_frames(here, there) -> bool:
    return list(here.columns) == list(there.columns) and len(here) == len(there) and all(
        same(a, b) for column in here.columns for a, b in zip(here[column], there[column]))


def check_round_trip(receiver, span, log):
    for signal, row in (("spans", span), ("logs", log)):
        [back] = through_the_page(receiver, signal)
        assert same({**back, "events": None} if signal == "spans" else back,
                    {**row, "events": None} if signal == "spans" else row)
    [back] = through_the_page(receiver, "spans")
    assert same(back["events"][0].attributes, span["events"][0].attributes)
    remote = connect(receiver.serve_page(port=0).url)
    assert same_frames(remote.spans_df(), receiver.spans_df()) and same_frames(remote.logs_df(), receiver.logs_df())
    assert remote.wait_for_spans(lambda df: len(df) == 1, timeout_s=5)


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_notebook_elsewhere_reads_a_users_map_as_the_user_wrote_it(receiver, value):
    """{'$bytes': 'not base64!'} made every spans_df() raise binascii.Error; {'$tuple': 'x'} came
    back as a tuple of characters; NaN went out as a bare token, which strict parsers refuse."""
    span, log = span_row({"value": value}, {"value": value}), log_row(value, {"value": value})
    receiver.received.keep("spans", [span], "http", "/v1/traces", [1])
    receiver.received.keep("logs", [log], "http", "/v1/logs", [1])
    check_round_trip(receiver, span, log)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(attributes=user_maps, body=values)
def test_any_value_round_trips_through_the_page_and_kit_remote(receiver, attributes, body):
    receiver.received.spans.clear()
    receiver.received.logs.clear()
    span, log = span_row(attributes, attributes), log_row(body, attributes)
    receiver.received.keep("spans", [span], "http", "/v1/traces", [1])
    receiver.received.keep("logs", [log], "http", "/v1/logs", [1])
    check_round_trip(receiver, span, log)
