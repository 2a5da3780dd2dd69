"""kit.receiver on the wire, against what any web page or slow client can send it: the page's
API takes only numbers it can wait on (a ``timeout_s=nan`` does not spin a core)."""

import json
import time
import urllib.error
import urllib.request

import psutil
import pytest

from kit.receiver import limits


def get(url, timeout=10.0, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def page(receiver):
    return receiver.serve_page(port=0)


def span_row(**values) -> dict:
    from datetime import datetime, timezone
    return {"trace_id": "01" * 16, "span_id": "02" * 8, "parent_span_id": None, "name": "one", "kind": "INTERNAL",
            "service": "s", "start": datetime.now(timezone.utc), "duration_ms": 1.0, "status": "UNSET",
            "attributes": {}, "events": [], "links": [], "parent_remote": None, "scope": None, **values}


def cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


# -- the page's API: numbers in the query ----------------------------------------------

NOT_NUMBERS = ["nan", "NaN", "+nan", "-nan", "inf", "-inf", "Infinity", "garbage", "1_0", "0x10", "½",
               "1e", "--1", "9" * 5000]
CLAMPED = ["-1", "-1e309", "1e309", "1e308", "99999999999999999999", "0", "0.5"]


@pytest.mark.parametrize("value", NOT_NUMBERS + CLAMPED)
def test_api_changes_waits_within_its_bound_and_idles_whatever_timeout_it_is_given(receiver, page, monkeypatch,
                                                                                   value):
    """A web page can send any ``timeout_s``: a number is held to 0..CHANGES_MAX_WAIT_S, anything
    else is a 400 at once; the wait itself costs no CPU (``min(nan, 30)`` is nan, and a
    condition waited on for nan seconds returns at once, in a loop)."""
    monkeypatch.setattr(limits, "CHANGES_MAX_WAIT_S", 1.0, raising=False)
    after = receiver.received.totals()["requests"]
    cpu, t0 = cpu_seconds(), time.monotonic()
    try:
        status, body = get(f"{page.url}/api/changes?after={after}&timeout_s={urllib.request.quote(value)}",
                           timeout=5)
        seconds, cpu = time.monotonic() - t0, cpu_seconds() - cpu
    finally:
        receiver.received.note("http", "/", 200)  # a request: whatever still waits wakes up
    print(f"\ntimeout_s={value[:12]!r}: {status} in {seconds:.2f} s, {cpu:.3f} s of CPU")
    if value in NOT_NUMBERS:
        assert status == 400 and b"timeout_s" in body and seconds < 0.5
    else:
        assert status == 200 and json.loads(body)["requests"] == after
        assert seconds < 1.0 + 0.5
    assert cpu < 0.25, f"{cpu:.2f} s of CPU over a wait of {seconds:.2f} s"


@pytest.mark.parametrize("query", ["after=nan", "after=1e3", "after=" + "9" * 5000, "after=-5&timeout_s=0",
                                   "after=99999999999999999999999&timeout_s=0"])
def test_api_changes_takes_a_whole_number_after(receiver, page, query):
    status, body = get(f"{page.url}/api/changes?{query}", timeout=5)
    if "timeout_s=0" in query:  # a whole number, held to what a watermark can be
        assert status == 200 and "requests" in json.loads(body)
    else:
        assert status == 400 and b"after" in body


@pytest.mark.parametrize("since, rows", [("-5", 1), ("0", 1), ("1", 0), ("99999999999999999999999", 0),
                                         ("nan", None), ("1.5", None), ("x", None)])
def test_api_since_is_a_whole_number_held_to_the_watermarks(receiver, page, since, rows):
    receiver.received.keep("spans", [span_row()], "http", "/v1/traces", sizes=[1])
    status, body = get(f"{page.url}/api/spans?since={since}")
    if rows is None:
        assert status == 400 and b"since" in body
    else:
        assert status == 200 and len(json.loads(body)) == rows
