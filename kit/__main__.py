"""Command line: ``python -m kit doctor``, ``python -m kit broker --protocol 5 --port 1883``,
``python -m kit receiver`` (OTLP on 4317/4318, its traces on a page at http://127.0.0.1:16686).

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
    d = sub.add_parser("doctor", help="check that this machine is ready for the lessons, and say what to fix")
    d.set_defaults(run=_doctor)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
