"""How much the receiver takes, keeps and waits for: every bound of its servers and store.

The modules read these at each use (``limits.READ_TIMEOUT_S``), so a test may lower one
with ``monkeypatch.setattr(limits, "READ_TIMEOUT_S", 0.5)``. What decoding one request may
cost is bounded in :mod:`kit.receiver.decode` (items per request) and
:mod:`kit.receiver.wire_limits` (messages per request).
"""

from kit.rows import MAX_ITEMS  # noqa: F401  (the newest MAX_ITEMS rows of each signal are kept)

MAX_REQUEST_BYTES = 16 * 1024 * 1024   # a body, as sent and once decompressed
MAX_BYTES = 64 * 1024 * 1024           # what the store keeps of each signal (estimated)
HEADER_TIMEOUT_S = 5.0                 # a request's line and headers arrive within this (Go: ReadHeaderTimeout)
READ_TIMEOUT_S = 10.0                  # the longest wait for the next bytes of a body
MIN_BODY_RATE = 1024                   # bytes a second a body must average, once BODY_GRACE_S have passed
BODY_GRACE_S = 2.0
REQUEST_DEADLINE_S = 30.0              # the longest a body may take to arrive
IDLE_TIMEOUT_S = 60.0                  # a kept-alive connection with no request is closed (the Collector's 1 min)
MAX_CONNECTIONS = 512                  # HTTP connections served at once (then 503): a thread each
BODY_BUDGET_BYTES = 80 * 1024 * 1024   # bytes all the HTTP bodies being read may hold, as they arrive
SLOW_BODY_S = 1.0                      # when that budget runs short, bodies still arriving after this are cut
GRPC_MAX_RPCS = 512                    # gRPC calls at once (then RESOURCE_EXHAUSTED)
GRPC_READERS = 5                       # gRPC calls reading their message at once (5 x 16 MB at most)
GRPC_MESSAGE_TIMEOUT_S = 10.0          # a gRPC call's message is due within this
GRPC_SLOW_MESSAGE_S = 0.25             # a gRPC message still arriving after this gives its place up to a waiting call
GRPC_SLOW_PEER_S = 10.0                # a connection that had a call cut: its next calls wait behind others
CHANGES_MAX_WAIT_S = 30.0              # the longest the page's /api/changes holds a question
SERVE_POLL_S = 0.5                     # how often an HTTP server's thread looks for stop() (socketserver's default)
