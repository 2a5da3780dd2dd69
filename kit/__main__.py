"""Command line: ``python -m kit doctor``, ``python -m kit broker --protocol 5 --port 1883``,
``python -m kit receiver`` (OTLP on 4317/4318, its traces on a page at http://127.0.0.1:16686),
``python -m kit classroom --host lan`` (a workshop's class board: INSTRUCTOR.md).

Runs one of the kit's tools in the foreground, prints one line when it is
ready, and stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import sys

from kit.service_runtime import stop_on_signals


def _broker(args) -> int:
    from kit.broker import BrokerError, start_broker
    log = logging.getLogger("kit.mqtt_broker")  # the v5 broker's log (a queue overflowing...) on stderr
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    stop = stop_on_signals()  # before the "ready" line, so a signal right after it is not lost
    try:
        broker = start_broker(args.protocol, port=args.port, host=args.host)
    except BrokerError as exc:
        print(f"kit broker: {exc}", file=sys.stderr)
        return 1
    print(f"MQTT {broker.protocol} broker ready on {broker.url} ({broker.implementation}); "
          f"Ctrl-C to stop", flush=True)
    while not stop.wait(0.5):
        pass
    broker.stop()
    print("broker stopped", flush=True)
    return 0


def _receiver(args) -> int:
    from kit.receiver import start_receiver
    stop = stop_on_signals()
    try:
        receiver = start_receiver(args.grpc_port, args.http_port, args.host, args.allow_host)
    except OSError as exc:
        print(f"kit receiver: {exc}", file=sys.stderr)
        return 1
    page = ""
    if args.page_port >= 0:
        try:
            page = f"; traces on {receiver.serve_page(args.page_port).url}"
        except OSError as exc:
            receiver.stop()
            print(f"kit receiver: cannot serve the page on {args.host}:{args.page_port} ({exc.strerror or exc}): "
                  f"is Jaeger running? Use --page-port 0 for a free port, or -1 for no page", file=sys.stderr)
            return 1
    print(f"OTLP receiver ready: gRPC {receiver.grpc_endpoint}, HTTP {receiver.http_endpoint}{page}; "
          f"Ctrl-C to stop", flush=True)
    while not stop.wait(0.5):
        pass
    receiver.stop()
    r = receiver.received
    print(f"receiver stopped: {len(r.spans)} spans, {len(r.metrics)} metric points, {len(r.logs)} log records",
          flush=True)
    return 0


def _lan_address() -> str:
    """This machine's address on the network its default route leaves by (no packet is sent)."""
    import socket
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def _lessons(text: str):
    """"0,1,4" or "0-5" → a set of lesson numbers (None: every lesson someone checks in)."""
    if not text:
        return None
    out = set()
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def _classroom(args) -> int:
    import datetime

    from kit.classroom.record import Invitation
    from kit.classroom.room import Room
    host = _lan_address() if args.host == "lan" else args.host
    stop = stop_on_signals()
    try:
        room = Room(host, args.port, args.room, args.stuck_minutes, _lessons(args.lessons), args.grpc_port,
                    allowed_hosts=args.allow_host)
    except (OSError, ValueError) as exc:
        print(f"kit classroom: {getattr(exc, 'strerror', None) or exc} (on {host}:{args.port}; "
              f"--port 0 takes a free port)", file=sys.stderr)
        return 1
    env = Invitation(room.endpoint, room.code, "yourname").environment()
    lines = [f"Class board ready for room {room.code}; Ctrl-C to stop (the CSV is written then)",
             f"  The board, for you (open it here; it does not show the link): {room.board_url}",
             "  Learners type, in a notebook:",
             "      import kit.classroom",
             f'      kit.classroom.join("{room.endpoint}", room="{room.code}", name="your name")',
             "  or, for every notebook, before starting Jupyter:",
             f"      set KIT_CLASSROOM={env}   (then: jupyter lab)" if sys.platform == "win32" else
             f"      KIT_CLASSROOM={env} jupyter lab"]
    port = room.endpoint.rsplit(":", 1)[1]
    lines += [f"  By name, http://{name}:{port} works in place of {room.endpoint} (--allow-host)"
              for name in args.allow_host]
    if room.receiver.grpc_port is not None:
        lines.append(f"  OTLP/gRPC too, on {room.receiver.grpc_endpoint} (header x-kit-room={room.code})")
    if host in ("127.0.0.1", "localhost", "::1"):
        lines.append(f"  Only this machine can join ({host}): for a room, --host lan, or the address of the "
                     f"room's network")
    print("\n".join(lines), flush=True)
    while not stop.wait(0.5):
        pass
    room.close()
    state = room.progress.state()
    path = args.csv if args.csv is not None else \
        f"classroom-{room.code}-{datetime.datetime.now().strftime('%Y%m%d-%H%M')}.csv"
    if path:
        with open(path, "w", encoding="utf-8", newline="") as out:
            out.write(room.progress.csv())
    refused = sum(state["refused"].values()) + room.refused_total()
    n = len(state["learners"])
    print(f"board stopped: {n} learner{'s' * (n != 1)}, {state['records']} checks, {refused} refused"
          + (f"; every check in {path}" if path else ""), flush=True)
    return 0


def _doctor(args) -> int:
    from kit.doctor import main as doctor
    return doctor()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("broker", help="run an embedded MQTT broker in the foreground")
    b.add_argument("--protocol", default="3.1.1", choices=["3.1.1", "5"],
                   help="3.1.1 (amqtt) or 5 (the kit's broker, which also accepts 3.1.1 clients)")
    b.add_argument("--port", type=int, default=1883, help="1883 by default; 0: a free one (the ready line says which)")
    b.add_argument("--host", default="127.0.0.1")
    b.set_defaults(run=_broker)
    r = sub.add_parser("receiver", help="run an embedded OTLP receiver (gRPC and HTTP) in the foreground")
    r.add_argument("--grpc-port", type=int, default=4317)
    r.add_argument("--http-port", type=int, default=4318)
    r.add_argument("--page-port", type=int, default=16686,
                   help="the page showing the traces (Jaeger's UI port; 0: a free one, -1: no page)")
    r.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (0.0.0.0: every address of this machine)")
    r.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer HTTP requests to this name (its Host header), e.g. a container's name; "
                        "loopback names and --host are always answered (repeat for more names)")
    r.set_defaults(run=_receiver)
    c = sub.add_parser("classroom", help="run a workshop's class board: the room's OTLP endpoint and its page")
    c.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on: 127.0.0.1 (this machine only), the room's LAN address, "
                        "or lan (found for you)")
    c.add_argument("--port", type=int, default=4318, help="OTLP/HTTP and the board (0: a free one)")
    c.add_argument("--grpc-port", type=int, default=None, help="OTLP/gRPC too, on this port (default: none)")
    c.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a name the room reaches this machine by, e.g. instructor.local: its learners' records "
                        "and your board are answered under it (the board answers only its address and loopback "
                        "otherwise; repeat for more names)")
    c.add_argument("--room", default=None, help="the room code (default: 6 letters and digits drawn now)")
    c.add_argument("--stuck-minutes", type=float, default=5.0, help="failing this long shows as stuck")
    c.add_argument("--lessons", default="", help="the lessons whose exercises the board shows, e.g. 0-4 or 0,1,4 "
                                                 "(default: those someone has checked in)")
    c.add_argument("--csv", default=None, help="where every check is written at the end (default: "
                                               "classroom-CODE-DATE.csv here; empty: nowhere)")
    c.set_defaults(run=_classroom)
    d = sub.add_parser("doctor", help="check that this machine is ready for the lessons, and say what to fix")
    d.set_defaults(run=_doctor)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
