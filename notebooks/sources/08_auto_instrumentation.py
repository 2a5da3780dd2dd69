# %% [markdown]
# # 08 · Instrumentation libraries: paho-mqtt traced for you
#
# **Teaching:** 18 min · **Exercises:** 15 min
#
# > **Questions**
# > - What is an instrumentation library, and how does `opentelemetry-instrument` find one?
# > - What does an instrumented paho client record, with no tracing code of mine?
# >
# > **Objectives**
# > - Instrument paho-mqtt in code with `PahoMqttInstrumentor`, and read the spans and
# >   metrics it makes (named and attributed by the messaging conventions).
# > - Give two clients in one process their own services.
# > - Trace an unmodified script with `opentelemetry-instrument`, and switch it off.

# %% [markdown]
# ## 1. Instrumentation libraries
#
# Lessons 06 and 07 wrote the spans and the propagation by hand. An **instrumentation
# library** does it for a library you use: it wraps the library's functions so that every
# call makes the right spans and metrics. The blog's example was HTTP:
#
# ```python
# from opentelemetry.instrumentation.requests import RequestsInstrumentor
# RequestsInstrumentor().instrument()      # from now on every requests.get(...) is a CLIENT span
# ```
#
# | Then (2023 blog) | Now | Why |
# |---|---|---|
# | `RequestsInstrumentor().instrument()` against `https://www.example.org/` | the same call; shown here, not run (no network in the lessons) | unchanged API |
# | "couldn't find any auto-instrumentation libraries" for paho-mqtt, so spans by hand | `PahoMqttInstrumentor` (this kit), or `opentelemetry-instrument` | still none in contrib in 2026; the kit ships one |
# | hand-written span names and `SpanAttributes` | names and attributes from the messaging conventions, set by the instrumentation | consistent across apps and back ends |
#
# opentelemetry-python-contrib has dozens (requests, Flask, Kafka, pika/RabbitMQ, …) but,
# still today, none for paho-mqtt. This kit ships one, built the way contrib's messaging
# instrumentations are: `opentelemetry.instrumentation.paho_mqtt.PahoMqttInstrumentor`
# (earlier versions of the kit had it as `kit.instrumentation.paho`; now it is a distribution
# of its own, opentelemetry-instrumentation-paho-mqtt). Each registers an
# **entry point**, which is how `opentelemetry-instrument` finds what is installed:

# %%
from importlib.metadata import entry_points

sorted(ep.name for ep in entry_points(group="opentelemetry_instrumentor"))

# %% [markdown]
# ## 2. `PahoMqttInstrumentor` in code
#
# One call before the clients are used. The app code below is plain paho: no span, no
# propagator, no user properties.

# %%
import paho.mqtt.client as mqtt
from opentelemetry.instrumentation.paho_mqtt import PahoMqttInstrumentor

from kit import clients
from kit.broker import start_broker
from kit.inbox import Inbox
from kit.telemetry import setup
from kit.views import metrics_chart, waterfall

tele = setup("sensor-app")
PahoMqttInstrumentor().instrument()
broker = start_broker(protocol=5)


def connect(client_id, subscribe_to=None, on_message=None):
    """A connected client (lesson 05's paho code, in one call: read it with `clients.connect??`)."""
    return clients.connect(broker, client_id, subscribe_to, on_message, protocol=5)


inbox = Inbox()
subscriber = connect("dashboard", subscribe_to="sensors/#", on_message=inbox)
publisher = connect("sensor-7")

with tele.tracer.start_as_current_span("read sensors"):
    publisher.publish("sensors/temp", b'{"t": 21.5}', qos=1)
inbox.wait(1)
waterfall()

# %% [markdown]
# `publish sensors/temp` (PRODUCER) and `process sensors/temp` (CONSUMER) were made by the
# instrumentation; the context travelled in the user properties, so the consumer is the
# producer's child. Its attributes follow the messaging semantic conventions:

# %%
producer = tele.spans().query("kind == 'PRODUCER'").iloc[-1]
{key: value for key, value in producer.attributes.items() if key != "server.port"}

# %% [markdown]
# (`server.port` is there too; it changes from run to run.) Compare with the blog's
# `SpanAttributes.MESSAGING_PROTOCOL: "MQTT"`: today's names are `messaging.system`,
# `messaging.operation.*`, `messaging.destination.name`, and MQTT's own
# `messaging.mqtt.qos` / `messaging.mqtt.retain`: the conventions' Required and
# Conditionally required attributes plus the Recommended client id and server.
# `network.protocol.name="mqtt"` and its version say what `messaging.system` already says;
# `network_protocol_attributes=True` adds them. The CONSUMER span also names the
# subscription's filter, `messaging.destination.template="sensors/#"`.
#
# The metrics of the conventions come with it: messages sent and consumed, and durations
# as histograms with the conventions' buckets. On metrics the destination is the template,
# never the topic itself: topics often carry a device id, and a series per device would
# grow without end (`metric_destination="topic"` when your topics are few).

# %%
for _ in range(5):
    publisher.publish("sensors/humidity", b'{"rh": 40}', qos=1)
inbox.wait(6)
tele.flush()
metrics_chart("messaging.client.sent.messages", "messaging.client.consumed.messages")

# %% [markdown]
# ## 3. An error in your callback
#
# If `on_message` raises, the span records the exception and ends with status ERROR, then
# the exception goes on exactly as it would without instrumentation (paho re-raises it from
# its network loop unless `client.suppress_exceptions = True`).

# %%
def fragile(client, userdata, msg):
    raise ValueError("cannot parse " + msg.payload.decode())


crashing = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fragile", protocol=mqtt.MQTTv5)
crashing.on_message = fragile
message = mqtt.MQTTMessage(1, b"sensors/temp")
message.payload = b"not json"
try:
    crashing._handle_on_message(message)  # what paho's loop calls for every message
except ValueError as exc:
    print("the app still gets:", exc)

failed = tele.spans().iloc[-1]
failed["name"], failed["status"], failed["attributes"]["error.type"], [e[0] for e in failed["events"]]

# %% [markdown]
# ## 4. Options
#
# | Keyword of `instrument()` | Environment (zero-code) | Effect |
# |---|---|---|
# | `json_payload=True` | `OTEL_PYTHON_PAHO_MQTT_JSON_PAYLOAD=true` | on MQTT 3.1.1 connections, context in JSON-object payloads (lesson 07) |
# | `links_only=True` | | process spans link to the publisher instead of being its children (lesson 06) |
# | `retained_as_link=True` | | the same, for retained messages only |
# | `publish_hook`, `process_hook` | | add your own attributes (exercise 8.1) |
# | `message_body_size=True` | | the payload's size in bytes, `messaging.message.body.size`, on its spans (opt-in in the conventions; exercise 8.2) |
# | `duration_histograms=False` | `OTEL_PYTHON_PAHO_MQTT_DURATION_HISTOGRAMS=false` | no duration histograms, for hot paths (lesson 11) |
# | `metric_destination="topic"` | `OTEL_PYTHON_PAHO_MQTT_METRIC_DESTINATION=topic` | the topic on metrics, when your topics are few |
# | `destination_templates=["sensors/+/temp"]` | `OTEL_PYTHON_PAHO_MQTT_DESTINATION_TEMPLATES` | name a topic's template on publish too |
# | `incoming_baggage="drop"` or `{"tenant.id"}` | `OTEL_PYTHON_PAHO_MQTT_INCOMING_BAGGAGE` | what a delivered message's baggage may bring in (lesson 11) |
#
# Read them all with `PahoMqttInstrumentor??`. Two services in one process (or one kernel)
# can each instrument their own client with their own providers:

# %%
PahoMqttInstrumentor().uninstrument()

sensor, dashboard = setup("sensor"), setup("dashboard")
board = Inbox()
sub = connect("dashboard-2", subscribe_to="rooms/#", on_message=board)
pub = connect("sensor-8")
PahoMqttInstrumentor.instrument_client(sub, dashboard.tracer_provider, dashboard.meter_provider)
PahoMqttInstrumentor.instrument_client(pub, sensor.tracer_provider, sensor.meter_provider)

pub.publish("rooms/kitchen", b'{"t": 23.0}', qos=1)
board.wait(1)
waterfall()

# %%
for client in (subscriber, publisher, sub, pub):
    client.disconnect()
    client.loop_stop()

# %% [markdown]
# ## 5. Zero code: `opentelemetry-instrument`
#
# `apps/hello_paho.py` is a plain paho app (open it: no OpenTelemetry in it). Run under
# `opentelemetry-instrument`, every installed instrumentation is loaded before the app
# starts, and the SDK is configured from `OTEL_*` variables:
#
# ```bash
# OTEL_SERVICE_NAME=hello-paho OTEL_TRACES_EXPORTER=otlp \
# OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 \
#     opentelemetry-instrument python apps/hello_paho.py
# ```
#
# Its spans leave the process over OTLP. To see them here, the kit starts an OTLP
# endpoint in the notebook (lesson 09 does much more with it):

# %%
import os
import shutil
import subprocess
import sys
import sysconfig

from kit.receiver import start_receiver

receiver = start_receiver(grpc_port=0, http_port=0)  # 0: any free port
# the opentelemetry-instrument command of this Python's environment (…/bin, or …\Scripts on Windows)
instrument = shutil.which("opentelemetry-instrument", path=sysconfig.get_path("scripts"))


def run_instrumented(**extra_env):
    env = {**os.environ, "MQTT_BROKER_URL": broker.url, "OTEL_SERVICE_NAME": "hello-paho",
           "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
           "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.grpc_endpoint, **extra_env}
    done = subprocess.run([instrument, sys.executable, "apps/hello_paho.py"],
                          env=env, capture_output=True, text=True, timeout=120)
    print(done.stdout.strip() or done.stderr)


run_instrumented()
hello = receiver.spans_df()
print(len(hello), "spans from", sorted(set(hello.service)))
waterfall(hello)

# %% [markdown]
# The process flushed its spans when it exited. Three publishes, three deliveries, each
# pair one trace. To switch one instrumentation off, without uninstalling it:

# %%
run_instrumented(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="paho_mqtt")
print(len(receiver.spans_df()) - len(hello), "new spans")
receiver.stop()

# %% [markdown]
# ## Exercise 8.1: your own attribute, with a hook
#
# (A self-check judges the cell it is in: keep your code and the check together.)
#
# Instrument paho again so that every publish span carries `app.sensor.id` = `"s-1"`.
# A `publish_hook(span, client, topic, payload)` is called with each publish span. The
# spans must come from the instrumentation itself:

# %%
from kit.checks import check_trace, exercise

exercise("8.1")

# %% tags=["exercise"]
tele = setup("sensor-app")
PahoMqttInstrumentor().instrument()

lab = connect("sensor-9")
lab.publish("lab/temp", b'{"t": 20.0}', qos=1).wait_for_publish(5)
lab.disconnect()
PahoMqttInstrumentor().uninstrument()

check_trace("8.1")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_8.1.py

# %% [markdown]
# ## Exercise 8.2: an instrumented app, from scratch
#
# Instrument paho again so that every **process** span carries the payload's size in bytes
# as `messaging.message.body.size` (an opt-in attribute of the messaging conventions: the
# options table above says how, or write a `process_hook(span, client, message)`). Then,
# with `connect(...)`, a subscriber on `greenhouse/#` and a publisher; publish the readings
# on `greenhouse/temp`, wait until all of them have arrived, disconnect both, and
# uninstrument.
# This run's readings, and the trace to aim for:

# %%
lab = exercise("8.2")
readings = lab.readings
lab

# %% tags=["exercise"]
tele = setup("greenhouse")

# your code here

check_trace("8.2")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_8.2.py

# %% [markdown]
# > **Key points**
# > - An instrumentation library wraps a library's calls; `instrument()` once, before use; `uninstrument()` undoes it.
# > - `PahoMqttInstrumentor` makes `publish {topic}` (PRODUCER) and `process {topic}` (CONSUMER) spans, carries the context, and records the messaging metrics.
# > - `opentelemetry-instrument python app.py` instruments an unmodified app through entry points; `OTEL_PYTHON_DISABLED_INSTRUMENTATIONS` turns one off.
# > - Hooks add your own attributes; `instrument_client` gives one client its own providers.
