# %% [markdown]
# # 02 · Metrics: counting and measuring messages
#
# **Teaching:** 18 min · **Exercises:** 13 min
#
# > **Questions**
# > - Which instrument do I use to count messages, track what is in flight, or measure sizes?
# > - What do attributes do to a metric?
# > - When do metrics leave the process, and how do I change what is kept?
# >
# > **Objectives**
# > - Use a counter (the blog's `message_count`), an up-down counter, a histogram and an observable gauge.
# > - Split a metric by attributes, and keep their number small.
# > - Change aggregation with a view; build a reader and an exporter by hand, and know what the interval does.
# > - Plot metrics over time in the notebook.

# %% [markdown]
# ## 1. The blog's counter, then → now
#
# The blog created `meter.create_counter("message_count", "messages", "number of messages")`
# and called `counter.add(1, labels)`.
#
# | Then | Now | Why |
# |---|---|---|
# | unit `"messages"` (2nd positional argument) | `unit="{message}"` | units are UCUM; a count of things is written `{thing}` |
# | `counter.add(1, labels)` | `counter.add(1, {"messaging.destination.name": topic})` | `labels` was never defined in the snippet; they are *attributes* now |
# | `PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=1000)` | keep console for debugging only | it prints from a background thread, every second, into whatever cell is running |
# | `metrics.set_meter_provider(...)` | once per process (`kit.telemetry.setup` does it) | like the tracer provider |

# %%
from kit.telemetry import setup
from kit.views import metrics_chart

tele = setup("sensor")
meter = tele.meter

message_count = meter.create_counter(
    "message_count", unit="{message}", description="number of messages"
)
for topic in ["sensors/temp", "sensors/temp", "sensors/humidity"]:
    message_count.add(1, {"messaging.destination.name": topic})

tele.flush()
tele.metrics()

# %% [markdown]
# One metric, two **streams**: every distinct set of attribute values is counted apart.
# Attributes let you slice, but each new value is a new stream to store: use topics,
# QoS or outcomes, never message ids or timestamps (that is "cardinality explosion").
#
# ## 2. Four instruments
#
# | Instrument | Goes | Example |
# |---|---|---|
# | `Counter` | only up | messages sent |
# | `UpDownCounter` | up and down | messages being processed right now |
# | `Histogram` | a distribution of values | payload size, processing time |
# | `ObservableGauge` | read when collected, by a callback you give | queue depth, temperature |

# %%
from opentelemetry.metrics import Observation

in_flight = meter.create_up_down_counter("messages_in_flight", unit="{message}")
payload_size = meter.create_histogram(
    "payload_size",
    unit="By",
    description="size of message payloads",
    explicit_bucket_boundaries_advisory=[16, 64, 256, 1024],
)

queue = ["m1", "m2", "m3"]


def queue_depth(options):
    yield Observation(len(queue), {"queue": "inbox"})


meter.create_observable_gauge("queue_depth", callbacks=[queue_depth], unit="{message}")

for payload in [b'{"t": 21.5}', b'{"t": 21.7, "unit": "C"}', b"x" * 300]:
    in_flight.add(1)
    payload_size.record(len(payload), {"messaging.destination.name": "sensors/temp"})
    in_flight.add(-1)
in_flight.add(1)  # one still being processed
queue.pop()

tele.flush()
tele.metrics()[["name", "kind", "unit", "attributes", "value"]]

# %% [markdown]
# The histogram's value holds `count`, `sum`, `min`, `max` and how many values fell in each
# bucket. Its `explicit_bucket_boundaries_advisory` suggested the buckets
# (`≤16, ≤64, ≤256, ≤1024, >1024` bytes); the default buckets suit milliseconds, not bytes.

# %%
tele.metrics().set_index("name").loc["payload_size", "value"]

# %% [markdown]
# ## 3. Over time
#
# The kit reads every metric each second and at each `flush()`, and keeps the points.
# Here is a second of simulated traffic, growing in bursts every quarter second:

# %%
import time

import pandas as pd

started = pd.Timestamp.now(tz="UTC")  # the chart starts here, however long you read before running it
for burst in range(4):
    for _ in range(burst + 1):
        message_count.add(1, {"messaging.destination.name": "sensors/temp"})
        payload_size.record(40, {"messaging.destination.name": "sensors/temp"})
    tele.flush()
    time.sleep(0.25)  # the simulated time between bursts

metrics_chart("message_count", "payload_size", since=started)

# %% [markdown]
# A counter's line only climbs: back ends show its *rate* (messages per second). The picture
# is drawn from `kit.capture.metric_points_df()`, a plain DataFrame you can plot your own way.
#
# ## 4. Views: change what is kept, without touching the code that records
#
# A **view**, given to the `MeterProvider`, can rename a metric, keep only some attribute
# keys, or choose another aggregation. Here, by hand, with the SDK's in-memory reader:

# %%
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

reader = InMemoryMetricReader()
provider = MeterProvider(
    metric_readers=[reader],
    views=[
        View(instrument_name="message_count", attribute_keys=set()),  # drop all attributes
        View(
            instrument_name="payload_size",
            aggregation=ExplicitBucketHistogramAggregation([100, 1000]),
        ),
    ],
)
m = provider.get_meter("views-demo")
c = m.create_counter("message_count", unit="{message}")
h = m.create_histogram("payload_size", unit="By")
for topic, size in [("a", 10), ("b", 500), ("a", 5000)]:
    c.add(1, {"messaging.destination.name": topic})
    h.record(size)

for metric in reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics:
    point = metric.data.data_points[0]
    print(metric.name, dict(point.attributes),
          getattr(point, "value", None) or list(point.bucket_counts))

# %% [markdown]
# Three adds on two topics became one stream of 3; the sizes fell into the buckets
# `≤100, ≤1000, >1000`.
#
# ## 5. When metrics leave: the reader interval
#
# Unlike spans, metrics are not sent when recorded. A **reader** collects them:
# `PeriodicExportingMetricReader` every `export_interval_millis` (from
# `OTEL_METRIC_EXPORT_INTERVAL`, 60 000 ms by default; the kit uses 10 000 for OTLP and
# 1 000 for its own in-memory copy), or when you call `provider.force_flush()`. Its
# exporter decides where the numbers go: `ConsoleMetricExporter` prints them as JSON,
# `OTLPMetricExporter` sends them to a collector.
#
# The blog's reader ran every second: `PeriodicExportingMetricReader(ConsoleMetricExporter(),
# export_interval_millis=1000)`. In a notebook that prints from a background thread, every
# second, into whatever cell is running. Keep the default interval, and `force_flush()`
# when you want to see the numbers (exercise 2.3).
#
# Counters are sent **cumulative** by default (the total so far); some back ends prefer
# **delta** (the change since the last export), set with
# `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta`.
#
# ## Exercises
#
# A self-check judges the cell it is in: for a counter it measures how much each stream
# went up *during that cell*, so you can re-run a cell as often as you like.
#
# ### Exercise 2.1: count per topic
#
# Count received messages in a counter called `messages_received`, with the topic in the
# attribute `messaging.destination.name`. The messages are drawn anew at each run of the
# next cell (the self-check knows which):

# %%
from kit.checks import check_metric, exercise

lab = exercise("2.1")
topics = lab.topics
lab

# %% tags=["exercise"]
received = meter.create_counter("messages_received", unit="{message}")
for topic in topics:
    received.add(1)  # your change here

check_metric("messages_received", by="messaging.destination.name", kind="counter", exercise="2.1")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_2.1.py

# %% [markdown]
# ### Exercise 2.2: measure sizes
#
# Record the size in bytes of each payload in a histogram called `received_payload_size`.
# This run's payloads:

# %%
lab = exercise("2.2")
payloads = lab.payloads
lab

# %% tags=["exercise"]
sizes = meter.create_histogram("received_payload_size", unit="By")
# your code here

check_metric("received_payload_size", kind="histogram", exercise="2.2")  # one measurement per payload: its size

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_2.2.py

# %% [markdown]
# ### Exercise 2.3: a reader and an exporter, by hand
#
# Build `console_provider`: a `MeterProvider` with a `PeriodicExportingMetricReader` that
# sends to a `ConsoleMetricExporter` once a minute. Count two messages on `sensors/temp` in
# its counter `console_count`, and make it print them now, with `force_flush()`, rather than
# in a minute. (The self-check makes sure your cell printed them, makes the reader print once
# more itself, into a buffer, to read what it prints, then shuts the provider down so it
# never prints into a later cell.)

# %% tags=["exercise"]
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

from kit.checks import check_console_reader

console_provider = MeterProvider()  # your reader here
console_count = console_provider.get_meter("exercise").create_counter("console_count", unit="{message}")
for _ in range(2):
    console_count.add(1, {"messaging.destination.name": "sensors/temp"})
# your code: print them now

check_console_reader(console_provider, "console_count", 2, {"messaging.destination.name": "sensors/temp"},
                     interval_ms=60_000, exercise="2.3")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_2.3.py

# %% [markdown]
# > **Key points**
# > - Counter (up), up-down counter (up and down), histogram (distribution), observable gauge (read by callback).
# > - Each distinct attribute set is its own stream: keep attribute values few.
# > - Units are UCUM: `{message}`, `By`, `s`.
# > - Views change names, attributes and aggregation in the provider, not in the recording code.
# > - A reader collects on its interval (60 s by default) or on `force_flush()`; its exporter decides where the numbers go.
