# %% [markdown]
# # 10 · The collector pipeline
#
# **Teaching:** 32 min · **Exercises:** 20 min
#
# > **Questions**
# > - Why send telemetry to an OpenTelemetry Collector instead of straight to Zipkin or Prometheus?
# > - How is a collector configured, and what changed since the blog's 2023 config?
# > - How do I move the lessons and services to a real stack without changing code?
# >
# > **Objectives**
# > - Export straight to Zipkin and be scraped by Prometheus, and compare push with pull.
# > - Read a collector config: receivers, processors, exporters, extensions, pipelines.
# > - Draw it as a pipeline, and check it by the collector's own rules: the mistakes that stop a collector
# >   (a setting misspelt or of the wrong type, a required one missing, two servers on one port), leave
# >   apps unable to reach it, or leak a secret.
# > - Run the real stack (compose or Kubernetes) and point everything at it with environment variables.

# %% [markdown]
# ## 1. Direct exporters, or a collector?
#
# The blog weighed two ways out of the app, and chose the collector:
#
# | | Exporters in the app (Jaeger, Zipkin, Azure… libraries) | OTLP to a collector |
# |---|---|---|
# | Change of back end | new code, new dependency, redeploy every app | edit the collector config |
# | Several back ends | one exporter per back end in every app | one OTLP exporter; the collector fans out |
# | Retries, batching, memory limits | each app's problem | the collector's |
# | Secrets (API keys) | in every app | in one place |
# | Cost | none extra | one more thing to run |
#
# "Your OPS team will like this approach", the blog says: the app speaks OTLP, and only the
# collector knows where telemetry goes. First, the two direct routes the blog weighed,
# running for real.
#
# ### Route 1, pushed straight to the back end: Zipkin
#
# A Zipkin exporter (`opentelemetry-exporter-zipkin-json`) posts the spans as Zipkin's own
# JSON to `http://zipkin:9411/api/v2/spans`. The kit's receiver takes that request too, as
# Zipkin itself and a collector's `zipkin` receiver (port 9411) do, so here it stands in
# for Zipkin:

# %%
from opentelemetry.exporter.zipkin.json import ZipkinExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from kit.receiver import start_receiver
from kit.views import waterfall

receiver = start_receiver(grpc_port=0, http_port=0)  # stands in for Zipkin at http://zipkin:9411
provider = TracerProvider(resource=Resource.create({"service.name": "sensor"}))
provider.add_span_processor(SimpleSpanProcessor(ZipkinExporter(endpoint=receiver.http_endpoint + "/api/v2/spans")))
tracer = provider.get_tracer("lesson10")

with tracer.start_as_current_span("publish sensors/temp", kind=SpanKind.PRODUCER, attributes={"messaging.mqtt.qos": 1}):
    with tracer.start_as_current_span("process sensors/temp", kind=SpanKind.CONSUMER):
        pass
provider.shutdown()

zipkin_spans = receiver.spans_df()
receiver.stop()
print(zipkin_spans[["name", "kind", "service", "attributes"]].to_string(index=False))
waterfall(zipkin_spans)

# %% [markdown]
# The trace came through whole, but look at the attribute: `messaging.mqtt.qos` left as the number
# `1` and arrived as the text `'1'`. Zipkin's format has only string tags; OTLP keeps types.
# And the app now depends on one back end's library and address: to add Jaeger, every
# app changes.
#
# ### Route 2, pulled by the back end: Prometheus
#
# Prometheus does not wait for pushes: it **scrapes**. The app (or a collector) opens an
# HTTP endpoint, and Prometheus reads it every `scrape_interval`. In Python that endpoint is
# a `PrometheusMetricReader` (`opentelemetry-exporter-prometheus`); the blog's collector
# opened the same kind of endpoint on `0.0.0.0:8889` with its `prometheus` exporter, and its
# `prometheus.yml` scraped it. Here, an endpoint on a free local port, and one scrape:

# %%
from opentelemetry.sdk.metrics import MeterProvider

from kit.prometheus import scrape, start_scrape_endpoint

endpoint = start_scrape_endpoint()  # 127.0.0.1 and a free port; the blog's collector opened 0.0.0.0:8889
meters = MeterProvider(metric_readers=[endpoint.reader], resource=Resource.create({"service.name": "sensor"}))
message_count = meters.get_meter("lesson10").create_counter("message_count", description="MQTT messages published")
for topic in ["sensors/temp", "sensors/temp", "sensors/temp", "sensors/hum"]:
    message_count.add(1, {"messaging.destination.name": topic})

print(scrape(endpoint.url))  # what Prometheus reads, every scrape_interval
meters.shutdown()
endpoint.stop()

# %% [markdown]
# That text is Prometheus's *exposition format*: `# HELP` and `# TYPE` lines, then one line
# per series. The names follow Prometheus's rules: a counter gets `_total`, dots become
# `_`, attributes become labels, and the resource is one `target_info` series.
# (`tests/test_prometheus.py` starts a real Prometheus server against such an endpoint and
# finds the counter through its query API.)
#
# The blog's collector `prometheus` exporter had three options:
#
# | Option | What it does | Here, and today |
# |---|---|---|
# | `const_labels: {label1: value1}` | adds these labels to every series | the Python reader has no such option: use attributes, or `labels:` in Prometheus's scrape config |
# | `send_timestamps: true` | each sample carries the time it was measured, not the time of the scrape | the Python reader sends none: Prometheus stamps the scrape time |
# | `metric_expiration: 180m` | a series not updated for 180 min leaves the endpoint (default 5 m) | no expiry: cumulative series stay |
#
# **Push or pull?** With push (OTLP) the app decides when to send and must know where;
# with pull the back end decides when, must be able to reach the app, and a missed scrape
# shows up as `up == 0`. A collector can do either on either side: receive OTLP pushes and
# offer a scrape endpoint, as the kit's stack does.
#
# ## 2. Anatomy of a config
#
# Here is the kit's collector config, the one the compose stack and the Kubernetes manifests
# run (`config/collector/otel-collector.yaml`):

# %%
from pathlib import Path

kit_config = Path("../config/collector/otel-collector.yaml").read_text()
print(kit_config)

# %% [markdown]
# Five sections. `receivers`, `processors`, `exporters` and `extensions` **define**
# components, by type (`otlp`, `batch`) or type/name (`otlp/jaeger`: a second OTLP exporter
# named jaeger). `service` **switches them on**: `service.pipelines.<signal>` lists, per
# signal, where data comes in, what happens to it, and where it goes. Order matters among
# processors: `memory_limiter` first, `batch` last.
#
# ## 3. The pipeline, drawn

# %%
from kit.collector_config import check_config, pipeline_diagram

pipeline_diagram(kit_config)

# %% [markdown]
# ## 4. Checking a config
#
# A collector refuses to start if a pipeline names an undefined component, and silently
# ignores one that no pipeline uses. `check_config` reports both, and what changed in the
# collector since 2023:

# %%
check_config(kit_config)

# %% [markdown]
# The collector is strict, and `check_config` judges by its rules (read from the
# collector's own sources; `kit.collector_components` says which file each comes from):
#
# - **YAML 1.2.** `yes`, `no`, `on`, `off` are text, not bools (YAML 1.1, and PyYAML, read
#   them as bools); only `true` and `false` are. A bool setting given text is refused.
# - **No setting it does not know.** A misspelt or misplaced key (`endpont`, or `insecure`
#   beside the endpoint instead of under `tls:`) stops it: "has invalid keys".
# - **Each value of its type.** Durations are `1s`, `500ms`, `5m`; whole numbers have no
#   `%`; text is not a number.
# - **Each component's own rules, defaults included.** `memory_limiter` needs
#   `check_interval` greater than zero and a limit; `batch`'s `send_batch_max_size` must be
#   at least `send_batch_size`, which is 8192 unless you set it.
# - **One port per server.** Receivers, extensions, the `prometheus` exporter and the
#   collector's own metrics (8888 by default) each listen on their own port; by convention
#   OTLP over gRPC is 4317 and over HTTP 4318, the ports every SDK sends to.
#
# A config that looks right, and the collector would refuse four times:

# %%
check_config("""
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4318
      http:
        endpoint: 0.0.0.0:4318
processors:
  memory_limiter:
    limit_percentage: 80
exporters:
  otlp/jaeger:
    endpoint: jaeger:4317
    tls:
      insecure: yes
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [otlp/jaeger]
""")

# %% [markdown]
# The blog's config from January 2023 (`config/blog-2023/otel-collector-config.yaml`, as
# published):

# %%
blog_config = Path("../config/blog-2023/otel-collector-config.yaml").read_text()
check_config(blog_config)

# %%
pipeline_diagram(blog_config)

# %% [markdown]
# Red boxes with ✗ are components today's collector no longer has (or that no section
# defines); the check above lists the other problems, such as the inline secret.

# %% [markdown]
# | Then (2023) | Now | Why |
# |---|---|---|
# | `otel/opentelemetry-collector-contrib:0.50.0` | `0.157.0` (pinned, never `latest`) | 100+ releases; components removed and renamed |
# | `jaeger` exporter to `jaeger:14250` | `otlp/jaeger` exporter to `jaeger:4317` | removed in v0.85: Jaeger v2 takes OTLP |
# | exporter types `otlp`, `otlphttp` | `otlp_grpc`, `otlp_http` (v0.144); the old names still work, as aliases | the kit's configs keep `otlp`, which every collector since 2020 reads |
# | `jaegertracing/all-in-one:latest` | `jaegertracing/jaeger:2.14.1` | Jaeger v1 reached end of life on 2025-12-31 |
# | `logging` exporter | `debug` (`verbosity`) | removed in v0.111 |
# | `otlp: protocols: grpc:` (no endpoint) | `endpoint: 0.0.0.0:4317` | since v0.104 receivers listen on localhost: other containers cannot reach them |
# | `azuremonitor: instrumentation_key: …` in the file | `connection_string: ${env:APPLICATIONINSIGHTS_CONNECTION_STRING}` | the key is deprecated, and a secret does not belong in a repository |
# | `resource_to_telemetry_conversion` on the Prometheus exporter | left out | deprecated |
# | no `memory_limiter` | `memory_limiter` first in every pipeline | a collector under load should refuse data, not crash |
# | ports `"4317:4317"` | `"127.0.0.1:4317:4317"` | on venue Wi-Fi, bind to your own machine only |
# | Prometheus `prom/prometheus:v2.30.3` scraping `otel-collector:8889` every 30 s | `v3.4.1`, the same target plus the collector's own metrics on 8888 | `promtool check config` passes on `config/prometheus/prometheus.yml` |
# | Grafana `7.5.7` with a Prometheus data source | `12.0.2` with Prometheus and Jaeger data sources and a provisioned *MQTT messaging* dashboard | from a trace to its metrics and back |
# | `${HOST_PROJECT_PATH}/otel-example/...` volume paths | paths relative to the compose file (`./config/...`) | works from any checkout |
#
# ## 5. Switch back ends with the environment only
#
# Lessons and services read the standard OpenTelemetry variables, so the same code sends to
# the notebook, to the kit's receiver, or to a collector:

# %%
from kit.otlp import otlp_target

for protocol, endpoint in [("grpc", "http://localhost:4317"), ("http/protobuf", "http://localhost:4318")]:
    target = otlp_target("traces", endpoint=endpoint, protocol=protocol)
    print(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol:<14} OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}"
          f"  →  spans go to {target.endpoint}")

# %% [markdown]
# Note the HTTP path: with the generic variable the SDK appends `/v1/traces` (and
# `/v1/metrics`, `/v1/logs`) itself. gRPC goes to 4317 and HTTP to 4318: mixing them up is
# the most common mistake, and `kit.otlp.check_endpoint` names it.
#
# ## 6. The real stack
#
# With Docker (not on Binder, and not on the machines that build this kit):
#
# ```bash
# docker compose pull        # before the workshop, on good Wi-Fi: about 1.5 GB of images
# docker compose up -d
# export MQTT_BROKER_URL=mqtt://localhost:1883
# export OTEL_TRACES_EXPORTER=otlp OTEL_METRICS_EXPORTER=otlp OTEL_LOGS_EXPORTER=otlp
# export OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317
# python services/processor.py & python services/alerter.py & python services/sensor.py --start 30
# ```
#
# | Where | What you see |
# |---|---|
# | Jaeger, http://localhost:16686 | search traces by service (`sensor`, `processor`, `alerter`), the same waterfall as lesson 09, and *System Architecture*: the service map |
# | Zipkin, http://localhost:9411 | the same traces, in Zipkin's view: the collector sends each span to both |
# | Prometheus, http://localhost:9090 | `rate(messaging_client_sent_messages_total[1m])`: the instrumentation's metrics, scraped from the collector |
# | Grafana, http://localhost:3000 | the provisioned *MQTT messaging* dashboard; anonymous visitors are Viewers: sign in as admin (admin/admin at first) to edit it or to query the Prometheus and Jaeger data sources in Explore |
# | the collector, http://localhost:55679/debug/tracez and :13133 | zpages (what passes through) and the health check |
#
# Azure Monitor is an opt-in profile:
# `COMPOSE_PROFILES=azure APPLICATIONINSIGHTS_CONNECTION_STRING='InstrumentationKey=…' docker compose up -d`
# runs the collector with `config/collector/otel-collector-azure.yaml`, whose connection
# string comes from your environment. On Kubernetes, `kubectl apply -k k8s/` deploys the
# same components with the same config files.
#
# ### On Kubernetes, instrumentation without touching the image: the OpenTelemetry Operator
#
# The blog points at the OpenTelemetry Operator for Kubernetes. Besides running
# collectors, it **injects auto-instrumentation** into pods that ask for it with one
# annotation, `instrumentation.opentelemetry.io/inject-python: "true"`, following an
# `Instrumentation` resource: `k8s/operator/instrumentation.yaml` is the kit's (the
# collector's OTLP/HTTP port 4318, W3C `tracecontext` and `baggage`, parent-based ratio
# sampling). For a Python pod it adds an init container that copies the
# `opentelemetry-instrument` packages into a shared volume, puts them on `PYTHONPATH` (a
# `sitecustomize` starts the instrumentation before your code), and sets the `OTEL_*`
# variables, much like running `opentelemetry-instrument` in lesson 08. Its Python image
# carries contrib's instrumentations and only the OTLP/HTTP exporter (no gRPC); the kit's
# paho instrumentation is loaded only if it is installed in your app's image.
# `k8s/operator/README.md` has the steps; the operator's CRDs must be installed first.
#
# ### Further: Dapr
#
# The blog's bonus reading is Dapr. Its sidecars trace the calls and pub/sub messages
# (MQTT included, through a pub/sub component) that pass through them and write the spans
# over OTLP (or Zipkin) to the collector named in a Dapr `Configuration`
# (`tracing.otel.endpointAddress`), which pods pick with the `dapr.io/config` annotation:
# the same app → collector → back ends shape as here, with no SDK in the app. Dapr's docs,
# "Using OpenTelemetry Collector to collect traces":
# https://docs.dapr.io/operations/observability/tracing/otel-collector/open-telemetry-collector/
#
# ## 7. Your self-checks are telemetry too: the class board
#
# In a workshop, the instructor may run a **class board**, `python -m kit classroom`, and
# learners join it with one line (lesson 00 shows it; nothing is sent without it). From then
# on, each self-check also sends **one OpenTelemetry log record** to the board, over OTLP:
# the pipeline of this lesson, built from the parts of lessons 01 and 03.
#
# | Part | The class board's |
# |---|---|
# | resource | `service.name = kit-classroom`, and nothing else: no host, no user name |
# | providers | a `TracerProvider` and a `LoggerProvider` of its own, never your lesson's: your checks never see them |
# | span | `self-check 0.1` around each check; the log record is written inside it, so it **carries its trace context** |
# | log record | the exercise, ✓ or ✗, which ✗ (a reason code), the attempt, the seconds since the lesson started; never your code or its output |
# | processor | a `BatchLogRecordProcessor` (and a `BatchSpanProcessor`): a bounded queue, sent in the background, so a board that is down never slows a cell |
# | exporter | `OTLPLogExporter` over HTTP, with the room code in the header `x-kit-room`, as `OTEL_EXPORTER_OTLP_HEADERS` carries headers |
# | endpoint | the board: the kit's OTLP receiver, which refuses any request without the room code |
#
# The whole trip, on this machine: a board on a free port, this notebook joined to it for one
# check (`joined` leaves the board at the end of the `with` block, and a workshop's board you
# joined hears nothing meanwhile). The check fails on purpose: this cell makes no span.

# %%
import kit.classroom
from kit.checks import check_trace

board = kit.classroom.open_room(port=0, code="LESSON10")  # what `python -m kit classroom` starts

with kit.classroom.joined(board.endpoint, room=board.code, name="you") as member:
    verdict = check_trace("0.1")
    member.flush()
verdict

# %% [markdown]
# What the board received: the log record, its attributes (the whole record: there is nothing
# else in it), and the span it was written in. The record carries that span's trace and span
# ids: the trace context, as your own log records carry it since lesson 03.

# %%
records = board.receiver.logs_df()
check = records[records.body.str.startswith("self-check")].iloc[-1]
span = board.receiver.spans_df().iloc[-1]
print(f"log record  {check.body!r:20}  trace_id {check.trace_id}  span_id {check.span_id}")
for key, value in check.attributes.items():
    print(f"    {key:22} {value}" + (" s" if key.endswith("_s") else ""))
print(f"span        {span['name']!r:20}  trace_id {span.trace_id}  span_id {span.span_id}  ({span.service})")
check.trace_id == span.trace_id and check.span_id == span.span_id

# %% [markdown]
# And what the instructor sees of it, one cell of the board's grid (learners × exercises,
# live in a browser at `/board`), with a label for the reason:

# %%
board.progress.state()["learners"]

# %%
board.close()

# %% [markdown]
# ## Exercise 10.1: mend a config
#
# This config comes from a 2023 tutorial. Make it pass the check: keep the two destinations
# (a Jaeger v2 at `jaeger:4317`, and the console), with today's components. The self-check
# runs `check_config` and then follows the traces pipeline to both destinations.

# %% tags=["exercise"]
from kit.checks import check_collector_config

config = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
exporters:
  jaeger:
    endpoint: jaeger:14250
    tls:
      insecure: true
  logging:
    loglevel: debug
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger, logging]
"""

check_collector_config(config, otlp_to="jaeger:4317", debug=True)

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_10.1.py

# %% [markdown]
# ### Exercise 10.2: a config of your own
#
# Write, from an empty string, the config of a collector running in a container: it takes
# OTLP over gRPC and HTTP from the other containers; sends traces to a Jaeger v2 at
# `jaeger:4317` and to the console; offers the metrics on a `prometheus` exporter listening
# on `0.0.0.0:8889`, for Prometheus to scrape; and runs `memory_limiter` and `batch` in every
# pipeline. (Section 2's
# config shows every piece; try it without copying.)

# %% tags=["exercise"]
from kit.checks import check_collector_config

config = """
"""

check_collector_config(config, otlp_to="jaeger:4317", debug=True, prometheus="0.0.0.0:8889", processors=True,
                       reachable=True)

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_10.2.py

# %% [markdown]
# > **Key points**
# > - Direct exporters tie the app to a back end (Zipkin's JSON even loses attribute types); Prometheus pulls
# >   from a scrape endpoint, OTLP pushes.
# > - Apps send OTLP; the collector decides where it goes: change back ends without touching code.
# > - On Kubernetes the OpenTelemetry Operator injects auto-instrumentation into annotated pods.
# > - A config defines components, and `service.pipelines` switches them on, per signal.
# > - Since 2023: no `jaeger` or `logging` exporters, receivers listen on localhost unless told `0.0.0.0`, secrets come from `${env:…}`.
# > - The collector reads YAML 1.2 and refuses what it does not know: `yes` is text, a misspelt key stops it,
# >   `memory_limiter` needs `check_interval`, and every server needs a port of its own (4317 gRPC, 4318 HTTP).
# > - The same lesson code reaches a real stack through `OTEL_EXPORTER_OTLP_ENDPOINT` and `MQTT_BROKER_URL`.
# > - A workshop's self-checks reach the class board the same way: a log record inside a span, a batch
# >   processor, an OTLP exporter with a header; providers of their own, and nothing sent without joining.
