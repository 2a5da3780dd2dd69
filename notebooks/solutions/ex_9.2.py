import pandas as pd

from kit.checks import check_end_to_end

first = spans[spans.name == "publish alerts/s-2"].sort_values("start").trace_id.iloc[0]
trace_spans = spans[spans.trace_id == first]
ends = trace_spans.start + pd.to_timedelta(trace_spans.duration_ms, unit="ms")
end_to_end_ms = (ends.max() - trace_spans.start.min()).total_seconds() * 1000

check_end_to_end(receiver, end_to_end_ms, sensor="s-2", exercise="9.2")
