"""Self-check for a sampler: judged by the decisions it makes, not by how it is written."""

from __future__ import annotations

import random

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from kit.checks._result import Result, ok, wrong
from kit.checks.exercises import judged

TRIALS = 4000
PARENTS = {  # (is_remote, sampled): how the check names that case
    (True, True): "a sampled parent from another process",
    (True, False): "an unsampled parent from another process",
    (False, True): "a sampled parent in this process",
    (False, False): "an unsampled parent in this process",
}


def _decision(sampler, trace_id: int, parent: tuple | None):
    context = None
    if parent is not None:
        remote, sampled = parent
        flags = TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT)
        span = NonRecordingSpan(SpanContext(trace_id, 0x1234567890ABCDEF, is_remote=remote, trace_flags=flags))
        context = trace.set_span_in_context(span)
    return sampler.should_sample(context, trace_id, "span", SpanKind.INTERNAL).decision


def _decide(sampler, trace_id: int, parent: tuple | None) -> bool:
    return _decision(sampler, trace_id, parent).is_sampled()


def _ratio_rule(ratio: float, trace_id: int) -> bool:
    """TraceIdRatioBased's own rule: the low 64 bits of the trace id under ratio × 2**64."""
    return (trace_id & 0xFFFFFFFFFFFFFFFF) < round(ratio * (1 << 64))


@judged
def check_sampler(provider, ratio: float) -> Result:
    """``provider`` keeps new traces by ``TraceIdRatioBased(ratio)``'s rule (a function of
    the trace id, so every service decides the same), and every span with a parent, in
    this process or another, sampled or not, follows its parent. Judged on the sampler's
    decisions for 4,000 fixed trace ids."""
    sampler = getattr(provider, "sampler", None)
    if sampler is None or not hasattr(sampler, "should_sample"):
        return wrong(f"Expected a TracerProvider, got {type(provider).__name__}.", "not-a-provider")
    rng = random.Random(7)
    ids = [rng.getrandbits(128) or 1 for _ in range(TRIALS)]
    try:
        decisions = [_decision(sampler, t, None) for t in ids]
        roots = [d.is_sampled() for d in decisions]
        again = [_decide(sampler, t, None) for t in ids]  # the same ids once more: a rule of the id decides the same
        followed = {case: sum(_decide(sampler, t, case) for t in ids) / TRIALS for case in PARENTS}
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001  a sampler of the learner's own
        return wrong(f"The sampler raised {type(exc).__name__}: {exc}. It is called as "
                     f"should_sample(parent_context, trace_id, name, kind, attributes, links).", "sampler-raised")
    wrapped = type(sampler).__name__ == "ParentBased"
    for (remote, sampled), share in followed.items():
        if sampled and share < 1:
            fix = ("leave its remote_parent_sampled / local_parent_sampled at their default (ALWAYS_ON)" if wrapped
                   else f"wrap it: ParentBased(TraceIdRatioBased({ratio}))")
            return wrong(f"Of the spans with {PARENTS[remote, sampled]}, only {share:.0%} were kept: traces would lose "
                         f"their middle. The sampler decides again instead of following the parent: {fix}.",
                         "sampler-breaks-traces")
        if not sampled and share > 0:
            return wrong(f"{share:.0%} of the spans with {PARENTS[remote, sampled]} were kept: they would hang without "
                         f"their parent. With ParentBased(...) at its defaults they follow the parent's decision.",
                         "sampler-orphans")
    kept = sum(roots) / TRIALS
    configured = getattr(getattr(sampler, "_root", sampler), "rate", None)
    agree = sum(r == _ratio_rule(ratio, t) for r, t in zip(roots, ids)) / TRIALS
    if agree < 0.999:
        said = f"{configured:g}" if configured is not None else f"{kept:.3g}"
        if configured is None and abs(kept - ratio) <= 0.02:
            if again == roots:
                return wrong(f"It keeps about {kept:.0%} of new traces by a rule of the trace id, but not "
                             f"TraceIdRatioBased's (the low 64 bits of the id below {ratio:g} × 2**64): a service "
                             f"with the standard sampler would keep other traces, and cut yours apart. Use "
                             f"TraceIdRatioBased({ratio}).", "sampler-not-by-id")
            return wrong(f"It keeps about {kept:.0%} of new traces, but not by the trace id: another service seeing "
                         f"the same trace id would decide differently. Use TraceIdRatioBased({ratio}).",
                         "sampler-not-by-id")
        if configured is None and kept in (0, 1):  # no ratio at all: ALWAYS_ON (the default) or ALWAYS_OFF
            root = getattr(getattr(sampler, "_root", sampler), "get_description", lambda: "")() or "its root sampler"
            return wrong(f"It keeps {kept:.0%} of new traces: its new traces are decided by {root}, which "
                         f"{'keeps every one' if kept else 'keeps none'}, with no ratio at all (a TracerProvider() "
                         f"with no sampler keeps every trace). Give the root a ratio: "
                         f"ParentBased(TraceIdRatioBased({ratio})).", "sampler-ratio")
        return wrong(f"It keeps {kept:.0%} of new traces: {said} ≠ {ratio:g}. The ratio is a fraction: "
                     f"{ratio:g} keeps {ratio:.0%}.", "sampler-ratio")
    recorded = sum(d.is_recording() and not d.is_sampled() for d in decisions) / TRIALS
    if recorded:
        return wrong(f"It keeps {kept:.0%} of new traces, but decides RECORD_ONLY for {recorded:.0%}: their spans are "
                     f"recorded (every attribute, event and the work to make them) and never exported, so sampling "
                     f"saves nothing. A trace it does not keep is a DROP, as TraceIdRatioBased({ratio:g}) decides.",
                     "sampler-records-dropped")
    return ok(f"{kept:.1%} of these 4,000 new traces kept, by TraceIdRatioBased({ratio:g})'s rule (a function of the "
              f"trace id: every service decides the same); children follow their parent, sampled or not.")
