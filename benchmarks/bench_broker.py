"""The kit's MQTT broker beside Mosquitto and amqtt, as ratios measured in one run
(this machine is shared and noisy: never read the messages per second on their own).

1. Throughput: a paho publisher and a paho subscriber, both in this process, send N
   small messages through each broker at QoS 0 and at QoS 1, the brokers taken in
   turn, round after round (medians). The brokers: the kit's in a thread of this
   process (as the lessons run it), the kit's in its own process
   (``python -m kit broker --protocol 5``), amqtt in its own process (3.1.1 clients:
   it speaks nothing else) and Mosquitto. Ratios to Mosquitto; goal: the kit's
   broker >= 0.8. At most WINDOW messages are on their way at any time (the publisher
   waits for the subscriber beyond that): a broker drops what overflows a slow
   subscriber's queue (1,000 messages in Mosquitto and in the kit's), and a flood would
   measure that, not the throughput. Messages lost are counted all the same: goal 0.
2. Memory, the resident size (RSS) of the kit's broker process and of Mosquitto's:
   at rest, after a publisher floods a subscriber that never reads, and after
   10,000 connect/disconnect cycles.
3. Publish cost with many subscriptions held: N messages between a pair (as in 1, at
   QoS 0) through a broker where another client holds 55,000 subscriptions (50,000
   distinct topics and 5,000 wildcard filters, none matching the pair's topic), as a
   ratio to the same through a broker of the same kind holding none, the two taken in
   turn, round after round (medians). Goal: the kit's broker within 3x (Mosquitto keeps
   its subscriptions in a tree: about 1). amqtt tests every filter on every publish, so
   it gets a tenth of them, or a round would take a minute. And each loaded broker
   process's memory (RSS) before and while it holds them.

    python benchmarks/bench_broker.py [messages] [rounds]
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt  # noqa: E402

from kit.broker import Broker, start_broker  # noqa: E402
from kit.mqtt_broker.codec import varint  # noqa: E402
from kit.ports import free_port, is_listening  # noqa: E402

MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
PAYLOAD = b'{"t": 21.5, "sensor": "bench-1"}'
WINDOW = 500  # messages published and not yet received, at most


class BrokerProcess:
    """A broker in a process of its own, on a free port: the kit's, amqtt or Mosquitto."""

    def __init__(self, kind: str, workdir: Path):
        self.port = free_port()
        if kind == "mosquitto":
            conf = workdir / f"mosquitto-{self.port}.conf"
            conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n")
            command = [MOSQUITTO, "-c", str(conf)]
        else:
            protocol = "5" if kind == "kit" else "3.1.1"
            command = [sys.executable, "-m", "kit", "broker", "--protocol", protocol, "--port", str(self.port)]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     cwd=Path(__file__).resolve().parent.parent)
        deadline = time.monotonic() + 15
        while not is_listening("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} broker did not start")
            time.sleep(0.05)
        self.broker = Broker("127.0.0.1", self.port, "5" if kind != "amqtt" else "3.1.1", kind, embedded=False)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


# ------------------------------------------------------------ 1. throughput

def throughput(broker: Broker, qos: int, n: int) -> tuple[float, int]:
    """Messages per second from the first publish to the last message received, and how many were lost."""
    protocol = mqtt.MQTTv311 if broker.protocol == "3.1.1" else mqtt.MQTTv5
    done, subscribed, count = threading.Event(), threading.Event(), [0]
    window = threading.Semaphore(WINDOW)

    def on_message(client, userdata, msg):
        count[0] += 1
        window.release()
        if count[0] == n:
            done.set()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=protocol)
    sub.on_message = on_message
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("bench/#", qos=qos)
    sub.on_subscribe = lambda *a: subscribed.set()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=protocol)
    pub.max_queued_messages_set(0)
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    subscribed.wait(10)
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    start = time.perf_counter()
    for _ in range(n):
        if not window.acquire(timeout=10):
            break  # messages were lost: the rest would wait for ever
        pub.publish("bench/t", PAYLOAD, qos=qos)
    done.wait(10)
    elapsed = time.perf_counter() - start
    pub.disconnect(), sub.disconnect()
    pub.loop_stop(), sub.loop_stop()
    return n / elapsed, n - count[0]


def compare_throughput(brokers: dict[str, Broker], n: int, rounds: int) -> dict:
    ratios = {}
    for qos in (0, 1):
        rates = {name: [] for name in brokers}
        lost = dict.fromkeys(brokers, 0)
        for _ in range(rounds):
            for name, broker in brokers.items():  # interleaved: drift on a shared machine hits all alike
                rate, missing = throughput(broker, qos, n)
                rates[name].append(rate)
                lost[name] += missing
        base = statistics.median(rates["Mosquitto"])
        print(f"1. throughput at QoS {qos}, {n} messages x {rounds} rounds (median), ratio to Mosquitto:")
        for name in brokers:
            r = statistics.median(rates[name])
            ratios[(name, qos)] = r / base
            print(f"   {name:<28} {r:8.0f} msg/s   ratio {r / base:5.2f}   lost {lost[name]}")
    return ratios


# ------------------------------------------------------------ 2. memory

def raw_connect(port: int, client_id: bytes, clean: bool = True) -> socket.socket:
    """A v5 CONNECT on a bare socket, CONNACK read."""
    body = b"\x00\x04MQTT\x05" + bytes([0x02 if clean else 0]) + b"\x00\x3c\x00" \
        + len(client_id).to_bytes(2, "big") + client_id
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(bytes([0x10, len(body)]) + body)
    sock.recv(64)
    return sock


def slow_subscriber_flood(port: int, megabytes: int) -> None:
    """A subscriber that never reads; a publisher sends ``megabytes`` of QoS 0 messages at it."""
    sub = raw_connect(port, b"bench-slow-subscriber")
    topic = b"bench/flood"
    subscribe = b"\x00\x01\x00" + len(topic).to_bytes(2, "big") + topic + b"\x00"
    sub.sendall(bytes([0x82, len(subscribe)]) + subscribe)
    sub.recv(64)
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    chunk = b"x" * 65536
    for _ in range(megabytes * 16):
        pub.publish("bench/flood", chunk, qos=0)
    pub.publish("bench/flood-end", b"", qos=1).wait_for_publish(60)  # the broker has read it all
    pub.disconnect(), pub.loop_stop()
    sub.close()


def connect_cycles(port: int, n: int) -> None:
    for i in range(n):
        sock = raw_connect(port, b"bench-cycle-%d" % (i % 100))
        sock.sendall(b"\xe0\x00")
        sock.close()


def compare_memory(workdir: Path, flood_mb: int, cycles: int, kinds=None) -> None:
    print(f"2. broker memory (RSS, MB), its own process: at rest, after {flood_mb} MB of QoS 0 published at a "
          f"subscriber that never reads, after {cycles} connects")
    for kind in kinds or ["kit"] + (["mosquitto"] if MOSQUITTO else []):
        process = BrokerProcess(kind, workdir)
        try:
            rest = process.rss_mb()
            slow_subscriber_flood(process.port, flood_mb)
            flooded = process.rss_mb()
            connect_cycles(process.port, cycles)
            cycled = process.rss_mb()
        finally:
            process.stop()
        print(f"   {kind:<10} at rest {rest:6.1f}   after the flood {flooded:6.1f}   after the connects {cycled:6.1f}")


# ------------------------------------------------------------ 3. publish cost with many subscriptions held

def subscription_load(topics: int = 50_000, wildcards: int = 5_000) -> list[str]:
    """Filters none of which matches the pair's topic (bench/t): distinct topics, then wildcard filters."""
    return ([f"load/sensor-{i}/temperature" for i in range(topics)]
            + [f"load/+/zone-{i}" for i in range(wildcards * 2 // 5)]
            + [f"+/room-{i}/#" for i in range(wildcards * 2 // 5)]
            + [f"load/floor-{i}/#" for i in range(wildcards - wildcards * 4 // 5)])


def hold_subscriptions(broker: Broker, filters: list[str], per_packet: int = 1000) -> socket.socket:
    """A client (a bare socket, clean session) subscribed to every filter at QoS 0, each SUBACK read."""
    v5 = broker.protocol != "3.1.1"
    sock = socket.create_connection((broker.host, broker.port), timeout=600)
    reader = sock.makefile("rb")

    def send(first: int, body: bytes) -> None:
        sock.sendall(bytes([first]) + varint(len(body)) + body)

    def read() -> int:
        """The next packet's type (its body is skipped)."""
        first, length, shift = reader.read(1)[0], 0, 0
        while True:
            byte = reader.read(1)[0]
            length |= (byte & 127) << shift
            shift += 7
            if not byte & 128:
                reader.read(length)
                return first >> 4

    send(0x10, b"\x00\x04MQTT" + bytes([5 if v5 else 4, 0x02]) + b"\x02\x58" + (b"\x00" if v5 else b"")
         + b"\x00\x0bbench-holds")
    assert read() == 2, "no CONNACK"
    for packet_id, start in enumerate(range(0, len(filters), per_packet), start=1):
        chunk = filters[start:start + per_packet]
        send(0x82, packet_id.to_bytes(2, "big") + (b"\x00" if v5 else b"")
             + b"".join(len(f).to_bytes(2, "big") + f.encode() + b"\x00" for f in chunk))
        while read() != 9:  # its SUBACK
            pass
    return sock


def compare_subscriptions(workdir: Path, n: int = 500, rounds: int = 3, kinds=None, held: int = 55_000) -> dict:
    """The ratio for each kind of broker (``held`` subscriptions; a tenth of them on amqtt's)."""
    kinds = kinds or (["mosquitto"] if MOSQUITTO else []) + ["kit", "amqtt"]
    print(f"3. publish cost with subscriptions held: {n} messages between a pair (QoS 0), with another client "
          f"holding subscriptions that do not match, as a ratio to the same with none ({rounds} rounds, medians)")
    ratios = {}
    for kind in kinds:
        count = held if kind != "amqtt" else held // 10
        load = subscription_load(count * 10 // 11, count // 11)
        empty, loaded = BrokerProcess(kind, workdir), BrokerProcess(kind, workdir)
        try:
            at_rest = loaded.rss_mb()
            started = time.perf_counter()
            holder = hold_subscriptions(loaded.broker, load)
            subscribing_s = time.perf_counter() - started
            holding = loaded.rss_mb()
            times = {"none": [], "held": []}
            for _ in range(rounds):
                for name, process in (("none", empty), ("held", loaded)):
                    rate, lost = throughput(process.broker, 0, n)
                    times[name].append(n / rate if not lost else float("nan"))
            holder.close()
        finally:
            empty.stop(), loaded.stop()
        none_s, held_s = statistics.median(times["none"]), statistics.median(times["held"])
        ratios[kind] = held_s / none_s
        print(f"   {kind:<10} {len(load):>6} held: {n} messages {held_s * 1000:7.0f} ms, none held "
              f"{none_s * 1000:5.0f} ms   ratio {ratios[kind]:6.2f}   (subscribing took {subscribing_s:5.1f} s; "
              f"RSS {at_rest:.0f} -> {holding:.0f} MB)")
    return ratios


def main(n: int = 5000, rounds: int = 3, flood_mb: int = 100, cycles: int = 10_000) -> dict:
    import tempfile
    workdir = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    if not MOSQUITTO:
        print("Mosquitto is not installed (apt-get install mosquitto): no baseline, nothing to compare")
        return {}
    processes = {name: BrokerProcess(kind, workdir) for name, kind in
                 [("Mosquitto", "mosquitto"), ("kit, its own process", "kit"), ("amqtt (3.1.1)", "amqtt")]}
    brokers = {"Mosquitto": processes["Mosquitto"].broker, "kit, in a thread": start_broker(protocol=5),
               **{name: p.broker for name, p in processes.items() if name != "Mosquitto"}}
    try:
        ratios = compare_throughput(brokers, n, rounds)
    finally:
        for process in processes.values():
            process.stop()
    compare_memory(workdir, flood_mb, cycles)
    compare_subscriptions(workdir, rounds=rounds)
    return ratios


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
