"""See telemetry inside the notebook: a trace waterfall, metrics over time, logs joined to spans.

    >>> from kit.views import waterfall, metrics_chart, logs_table
    >>> waterfall()                    # the latest trace
    >>> waterfall(trace_id="4bf9…")    # or a DataFrame of spans
    >>> metrics_chart("message_count")
    >>> logs_table(trace_id)           # each log line with the span it was written in

Each view is an object Jupyter displays as a picture (SVG or PNG) and that
also has a plain-text form, so a notebook read on GitHub, in a terminal or
compared by nbval still shows what it holds. No JavaScript, no network.
"""

from kit.views.common import ERROR_RED, PALETTE
from kit.views.logs import logs_table
from kit.views.metrics import MetricsChart, metrics_chart
from kit.views.services import ServiceMap, service_map
from kit.views.traces import Waterfall, latest_trace_id, waterfall

__all__ = ["waterfall", "latest_trace_id", "metrics_chart", "service_map", "logs_table",
           "Waterfall", "MetricsChart", "ServiceMap", "PALETTE", "ERROR_RED"]
