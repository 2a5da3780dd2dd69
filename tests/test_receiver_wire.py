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


# -- the Host header: a page of another site (DNS rebinding) gets nothing -----------------

def one_span_body(name="s") -> bytes:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    request = trace_service_pb2.ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name=name)
    return request.SerializeToString()


def request_with(port, method, path, hosts, body=b"", headers=None):
    """A request whose Host headers are exactly ``hosts`` (none for [])."""
    from receiver_helpers import raw_request
    lines = [f"{method} {path} HTTP/1.1"] + [f"Host: {h}" for h in hosts] + [
        f"{k}: {v}" for k, v in {"Content-Length": str(len(body)), **(headers or {})}.items()]
    return raw_request(port, ("\r\n".join(lines) + "\r\n\r\n").encode(), body)


FOREIGN = ["evil.example", "evil.example:4318", "127.0.0.1.evil.example", "localhost.evil.example", "10.0.0.5",
           "0x7f.1", "", "127.0.0.1 evil.example"]
LOOPBACK = ["127.0.0.1", "127.0.0.1:4318", "127.8.9.10", "localhost", "LOCALHOST:80", "localhost.", "app.localhost",
            "[::1]", "[::1]:4318"]


@pytest.fixture(scope="module")
def shared():
    """One receiver and its page for the many Host cases (each checks what it added)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from receiver_helpers import send_spans

    from kit.receiver import start_receiver
    r = start_receiver(grpc_port=0, http_port=0)
    send_spans(OTLPSpanExporter(endpoint=r.http_endpoint + "/v1/traces"), 2, service="secret-service")
    r.serve_page(port=0)
    yield r
    r.stop()


@pytest.mark.parametrize("host", FOREIGN + LOOPBACK + [None, "two"])
def test_otlp_http_and_zipkin_answer_only_their_own_names(shared, host):
    hosts = [] if host is None else ["127.0.0.1", "evil.example"] if host == "two" else [host]
    spans, requests = shared.received.totals()["spans"], len(shared.requests_df())
    name = f"sent to {host}"
    otlp = request_with(shared.http_port, "POST", "/v1/traces", hosts, one_span_body(name),
                        {"Content-Type": "application/x-protobuf"})
    zipkin = request_with(shared.http_port, "POST", "/api/v2/spans", hosts,
                          json.dumps([{"traceId": "1" * 32, "id": "2" * 16, "name": name}]).encode(),
                          {"Content-Type": "application/json"})
    otlp_json = request_with(shared.http_port, "POST", "/v1/traces", hosts, b"{}",
                             {"Content-Type": "application/json"})
    added = shared.requests_df().iloc[requests:]
    if host in FOREIGN or host == "two":
        assert (otlp[0], zipkin[0], otlp_json[0]) == (403, 403, 403)
        assert shared.received.totals()["spans"] == spans
        if host != "two":
            assert b"--allow-host" in zipkin[1] and json.loads(otlp_json[1])["code"] == 7  # PERMISSION_DENIED
            assert "--allow-host" in trace_service_status(otlp[1])
        assert added.status.tolist() == [403] * 3
    else:  # a loopback name, or no Host at all (HTTP/1.0: no browser sends that)
        assert (otlp[0], zipkin[0], otlp_json[0]) == (200, 202, 200)
        assert (shared.spans_df().name == name).sum() == 2


def trace_service_status(body: bytes) -> str:
    from google.rpc import status_pb2
    return status_pb2.Status.FromString(body).message


@pytest.mark.parametrize("host", FOREIGN + LOOPBACK + ["two"])
@pytest.mark.parametrize("route", ["/", "/api/info", "/api/spans", "/api/changes?after=-1&timeout_s=0",
                                   "/part/traces"])
def test_the_page_and_its_api_answer_only_their_own_names(shared, host, route):
    hosts = ["127.0.0.1", "evil.example"] if host == "two" else [host]
    status, body = request_with(shared.page.port, "GET", route, hosts)
    if host in FOREIGN or host == "two":
        assert status == 403 and b"secret" not in body and b"requests" not in body
    else:
        assert status == 200
        if route in ("/", "/api/spans", "/part/traces"):
            assert b"secret-service" in body


def test_bound_to_every_address_it_answers_addresses_and_the_names_allowed():
    from kit.receiver import start_receiver
    r = start_receiver(grpc_port=0, http_port=0, host="0.0.0.0", allowed_hosts=["otel.lan", "Collector.Local."])
    try:
        for host, status in [("otel.lan:4318", 200), ("collector.local", 200), ("10.1.2.3", 200), ("[fe80::1]", 200),
                             ("localhost", 200), ("evil.example", 403), ("otel.lan.evil.example", 403)]:
            got, body = request_with(r.http_port, "POST", "/v1/traces", [host], one_span_body(),
                                     {"Content-Type": "application/x-protobuf"})
            assert got == status, (host, body)
        page = r.serve_page(port=0)
        assert request_with(page.port, "GET", "/api/info", ["otel.lan"])[0] == 200
        assert request_with(page.port, "GET", "/api/info", ["evil.example"])[0] == 403
    finally:
        r.stop()


def test_hosts_of_a_receiver_bound_to_one_address_or_name():
    from kit.receiver.hosts import Hosts
    lan = Hosts("192.168.1.5")
    assert lan.refuse("192.168.1.5:4318") is None and lan.refuse("127.0.0.1") is None
    assert lan.refuse("192.168.1.6") is not None and lan.refuse("evil.example") is not None
    named = Hosts("otel-box", ["otel.lan"])
    assert named.refuse("otel-box:4318") is None and named.refuse("OTEL.LAN") is None
    assert "--allow-host evil.example" in named.refuse("evil.example:80")
    assert "otel-box, otel.lan" in named.refuse("evil.example")


def test_the_cli_takes_names_to_allow():
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "kit", "receiver", "--grpc-port", "0", "--http-port", "0",
                             "--page-port", "0", "--allow-host", "otel.lan", "--allow-host", "other.lan"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = int(line.split("HTTP http://127.0.0.1:", 1)[1].split(";", 1)[0])
        for host, status in [("otel.lan", 200), ("other.lan:4318", 200), ("evil.example", 403)]:
            got, _ = request_with(port, "POST", "/v1/traces", [host], one_span_body(),
                                  {"Content-Type": "application/x-protobuf"})
            assert got == status, host
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


# -- Zipkin: JSON only, so that no page of another site can post without asking ----------

@pytest.mark.parametrize("content_type", [None, "text/plain", "text/plain; charset=utf-8",
                                          "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                          "application/x-protobuf", "application/jsonx"])
def test_zipkin_takes_json_only(receiver, content_type):
    """What a browser sends to another origin without a preflight (text/plain, a form, no
    type) planted a span: now a 415, as OTLP/HTTP answers."""
    body = json.dumps([{"traceId": "1" * 32, "id": "2" * 16, "name": "planted"}]).encode()
    status, reply = request_with(receiver.http_port, "POST", "/api/v2/spans", ["127.0.0.1"], body,
                                 {"Content-Type": content_type} if content_type else {})
    assert status == 415 and b"application/json" in reply
    assert receiver.spans_df().empty
    status, _ = request_with(receiver.http_port, "POST", "/api/v2/spans", ["127.0.0.1"], body,
                             {"Content-Type": "application/json; charset=utf-8"})
    assert status == 202 and receiver.spans_df().name.tolist() == ["planted"]


@pytest.mark.parametrize("endpoint_host", ["127.0.0.1", "localhost"])
def test_the_sdks_exporters_still_get_through(receiver, endpoint_host):
    """The Python SDK's OTLP/HTTP exporter and its Zipkin JSON exporter (requests: Host is the
    endpoint's host:port; Content-Type application/x-protobuf and application/json)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.exporter.zipkin.json import ZipkinExporter
    from receiver_helpers import send_spans
    base = f"http://{endpoint_host}:{receiver.http_port}"
    send_spans(OTLPSpanExporter(endpoint=base + "/v1/traces"), 3, service="otlp-http")
    send_spans(ZipkinExporter(endpoint=base + "/api/v2/spans"), 3, service="zipkin")
    assert receiver.spans_df().groupby("service").size().to_dict() == {"otlp-http": 3, "zipkin": 3}
    assert set(receiver.requests_df().status) == {200}
