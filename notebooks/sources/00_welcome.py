# %% [markdown]
# # 00 · Welcome: your first trace
#
# **Teaching:** 5 min · **Exercises:** 8 min
#
# > **Questions**
# > - What does this kit teach, and how is it laid out?
# > - What does a trace look like, and where do I see it?
# >
# > **Objectives**
# > - Make a trace of two spans and see it as a waterfall, right here in the notebook.
# > - Check that your environment is ready for the rest of the lessons.

# %% [markdown]
# ## A first trace in three cells
#
# One call sets up OpenTelemetry for a *service* (here called `welcome`): the providers,
# the exporters and an in-memory copy of everything, so the notebook can show it.

# %%
from kit.telemetry import setup
from kit.views import waterfall

tele = setup("welcome")
tele

# %% [markdown]
# A **span** is one timed operation. Spans started inside another become its children,
# and together they form a **trace**.

# %%
import time

with tele.tracer.start_as_current_span("hello"):
    time.sleep(0.01)
    with tele.tracer.start_as_current_span("say hello to MQTT"):
        time.sleep(0.02)

# %%
waterfall()

# %% [markdown]
# Read the waterfall from top to bottom: `hello` is the **root span**; `say hello to MQTT`
# is its child (indented, `└`) and starts after it and ends before it. The bar lengths are
# the durations. **Click a row** (its name or its bar) to open that span: its ids, timing,
# status and attributes. In Jaeger or Zipkin the same trace looks the same, only bigger.
#
# The picture also has a text form, which is what you see in a terminal, or wherever
# pictures are not shown:

# %%
print(repr(waterfall()))

# %% [markdown]
# ## How this kit works
#
# | Lesson | You learn | Minutes |
# |---|---|---|
# | 00 welcome | a first trace; the environment check | 13 |
# | 01 traces | providers, resources, spans: kinds, attributes, events, status, exceptions; processors and OTLP exporters by hand | 47 |
# | 02 metrics | counters, up-down counters, histograms, gauges, views; a reader and exporter by hand | 31 |
# | 03 logs | the logging bridge, severity, logs correlated with traces; logs over OTLP | 27 |
# | 04 context and baggage | `traceparent`, inject and extract between services, baggage | 34 |
# | 05 MQTT basics | paho-mqtt 2.x, QoS, retain, MQTT v5 properties | 33 |
# | 06 MQTT v5 user properties | the blog's technique: your own Getter/Setter, one trace across two services, a persistent session | 45 |
# | 07 MQTT 3.1.1 JSON payload | the context in the JSON payload, by hand | 27 |
# | 08 auto-instrumentation | `PahoMqttInstrumentor`, hooks, zero-code | 33 |
# | 09 multi-service trace | three processes, one trace, the service map | 34 |
# | 10 collector pipeline | direct exporters (Zipkin, Prometheus) vs a collector; configs; the real stack; the class board | 52 |
# | 11 overhead and sampling | the cost per message, throughput against the blog, head sampling, baggage at a trust boundary | 33 |
# | 12 capstone: the greenhouse | a lab: instrument an app you have not seen, by hand and with zero code | 70 |
#
# From lesson 05 on, the trace travels over MQTT (paho-mqtt, MQTT v5 user properties and
# 3.1.1 JSON payloads), then through an OpenTelemetry Collector.
#
# * The helper package `kit` hides plumbing, never the lesson: the OpenTelemetry calls you
#   are learning stay in the cells. Read any helper with `??`, e.g. `setup??`.
# * Everything runs offline after `pip install -r requirements.txt`: no Docker, no network.
#   To send the same telemetry to a real collector, set `OTEL_TRACES_EXPORTER=otlp` (and
#   friends) before starting Jupyter; the lesson code does not change.
# * Exercises end with a **self-check** that says ✓, or exactly what is wrong. It judges
#   the cell it is in, so keep your code and the check together, and re-run freely.
#   Each exercise has a solution in the collapsed cell after it: running that cell loads
#   the answer into it, and only running it again runs it, so "Run All" does not do your
#   exercises for you.
# * In a workshop, your instructor may put the room's self-checks on a **class board**. It
#   is opt-in: nothing leaves this notebook until you join, with the line your instructor
#   shows, in the cell below. Each self-check then also sends its ✓ or ✗, which exercise,
#   which ✗, the attempt and the time into the lesson, under the name you choose; never your
#   code or its output. Lesson 10 shows how: it is the OTLP pipeline you will build.

# %%
import kit.classroom

# kit.classroom.join("http://…:4318", room="…", name="…")   # in a workshop: the line your instructor shows
kit.classroom.status()

# %% [markdown]
# ## Is your environment ready?

# %%
from kit.environment import check_environment

check_environment()

# %% [markdown]
# Every line should start with ✓ (a `·` line is information): Python, OpenTelemetry, paho-mqtt
# 2.x, the embedded MQTT broker (amqtt) and the kit's paho-mqtt instrumentation are then ready
# for the rest of the lessons. A ✗ line says what to run.
#
# ## Exercise 0.1: a third span
#
# Add a span called `say goodbye` **inside** `hello` (after `say hello to MQTT`), run the
# cell, and read the self-check. The cell below shows the trace to aim for; the
# self-check compares the whole trace your cell makes with it, span by span, and names
# the first difference.

# %%
from kit.checks import check_trace, exercise

exercise("0.1")

# %% [markdown]
# The self-check is the last line of the cell, so its ✓ or ✗ is what the cell shows. To
# see your waterfall too, put `display(waterfall())` on a line just above it.

# %% tags=["exercise"]
with tele.tracer.start_as_current_span("hello"):
    with tele.tracer.start_as_current_span("say hello to MQTT"):
        pass
    # your span here

check_trace("0.1")

# %% [markdown]
# **Solution:** the collapsed cell below loads it. Run it once to see the code (it
# replaces the cell's contents), once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_0.1.py

# %% [markdown]
# ## Exercise 0.2: a trace of your own
#
# From an empty cell: a parcel delivery. The span `deliver parcel` holds `load van` and then
# `drive`, and inside `drive` there is a `traffic jam`. Write it with `tele.tracer`, and let
# the self-check compare its shape with this one:

# %%
exercise("0.2")

# %% tags=["exercise"]
# your code here

check_trace("0.2")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_0.2.py

# %%
waterfall()

# %% [markdown]
# > **Key points**
# > - A trace is a tree of spans; the waterfall shows it as bars on a timeline.
# > - `kit.telemetry.setup("name")` sets up a service; `tele.tracer` makes its spans.
# > - A self-check compares the whole trace your cell made with the one to aim for, and names the first difference.
# > - Everything runs in the notebook; the same code exports to a collector through `OTEL_*` variables.
