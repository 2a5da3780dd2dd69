# %% [markdown]
# # 10 · The collector pipeline
#
# **Teaching:** 20 min · **Exercises:** 5 min
#
# > **Questions**
# > - Why send telemetry to an OpenTelemetry Collector instead of straight to Jaeger or Prometheus?
# > - How is a collector configured, and what changed since the blog's 2023 config?
# > - How do I move the lessons and services to a real stack without changing code?
# >
# > **Objectives**
# > - Read a collector config: receivers, processors, exporters, extensions, pipelines.
# > - Draw it as a pipeline, and check it for the mistakes that stop a collector or leak a secret.
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
# collector knows where telemetry goes.
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
# The blog's config from January 2023 (`config/blog-2023/otel-collector-config.yaml`, as
# published):

# %%
blog_config = Path("../config/blog-2023/otel-collector-config.yaml").read_text()
check_config(blog_config)

# %%
pipeline_diagram(blog_config)

# %% [markdown]
# | Then (2023) | Now | Why |
# |---|---|---|
# | `otel/opentelemetry-collector-contrib:0.50.0` | `0.157.0` (pinned, never `latest`) | 100+ releases; components removed and renamed |
# | `jaeger` exporter to `jaeger:14250` | `otlp/jaeger` exporter to `jaeger:4317` | removed in v0.85: Jaeger v2 takes OTLP |
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
# | Grafana, http://localhost:3000 | the provisioned *MQTT messaging* dashboard, Prometheus and Jaeger data sources |
# | the collector, http://localhost:55679/debug/tracez and :13133 | zpages (what passes through) and the health check |
#
# Azure Monitor is an opt-in profile:
# `COMPOSE_PROFILES=azure APPLICATIONINSIGHTS_CONNECTION_STRING='InstrumentationKey=…' docker compose up -d`
# runs the collector with `config/collector/otel-collector-azure.yaml`, whose connection
# string comes from your environment. On Kubernetes, `kubectl apply -k k8s/` deploys the
# same components with the same config files.
#
# ## Exercise 10.1: mend a config
#
# This config comes from a 2023 tutorial. Make it pass the check: keep the two destinations
# (a Jaeger v2 at `jaeger:4317`, and the console), with today's components.

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

check_collector_config(config)

# %% [markdown]
# Solution:

# %% tags=["solution"] jupyter={"source_hidden": true}
config = """
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
exporters:
  otlp/jaeger:
    endpoint: jaeger:4317
    tls:
      insecure: true
  debug:
    verbosity: detailed
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlp/jaeger, debug]
"""

check_collector_config(config)

# %% [markdown]
# > **Key points**
# > - Apps send OTLP; the collector decides where it goes: change back ends without touching code.
# > - A config defines components, and `service.pipelines` switches them on, per signal.
# > - Since 2023: no `jaeger` or `logging` exporters, receivers listen on localhost unless told `0.0.0.0`, secrets come from `${env:…}`.
# > - The same lesson code reaches a real stack through `OTEL_EXPORTER_OTLP_ENDPOINT` and `MQTT_BROKER_URL`.
