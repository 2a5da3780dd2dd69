from wrong_answers import Wrong

WRONG = {
    "11.1": [
        Wrong("ParentBased, at half the traces", "0.5 ≠ 0.1",
              edits=[("TraceIdRatioBased(0.1)", "TraceIdRatioBased(0.5)")]),
        Wrong("one per cent instead of ten", "0.01 ≠ 0.1",
              edits=[("TraceIdRatioBased(0.1)", "TraceIdRatioBased(0.01)")]),
        Wrong("the default sampler: every trace", "It keeps 100% of new traces",
              edits=[("TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.1)))", "TracerProvider()")]),
        Wrong("children of unsampled parents kept anyway", "with an unsampled parent from another process were kept",
              edits=[("ParentBased(TraceIdRatioBased(0.1))",
                      "ParentBased(TraceIdRatioBased(0.1), remote_parent_not_sampled=ALWAYS_ON)"),
                     ("from kit.checks import check_sampler\n",
                      "from opentelemetry.sdk.trace.sampling import ALWAYS_ON\n\nfrom kit.checks import check_sampler\n")]),
    ],
}

WRONG["11.2"] = [
    Wrong("the trace context only: the allowed key is lost too", "The allowed key 'tenant.id' was dropped too",
          edits=[("    for key in ALLOWED:\n        if key in offered:\n            ctx = baggage.set_baggage(key, offered[key], context=ctx)\n", "")]),
    Wrong("the global propagator, trusting everything", "keeps baggage the sender had no right to set",
          edits=[("    ctx = w3c.extract(carrier)  # the trace context only", "    ctx = propagate.extract(carrier)")]),
    Wrong("the allowed baggage, but a new trace", "The context lost the trace",
          edits=[("    ctx = w3c.extract(carrier)  # the trace context only", "    ctx = baggage.clear()")]),
    Wrong("the baggage as a dict, not a context", "returned dict",
          edits=[("    return ctx\n", "    return {k: v for k, v in offered.items() if k in ALLOWED}\n")]),
]

WRONG["11.1"] += [
    Wrong("a local unsampled parent's children kept", "with an unsampled parent in this process were kept",
          edits=[("ParentBased(TraceIdRatioBased(0.1))", "ParentBased(TraceIdRatioBased(0.1), local_parent_not_sampled=ALWAYS_ON)"),
                 ("from kit.checks import check_sampler\n",
                  "from opentelemetry.sdk.trace.sampling import ALWAYS_ON\n\nfrom kit.checks import check_sampler\n")]),
    Wrong("close to a tenth, but not a tenth", "0.085 ≠ 0.1",
          edits=[("TraceIdRatioBased(0.1)", "TraceIdRatioBased(0.085)")]),
    Wrong("remote sampled parents dropped inside ParentBased", "leave its remote_parent_sampled",
          edits=[("ParentBased(TraceIdRatioBased(0.1))", "ParentBased(TraceIdRatioBased(0.1), remote_parent_sampled=ALWAYS_OFF)"),
                 ("from kit.checks import check_sampler\n",
                  "from opentelemetry.sdk.trace.sampling import ALWAYS_OFF\n\nfrom kit.checks import check_sampler\n")]),
]

# Written from issue 17's classes: values typed in, contexts left attached, a lost context=ctx.
WRONG["11.2"] += [
    Wrong("the tenant typed in, not passed on from the message", "pass on the value the message carries",
          edits=[("            ctx = baggage.set_baggage(key, offered[key], context=ctx)",
                  "            ctx = baggage.set_baggage(key, 'acme', context=ctx)")]),
    Wrong("the trace context attached to build on it, and never detached", "After extract_at_edge(...) returned",
          edits=[("    ctx = w3c.extract(carrier)  # the trace context only\n",
                  "    ctx = w3c.extract(carrier)  # the trace context only\n    context.attach(ctx)\n"),
                 ("            ctx = baggage.set_baggage(key, offered[key], context=ctx)",
                  "            ctx = baggage.set_baggage(key, offered[key])")],
          before="from opentelemetry import context"),
    Wrong("set_baggage without context=ctx: the trace is lost", "baggage.set_baggage(key, value) without context= "
          "starts from the current context",
          edits=[("            ctx = baggage.set_baggage(key, offered[key], context=ctx)",
                  "            ctx = baggage.set_baggage(key, offered[key])")]),
    Wrong("keys let in by their prefix, not by name", "keeps baggage the sender had no right to set",
          edits=[("    for key in ALLOWED:\n        if key in offered:\n            ctx = baggage.set_baggage(key, offered[key], context=ctx)\n",
                  "    for key, value in offered.items():\n        if key.startswith(ALLOWED):\n"
                  "            ctx = baggage.set_baggage(key, value, context=ctx)\n")]),
]

RIGHT = {
    "11.2": [Wrong("everything extracted, then every key not allowed removed", "",
                   edits=[("    ctx = w3c.extract(carrier)  # the trace context only\n"
                           "    offered = baggage.get_all(propagate.extract(carrier))  # what the sender put in its baggage\n"
                           "    for key in ALLOWED:\n        if key in offered:\n"
                           "            ctx = baggage.set_baggage(key, offered[key], context=ctx)\n",
                           "    ctx = propagate.extract(carrier)\n    for key in list(baggage.get_all(ctx)):\n"
                           "        if key not in ALLOWED:\n            ctx = baggage.remove_baggage(key, context=ctx)\n")])],
}

# Written blind by an outside learner (rt2): a sampler that records what it does not keep, an allow-list matched
# as text, a hand-made baggage parser, and a base taken from the current context.
WRONG["11.1"] += [
    Wrong("the traces it does not keep recorded anyway (RECORD_ONLY instead of DROP)", "RECORD_ONLY",
          edits=[("exercise_provider = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.1)))",
                  "class Tenth(Sampler):\n    inner = TraceIdRatioBased(0.1)\n\n"
                  "    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None,\n"
                  "                      trace_state=None):\n"
                  "        result = self.inner.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)\n"
                  "        return result if result.decision.is_sampled() else SamplingResult(Decision.RECORD_ONLY, attributes)\n\n"
                  "    def get_description(self):\n        return 'Tenth'\n\n\n"
                  "exercise_provider = TracerProvider(sampler=ParentBased(Tenth()))"),
                 ("from kit.checks import check_sampler\n",
                  "from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult\n\n"
                  "from kit.checks import check_sampler\n")]),
]
WRONG["11.2"] += [
    Wrong("the allow-list's first entry matched as text: a key inside it gets through", "keeps baggage the sender had no right to set",
          edits=[("    for key in ALLOWED:\n        if key in offered:\n            ctx = baggage.set_baggage(key, offered[key], context=ctx)\n",
                  "    for key, value in offered.items():\n        if key in ALLOWED[0]:\n"
                  "            ctx = baggage.set_baggage(key, value, context=ctx)\n")]),
    Wrong("the allow-list matched without case: TENANT.ID gets through", "keeps baggage the sender had no right to set",
          edits=[("    for key in ALLOWED:\n        if key in offered:\n            ctx = baggage.set_baggage(key, offered[key], context=ctx)\n",
                  "    for key, value in offered.items():\n        if key.lower() in ALLOWED:\n"
                  "            ctx = baggage.set_baggage(key, value, context=ctx)\n")]),
    Wrong("the baggage header split by hand: a percent-encoded value is not decoded", "percent-encoded",
          edits=[("    offered = baggage.get_all(propagate.extract(carrier))  # what the sender put in its baggage\n",
                  "    offered = dict(item.strip().split('=', 1) for item in carrier.get('baggage', '').split(',') if '=' in item)\n")]),
    Wrong("the trace context extracted on top of the current context", "that was current when it was called",
          edits=[("    ctx = w3c.extract(carrier)  # the trace context only\n",
                  "    ctx = w3c.extract(carrier, context=context.get_current())  # the trace context only\n")],
          before="from opentelemetry import context"),
]
RIGHT["11.1"] = [
    Wrong("ParentBasedTraceIdRatio, the SDK's name for the same sampler", "",
          edits=[("ParentBased(TraceIdRatioBased(0.1))", "ParentBasedTraceIdRatio(0.1)"),
                 ("from kit.checks import check_sampler\n",
                  "from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio\n\nfrom kit.checks import check_sampler\n")]),
]

# Round 2 (rt4): the learner of the guide, the lesson read carelessly.
WRONG["11.1"] += [
    Wrong("ParentBased around ALWAYS_ON: no ratio anywhere", "decided by AlwaysOnSampler, which keeps every one",
          edits=[("ParentBased(TraceIdRatioBased(0.1))", "ParentBased(ALWAYS_ON)"),
                 ("from kit.checks import check_sampler\n",
                  "from opentelemetry.sdk.trace.sampling import ALWAYS_ON\n\nfrom kit.checks import check_sampler\n")]),
]
WRONG["11.2"] += [
    Wrong("the allowed key set even when the message has none: tenant.id=None sent on", "which the message does not carry",
          code='''from kit.checks import check_edge_extract

ALLOWED = ("tenant.id",)


def extract_at_edge(carrier):
    ctx = w3c.extract(carrier)
    return baggage.set_baggage("tenant.id", baggage.get_baggage("tenant.id", propagate.extract(carrier)), context=ctx)


check_edge_extract(extract_at_edge, allowed=ALLOWED, exercise="11.2")
'''),
    Wrong("ALLOWED = ('tenant.id') without the comma: a string, looped letter by letter", "is a string, not a tuple",
          edits=[('ALLOWED = ("tenant.id",)', 'ALLOWED = ("tenant.id")')]),
    Wrong("a space typed into the allow-list's key", "which no baggage key can be",
          edits=[('ALLOWED = ("tenant.id",)', 'ALLOWED = ("tenant.id ",)')]),
]
RIGHT["11.2"] = RIGHT.get("11.2", []) + [
    Wrong("ALLOWED a string, compared with ==", "",
          edits=[('ALLOWED = ("tenant.id",)', 'ALLOWED = ("tenant.id")'),
                 ("    for key in ALLOWED:\n        if key in offered:\n            ctx = baggage.set_baggage(key, offered[key], context=ctx)\n",
                  "    for key, value in offered.items():\n        if key == ALLOWED:\n            ctx = baggage.set_baggage(key, value, context=ctx)\n")]),
]
