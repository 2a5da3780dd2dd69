"""A self-check never raises on learner code, and says what is odd about it (issue 17, class 10).

Hypothesis generates getters, setters, handlers, hooks, functions and answers of odd shapes
(generators, None, values whose ==, repr or iteration raise, functions that raise anything
but KeyboardInterrupt, or take the wrong arguments) and hands them to every check that takes
learner code or learner values. Each check must return a Result, and, for the learner's
callables, name the problem itself rather than fall back to "the check could not judge"."""

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit import attempts
from kit.checks import (Result, check_baggage, check_end_to_end, check_first_alert, check_getter_setter,
                        check_handled_error, check_hop, check_json_propagation, check_received, check_retained,
                        check_round_trip, check_sampler)
from kit.checks.propagation import check_edge_extract

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class Hostile:
    """A value whose every dunder the checks might touch raises."""

    def __eq__(self, other):
        raise RuntimeError("no ==")

    __hash__ = object.__hash__

    def __repr__(self):
        raise RuntimeError("no repr")

    def __str__(self):
        raise RuntimeError("no str")

    def __iter__(self):
        raise RuntimeError("no iter")

    def __len__(self):
        raise RuntimeError("no len")

    def __bool__(self):
        raise RuntimeError("no bool")

    def __getattr__(self, name):
        raise RuntimeError(f"no {name}")


def _generator():
    yield "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


GENERATOR = object()  # stands for "a fresh generator", made when the value is used
ODD_VALUES = st.sampled_from([None, 0, -1, 1.5, float("nan"), "", "x", "00-0af7", b"", b"\xff\xfe", [], [None],
                              [("traceparent", 5)], (1, 2), {}, {"a": 1}, object(), Hostile(), _generator,
                              GENERATOR, pd.Series([1]), pd.DataFrame(), type, print])
EXCEPTIONS = st.sampled_from([ValueError, TypeError, KeyError, AttributeError, RuntimeError, StopIteration,
                              RecursionError, SystemExit, UnicodeDecodeError("utf-8", b"", 0, 1, "x")])


def _value(value):
    return _generator() if value is GENERATOR else value


@st.composite
def odd_callables(draw):
    """A function of any arity that returns an odd value, raises, or yields."""
    kind = draw(st.sampled_from(["returns", "raises", "yields", "no-args", "not-callable"]))
    value = draw(ODD_VALUES)
    exc = draw(EXCEPTIONS)
    if kind == "returns":
        return lambda *args, **kwargs: _value(value)
    if kind == "raises":
        def raises(*args, **kwargs):
            raise exc if isinstance(exc, BaseException) else exc("from the learner's code")
        return raises
    if kind == "yields":
        def yields(*args, **kwargs):
            yield _value(value)
        return yields
    if kind == "no-args":
        return lambda: _value(value)
    return _value(value)


@st.composite
def odd_carriers(draw):
    """An object with get/keys/set attributes of odd shapes (or none)."""
    holder = type("Odd", (), {})()
    for name in ("get", "keys", "set"):
        if draw(st.booleans()):
            setattr(holder, name, draw(odd_callables()))
    return draw(st.sampled_from([holder, None, Hostile(), type(holder)]))


def judged(result):
    assert isinstance(result, Result), result
    return result


@pytest.fixture
def fresh(clean_capture):
    attempts.start()


@FAST
@given(getter=odd_carriers(), setter=odd_carriers())
def test_getter_setter_of_any_shape(getter, setter):
    result = judged(check_getter_setter(getter, setter, exercise="6.1"))
    assert not result.passed and result.reason != "check-failed", result


def test_a_getter_that_returns_a_generator_is_named():
    from opentelemetry.propagators.textmap import Getter

    from kit.propagation import user_properties_setter

    class YieldingGetter(Getter):
        def get(self, carrier, key):
            return (v for k, v in getattr(carrier, "UserProperty", None) or [] if k == key)

        def keys(self, carrier):
            return []

    result = check_getter_setter(YieldingGetter(), user_properties_setter)
    assert result.reason == "getter-not-a-list" and "returned a generator" in result.message


@FAST
@given(inject=odd_callables(), extract=odd_callables())
def test_json_propagation_of_any_shape(inject, extract):
    result = judged(check_json_propagation(inject, extract, exercise="7.1"))
    assert not result.passed and result.reason != "check-failed", result


@FAST
@given(send=odd_callables(), receive=odd_callables())
def test_round_trip_of_any_shape(fresh, send, receive):
    result = judged(check_round_trip(send, receive, key="order.id", producer="send order", consumer="receive order",
                                     exercise="4.3"))
    assert not result.passed and result.reason != "check-failed", result


@FAST
@given(extract=odd_callables())
def test_edge_extract_of_any_shape(extract):
    result = judged(check_edge_extract(extract, allowed=("tenant.id",), exercise="11.2"))
    assert not result.passed and result.reason != "check-failed", result


@FAST
@given(function=odd_callables())
def test_handled_error_of_any_shape(fresh, function):
    result = judged(check_handled_error(function, bad="twenty", good="21.5", span_name="parse reading",
                                        exercise="1.2"))
    assert not result.passed and result.reason != "check-failed", result


@FAST
@given(handler=odd_callables(), payload=st.sampled_from([b"{}", b"x", b""]))
def test_hop_with_a_handler_of_any_shape(fresh, handler, payload):
    import paho.mqtt.client as mqtt

    from kit.inbox import Inbox
    inbox = Inbox(then=handler if callable(handler) else None)
    message = mqtt.MQTTMessage(1, b"orders/new")
    message.payload = payload
    inbox(None, None, message)
    judged(check_hop(inbox, "process orders/new", "publish orders/new", placement="json", exercise="7.2"))


@FAST
@given(value=ODD_VALUES)
def test_answers_of_any_shape(value):
    t = pd.Timestamp("2026-01-01", tz="UTC")
    spans = pd.DataFrame({"trace_id": ["a" * 32], "span_id": ["1" * 16], "parent_span_id": [None],
                          "name": ["publish alerts/s-2"], "service": ["alerter"], "start": [t], "duration_ms": [1.0]})
    for result in (check_first_alert(spans, _value(value), sensor="s-2", exercise="9.1"),
                   check_end_to_end(spans, _value(value), sensor="s-2", exercise="9.2"),
                   check_first_alert(_value(value), "a" * 32, sensor="s-2", exercise="9.1"),
                   check_received(_value(value) if type(value) is list else [], ["lab/temp"],
                                  topic_filter=_value(value), exercise="5.1"),
                   check_retained(_value(value), "lab/status", b"online", qos=1, exercise="5.2"),
                   check_sampler(_value(value), ratio=0.1, exercise="11.1"),
                   check_baggage(_value(value), "tenant.id", "acme", "bill order", exercise="4.2")):
        assert not judged(result).passed


@FAST
@given(should_sample=odd_callables())
def test_a_sampler_of_any_shape(should_sample):
    provider = type("Provider", (), {})()
    provider.sampler = type("Sampler", (), {"should_sample": staticmethod(should_sample) if callable(should_sample)
                                             else should_sample})()
    result = judged(check_sampler(provider, ratio=0.1, exercise="11.1"))
    assert not result.passed and result.reason != "check-failed", result


def test_the_printed_end_to_end_time_is_accepted():
    """9.2 prints its own answer to 0.1 ms; typing that value must pass (it once needed 0.01 ms)."""
    t = pd.Timestamp("2026-01-01", tz="UTC")
    spans = pd.DataFrame({"trace_id": ["a" * 32] * 2, "span_id": ["1" * 16, "2" * 16],
                          "parent_span_id": [None, "1" * 16], "name": ["read temperature", "publish alerts/s-2"],
                          "service": ["sensor", "alerter"], "start": [t, t + pd.Timedelta(1, "ms")],
                          "duration_ms": [0.5, 3.4567]})
    ok = check_end_to_end(spans, 4.4567, sensor="s-2")
    shown = ok.message.split("took ")[1].split(" ms")[0]
    assert ok.passed and shown == "4.5" and check_end_to_end(spans, float(shown), sensor="s-2").passed
    assert check_end_to_end(spans, 4.3, sensor="s-2").reason == "answer-wrong"


def test_another_alerts_time_is_caught_even_when_it_is_close_to_the_first():
    """A CI run once gave ✓ to the last alert's trace: its end-to-end time was within the 0.05 ms
    allowed for typing the printed value. A computed answer that is exactly another alert's time,
    and not the first's, is that alert; the printed value typed in still passes."""
    t = pd.Timestamp("2026-01-01", tz="UTC")
    rows = []
    for number, (offset_ms, took_ms) in enumerate([(0, 5.1234), (20, 5.1391), (40, 5.1002)]):
        trace, reading, alert = f"{number + 1:x}" * 32, f"{2 * number + 1:x}" * 16, f"{2 * number + 2:x}" * 16
        rows += [(trace, reading, None, "read temperature", "sensor", t + pd.Timedelta(offset_ms, "ms"), 0.5),
                 (trace, alert, reading, "publish alerts/s-2", "alerter",
                  t + pd.Timedelta(offset_ms + 1, "ms"), took_ms - 1)]
    spans = pd.DataFrame(rows, columns=["trace_id", "span_id", "parent_span_id", "name", "service", "start",
                                        "duration_ms"])
    from kit.checks.traces import _end_to_end
    times = [_end_to_end(spans[spans.trace_id == trace]) for trace in spans.trace_id.unique()]
    assert check_end_to_end(spans, times[0], sensor="s-2").passed
    assert check_end_to_end(spans, 5.1, sensor="s-2").passed  # the printed value, typed
    for number in (2, 3):
        result = check_end_to_end(spans, times[number - 1], sensor="s-2")
        assert result.reason == "answer-not-first" and f"alert number {number} of 3" in result.message, result
    # the learner's own arithmetic on nanosecond timestamps is still the first alert's answer
    first = spans[spans.trace_id == spans.trace_id.iloc[0]]
    ns = (first.start + pd.to_timedelta(first.duration_ms, unit="ms")).max().value - first.start.min().value
    assert check_end_to_end(spans, ns / 1e6, sensor="s-2").passed
