"""Two traces side by side, as Jaeger's trace diff shows them: the spans one has and the other lacks.

    >>> rows = compare(spans_of_a, spans_of_b)      # span rows (dicts) of each trace
    >>> [(r.label, r.a_count, r.b_count, r.side) for r in rows]
    [('sensor · read temperature', 1, 1, 'both'), ('processor · process', 1, 0, 'only A'), …]

A span is matched by its place in its trace: the service and name of each span from its
root down to it (a span whose parent is not in the trace starts a path of its own). So
the "by hand" and "zero-code" traces of lesson 12 line up where they have the same spans,
and a span only one of them makes stands out (``only A``, ``only B``), with the number of
such spans and their mean duration on each side. Rows come in tree order: each under its
parent, siblings by their first start. Any value is read as text (:mod:`kit.views.values`).
"""

from __future__ import annotations

from dataclasses import dataclass

from kit.receiver.trace_index import IndexedSpan

MAX_DEPTH = 50


@dataclass
class DiffRow:
    path: tuple                  # ((service, name), …) from the root down
    a_count: int
    b_count: int
    a_ms: float | None           # mean duration on each side (None: none there)
    b_ms: float | None

    @property
    def depth(self) -> int:
        return len(self.path) - 1

    @property
    def label(self) -> str:
        service, name = self.path[-1]
        return f"{service} · {name}"

    @property
    def side(self) -> str:
        if not self.b_count:
            return "only A"
        if not self.a_count:
            return "only B"
        return "both" if self.a_count == self.b_count else "count differs"

    @property
    def delta_ms(self) -> float | None:
        return None if self.a_ms is None or self.b_ms is None else self.b_ms - self.a_ms


def _paths(rows: list) -> dict:
    """path → [count, total duration ms, durations counted, first start since the trace's start]."""
    spans = [IndexedSpan(r, i) for i, r in enumerate(rows) if isinstance(r, dict)]
    t0 = min((s.start for s in spans if s.start is not None), default=0)
    by_id: dict = {}
    for s in spans:
        by_id.setdefault(s.span_id, s)
    memo: dict = {}

    def path_of(s) -> tuple:
        chain, seen = [], set()
        node = s
        while node is not None and len(chain) < MAX_DEPTH and id(node) not in seen:
            if id(node) in memo:
                return memo[id(node)] + tuple(reversed(chain))
            seen.add(id(node))
            chain.append((node.service, node.name))
            parent = by_id.get(node.parent) if node.parent is not None else None
            node = parent if parent is not node else None
        return tuple(reversed(chain))

    out: dict = {}
    for s in spans:
        p = path_of(s)
        memo[id(s)] = p
        entry = out.setdefault(p, [0, 0.0, 0, None])
        entry[0] += 1
        if s.end is not None and s.start is not None:
            entry[1] += (s.end - s.start) / 1e6
            entry[2] += 1
        if s.start is not None and (entry[3] is None or s.start - t0 < entry[3]):
            entry[3] = s.start - t0
    return out


def compare(rows_a: list, rows_b: list) -> list[DiffRow]:
    """The spans of two traces matched by path (see the module), in tree order."""
    a, b = _paths(rows_a), _paths(rows_b)
    first = {p: min([e[3] for e in (a.get(p), b.get(p)) if e and e[3] is not None], default=2**63)
             for p in set(a) | set(b)}
    children: dict = {}
    for p in first:
        parent = p[:-1]
        while parent and parent not in first:   # a path cut by MAX_DEPTH: hang it where it can
            parent = parent[:-1]
        children.setdefault(parent, []).append(p)
    out: list[DiffRow] = []
    stack = sorted(children.get((), []), key=lambda p: (first[p], p), reverse=True)
    while stack:
        p = stack.pop()
        ea, eb = a.get(p), b.get(p)
        out.append(DiffRow(p, ea[0] if ea else 0, eb[0] if eb else 0,
                           ea[1] / ea[2] if ea and ea[2] else None, eb[1] / eb[2] if eb and eb[2] else None))
        stack.extend(sorted(children.get(p, []), key=lambda q: (first[q], q), reverse=True))
    return out
