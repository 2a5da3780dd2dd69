"""kit.receiver on the wire, against what any web page or slow client can send it: the page's
API takes only numbers it can wait on (a ``timeout_s=nan`` does not spin a core)."""

import json
import threading
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
        if route in ("/api/spans", "/part/traces"):
            assert b"secret-service" in body
        elif route == "/":  # the page; its parts bring the traces
            assert b"<!doctype html>" in body


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


# -- slow clients: exporters still get through -------------------------------------------

def a_batch(n=20):
    """``n`` finished spans of the SDK, to export again and again."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "well-behaved"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for i in range(n):
        with provider.get_tracer("t").start_as_current_span(f"span {i}", attributes={"i": i}):
            pass
    provider.shutdown()
    return memory.get_finished_spans()


def export_while(exporter, spans, seconds: float) -> list:
    """Export ``spans`` again and again for ``seconds``: (took, result) of each export."""
    results, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        result = exporter.export(spans)
        results.append((time.monotonic() - t0, result))
        stop = threading.Event()
        stop.wait(0.2)  # the pace of an exporter: a batch now and then
    return results


def summary(results) -> str:
    took = sorted(t for t, _ in results)
    return (f"{len(took)} exports, {sum(r.name == 'SUCCESS' for _, r in results)} succeeded; "
            f"median {took[len(took) // 2] * 1000:.0f} ms, max {took[-1] * 1000:.0f} ms")


@pytest.mark.parametrize("who", ["drippers, slow bodies and idlers", "stallers near the end of 16 MB"])
def test_sdk_exports_over_http_succeed_within_2_s_while_slow_clients_hold_connections(receiver, who):
    """Dozens of slow clients, reconnecting as soon as they are dropped: 64 connections dripping
    their headers took the 64-connection cap; 5 bodies declaring 16 MB reserved the 80 MB
    budget. The SDK's own OTLP/HTTP exporter (which gives up after 10 s) must get through
    within 2 s, every time, and the receiver's memory stays bounded."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult
    from receiver_helpers import PeakRSS, SlowClients
    spans = a_batch(200)  # about 30 kB: more than the room the stallers leave in the budget
    plan = (dict(drippers=40, slow_bodies=40, idlers=40, interval_s=5.0) if who.startswith("drippers")
            else dict(stallers=8, drippers=20, interval_s=1.0))
    exporter = OTLPSpanExporter(endpoint=receiver.http_endpoint + "/v1/traces")
    with PeakRSS() as peak, SlowClients(receiver.http_port, **plan) as slow:
        assert slow.all_connected()
        results = export_while(exporter, spans, 12.0)
    exporter.shutdown()
    print(f"\n{who}: {summary(results)}; connections made {slow.connections}, replies {slow.replies}; "
          f"peak memory +{peak.growth_mb:.0f} MB")
    assert all(result is SpanExportResult.SUCCESS for _, result in results), summary(results)
    assert max(took for took, _ in results) < 2.0, summary(results)
    assert (receiver.spans_df().service == "well-behaved").sum() == 200 * len(results)
    assert peak.growth_mb < limits.BODY_BUDGET_BYTES / 2**20 + 60
    kinds = [k for k, n in slow.args["plan"].items() if n]
    assert all(slow.connections[k] > slow.args["plan"][k] for k in kinds), "each kind was cut and came back"


def drip(sock, data: bytes, every_s: float, stop: threading.Event) -> None:
    """Send ``data`` one byte every ``every_s`` until it is all sent, the server hangs up or ``stop``."""
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return
        if stop.wait(every_s):
            return


def seconds_until_closed(sock, timeout_s=20.0) -> float:
    """Seconds until the server closes ``sock`` (whatever it sends first is read and dropped)."""
    t0 = time.monotonic()
    sock.settimeout(timeout_s)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, TimeoutError):
        pass
    return time.monotonic() - t0


def test_headers_dripped_or_never_sent_are_cut_at_the_header_timeout(monkeypatch):
    """As Go's ReadHeaderTimeout: a request's line and headers are due HEADER_TIMEOUT_S after
    the connection opens (a byte every quarter second kept one for 40 s; a connection that
    sent nothing, 120 s)."""
    import socket

    from kit.receiver import start_receiver
    monkeypatch.setattr(limits, "HEADER_TIMEOUT_S", 1.5, raising=False)
    r = start_receiver(grpc_port=0, http_port=0)
    stop = threading.Event()
    try:
        silent = socket.create_connection(("127.0.0.1", r.http_port))
        dripper = socket.create_connection(("127.0.0.1", r.http_port))
        threading.Thread(target=drip, args=(dripper, b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\n" * 10,
                                            0.25, stop), daemon=True).start()
        dripped, silence = seconds_until_closed(dripper), seconds_until_closed(silent)
        print(f"\ndripper cut after {dripped:.1f} s, a silent connection {silence:.1f} s later")
        assert 1.0 < dripped < 1.5 + 1.0 and silence < 1.0
        assert r.requests_df().status.tolist() == [408, 408]
        assert post_one(r.http_port) == 200  # and the port still serves
    finally:
        stop.set()
        r.stop()


def post_one(port) -> int:
    from receiver_helpers import raw_request
    body = one_span_body()
    return raw_request(port, (f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf"
                              f"\r\nContent-Length: {len(body)}\r\n\r\n").encode(), body)[0]


def test_a_body_slower_than_the_minimum_rate_is_cut_after_the_grace(monkeypatch):
    """1 kB every 5 s kept a connection for the 30 s deadline; with a minimum rate (as
    Kestrel's MinRequestBodyDataRate) it is cut once the grace is over."""
    import socket

    from kit.receiver import start_receiver
    monkeypatch.setattr(limits, "MIN_BODY_RATE", 1000, raising=False)
    monkeypatch.setattr(limits, "BODY_GRACE_S", 1.0, raising=False)
    r = start_receiver(grpc_port=0, http_port=0)
    stop = threading.Event()
    try:
        slow = socket.create_connection(("127.0.0.1", r.http_port))
        slow.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                     b"Content-Length: 100000\r\n\r\n" + b"\x0a" * 1000)
        threading.Thread(target=drip, args=(slow, b"\x0a" * 1000, 0.01, stop), daemon=True).start()  # 100 B/s
        slow.settimeout(10)
        t0 = time.monotonic()
        reply = slow.recv(200)
        seconds = time.monotonic() - t0
        print(f"\n100 B/s after 1000 B: cut after {seconds:.1f} s: {reply[:40]!r}")
        assert reply.startswith(b"HTTP/1.1 408") and 1.5 < seconds < 3.5
        assert "slower than 1,000 bytes a second" in r.requests_df().note.iloc[-1]
    finally:
        stop.set()
        r.stop()


def test_a_body_holds_the_memory_of_what_has_arrived_not_of_what_it_declares(receiver):
    """A Content-Length of 16 MB used to take 16 MB of the 80 MB budget at once: 5 such
    requests, a byte each, kept every other body out."""
    import socket
    socks = []
    try:
        for _ in range(10):
            s = socket.create_connection(("127.0.0.1", receiver.http_port))
            s.sendall(f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                      f"Content-Length: {limits.MAX_REQUEST_BYTES}\r\n\r\n".encode() + b"\x0a" * 1024)
            socks.append(s)
        t0 = time.monotonic()
        assert post_one(receiver.http_port) == 200 and time.monotonic() - t0 < 2.0  # it waited 30 s, then 503
        budget = receiver._http.RequestHandlerClass.body_budget
        deadline = time.monotonic() + 10
        while budget.used < 10 * 1024 and time.monotonic() < deadline:
            threading.Event().wait(0.02)
        assert budget.used == 10 * 1024  # what arrived, not 10 x 16 MB
    finally:
        for s in socks:
            s.close()


def test_sdk_exports_over_grpc_succeed_within_2_s_while_calls_stall(receiver):
    """gRPC's thread-pool server gave each call a thread until its message came, without a
    limit: 4 calls that sent their headers and nothing more stopped every export. Now 60
    such calls, started again as soon as they are cut, and the SDK's gRPC exporter still
    gets through within 2 s each time."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult
    from receiver_helpers import GrpcStallers, PeakRSS
    spans = a_batch(200)
    exporter = OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True, timeout=5)
    with PeakRSS() as peak, GrpcStallers(receiver.grpc_port, 60) as stallers:
        assert stallers.all_started()
        results = export_while(exporter, spans, 10.0)
    exporter.shutdown()
    print(f"\n60 stalled gRPC calls: {summary(results)}; calls made {stallers.calls}, ended {stallers.codes}; "
          f"peak memory +{peak.growth_mb:.0f} MB")
    assert all(result is SpanExportResult.SUCCESS for _, result in results), summary(results)
    assert max(took for took, _ in results) < 2.0, summary(results)
    assert (receiver.spans_df().service == "well-behaved").sum() == 200 * len(results)
    assert stallers.calls > 60 and "UNAVAILABLE" in stallers.codes  # cut, and back at once
