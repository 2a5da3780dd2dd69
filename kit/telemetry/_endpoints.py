"""One probe of each OTLP endpoint a service exports to, at ``setup``: what is wrong with it
(nothing listening, the other protocol, ...) is said once, in the cell that called ``setup``,
instead of as failed exports later."""

from __future__ import annotations

import sys

from kit.otlp import check_endpoint


def check(targets) -> list:
    """``kit.otlp.check_endpoint`` for each (protocol, endpoint) of ``targets``, once each;
    a problem is printed. Returns the results."""
    results = []
    for key in sorted({(t.protocol, t.endpoint.split("/v1/")[0]) for t in targets}):
        result = check_endpoint(key[1], key[0])
        results.append(result)
        if not result.ok:
            print(f"kit: OTLP endpoint problem: {result.message}", file=sys.stderr)
    return results
