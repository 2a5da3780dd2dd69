"""See telemetry inside the notebook: a trace waterfall, metrics, a service map, logs joined to spans.

    >>> from kit.views import waterfall, metrics_chart, service_map, logs_table
    >>> waterfall()                       # the latest trace
    >>> waterfall(spans, trace_id="4bf9…")   # or one trace of any spans DataFrame
    >>> metrics_chart("message_count")    # or several names, or none for all
    >>> service_map(spans)                # who sends to whom
    >>> logs_table(trace_id)              # each log line with the span it was written in

Each view is an object Jupyter displays as a picture that fits the notebook's width, with
12 px text at WCAG AA contrast, and that also has a plain-text form (its ``repr``), so a
terminal or nbval still reads what it holds. Beside the SVG or HTML, each picture carries
a PNG (:mod:`kit.views.png`): JupyterLab shows it in a notebook not yet trusted (a lesson
just opened), and so does GitHub. No JavaScript, no network, and MathJax kept off the
HTML (``tex2jax_ignore mathjax_ignore``): telemetry is shown as text, whatever it holds.

* :mod:`kit.views.traces` -- ``waterfall()``: one row per span with its service, kind,
  bar, duration, ◆ span events, links (dashed arrows, or ``↗ link to …``), the trace's
  start and total duration; click a row to open its attributes, events and links
  (:mod:`kit.views.waterfall_html`, :mod:`kit.views.span_details`); the picture itself is
  :mod:`kit.views.waterfall_svg`.
* :mod:`kit.views.metrics` -- ``metrics_chart()``: a histogram as its distribution (bars
  per bucket), other metrics as lines over time, or as bars of their latest values when
  the history is too short for a line.
* :mod:`kit.views.services` -- ``service_map()``; :mod:`kit.views.logs` -- ``logs_table()``.
* :mod:`kit.views.trace_list` -- ``trace_list()``: the traces, newest first, as Jaeger lists them.
* :mod:`kit.views.values` -- how any value a sender sends (a number for a service name,
  no start time, a megabyte of text) is shown: as text, cut, never an exception.
* :mod:`kit.views.svg`, :mod:`kit.views.png`, :mod:`kit.views.common` -- measured text,
  the PNG, colours, ticks and units.

The receiver's web page (:mod:`kit.receiver.page`) draws with these same views.
"""

from kit.views.common import ERROR_RED, PALETTE
from kit.views.logs import logs_table
from kit.views.metrics import MetricsChart, metrics_chart
from kit.views.services import ServiceMap, service_map
from kit.views.trace_list import TraceList, trace_list
from kit.views.traces import Waterfall, latest_trace_id, waterfall

__all__ = ["waterfall", "latest_trace_id", "metrics_chart", "service_map", "logs_table", "trace_list",
           "Waterfall", "MetricsChart", "ServiceMap", "TraceList", "PALETTE", "ERROR_RED"]
