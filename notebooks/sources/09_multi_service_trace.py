# %% [markdown]
# # 09 · One trace across three processes
#
# **Teaching:** 20 min · **Exercises:** 14 min
#
# > **Questions**
# > - What does a trace look like when it crosses several programs and a broker?
# > - How do I find one trace among many, and everything that belongs to it?
# >
# > **Objectives**
# > - Run three services as separate processes, each exporting OTLP, with no shared memory.
# > - Find the trace of one alert; read it as a waterfall and as a service map.
# > - Correlate the trace with its logs and with the services' metrics.
#
# This is the blog's Service1/Service2 grown up: a **sensor** publishes readings, a
# **processor** enriches them and republishes, an **alerter** raises alerts for high ones.
# Each is a plain script in `services/` (read them: about 50 lines each), instrumented with
# `PahoMqttInstrumentor`, exporting OTLP like any real service.

# %% [markdown]
# ## 1. A broker and an OTLP endpoint
#
# In production the services would send OTLP to a collector (lesson 10). Here the kit's
# receiver plays that part: an OTLP endpoint inside the notebook, over gRPC and HTTP.
# From a terminal it is `python -m kit receiver`.
#
# > **Services started from a terminal?** (README, *Services and the real stack*.) There the
# > receiver shows its traces on a page, http://127.0.0.1:16686, and this notebook can read
# > it too: in the next cell, write `from kit.remote import connect; receiver = connect()`
# > instead of `start_receiver(...)`. Every picture below then draws what that receiver got:
# > `spans_df()`, `logs_df()`, `metric_points_df()` and `wait_for_spans()` are the same.

# %%
import os
import signal
import subprocess
import sys

from kit.broker import start_broker
from kit.receiver import start_receiver
from kit.views import metrics_chart, service_map, waterfall

broker = start_broker(protocol=5)
receiver = start_receiver(grpc_port=0, http_port=0)  # 0: free ports


def launch(service, *args):
    """Start services/<service>.py as its own process, pointed at our broker and receiver."""
    env = {**os.environ, "MQTT_BROKER_URL": broker.url,
           "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    return subprocess.Popen([sys.executable, f"../services/{service}.py", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_ready(process):
    """Read the service's own lines until it says it is ready."""
    for line in process.stdout:
        print(line, end="")
        if line.endswith("ready\n"):
            return


# %% [markdown]
# ## 2. Three services, three processes

# %%
processor = launch("processor", "--threshold", "25")
alerter = launch("alerter")
wait_ready(processor)
wait_ready(alerter)

sensor = launch("sensor", "--sensor-id", "s-1", "--count", "4", "--interval", "0.2", "--start", "30")
print(sensor.communicate(timeout=60)[0])

# %% [markdown]
# The sensor sent four readings, all above 25 °C, so each should have gone sensor →
# processor → alerter → an alert. Spans arrive at the receiver in batches, a moment after
# the work: wait for them (with a deadline), rather than sleeping.

# %%
def all_in(spans):  # 4 readings: 2 spans each in every service (read or process, then publish)
    return spans.groupby("service").size().to_dict() == {"alerter": 8, "processor": 8, "sensor": 8}


receiver.wait_for_spans(all_in, timeout_s=30)
spans = receiver.spans_df()
spans.groupby("service").size()

# %% [markdown]
# ## 3. Find one trace, and read it
#
# Every span carries its trace id. Pick the first alert, then take all spans of its trace:

# %%
first_alert = spans[spans.name == "publish alerts/s-1"].iloc[0]
waterfall(spans, trace_id=first_alert.trace_id)

# %% [markdown]
# Three colours, three processes, one trace: `read temperature` in the sensor is the root;
# each `process` span is the child of the `publish` that sent its message; the processor's
# and the alerter's `publish` happen *inside* their `process` spans, so the context goes on.
# Nobody passed the trace id by hand: the instrumentation carried it in the MQTT v5 user
# properties, hop after hop.
#
# ## 4. The service map
#
# Summed over all traces, the same parent → child relations between services draw the
# architecture: who talks to whom, how often, how long a message takes from the publisher's
# span to the consumer's (the broker hop).

# %%
service_map(spans)

# %% [markdown]
# Jaeger's "System Architecture" and Grafana's service graph are drawn the same way. An
# edge is missing when the context did not travel (an uninstrumented client, or a 3.1.1
# connection without the JSON option).
#
# ## 5. The logs of that trace
#
# The services log through Python's `logging`; the kit's set-up bridges it to OTLP logs,
# and a record written inside a span carries its trace id. So the logs of one trace, from
# three processes, come back with one filter:

# %%
logs = receiver.logs_df()
logs[logs.trace_id == first_alert.trace_id].sort_values("time", ignore_index=True)[["service", "severity", "body"]]

# %% [markdown]
# ## 6. And the metrics
#
# Metrics are not per trace: they count across all of them. Stopping the services makes
# them flush their last metrics (and spans) on the way out:

# %%
for process in (processor, alerter):
    process.send_signal(signal.SIGTERM)
    print(process.communicate(timeout=30)[0].strip())

# %%
points = receiver.metric_points_df()
metrics_chart("messaging.client.sent.messages", "readings.processed", points=points)

# %% [markdown]
# `messaging.client.sent.messages` counts every publish of every service (readings,
# enriched readings, alerts); `readings.processed` is the processor's own counter, split by
# status.
#
# ## Exercise 9.1: find an alert of another sensor
#
# A second sensor, `s-2`, starts at 23.5 °C: its first reading (24.8 °C) is below the 25 °C
# threshold, the five after it are above. Run the next cell: it starts the services again and waits for the
# alerts. Then, in the exercise cell, set `alert_trace` to the trace id of the **first
# alert raised for s-2**.

# %%
processor, alerter = launch("processor", "--threshold", "25"), launch("alerter")
wait_ready(processor)
wait_ready(alerter)
s2 = launch("sensor", "--sensor-id", "s-2", "--count", "6", "--interval", "0.2", "--start", "23.5")
s2.communicate(timeout=60)
receiver.wait_for_spans(lambda df: (df.name == "publish alerts/s-2").sum() >= 5, timeout_s=30)
spans = receiver.spans_df()
print(len(spans), "spans,", (spans.name == "publish alerts/s-2").sum(), "alerts for s-2")

# %% tags=["exercise"]
from kit.checks import check_first_alert

alert_trace = None  # your answer here

check_first_alert(receiver, alert_trace, sensor="s-2", exercise="9.1")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_9.1.py

# %% [markdown]
# ## Exercise 9.2: how long did the first alert take?
#
# From `spans`, compute `end_to_end_ms`: for the trace of the first alert raised for s-2,
# the time from the start of its first span (the reading) to the end of its last span (the
# alerter done), in milliseconds. (A span ends at `start + duration_ms`; `start` is a
# timestamp, so add `pd.to_timedelta(duration_ms, unit="ms")`.) The check accepts an answer
# within 0.05 ms, so the value rounded to 0.1 ms, as the check prints it, is right too.

# %% tags=["exercise"]
from kit.checks import check_end_to_end

end_to_end_ms = None  # your answer here

check_end_to_end(receiver, end_to_end_ms, sensor="s-2", exercise="9.2")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_9.2.py

# %% [markdown]
# Stop the services; then, once `alert_trace` holds your answer, its waterfall:

# %%
for process in (processor, alerter):
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
receiver.stop()
waterfall(spans, trace_id=alert_trace) if alert_trace else "set alert_trace in exercise 9.1 to see its trace here"

# %% [markdown]
# > **Key points**
# > - Each service exports OTLP on its own; the trace ties them together through the context in each message.
# > - Find a trace by a span you know (an alert, an error), then filter everything by its trace id.
# > - The service map is the sum of parent → child links between services.
# > - Logs written inside spans carry the trace id: one filter gives the logs of a trace across processes.
# > - Processes flush on the way out; stop them cleanly or the last telemetry is lost.
