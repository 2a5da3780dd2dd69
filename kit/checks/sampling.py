"""Self-check for a sampler: judged by the decisions it makes, not by how it is written."""

from __future__ import annotations

import random

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from kit.checks._result import Result, ok, wrong

TRIALS = 4000


def _decide(sampler, trace_id: int, parent: bool | None) -> bool:
    context = None
    if parent is not None:
        flags = TraceFlags(TraceFlags.SAMPLED if parent else TraceFlags.DEFAULT)
        span = NonRecordingSpan(SpanContext(trace_id, 0x1234567890ABCDEF, is_remote=True, trace_flags=flags))
        context = trace.set_span_in_context(span)
    return sampler.should_sample(context, trace_id, "span", SpanKind.INTERNAL).decision.is_sampled()


def check_sampler(provider, ratio: float) -> Result:
    """``provider`` keeps ``ratio`` of new traces, and every span whose parent was
    sampled (or not) follows its parent. Judged on the sampler's decisions for
    4,000 fixed trace ids."""
    sampler = getattr(provider, "sampler", None)
    if sampler is None:
        return wrong(f"Expected a TracerProvider, got {type(provider).__name__}.")
    rng = random.Random(7)
    ids = [rng.getrandbits(128) or 1 for _ in range(TRIALS)]
    kept = sum(_decide(sampler, t, None) for t in ids) / TRIALS
    after_sampled = sum(_decide(sampler, t, True) for t in ids) / TRIALS
    after_dropped = sum(_decide(sampler, t, False) for t in ids) / TRIALS
    if after_sampled < 1:
        return wrong(f"Of the spans whose parent was sampled, only {after_sampled:.0%} were kept: this sampler "
                     f"decides again for every span and ignores the parent, so traces lose their middle. Wrap "
                     f"it: ParentBased(TraceIdRatioBased({ratio})).")
    if after_dropped > 0:
        return wrong(f"{after_dropped:.0%} of the spans whose parent was NOT sampled were kept: they would "
                     f"hang without their parent. With ParentBased(...) they follow the parent's decision.")
    if abs(kept - ratio) > 0.02:
        configured = getattr(getattr(sampler, "_root", sampler), "rate", None)
        said = f"{configured:g}" if configured is not None else f"{kept:.2f}"
        return wrong(f"It keeps {kept:.0%} of new traces: {said} ≠ {ratio:g}. The ratio is a fraction: "
                     f"{ratio:g} keeps {ratio:.0%}.")
    return ok(f"{kept:.1%} of new traces kept (≈ {ratio:.0%}); children follow their parent, sampled or not.")
