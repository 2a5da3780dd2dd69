"""kit.receiver under hostile input: bombs, floods of tiny messages, huge attributes and
stalled connections cost bounded memory and time, and what it accepted is never lost.
Each test prints the peak memory growth it saw (``pytest -s`` shows it)."""

import gzip
import os
import socket
import subprocess
import sys
import threading
import time
import zlib

from pathlib import Path

import pytest

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from receiver_helpers import PeakRSS, post_head, raw_request, send_spans

from kit.receiver import limits as receiver_module
from kit.receiver import start_receiver

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
MB = 2**20
ROOT = Path(__file__).parent.parent


def gzip_bomb(expanded: int) -> bytes:
    """A gzip stream of ``expanded`` zero bytes, made without holding them."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MB)
    return b"".join(z.compress(block) for _ in range(expanded // MB)) + z.flush()


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def report(name, peak, seconds):
    print(f"\n{name}: peak memory +{peak.growth_mb:.0f} MB, {seconds:.2f} s")


def test_a_gzip_bomb_is_refused_with_flat_memory(receiver):
    bomb = gzip_bomb(1024 * MB)  # about 1 MB that expands to 1 GiB
    assert len(bomb) < 1.1 * MB
    with PeakRSS() as peak:
        t0 = time.monotonic()
        status, _ = raw_request(receiver.http_port, post_head("/v1/traces", {
            "Content-Type": "application/x-protobuf", "Content-Encoding": "gzip",
            "Content-Length": str(len(bomb))}), bomb, timeout=30)
        seconds = time.monotonic() - t0
    report("gzip bomb over HTTP", peak, seconds)
    assert status == 413 and peak.growth_mb < 60 and seconds < 5


GRPC_BOMB = """
import sys, grpc
channel = grpc.insecure_channel(sys.argv[1], compression=grpc.Compression.Gzip)
call = channel.unary_unary(sys.argv[2], request_serializer=lambda b: b, response_deserializer=lambda b: b)
try:
    call(bytes(256 * 2**20), timeout=60)  # compresses to about 250 kB on the wire
except grpc.RpcError as err:
    print(err.code().name)
"""


def in_another_process(script: str, *args) -> str:
    """Run a client in its own process, so that only the receiver's memory is measured here."""
    out = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + str(ROOT / "tests")})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_gzip_bomb_over_grpc_is_refused(receiver):
    with PeakRSS() as peak:
        t0 = time.monotonic()
        code = in_another_process(GRPC_BOMB, f"127.0.0.1:{receiver.grpc_port}", TRACE_EXPORT)
    report("gzip bomb over gRPC", peak, time.monotonic() - t0)
    assert code == "RESOURCE_EXHAUSTED" and peak.growth_mb < 60


@pytest.mark.parametrize("what", ["empty resources", "empty spans", "empty attributes"])
def test_16_mb_of_empty_messages_is_answered_fast_and_small(receiver, what):
    n = receiver_module.MAX_REQUEST_BYTES // 2 - 64
    if what == "empty resources":
        body = b"\x0a\x00" * n
    elif what == "empty spans":
        body = field(1, field(2, b"\x12\x00" * (n - 8)))
    else:
        span = b"\x0a\x10" + b"\x01" * 16 + b"\x12\x08" + b"\x02" * 8 + b"\x4a\x00" * (n - 16)
        body = field(1, field(2, field(2, span)))
    assert len(body) <= receiver_module.MAX_REQUEST_BYTES
    with PeakRSS() as peak:
        t0 = time.monotonic()
        status, _ = raw_request(receiver.http_port, post_head("/v1/traces", {
            "Content-Type": "application/x-protobuf", "Content-Length": str(len(body))}), body, timeout=60)
        seconds = time.monotonic() - t0
    report(f"16 MB of {what}", peak, seconds)
    assert status in (200, 413) and seconds < 5 and peak.growth_mb < 150
    assert receiver.spans_df().empty


def test_a_json_flood_of_empty_objects_is_answered_fast_and_small(receiver):
    body = b'{"resourceSpans":[' + b"{}," * (receiver_module.MAX_REQUEST_BYTES // 3 - 10) + b"{}]}"
    with PeakRSS() as peak:
        t0 = time.monotonic()
        status, _ = raw_request(receiver.http_port, post_head("/v1/traces", {
            "Content-Type": "application/json", "Content-Length": str(len(body))}), body, timeout=60)
        seconds = time.monotonic() - t0
    report("16 MB of empty JSON objects", peak, seconds)
    assert status in (200, 413) and seconds < 5 and peak.growth_mb < 150


BIG_SPANS = """
import sys
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from receiver_helpers import send_spans
for i in range(40):
    attrs = {f"a{k}": "x" * (2**20 - 16) for k in range(15)}
    send_spans(OTLPSpanExporter(endpoint=sys.argv[1], insecure=True), 1, attrs, service=f"big-{i}")
"""


def test_memory_is_bounded_in_bytes_and_the_newest_spans_are_kept(receiver):
    """40 spans with 15 MB of attributes each: the store keeps what fits in MAX_BYTES."""
    with PeakRSS() as peak:
        t0 = time.monotonic()
        in_another_process(BIG_SPANS, receiver.grpc_endpoint)
        seconds = time.monotonic() - t0
    report("40 spans x 15 MB of attributes", peak, seconds)
    r = receiver.received
    assert r.totals()["spans"] == 40 and receiver.requests_df().status.eq("OK").all()  # every one accepted
    assert r.bytes["spans"] <= receiver_module.MAX_BYTES
    kept = receiver.spans_df()
    assert 1 <= len(kept) < 40 and kept.service.iloc[-1] == "big-39"  # the oldest made room
    assert peak.growth_mb < receiver_module.MAX_BYTES / MB + 200


def test_many_small_spans_are_not_all_charged_the_worst_case(receiver):
    exporter = GrpcSpans(endpoint=receiver.grpc_endpoint, insecure=True)
    send_spans(exporter, 2000)
    assert len(receiver.spans_df()) == 2000
    assert receiver.received.bytes["spans"] < 2000 * 4096


def test_stalled_connections_are_closed_and_their_threads_end(monkeypatch):
    monkeypatch.setattr(receiver_module, "READ_TIMEOUT_S", 1.0)
    r = start_receiver(grpc_port=0, http_port=0)
    before = threading.active_count()
    socks = []
    try:
        for i in range(500):
            s = socket.create_connection(("127.0.0.1", r.http_port), timeout=5)
            head = post_head("/v1/traces", {"Content-Type": "application/x-protobuf", "Content-Length": "1000"}) if i % 2 else b"POST /v1/tra"
            s.sendall(head + (b"x" * 10 if i % 2 else b""))  # and then nothing more
            socks.append(s)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and threading.active_count() > before + 2:
            time.sleep(0.1)
        assert threading.active_count() <= before + 2, f"{threading.active_count() - before} threads left"
        assert post_status(r) == 200  # still serving
        assert (r.requests_df().status == 408).sum() >= 1
    finally:
        for s in socks:
            s.close()
        r.stop()


def test_a_slow_drip_body_is_cut_at_the_request_deadline(monkeypatch):
    monkeypatch.setattr(receiver_module, "READ_TIMEOUT_S", 0.5)
    monkeypatch.setattr(receiver_module, "REQUEST_DEADLINE_S", 1.5)
    r = start_receiver(grpc_port=0, http_port=0)
    try:
        with socket.create_connection(("127.0.0.1", r.http_port), timeout=10) as s:
            s.sendall(post_head("/v1/traces", {"Content-Type": "application/x-protobuf", "Content-Length": "100"}))
            t0 = time.monotonic()
            reply = b""
            while time.monotonic() - t0 < 8 and not reply:
                try:
                    s.sendall(b"x")
                except OSError:
                    break
                s.settimeout(0.3)
                try:
                    reply = s.recv(100)
                except TimeoutError:
                    pass
            seconds = time.monotonic() - t0
        assert seconds < 4 and (reply.startswith(b"HTTP/1.1 408") or reply == b"")
    finally:
        r.stop()


def test_a_body_that_ends_early_is_not_kept(receiver):
    body = gzip.compress(b"")
    with socket.create_connection(("127.0.0.1", receiver.http_port), timeout=5) as s:
        s.sendall(post_head("/v1/traces", {"Content-Length": "500"}) + body)
        s.shutdown(socket.SHUT_WR)
        s.recv(100)
    assert post_status(receiver) == 200 and receiver.spans_df().name.tolist() == ["ok"]


def post_status(r) -> int:
    from opentelemetry.proto.trace.v1 import trace_pb2
    body = trace_service_pb2.ExportTraceServiceRequest(resource_spans=[trace_pb2.ResourceSpans(scope_spans=[
        trace_pb2.ScopeSpans(spans=[trace_pb2.Span(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="ok")])])])
    return raw_request(r.http_port, post_head("/v1/traces", {
        "Content-Type": "application/x-protobuf", "Content-Length": str(body.ByteSize())}),
        body.SerializeToString())[0]


def test_a_chunked_body_past_the_limit_and_a_chunked_gzip_bomb_are_refused(receiver):
    chunk = b"x" * MB
    endless = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20))  # 20 MB in 1 MB chunks
    bomb = gzip_bomb(1024 * MB)
    chunked_bomb = b"".join(b"%x\r\n%s\r\n" % (len(bomb[i:i + 65536]), bomb[i:i + 65536])
                            for i in range(0, len(bomb), 65536)) + b"0\r\n\r\n"
    with PeakRSS() as peak:
        t0 = time.monotonic()
        for body, encoding in ((endless, "identity"), (chunked_bomb, "gzip")):
            status, _ = raw_request(receiver.http_port, post_head("/v1/traces", {
                "Content-Type": "application/x-protobuf", "Transfer-Encoding": "chunked",
                "Content-Encoding": encoding}), body, timeout=30)
            assert status == 413
        seconds = time.monotonic() - t0
    report("chunked 20 MB and a chunked gzip bomb", peak, seconds)
    assert peak.growth_mb < 80 and seconds < 10
    assert post_status(receiver) == 200


def test_nothing_accepted_is_lost_while_hostile_clients_stall(receiver):
    """8 SDK exporters at once (4 gRPC, 4 HTTP), with 40 connections stalled mid-body."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans
    stalled = []
    for _ in range(40):
        s = socket.create_connection(("127.0.0.1", receiver.http_port), timeout=5)
        s.sendall(post_head("/v1/traces", {"Content-Type": "application/x-protobuf", "Content-Length": "5000"})
                  + b"\x0a")
        stalled.append(s)
    try:
        def one(i):
            exporter = (GrpcSpans(endpoint=receiver.grpc_endpoint, insecure=True) if i % 2 else
                        HttpSpans(endpoint=receiver.http_endpoint + "/v1/traces"))
            send_spans(exporter, 1000, service=f"exporter-{i}")
        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        counts = receiver.spans_df().groupby("service").size().to_dict()
        assert counts == {f"exporter-{i}": 1000 for i in range(8)}
    finally:
        for s in stalled:
            s.close()


@pytest.mark.parametrize("hang_up", [BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset by peer"),
                                     TimeoutError("timed out")], ids=["broken pipe", "reset", "timeout"])
def test_a_client_that_hangs_up_before_its_reply_prints_nothing(receiver, capfd, hang_up):
    """socketserver's default prints a traceback on stderr, which lands in a later cell."""
    before = len(receiver.requests_df())
    try:
        raise hang_up
    except OSError:
        receiver._http.handle_error(None, ("127.0.0.1", 40000))
    assert capfd.readouterr().err == ""
    assert len(receiver.requests_df()) == before, "its request was noted when it was answered"


def test_a_failure_while_answering_is_noted_in_the_requests_not_printed(receiver, capfd):
    try:
        raise ValueError("no such field")
    except ValueError:
        receiver._http.handle_error(None, ("127.0.0.1", 40000))
    assert capfd.readouterr().err == ""
    last = receiver.requests_df().iloc[-1]
    assert (last.status, last.note) == (500, "the receiver failed: ValueError: no such field")
