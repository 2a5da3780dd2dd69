# %% [markdown]
# # 12 · Capstone: instrument the greenhouse
#
# **Teaching:** 15 min · **Exercises:** 55 min
#
# > **Questions**
# > - Can I instrument an MQTT app I have never seen, so that one trace tells what happened to a reading?
# > - What does zero-code instrumentation give me, and what only my code can say?
# >
# > **Objectives**
# > - Instrument a three-program app by hand: providers, PRODUCER/CONSUMER spans, the context across MQTT v5
# >   and MQTT 3.1.1, baggage, a counter and a histogram, logs tied to their spans.
# > - Instrument the same app with zero code (`opentelemetry-instrument`), and compare the two traces.
# > - Judge the result the way a reviewer does: known requests, one for each outcome, looked up end to end.
#
# Tuesday, 14:02. Greenhouse gh-1 read 31.5 °C, the controller told the roof vent to open,
# and the vent did not. The programs printed a few lines each; nobody could say which
# reading led to which command, where the time went, or why the vent failed. Your job:
# instrument the app, so that next time one trace tells the whole story.
#
# This lab uses everything so far: lessons 01–03 (spans, metrics, logs), 04 (context and
# baggage), 06 and 07 (the context in MQTT v5 user properties and in 3.1.1 JSON payloads),
# 08 (zero code) and 09 (services as processes, exporting OTLP).

# %% [markdown]
# ## 1. The app
#
# `capstone/greenhouse/` holds three programs and what they share, plain paho-mqtt 2.x with
# no OpenTelemetry in them. Open them in JupyterLab's file browser (`capstone/greenhouse/`,
# one level above this notebook's folder) and read them: about 200 lines in all.
#
# | program | MQTT | handles | sends |
# |---|---|---|---|
# | `sensor.py` (t-1) | v5 | `greenhouse/gh-1/sensor/t-1/read`: a read request, `{"read": "celsius", "at": "14:02"}` | `…/sensor/t-1/reading`: `{"sensor": "t-1", "celsius": 31.5}` |
# | `controller.py` | v5 | a reading: asks for the forecast, decides | `greenhouse/gh-1/vent/command`: `{"action": "open", "percent": 100}` |
# | | | the vent's report | `greenhouse/gh-1/alerts` when the vent failed |
# | `vent.py` | **3.1.1** (older motor board) | a command: moves the vent | `greenhouse/gh-1/vent/state`: `{"ok": false, "error": "…"}` |
# | `common.py` | | the greenhouse's id; connecting, "ready", stopping on SIGTERM | |
#
# The story of one reading, four messages, and a fifth when the vent fails:
#
# ```
# lab ──read request──▶ sensor ──reading──▶ controller ──command──▶ vent (MQTT 3.1.1)
#                                             ▲                       │
#                                             └──────── report ───────┘      controller ──alert──▶ lab
# ```
#
# At 08:00 the probe reads 16.5 °C: the controller closes the vent, which works. At 14:02 it
# reads 31.5 °C: the controller opens the vent fully, the hinge jams, the vent reports the
# failure and the controller raises the alert.

# %%
from pathlib import Path

for script in sorted(Path("../capstone/greenhouse").glob("*.py")):
    text = script.read_text()
    print(f"{script.name:<14} {len(text.splitlines()):>3} lines   {text.splitlines()[0].strip(chr(34))}")

# %% [markdown]
# ## 2. Run it, and look it up as a reviewer would
#
# As in lesson 09, the programs run as processes and send OTLP to the kit's receiver; a
# deployment would send it to a collector. `Greenhouse` (`kit.capstone`) does what a
# smoke test does, like intro-to-mltp's checkpoint: it starts the three programs (each with
# `MQTT_BROKER_URL`, `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_*_EXPORTER=otlp` set, as a
# deployment sets them), sends the sensor **two read requests, each carrying a traceparent it
# made up**, so it knows which trace each story must stay in: the morning's (08:00, the command
# works) and, once the vent has reported, the afternoon's (14:02, the vent jams); it waits for
# the controller's alert, stops the programs (they flush on the way out) and keeps what
# arrived. It also names the greenhouse anew for each run (`GREENHOUSE_ID`, which `common.py`
# reads), so nothing typed in passes for what the messages carry. `kit.capstone??` shows how.

# %%
import shutil
import sys
import sysconfig

from kit.broker import start_broker
from kit.capstone import Greenhouse, compare, copy_app
from kit.checks import check_checkpoint
from kit.receiver import start_receiver
from kit.views import waterfall

broker = start_broker(protocol=5)                   # MQTT v5 (and 3.1.1 clients: the vent)
receiver = start_receiver(grpc_port=0, http_port=0)  # OTLP, gRPC and HTTP, on free ports
lab = Greenhouse(broker, receiver)

first = lab.run("../capstone/greenhouse")  # the app as it is
print(first.console)

# %% [markdown]
# The app works: the vent jams, the controller raises an alert. But the receiver got
# nothing. `check_checkpoint` judges a run the way a reviewer would, one finding per line,
# each with the fix. On the app as it is, every line fails: this is your to-do list.

# %%
check_checkpoint(first)

# %% [markdown]
# ## 3. Your copy
#
# Instrument a copy, `my_greenhouse/`, next to this notebook. Running the cell again never
# overwrites a file you changed.

# %%
mine = copy_app("my_greenhouse")
print("your copy:", ", ".join(sorted(p.name for p in mine.glob("*.py"))), "in", mine.name + "/")

# %% [markdown]
# ## Exercise 12.1: instrument it by hand (about 45 minutes)
#
# Edit the three programs in `my_greenhouse/` (JupyterLab: double-click a file, edit, save),
# then run the cell below; repeat. Work hop by hop and run it often: the findings go ✓ one
# by one, and each ✗ says what to do next.
#
# 1. **Providers, in each program:** `tele = setup("sensor")` (and `"controller"`, `"vent"`)
#    from `kit.telemetry`. The lab's `OTEL_*` variables make it export OTLP; it also
#    bridges Python `logging` (lesson 03). `tele.tracer`, `tele.meter` are yours.
# 2. **Spans and the context:** in each of the four handlers, read the context the message
#    carries, make it current and start a **CONSUMER** span; around each of the four
#    `client.publish` calls (the alert's too), a **PRODUCER** span of the program that sends
#    it, inside its span for the message it handled, with the context written into the
#    message: never pass on the context a message brought, send your own.
#    `kit.propagation` has the four calls: `extract_user_properties(msg.properties)` and
#    `inject_user_properties(properties)` between MQTT v5 programs (lesson 06);
#    `extract_json_payload(msg.payload)` and `inject_json_payload(payload)` wherever the
#    vent is on either end: MQTT 3.1.1 has no user properties (lesson 07).
# 3. **Baggage:** the sensor puts `greenhouse.id` = `GREENHOUSE` (from `common.py`: the lab
#    names the greenhouse anew each run) in the baggage; the controller and the vent read it
#    back from the baggage and set it as the attribute `greenhouse.id` on their span for the
#    message (lesson 04). It travels only if the context holding it is *current* when
#    you inject: `token = context.attach(ctx)` … `context.detach(token)`.
# 4. **The failure:** the vent catches its `VentJammed`. Put it on a span: status ERROR and
#    an exception event (lesson 01); the morning's command, which works, is no error.
# 5. **The slow step:** one call in the controller is slow. Find it, and give it a span of
#    its own, inside the span for the reading, so the waterfall says where the time goes.
# 6. **Metrics (lesson 02):** in the vent, a counter `greenhouse.commands`, 1 per command it
#    carries out, with the attributes `command` (`"close"`, `"open"`) and `outcome` (`"ok"` or
#    `"failed"`, as it went); in the controller,
#    a histogram `greenhouse.decision.duration`, unit `"s"`, one measurement per reading
#    (from the reading in to the decision, forecast included), attribute `greenhouse.id`.
# 7. **Logs:** keep the programs' own `log.info` / `log.error` calls, each inside its own
#    program's span for the message (not before it starts, not after it ends).
#
# If a program crashes, the checkpoint's first line says so; `print(by_hand.console)` shows
# its traceback.

# %% tags=["exercise"]
by_hand = lab.run("my_greenhouse")  # your copy, as you saved it
check_checkpoint(by_hand)

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it. The
# solution is a folder, `capstone/solution/by_hand/`: read its three programs side by side
# with yours.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_12.1.py

# %% [markdown]
# ## 4. Read your trace
#
# Once 12.1 is done, these are the two stories, one trace each, from four processes: the
# sensor's span is the child of the lab's request (its parent is in another process), the
# forecast shows where the controller's 0.3 s go, and in the afternoon's the vent's span is
# the red one, and the alert the last message.

# %%
waterfall(by_hand.spans, trace_id=by_hand.trace_ids) if len(by_hand.spans) else "no spans yet: do exercise 12.1"

# %% [markdown]
# And everything the programs logged about the afternoon's, by trace id:

# %%
by_hand.logs[by_hand.logs.trace_id == by_hand.trace_id][["service", "severity", "body"]]

# %% [markdown]
# ## 5. Zero code
#
# Now the untouched app again, under `opentelemetry-instrument` (lesson 08). It loads every
# installed instrumentation before the program starts: the kit's `paho_mqtt` (publish and
# process spans, the context in each message, the messaging metrics) and `logging` (Python
# logging bridged, records tied to the current span); it sets up the providers from the
# `OTEL_*` variables, and exports OTLP for traces, metrics and logs by default. The lab
# already sets the endpoint and the exporters for every program.
#
# ## Exercise 12.2: the same app, zero code (about 10 minutes)
#
# `lab.run(app, command=zero_code)` starts each program with what `zero_code(service,
# script)` returns: the command, and the variables to add to the lab's. Make it start the
# script under `opentelemetry-instrument` (the path of the command is `INSTRUMENT`), with
# what each program still needs: its own service name, and for the vent, on MQTT 3.1.1, the
# context in its JSON payloads (lesson 08; the JSON option is in `PahoMqttInstrumentor??`).
# `check_checkpoint(zero, zero_code=True)` judges what zero code can give and shows as ·
# what only code can.

# %%
INSTRUMENT = shutil.which("opentelemetry-instrument", path=sysconfig.get_path("scripts"))

# %% tags=["exercise"]
def zero_code(service, script):
    """How to start one program of the untouched app: the command, and the variables it needs."""
    return [sys.executable, script], {}  # as it is: no telemetry


zero = lab.run("../capstone/greenhouse", command=zero_code)
check_checkpoint(zero, zero_code=True)

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_12.2.py

# %% [markdown]
# ## 6. Two traces of the same story
#
# The zero-code run, every trace it made (once 12.2 is done):

# %%
waterfall(zero.spans, trace_id=zero.trace_ids) if len(zero.spans) else "no spans yet: do exercise 12.2"

# %% [markdown]
# Side by side: the checkpoint's findings for each (zero code judged as such: · is what
# only code can do), then what each trace holds.

# %%
compare(by_hand, zero)

# %% [markdown]
# What the table says, once both exercises are done:
#
# | | by hand | zero code |
# |---|---|---|
# | which messages have spans | the ones you wrote spans for | every publish and every delivery, `publish <topic>` / `process <topic>` |
# | attributes on a publish span | the ones you set (the solution: 2) | 11, from the messaging conventions: client id, QoS, server, protocol version… |
# | the hop to and from the 3.1.1 vent | one trace: you put the context in the JSON | the trace breaks: a v5 client's context goes in user properties, which a 3.1.1 device never receives, and a v5 client reads none from JSON: 3 traces per read request |
# | the vent's failure | ERROR, with the VentJammed exception | not seen: the app catches it |
# | the slow step | `fetch forecast`, 0.3 s, named | a 0.3 s `process` span, reason unknown |
# | `greenhouse.id` | baggage, on every span after the sensor | nobody knows it |
# | metrics | the app's: commands by outcome, decision time by greenhouse | the transport's: messages sent and consumed, operation and process durations |
# | logs with trace ids | yes | yes (the `logging` instrumentation) |
#
# Zero code knows the protocol, not your app: it covers the transport for free and never
# forgets a message, but it cannot know which call is slow, which exception matters, or
# what a greenhouse is. In production, use both: the instrumentation for the transport
# (`PahoMqttInstrumentor`, or `opentelemetry-instrument`), and a few lines of your own for
# the domain: the slow step's span, the failure recorded, the baggage, the business metrics,
# and the hop to the old device.

# %%
receiver.stop()

# %% [markdown]
# > **Key points**
# > - A checkpoint sends requests it knows the traceparents of, one for each outcome, then looks each trace up end to end: a review you can re-run.
# > - Every message is a PRODUCER span of the program that sends it and a CONSUMER span where it is handled; the context travels in the message: user properties on MQTT v5, the JSON payload on 3.1.1, and it must fit the receiving end.
# > - `start_as_current_span(context=ctx)` takes ctx's span as parent but not its baggage: attach the context (`context.attach(ctx)`) so baggage flows on.
# > - A caught exception is invisible to every instrumentation: record it on a span (status ERROR, exception event).
# > - A span of its own for a slow call turns "this took 0.3 s" into "the forecast took 0.3 s".
# > - Zero code covers the transport, semantic-convention attributes and messaging metrics; only code knows the domain. Use both.
