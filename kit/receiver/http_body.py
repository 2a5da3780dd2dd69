"""Reading an HTTP/1.1 request body within bounds of size, memory and time.

    >>> body = read_body(handler.rfile, handler.connection, handler.headers, limits)
    >>> # raises BodyError(status, message): 400, 408, 411, 413, 415 or 501

What it takes, as the OpenTelemetry Collector's HTTP server does:

* ``Content-Length``: digits only (``-1``, ``abc``, ``1e3``, ``+5`` → 400; two different
  values → 400); more than ``limits.max_bytes`` → 413, before reading anything.
* ``Transfer-Encoding: chunked``: each chunk's size is read, checked against what is left
  of ``limits.max_bytes``, then the chunk; trailers are read and ignored. Chunked wins
  over a ``Content-Length`` sent with it (RFC 9112 §6.3), and the connection is closed
  after the reply. Any other transfer coding → 501.
* ``Content-Encoding``: ``gzip`` (also ``x-gzip``), ``deflate`` (zlib) and ``identity``;
  the decompressed size is bounded by ``limits.max_bytes`` too (a 1 MB body that expands
  to 1 GiB is refused after 16 MB of output); another encoding → 415.
* Time: each read waits at most ``limits.read_timeout_s`` for data, the body must keep an
  average of ``limits.min_rate`` bytes per second once ``limits.grace_s`` have passed (as
  Kestrel's minimum request body data rate), and the whole body must arrive by
  ``limits.deadline`` (a ``time.monotonic()``): a client that stalls or drips → 408.
* Memory: a request holds what has arrived of its body, not what it declares (a
  ``Content-Length: 16000000`` followed by a trickle holds a trickle). The bytes held by
  all the requests being read at once are bounded by :class:`Budget`; when they would go
  over it, the bodies that have been arriving for more than ``Budget.slow_s`` are cut
  first, oldest first (→ 503, retry later), so that slow clients cannot keep others out.
  A request that still cannot get its share in time → 503.
"""

from __future__ import annotations

import mmap
import re
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field

READ_BLOCK = 64 * 1024
_DIGITS = re.compile(r"[0-9]{1,19}")
_HEX = re.compile(rb"[0-9a-fA-F]{1,16}")


class BodyError(Exception):
    """The request's body cannot be read: ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Budget:
    """Bytes that all the requests being read may hold at once. When they run short, a body
    that has been arriving for less than ``slow_s`` seconds (a sender at full speed) gets the
    room: the bodies arriving for longer are cut, oldest first, and do not wait for room."""

    def __init__(self, total: int, slow_s: float = 1.0):
        self.total = total
        self.slow_s = slow_s
        self.used = 0
        self.holders: set = set()   # the Limits of the requests holding bytes
        self._young_waiting = 0     # requests under slow_s waiting for room: they go first
        self._cond = threading.Condition()

    def take(self, n: int, wait_s: float, holder: "Limits | None" = None) -> None:
        end = time.monotonic() + wait_s
        with self._cond:
            waiting = False
            try:
                while True:
                    if holder is not None and holder.cut is not None:
                        raise BodyError(503, holder.cut)
                    now = time.monotonic()
                    young = holder is None or now - holder.started <= self.slow_s
                    if self.used + n <= self.total and (young or not self._young_waiting):
                        break
                    if not young:
                        raise BodyError(503, f"the receiver's memory for bodies ({self.total // 2**20} MB) is in "
                                             f"use and this body has been arriving for {now - holder.started:.1f} s: "
                                             f"retry later")
                    if not waiting:
                        waiting, self._young_waiting = True, self._young_waiting + 1
                    self._make_room(self.used + n - self.total, holder)
                    if now >= end:
                        raise BodyError(503, "the receiver is busy reading other requests: retry later")
                    self._cond.wait(min(end - now, self._until_one_is_slow(now)))
            finally:
                if waiting:
                    self._young_waiting -= 1
            self.used += n
            if holder is not None:
                self.holders.add(holder)

    def _until_one_is_slow(self, now: float) -> float:
        started = [h.started for h in self.holders if h.cut is None and h.sock is not None]
        return max(min(started, default=now) + self.slow_s - now, 0.01)

    def _make_room(self, need: int, taker) -> None:
        """Cut the bodies arriving for longer than slow_s, oldest first, until ``need`` bytes
        will come free (counting those already cut, whose threads are giving theirs back)."""
        now = time.monotonic()
        need -= sum(h.held for h in self.holders if h.cut is not None)
        slow = sorted((h for h in self.holders if h is not taker and h.cut is None and h.sock is not None
                       and now - h.started > self.slow_s), key=lambda h: h.started)
        for holder in slow:
            if need <= 0:
                break
            holder.cut_off(f"cut to make room for other requests: its body was still arriving after "
                           f"{now - holder.started:.1f} s, with the receiver's memory for bodies "
                           f"({self.total // 2**20} MB) in use: retry later")
            need -= holder.held
        if slow:
            self._cond.notify_all()  # a cut request waiting here for room gives up at once

    def give(self, n: int, holder: "Limits | None" = None) -> None:
        with self._cond:
            self.used -= n
            self.holders.discard(holder)
            self._cond.notify_all()


@dataclass(eq=False)
class Limits:
    max_bytes: int
    read_timeout_s: float
    deadline: float          # time.monotonic() by which the body must be in
    budget: Budget
    min_rate: float = 0.0    # bytes per second the body must average, once grace_s have passed
    grace_s: float = 0.0
    sock: object = None      # the connection, so that the budget can cut it
    held: int = 0            # bytes of the budget this request holds (give them back when done)
    got: int = 0             # bytes of the body read from the connection so far
    cut: str | None = None   # why the budget cut this request, if it did
    started: float = field(default_factory=time.monotonic)

    def take(self, n: int) -> None:
        self.budget.take(n, max(self.deadline - time.monotonic(), 0), self)
        self.held += n

    def release(self) -> None:
        self.budget.give(self.held, self)
        self.held = 0

    def cut_off(self, why: str) -> None:
        """Stop reading this request's body (from another thread): its next read raises 503."""
        self.cut = why
        try:
            self.sock.shutdown(socket.SHUT_RD)  # a read waiting on it returns at once
        except OSError:
            pass

    def wait_s(self) -> float:
        """How long the next read may wait: the read timeout, the deadline, the minimum rate."""
        now = time.monotonic()
        if now >= self.deadline:
            raise BodyError(408, "the body did not arrive in time")
        if self.min_rate:
            behind = self.started + self.grace_s + self.got / self.min_rate - now
            if behind <= 0:
                raise BodyError(408, f"the body arrives slower than {self.min_rate:,.0f} bytes a second")
            return min(self.read_timeout_s, self.deadline - now, behind)
        return min(self.read_timeout_s, self.deadline - now)


def content_length(headers) -> int | None:
    """The body's declared length, None when there is no such header; BodyError(400) if bad."""
    values = headers.get_all("Content-Length") or []
    if not values:
        return None
    values = {v.strip() for value in values for v in value.split(",")}
    if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
        raise BodyError(400, f"bad Content-Length: {', '.join(sorted(values))[:60]!r}")
    return int(values.pop())


class _Buffer:
    """One body's bytes, as they arrive. A large one (declared over ``MAPPED_FROM`` bytes, or
    chunked) is a mapping of its own, whose pages are taken only as they are written and
    all given back to the system when the request ends: a process that held many blocks
    freed by many threads would stay larger than what it holds."""

    MAPPED_FROM = 256 * 1024

    def __init__(self, capacity: int):
        self.size = 0
        self.data = mmap.mmap(-1, capacity) if capacity > self.MAPPED_FROM else bytearray()

    def read_from(self, rfile, n: int) -> int:
        part = rfile.read1(n)  # what is buffered first (readinto1 would wait for more, and lose it on a timeout)
        self.add(part)
        return len(part)

    def add(self, block: bytes) -> None:
        if isinstance(self.data, bytearray):
            self.data += block
        else:
            self.data[self.size:self.size + len(block)] = block
        self.size += len(block)

    def bytes(self):
        """The body: a bytearray, or a view of the mapping (protobuf and zlib read either)."""
        return self.data if isinstance(self.data, bytearray) else memoryview(self.data)[:self.size]


def _read(rfile, sock, n: int, limits: Limits, into: _Buffer) -> int:
    """Up to ``n`` bytes into ``into``, as soon as some are there (0 at the end of the
    stream), counted against the budget as they arrive."""
    sock.settimeout(limits.wait_s())
    try:
        got = into.read_from(rfile, n)
    except TimeoutError:
        limits.wait_s()  # raises if the rate or the deadline is why
        raise BodyError(408, "the client stopped sending the body") from None
    except OSError as err:
        raise BodyError(400, f"the connection broke: {err}") from None
    if limits.cut is not None:
        raise BodyError(503, limits.cut)
    limits.got += got
    limits.take(got)
    return got


def _exactly(rfile, sock, n: int, limits: Limits, into: _Buffer) -> None:
    """``n`` more bytes of the body into ``into``."""
    got = 0
    while got < n:
        part = _read(rfile, sock, min(n - got, READ_BLOCK), limits, into)
        if not part:
            raise BodyError(400, f"the body ended after {got} of {n} bytes")
        got += part


def _line(rfile, sock, limits: Limits) -> bytes:
    line = b""
    while not line.endswith(b"\n"):
        if len(line) > 1024:
            raise BodyError(400, "a chunk header is too long")
        sock.settimeout(limits.wait_s())
        try:
            part = rfile.readline(1026 - len(line))
        except TimeoutError:
            limits.wait_s()
            raise BodyError(408, "the client stopped sending the body") from None
        except OSError as err:
            raise BodyError(400, f"the connection broke: {err}") from None
        if limits.cut is not None:
            raise BodyError(503, limits.cut)
        if not part:
            raise BodyError(400, "the chunked body ended early")
        limits.got += len(part)
        line += part
    return line


def _chunked(rfile, sock, limits: Limits) -> _Buffer:
    body, total = _Buffer(limits.max_bytes), 0
    while True:
        size_text = _line(rfile, sock, limits).split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size_text):
            raise BodyError(400, f"bad chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        if total + size > limits.max_bytes:
            raise BodyError(413, f"request too large: more than {limits.max_bytes:,} bytes")
        _exactly(rfile, sock, size, limits, into=body)
        total += size
        if _line(rfile, sock, limits) not in (b"\r\n", b"\n"):
            raise BodyError(400, "a chunk does not end with CRLF")
    for _ in range(100):  # trailers, up to the empty line
        if _line(rfile, sock, limits) in (b"\r\n", b"\n"):
            return body
    raise BodyError(400, "too many trailer lines")


def _decompress(body, limits: Limits) -> _Buffer:
    """gzip or zlib, at most ``limits.max_bytes`` of output; several gzip members are joined."""
    out, total = _Buffer(limits.max_bytes), 0
    data = body
    while data:
        d = zlib.decompressobj(47)  # 32 + 15: a gzip or a zlib header
        try:
            while data and not d.eof:
                block = d.decompress(data, READ_BLOCK)
                total += len(block)
                if total > limits.max_bytes:
                    raise BodyError(413, f"request too large: more than {limits.max_bytes:,} bytes decompressed")
                limits.take(len(block))
                out.add(block)
                data = d.unconsumed_tail
        except zlib.error as err:
            raise BodyError(400, f"not a gzip/zlib body: {err}") from None
        if not d.eof:
            raise BodyError(400, "the compressed body is truncated")
        data = d.unused_data
    return out


def read_body(rfile, sock, headers, limits: Limits):
    """The request's body, decoded from its transfer and content codings (see the module):
    a bytes-like object (a bytearray, or a memoryview of a large body's own mapping)."""
    encoding = (headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise BodyError(415, f"Content-Encoding {encoding[:40]!r} is not supported: use gzip or none")
    transfer = headers.get("Transfer-Encoding")
    if transfer is not None:
        if transfer.strip().lower() != "chunked":
            raise BodyError(501, f"Transfer-Encoding {transfer[:40]!r} is not supported")
        body = _chunked(rfile, sock, limits)
    else:
        length = content_length(headers) or 0
        if length > limits.max_bytes:
            raise BodyError(413, f"request too large: more than {limits.max_bytes:,} bytes")
        body = _Buffer(length)
        _exactly(rfile, sock, length, limits, into=body)
    limits.sock = None  # all in: no longer a body to cut when memory runs short
    return (body if encoding == "identity" else _decompress(body.bytes(), limits)).bytes()
