"""How much the receiver takes, keeps and waits for: every bound of its servers and store.

The modules read these at each use (``limits.READ_TIMEOUT_S``), so a test may lower one
with ``monkeypatch.setattr(limits, "READ_TIMEOUT_S", 0.5)``. What decoding one request may
cost is bounded in :mod:`kit.receiver.decode` (items per request) and
:mod:`kit.receiver.wire_limits` (messages per request).
"""

from kit.rows import MAX_ITEMS  # noqa: F401  (the newest MAX_ITEMS rows of each signal are kept)

MAX_REQUEST_BYTES = 16 * 1024 * 1024   # a body, as sent and once decompressed
MAX_BYTES = 64 * 1024 * 1024           # what the store keeps of each signal (estimated)
READ_TIMEOUT_S = 10.0                  # the longest wait for the next bytes of a request
REQUEST_DEADLINE_S = 30.0              # the longest a request may take to arrive
IDLE_TIMEOUT_S = 120.0                 # a kept-alive connection with no request is closed
MAX_CONNECTIONS = 64                   # HTTP connections served at once (then 503)
BODY_BUDGET_BYTES = 80 * 1024 * 1024   # bytes all the HTTP requests being read may hold
GRPC_MAX_RPCS = 16                     # gRPC calls at once (then RESOURCE_EXHAUSTED)
CHANGES_MAX_WAIT_S = 30.0              # the longest the page's /api/changes holds a question
