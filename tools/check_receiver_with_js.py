"""The kit's receiver against clients nobody here wrote: the OpenTelemetry JS SDK's exporters
(OTLP http/json, http/protobuf, gRPC, and Zipkin), by 127.0.0.1 and by localhost, first on
their own, then while slow clients hold the receiver's connections (120 HTTP clients
dripping headers, trickling bodies or sending nothing; 60 gRPC calls that never send their
message; all reconnecting as soon as they are cut).

    python tools/check_receiver_with_js.py                 # installs the npm packages in a temp folder
    python tools/check_receiver_with_js.py --node-modules /path/with/node_modules

It needs node and the npm registry (or the packages already installed); nothing of it is
committed. It prints, for each exporter, whether the spans arrived, what the receiver noted
of the request (its Content-Type) and how long the export took, and exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

PACKAGES = ["@opentelemetry/api", "@opentelemetry/sdk-trace-base", "@opentelemetry/resources",
            "@opentelemetry/exporter-trace-otlp-http", "@opentelemetry/exporter-trace-otlp-proto",
            "@opentelemetry/exporter-trace-otlp-grpc", "@opentelemetry/exporter-zipkin"]

SCRIPT = r"""
const [http, grpcPort, tag] = process.argv.slice(2);
const { BasicTracerProvider, SimpleSpanProcessor } = require("@opentelemetry/sdk-trace-base");
const { resourceFromAttributes } = require("@opentelemetry/resources");
const exporters = {
  "http/json": (h) => new (require("@opentelemetry/exporter-trace-otlp-http").OTLPTraceExporter)({url: `http://${h}:${http}/v1/traces`}),
  "http/protobuf": (h) => new (require("@opentelemetry/exporter-trace-otlp-proto").OTLPTraceExporter)({url: `http://${h}:${http}/v1/traces`}),
  "grpc": (h) => new (require("@opentelemetry/exporter-trace-otlp-grpc").OTLPTraceExporter)({url: `http://${h}:${grpcPort}`}),
  "zipkin": (h) => new (require("@opentelemetry/exporter-zipkin").ZipkinExporter)({url: `http://${h}:${http}/api/v2/spans`}),
};
(async () => {
  const results = [];
  for (const host of ["127.0.0.1", "localhost"]) {
    for (const [kind, make] of Object.entries(exporters)) {
      const service = `js ${kind} ${host} ${tag}`;
      const errors = [];
      const exporter = make(host);
      const inner = exporter.export.bind(exporter);
      exporter.export = (spans, done) => inner(spans, (r) => { if (r.code !== 0) errors.push(String(r.error)); done(r); });
      const provider = new BasicTracerProvider({resource: resourceFromAttributes({"service.name": service}),
                                                spanProcessors: [new SimpleSpanProcessor(exporter)]});
      const tracer = provider.getTracer("js-check");
      const t0 = Date.now();
      for (let i = 0; i < 3; i++) tracer.startSpan(`span ${i}`, {attributes: {i}}).end();
      try { await provider.forceFlush(); } catch (e) { errors.push(String(e && e.message || e)); }
      const ms = Date.now() - t0;
      try { await provider.shutdown(); } catch (e) { errors.push(String(e && e.message || e)); }
      results.push({kind, host, service, ms, errors});
    }
  }
  console.log(JSON.stringify(results));
})();
"""


def run_js(node_modules: Path, receiver, tag: str) -> list:
    with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as f:
        f.write(SCRIPT)
    out = subprocess.run(["node", f.name, str(receiver.http_port), str(receiver.grpc_port), tag],
                         capture_output=True, text=True, timeout=300, env={"NODE_PATH": str(node_modules),
                                                                           "PATH": "/usr/bin:/bin:/usr/local/bin"})
    if out.returncode:
        raise SystemExit(f"node failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(receiver, results, title) -> bool:
    spans = receiver.spans_df()
    notes = receiver.requests_df()
    ok = True
    print(f"\n{title}")
    for r in results:
        got = int((spans.service == r["service"]).sum())
        mine = notes[notes.names.apply(lambda names, r=r: any(str(n).startswith("span ") for n in names))]
        good = got == 3 and not r["errors"]
        ok &= good
        print(f"  {'✓' if good else '✗'} {r['kind']:<14} via {r['host']:<10} {got}/3 spans, {r['ms']:5d} ms"
              + (f"  errors: {r['errors'][:1]}" if r["errors"] else ""))
    kinds = sorted(set(notes[notes.transport == "http"].note.str.split(";").str[0]))
    print(f"  the receiver noted these HTTP requests: {kinds}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node-modules", type=Path, help="a folder with the npm packages installed")
    args = parser.parse_args()
    if not shutil.which("node"):
        print("node is not installed: nothing to check")
        return 0
    folder = args.node_modules
    if folder is None:
        prefix = Path(tempfile.mkdtemp(prefix="kit-js-"))
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "--prefix", str(prefix), *PACKAGES],
                       check=True, timeout=600)
        folder = prefix / "node_modules"
    versions = {p: json.loads((folder / p / "package.json").read_text())["version"] for p in PACKAGES[1:]}
    print("JS packages:", ", ".join(f"{p.split('/')[1]} {v}" for p, v in versions.items()))

    from receiver_helpers import GrpcStallers, SlowClients

    from kit.receiver import start_receiver
    receiver = start_receiver(grpc_port=0, http_port=0)
    try:
        ok = report(receiver, run_js(folder, receiver, "alone"), "1. the JS exporters on their own")
        with SlowClients(receiver.http_port, drippers=40, slow_bodies=40, idlers=40, interval_s=5.0) as slow, \
                GrpcStallers(receiver.grpc_port, 60) as stallers:
            slow.all_connected()
            stallers.all_started()
            t0 = time.monotonic()
            results = run_js(folder, receiver, "under slow clients")
            ok &= report(receiver, results, f"2. the same while 120 slow HTTP clients and 60 stalled gRPC calls "
                                            f"hold the receiver ({time.monotonic() - t0:.1f} s in all)")
        print(f"  slow HTTP clients' connections: {slow.connections}; stalled gRPC calls: {stallers.calls}, "
              f"ended {stallers.codes}")
    finally:
        receiver.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
