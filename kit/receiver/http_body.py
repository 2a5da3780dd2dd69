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
* Time: each read waits at most ``limits.read_timeout_s`` for data, and the whole body
  must arrive by ``limits.deadline`` (a ``time.monotonic()``): a client that stalls or
  drips → 408.
* Memory: the bytes held by all the requests being read at once are bounded by
  :class:`Budget`; a request that cannot get its share in time → 503 (retry later).
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from dataclasses import dataclass

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
    """Bytes that all the requests being read may hold at once."""

    def __init__(self, total: int):
        self.total = total
        self.used = 0
        self._cond = threading.Condition()

    def take(self, n: int, wait_s: float) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.used + n <= self.total, timeout=wait_s):
                raise BodyError(503, "the receiver is busy reading other requests: retry later")
            self.used += n

    def give(self, n: int) -> None:
        with self._cond:
            self.used -= n
            self._cond.notify_all()


@dataclass
class Limits:
    max_bytes: int
    read_timeout_s: float
    deadline: float          # time.monotonic() by which the body must be in
    budget: Budget
    held: int = 0            # bytes of the budget this request holds (give them back when done)

    def take(self, n: int) -> None:
        self.budget.take(n, max(self.deadline - time.monotonic(), 0))
        self.held += n

    def release(self) -> None:
        self.budget.give(self.held)
        self.held = 0


def content_length(headers) -> int | None:
    """The body's declared length, None when there is no such header; BodyError(400) if bad."""
    values = headers.get_all("Content-Length") or []
    if not values:
        return None
    values = {v.strip() for value in values for v in value.split(",")}
    if len(values) != 1 or not _DIGITS.fullmatch(next(iter(values))):
        raise BodyError(400, f"bad Content-Length: {', '.join(sorted(values))[:60]!r}")
    return int(values.pop())


def _read(rfile, sock, n: int, limits: Limits) -> bytes:
    """Up to ``n`` bytes, as soon as some are there (b"" at the end of the stream)."""
    left = limits.deadline - time.monotonic()
    if left <= 0:
        raise BodyError(408, "the body did not arrive in time")
    sock.settimeout(min(limits.read_timeout_s, left))
    try:
        return rfile.read1(n)
    except TimeoutError:
        raise BodyError(408, "the client stopped sending the body") from None
    except OSError as err:
        raise BodyError(400, f"the connection broke: {err}") from None


def _exactly(rfile, sock, n: int, limits: Limits) -> bytes:
    parts, got = [], 0
    while got < n:
        part = _read(rfile, sock, min(n - got, READ_BLOCK), limits)
        if not part:
            raise BodyError(400, f"the body ended after {got} of {n} bytes")
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def _line(rfile, sock, limits: Limits) -> bytes:
    line = b""
    while not line.endswith(b"\n"):
        if len(line) > 1024:
            raise BodyError(400, "a chunk header is too long")
        left = limits.deadline - time.monotonic()
        if left <= 0:
            raise BodyError(408, "the body did not arrive in time")
        sock.settimeout(min(limits.read_timeout_s, left))
        try:
            part = rfile.readline(1026 - len(line))
        except TimeoutError:
            raise BodyError(408, "the client stopped sending the body") from None
        if not part:
            raise BodyError(400, "the chunked body ended early")
        line += part
    return line


def _chunked(rfile, sock, limits: Limits) -> bytes:
    parts, total = [], 0
    while True:
        size_text = _line(rfile, sock, limits).split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size_text):
            raise BodyError(400, f"bad chunk size {size_text[:20]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        if total + size > limits.max_bytes:
            raise BodyError(413, f"request too large: more than {limits.max_bytes:,} bytes")
        limits.take(size)
        parts.append(_exactly(rfile, sock, size, limits))
        total += size
        if _exactly(rfile, sock, 2, limits) != b"\r\n":
            raise BodyError(400, "a chunk does not end with CRLF")
    for _ in range(100):  # trailers, up to the empty line
        if _line(rfile, sock, limits) in (b"\r\n", b"\n"):
            return b"".join(parts)
    raise BodyError(400, "too many trailer lines")


def _decompress(body: bytes, limits: Limits) -> bytes:
    """gzip or zlib, at most ``limits.max_bytes`` of output; several gzip members are joined."""
    out, total = [], 0
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
                out.append(block)
                data = d.unconsumed_tail
        except zlib.error as err:
            raise BodyError(400, f"not a gzip/zlib body: {err}") from None
        if not d.eof:
            raise BodyError(400, "the compressed body is truncated")
        data = d.unused_data
    return b"".join(out)


def read_body(rfile, sock, headers, limits: Limits) -> bytes:
    """The request's body, decoded from its transfer and content codings (see the module)."""
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
        limits.take(length)
        body = _exactly(rfile, sock, length, limits)
    return body if encoding == "identity" else _decompress(body, limits)
