"""Self-checks for the exercises: each says ✓, or exactly what is wrong and how to fix it.

    >>> from kit.checks import check_span
    >>> check_span("read sensor", attributes={"sensor.id": "s-1"})
    ✗ The span 'read sensor' has no attribute 'sensor.id'. It has no attributes. Try span.set_attribute("sensor.id", "s-1").

**A check judges the cell it is in.** When a cell starts, the kit takes a
watermark (:mod:`kit.attempts`); a check looks only at the spans, logs and
metric changes that came after it. So run your code and its check in the same
cell: re-running it, running the solution and then the blank again, or running
the notebook from the top again in the same kernel are all judged right.

Checks that take your code (a function, a provider, a Getter) call it with many
inputs, the awkward ones included (drawn anew at each run, so a value typed in
passes only by accident), and say which one went wrong. They never raise: every
result is a :class:`Result`, shown as ✓ or ✗; ``result.passed`` (or
``bool(result)``) in code, and ``result.reason`` says which ✗ it is.

Given ``exercise="N.M"``, a check also judges what holds for every exercise: the
whole trace the cell made against the exercise's contract (every span, nothing
else), and what the cell left behind (a context still attached, clients still
connected, a handler added twice, a callback paho could not call).

One module per topic, each short enough to read with ``??``:

* :mod:`kit.checks.exercises` -- ``exercise`` (an exercise's data for this run, and the trace to aim
  for), ``check_trace``; every exercise's trace contract (:mod:`kit.checks.contract`) and what it
  must leave behind (:mod:`kit.checks.cleanup`), in one place
* :mod:`kit.checks.spans` -- ``check_span``, ``check_parent``, ``check_handled_error``, ``check_tree``,
  ``check_each``
* :mod:`kit.checks.metrics` -- ``check_metric``, ``check_console_reader``
* :mod:`kit.checks.logs` -- ``check_log_in_span``, ``check_otlp_logs``
* :mod:`kit.checks.export` -- ``check_otlp_export``
* :mod:`kit.checks.propagation` -- ``check_baggage``, ``check_getter_setter``, ``check_json_propagation``,
  ``check_round_trip``, ``check_edge_extract``
* :mod:`kit.checks.mqtt` -- ``check_received``, ``check_hop``, ``check_retained``
* :mod:`kit.checks.traces` -- ``check_first_alert``, ``check_end_to_end``
* :mod:`kit.checks.collector` -- ``check_collector_config``
* :mod:`kit.checks.sampling` -- ``check_sampler``
* :mod:`kit.checks.checkpoint` -- ``check_checkpoint`` (the capstone, lesson 12)
"""

from kit.checks._result import Result
from kit.checks.checkpoint import check_checkpoint
from kit.checks.collector import check_collector_config
from kit.checks.exercises import check_trace, exercise
from kit.checks.export import check_otlp_export
from kit.checks.logs import check_log_in_span, check_otlp_logs
from kit.checks.metrics import check_console_reader, check_metric
from kit.checks.mqtt import check_hop, check_received, check_retained
from kit.checks.propagation import (check_baggage, check_edge_extract, check_getter_setter, check_json_propagation,
                                    check_round_trip)
from kit.checks.sampling import check_sampler
from kit.checks.spans import check_each, check_handled_error, check_parent, check_span, check_tree
from kit.checks.traces import check_end_to_end, check_first_alert

__all__ = ["Result", "exercise", "check_trace", "check_span", "check_parent", "check_handled_error", "check_tree", "check_each", "check_metric",
           "check_console_reader", "check_log_in_span", "check_otlp_logs", "check_otlp_export",
           "check_baggage", "check_getter_setter", "check_json_propagation", "check_round_trip", "check_edge_extract", "check_received", "check_hop", "check_retained", "check_end_to_end",
           "check_first_alert", "check_collector_config", "check_sampler", "check_checkpoint"]
