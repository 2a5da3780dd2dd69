# %% [markdown]
# # 05 · MQTT basics with paho-mqtt 2.x
#
# **Teaching:** 17 min · **Exercises:** 16 min
#
# > **Questions**
# > - How does a paho-mqtt 2.x client connect, subscribe, publish and receive?
# > - What do QoS and retain change?
# > - What does MQTT v5 add over 3.1.1, and why does it matter for tracing?
# >
# > **Objectives**
# > - Start an embedded MQTT broker from a notebook.
# > - Write paho clients with the VERSION2 callbacks; subscribe in `on_connect`.
# > - Publish at QoS 0, 1 and 2, and with retain; read what arrives.
# > - Send MQTT v5 properties, and see 3.1.1 drop them.
# > - Fix the blog's paho 1.x code for paho 2.x.

# %% [markdown]
# ## 1. A broker in one call
#
# MQTT clients never talk to each other: they talk to a **broker**, which forwards each
# published message to the clients subscribed to its topic. The kit starts one inside this
# notebook, on 127.0.0.1 and a free port, in its own thread:

# %%
from kit.broker import start_broker

broker = start_broker()  # MQTT 3.1.1 (amqtt)
broker5 = start_broker(protocol=5)  # MQTT v5 (and 3.1.1): the kit's own small broker
broker, broker5

# %% [markdown]
# > **Which broker, and why two?** amqtt, the pure-Python broker the kit uses for MQTT
# > 3.1.1, does not speak MQTT v5, and v5 is what carries trace context in *user
# > properties* (lesson 06). The one pure-Python v5 broker on PyPI we measured
# > (moat-lib-mqtt 0.8.7) loses QoS 2 messages, drops a client that subscribes before it
# > has read the broker's CONNACK, and merges user properties that repeat a key. So the kit
# > carries a small v5 broker of its own (`kit/mqtt_broker/`: five short modules, one job
# > each, about 1,000 lines you can read), held to Mosquitto: its tests run on Mosquitto
# > too, with the same outcome. Both are for learning on a laptop. For anything real use Mosquitto, EMQX or HiveMQ: set
# > `MQTT_BROKER_URL=mqtt://localhost:1883` before starting Jupyter and `start_broker()`
# > returns that broker instead, with no change to the lessons.
#
# Re-running the cell above is safe: you get the same brokers back, not "address already in
# use". From a terminal, `python -m kit broker --protocol 5 --port 1883` runs one in the
# foreground, for exercises across several processes.
#
# ## 2. Subscribe in `on_connect`
#
# paho-mqtt 2.x asks which callback style you want. Always pass
# `CallbackAPIVersion.VERSION2`: its callbacks receive reason codes and (on v5) properties.
# Subscribe in `on_connect`, so a reconnect subscribes again.

# %%
import threading

import paho.mqtt.client as mqtt

from kit.inbox import Inbox

inbox = Inbox()  # an on_message callback that keeps messages, so a cell can wait for them


def on_connect(client, userdata, flags, reason_code, properties):
    print("connected:", reason_code)
    client.subscribe("sensors/#", qos=2)


subscriber = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="subscriber")
subscriber.on_connect = on_connect
subscriber.on_message = inbox
subscribed = threading.Event()
subscriber.on_subscribe = lambda client, userdata, mid, reason_codes, properties: subscribed.set()
subscriber.connect(broker.host, broker.port)
subscriber.loop_start()  # paho's network loop, in a background thread
subscribed.wait(5)

# %% [markdown]
# `loop_start()` runs the network loop in a thread, so callbacks run there too. `Inbox`
# (read it with `Inbox??`) is a plain `on_message(client, userdata, msg)` that keeps each
# message and lets a cell wait until they are in, instead of guessing with `time.sleep`.
#
# ## 3. Publish, at three qualities of service

# %%
publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="publisher")
publisher.connect(broker.host, broker.port)
publisher.loop_start()

for qos in (0, 1, 2):
    info = publisher.publish("sensors/temp", f'{{"t": 21.{qos}}}', qos=qos)
    info.wait_for_publish(5)

for msg in inbox.wait(3):
    print(msg.topic, msg.payload, "qos", msg.qos)

# %% [markdown]
# | QoS | Promise | Cost |
# |---|---|---|
# | 0 | at most once: fire and forget | one packet |
# | 1 | at least once: may arrive twice | PUBLISH + PUBACK |
# | 2 | exactly once | PUBLISH, PUBREC, PUBREL, PUBCOMP |
#
# A subscriber receives at the *lower* of the publish QoS and its subscription's QoS: this
# one subscribed at QoS 2, so the three publishes arrived at 0, 1 and 2, as sent. (amqtt
# 0.12.1 on its own delivers everything at the subscription's QoS; the kit runs it with
# that fixed, and Mosquitto and the kit's v5 broker follow the rule too.) `info.mid` is
# paho's packet id, reused every 65 535 messages: not a message id.
#
# ## 4. Retained messages: the last word on a topic
#
# A message published with `retain=True` is kept by the broker and handed to every client
# that subscribes **later**, flagged `retain`. Good for "current state" topics; a trap for
# tracing, as lesson 06 shows.

# %%
publisher.publish("sensors/status", b"online", qos=1, retain=True).wait_for_publish(5)

late_inbox = Inbox()
late = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="late-subscriber")
late.on_connect = lambda client, userdata, flags, reason_code, properties: client.subscribe("sensors/status")
late.on_message = late_inbox
late.connect(broker.host, broker.port)
late.loop_start()

[(m.topic, m.payload, m.retain) for m in late_inbox.wait(1)]

# %% [markdown]
# To remove a retained message, publish an empty payload with `retain=True` on its topic:

# %%
publisher.publish("sensors/status", b"", qos=1, retain=True).wait_for_publish(5)

# %% [markdown]
# ## 5. MQTT v5: properties
#
# MQTT v5 lets a PUBLISH carry **properties**: a content type, a response topic, a
# correlation id, and any number of **user properties**, key/value string pairs the broker
# forwards untouched. That is where trace context will go.

# %%
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

inbox5 = Inbox()
sub5 = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sub5", protocol=mqtt.MQTTv5)
sub5.on_connect = lambda client, userdata, flags, reason_code, properties: client.subscribe("sensors/#", qos=1)
sub5.on_message = inbox5
ready = threading.Event()
sub5.on_subscribe = lambda client, userdata, mid, reason_codes, properties: ready.set()
sub5.connect(broker5.host, broker5.port)
sub5.loop_start()
ready.wait(5)

pub5 = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pub5", protocol=mqtt.MQTTv5)
pub5.connect(broker5.host, broker5.port)
pub5.loop_start()

props = Properties(PacketTypes.PUBLISH)
props.ContentType = "application/json"
props.UserProperty = [("site", "lab-1")]
props.UserProperty = [("site", "lab-2")]  # careful: assigning APPENDS in paho
pub5.publish("sensors/temp", b'{"t": 21.5}', qos=1, properties=props).wait_for_publish(5)

msg = inbox5.wait(1)[0]
msg.properties.ContentType, msg.properties.UserProperty

# %% [markdown]
# Two things to remember for lesson 06: a key may appear more than once (so do not turn user
# properties into a `dict` blindly), and `props.UserProperty = [...]` adds to what is there.
#
# On an MQTT 3.1.1 connection paho **silently drops** properties: same code, no error,
# nothing sent.

# %%
inbox.clear()
publisher.publish("sensors/temp", b'{"t": 22.0}', qos=1, properties=props).wait_for_publish(5)
msg = inbox.wait(1)[0]
print("3.1.1 subscriber got properties:", msg.properties)

# %% [markdown]
# ## 6. The blog's paho code, then → now
#
# | Then (paho 1.x, as in the guide the 2023 blog links to) | Now (paho 2.x) | Why |
# |---|---|---|
# | `mqtt.Client()` | `mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, ...)` | without it paho 2 warns and uses the old callback signatures |
# | `on_connect(client, userdata, flags, rc)` | `on_connect(client, userdata, flags, reason_code, properties)` | VERSION2 signature (same on 3.1.1 and v5) |
# | `on_publish(client, userdata, mid)` | `on_publish(client, userdata, mid, reason_code, properties)` | VERSION2 signature |
# | `counter.add(1, labels)` in `on_message` | `counter.add(1, {"messaging.destination.name": msg.topic})` | `labels` was never defined |
# | `msg.payload.decode("utf-8")` | decode only what you know is text | a binary payload raises `UnicodeDecodeError` in the callback |
# | `dict(msg.properties.UserProperty)` | read every value of a key (lesson 06) | repeated keys are lost; `AttributeError` when none were sent; `properties` is `None` on 3.1.1 |
# | `client.publish(..., retain=True)` for every message | retain only "current state" topics | a retained message hands its (old) trace context to every late subscriber |

# %%
for client in (subscriber, publisher, late, sub5, pub5):
    client.disconnect()
    client.loop_stop()

# %% [markdown]
# ## Exercise 5.1: one filter, two topics
#
# Make this subscriber receive the messages on `lab/temp` and `lab/humidity`, but not the
# one on `office/temp`, with a single subscription: change `TOPIC_FILTER`. (`+` matches one
# topic level, `#` any number of levels at the end.) The self-check judges what arrived in
# this cell.

# %% tags=["exercise"]
from kit.checks import check_received

TOPIC_FILTER = "lab/temp"  # your filter here

lab = Inbox()
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="exercise-5-1")
client.on_connect = lambda c, userdata, flags, reason_code, properties: c.subscribe(TOPIC_FILTER)
client.on_message = lab
done = threading.Event()
client.on_subscribe = lambda c, userdata, mid, reason_codes, properties: done.set()
client.connect(broker.host, broker.port)
client.loop_start()
done.wait(5)

sender = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sender")
sender.connect(broker.host, broker.port)
sender.loop_start()
for topic in ("lab/temp", "lab/humidity", "office/temp"):
    sender.publish(topic, b"1", qos=1).wait_for_publish(5)
lab.wait(3, timeout_s=0.5)  # on 127.0.0.1 whatever can arrive is in well within half a second
client.disconnect(), sender.disconnect()
check_received(lab.messages, ["lab/temp", "lab/humidity"], topic_filter=TOPIC_FILTER, exercise="5.1")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_5.1.py

# %% [markdown]
# ## Exercise 5.2: the last word, for whoever comes later
#
# The first lines forget any status an earlier run left on `lab/status` (an empty retained
# message, section 4). Then write two clients with paho: `lab-sensor` publishes `b"online"`
# on `lab/status` at QoS 1 so that clients connecting **later** get it; then `lab-dashboard`
# connects, subscribes to `lab/status` at QoS 1 in its `on_connect`, and collects what arrives
# in the `Inbox` called `dashboard`. Wait for the message, disconnect both. (The self-check
# also looks at the clients this cell made: two of them, each disconnected at the end.)

# %% tags=["exercise"]
from kit.checks import check_retained

cleaner = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="exercise-5-2-cleaner")
cleaner.connect(broker.host, broker.port)
cleaner.loop_start()
cleaner.publish("lab/status", b"", qos=1, retain=True).wait_for_publish(5)  # start clean
cleaner.disconnect()
cleaner.loop_stop()
dashboard = Inbox()

# your code here

check_retained(dashboard.messages, "lab/status", b"online", qos=1, clients=("lab-sensor", "lab-dashboard"),
               exercise="5.2")

# %% [markdown]
# **Solution:** run the collapsed cell below once to load it, once more to run it.

# %% tags=["solution"] jupyter={"source_hidden": true}
# %load solutions/ex_5.2.py

# %% [markdown]
# > **Key points**
# > - `start_broker()` gives an MQTT 3.1.1 broker, `start_broker(protocol=5)` a v5 one; `MQTT_BROKER_URL` points to your own.
# > - paho 2.x: `mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, ...)`; subscribe in `on_connect`.
# > - QoS 0 / 1 / 2: at most / at least / exactly once; the subscriber gets the lower of publish and subscription QoS.
# > - Retained messages reach later subscribers, with their old content (and, later, their old trace context).
# > - MQTT v5 user properties travel untouched, keys may repeat, and on 3.1.1 they are dropped silently.
