# %% [markdown]
# # 03 · Logs: the logging bridge and logs that know their trace
#
# **Teaching:** 15 min · **Exercises:** 12 min
#
# > **Questions**
# > - How do my ordinary `logging` calls become OpenTelemetry logs?
# > - How do I find the log lines of one trace?
# >
# > **Objectives**
# > - Bridge Python `logging` to OpenTelemetry with today's (non-deprecated) handler.
# > - Use namespaced loggers and severities, and know which records are dropped and why.
# > - Correlate logs with spans through `trace_id` / `span_id`, and list the logs of one trace.
# > - Send logs over OTLP by hand, as the blog does, and know its two traps.

# %% [markdown]
# ## 1. The blog's logging example, then → now
#
# | Then (2023) | Now (2026) | Why |
# |---|---|---|
# | `from opentelemetry.sdk._logs import LoggingHandler` | `from opentelemetry.instrumentation.logging.handler import LoggingHandler` (package `opentelemetry-instrumentation-logging`) | the SDK's handler is deprecated since 1.40 |
# | `LogData` in custom exporters | `ReadableLogRecord` | `LogData` was removed in 1.39 |
# | `logging.info("Jackdaws love my big sphinx of quartz.")` | set a level first: `logging.getLogger().setLevel(logging.INFO)` | the root logger drops anything below WARNING, so that line was never exported |
# | `logger_provider.shutdown()` at the end | `force_flush()` to look now; shutdown on exit | a shut-down provider drops everything after |
#
# Logs are still an *experimental* part of the Python SDK: the modules are
# `opentelemetry._logs` and `opentelemetry.sdk._logs` (note the underscore).
#
# The example, working, by hand, with an in-memory exporter. We attach the handler to a
# logger of our own (`blog`) rather than the root logger, to keep it apart from the kit's:

# %%
import logging

from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

logger_provider = LoggerProvider(
    resource=Resource.create({"service.name": "shoppingcart", "service.instance.id": "instance-12"})
)
exporter = InMemoryLogRecordExporter()
logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))

blog = logging.getLogger("blog")
blog.setLevel(logging.INFO)
blog.propagate = False
blog.addHandler(LoggingHandler(logger_provider=logger_provider))

blog.debug("Quick zephyrs blow, vexing daft Jim.")  # below INFO: dropped
blog.info("How quickly daft jumping zebras vex.")
blog.warning("Jail zesty vixen who grabbed pay from quack.")

for record in exporter.get_finished_logs():
    print(record.log_record.severity_text, "|", record.log_record.body)

# %% [markdown]
# ## 2. The kit's way: the root logger, bridged
#
# `kit.telemetry.setup()` adds the same handler to the **root** logger, so every logger
# in the process (yours and your libraries') is bridged, and lowers the root level to INFO.
# Namespaced loggers (`myapp.area1`) keep their name: it becomes the log's *scope*.

# %%
from kit.telemetry import setup
from kit.views import logs_table, waterfall

tele = setup("shoppingcart")

logging.info("Jackdaws love my big sphinx of quartz.")
logger1 = logging.getLogger("myapp.area1")
logger2 = logging.getLogger("myapp.area2")
logger1.debug("Quick zephyrs blow, vexing daft Jim.")
logger1.info("How quickly daft jumping zebras vex.")
logger2.warning("Jail zesty vixen who grabbed pay from quack.")
logger2.error("The five boxing wizards jump quickly.")

tele.flush()
tele.logs()[["severity", "logger", "body"]]

# %% [markdown]
# The `debug` line is missing: the root level is INFO. Python's `WARNING` is written `WARN`
# and `CRITICAL` is `FATAL` in OpenTelemetry; each also has a `severity_number` (INFO = 9,
# WARN = 13, ERROR = 17) so back ends can compare levels.
#
# ## 3. Logs that know their trace
#
# A record written while a span is current carries that span's `trace_id` and `span_id`.

# %%
with tele.tracer.start_as_current_span("checkout") as span:
    logger2.error("Hyderabad, we have a major problem.")
    with tele.tracer.start_as_current_span("charge card"):
        logger1.info("card charged")

checkout_trace = format(span.get_span_context().trace_id, "032x")
tele.flush()
tele.logs()[["severity", "body", "trace_id", "span_id"]]

# %% [markdown]
# The first four records have no trace: they were written outside any span. The last two
# carry the trace id of `checkout`, each with the id of the span it was written in.
#
# ## 4. Finding the logs of one trace
#
# Given a trace id, from a waterfall, an alert or Jaeger's search, list its logs, each with
# the span it was written in:

# %%
logs_table(checkout_trace)[["severity", "logger", "body", "span"]]

# %%
waterfall(trace_id=checkout_trace)

# %% [markdown]
# In Grafana, the same join is a link from a span to "logs for this span" (Loki or another
# log store, searching by `trace_id`).
#
# ### Exceptions in logs
#
# `logger.exception(...)` inside an `except` block adds `exception.type`, `exception.message`
# and `exception.stacktrace` attributes, as a span's recorded exception does:

# %%
try:
    {}["missing"]
except KeyError:
    logger1.exception("lookup failed")

tele.flush()
last = tele.logs().iloc[-1]
last["severity"], last["attributes"]["exception.type"], last["attributes"]["exception.message"]

# %% [markdown]
# ### Logs or span events?
#
# The blog notes that a log record has the same shape as a span event. Use a **span event**
# for a moment that only matters inside that operation (`reading taken`); use a **log** for
# anything people search and alert on, and let the trace id tie it to the span.
#
# ## 5. To a collector, as the blog does
#
# The blog's example sends its records over OTLP: a `LoggerProvider`, a
# `BatchLogRecordProcessor` with an `OTLPLogExporter`, `set_logger_provider(...)`, and a
# `LoggingHandler` on the root logger. To try it offline, the kit starts an OTLP endpoint
# in this notebook (lesson 09 does much more with it):

# %%
from kit.receiver import start_receiver

receiver = start_receiver(grpc_port=0, http_port=0)
receiver.grpc_endpoint

# %% [markdown]
# Two traps on the way (exercise 3.2 walks into both, safely):
#
# * `set_logger_provider(...)` works **once per process**, like the tracer provider in
#   lesson 01. Here the kit has set one already, so the SDK refuses yours and says so. A
#   handler built with `LoggingHandler(logger_provider=your_provider)` does not care: it
#   sends to the provider you give it. Without `logger_provider=` it uses the global one.
# * `logger.addHandler(...)` in a cell you re-run adds a **second** handler, and every record
#   is then sent twice. Setting `logger.handlers[:] = [handler]` replaces instead.
#
# ## Exercises
#
# A self-check judges the cell it is in: keep your code and the check together.
#
# ### Exercise 3.1: a warning in the right place
#
# Log the warning `temperature too high` so that it belongs to the span `check temperature`,
# the one span of this trace:

# %%
from kit.checks import check_log_in_span, exercise

exercise("3.1")

# %% tags=["exercise"]

alerts = logging.getLogger("myapp.alerts")

with tele.tracer.start_as_current_span("check temperature"):
    reading = 31.5
if reading > 30:
    alerts.warning("temperature too high")

check_log_in_span("temperature too high", "check temperature", severity="WARN", exercise="3.1")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_3.1.py

# %% [markdown]
# ### Exercise 3.2: logs over OTLP, by hand
#
# Send the warning `disk almost full`, from the logger `myapp.disk`, to the receiver over
# OTLP/gRPC, from a service called `disk-monitor`: give `disk_provider` a
# `BatchLogRecordProcessor` with an `OTLPLogExporter` (to `receiver.grpc_endpoint`,
# `insecure=True`), call `set_logger_provider` as the blog does, put a `LoggingHandler` for
# `disk_provider` on the logger, log, and send it now.

# %% tags=["exercise"]
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

from kit.checks import check_otlp_logs

disk_provider = LoggerProvider(resource=Resource.create({"service.name": "disk-monitor"}))
# your code: its processor and exporter; set_logger_provider

disk = logging.getLogger("myapp.disk")
# your code: a LoggingHandler for disk_provider on this logger

disk.warning("disk almost full")
# your code: send it now

check_otlp_logs(receiver, "disk almost full", service="disk-monitor", severity="WARN", logger="myapp.disk",
                provider=disk_provider, exercise="3.2")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_3.2.py

# %% [markdown]
# > **Key points**
# > - Bridge `logging` with `LoggingHandler` from `opentelemetry-instrumentation-logging`; the SDK's is deprecated.
# > - The root logger drops records below WARNING unless you set a level.
# > - A log written inside a span carries its `trace_id` and `span_id`: that is how you find the logs of a trace.
# > - Span events for moments inside one operation; logs for what people search and alert on.
# > - Over OTLP: `LoggerProvider` → `BatchLogRecordProcessor` → `OTLPLogExporter`; give the handler its
# >   `logger_provider=`, replace handlers instead of adding them, and `force_flush()` before you look.
