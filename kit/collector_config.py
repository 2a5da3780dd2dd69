"""Check an OpenTelemetry Collector configuration, and draw its pipelines.

    >>> from kit.collector_config import check_config, pipeline_diagram
    >>> report = check_config(open("config/collector/otel-collector.yaml").read())
    >>> report            # ✓ or one line per problem, with the fix
    >>> report.ok         # False if the collector would refuse it, apps could not reach it, or it leaks a secret
    >>> pipeline_diagram(open("config/collector/otel-collector.yaml").read())

A collector config has five sections: ``receivers``, ``processors``,
``exporters``, ``extensions`` define components (``type`` or ``type/name``);
``service`` switches them on: ``service.extensions`` and
``service.pipelines.<signal>`` (traces, metrics, logs) list which receivers,
processors and exporters each pipeline uses. A component that is defined but
in no pipeline does nothing; a pipeline that names an undefined one stops the
collector at start.

It judges the config by the collector's own rules (:mod:`kit.collector_components`
holds them, read from the collector's sources), so a mistake nobody listed is caught:

* the file as the collector reads it: YAML 1.2 (``yes``, ``no``, ``on``, ``off`` are
  text, not bools), no key written twice, no unknown section or setting (a misspelt or
  misplaced key: "has invalid keys"), each value of the type its setting takes (a bool,
  a duration such as ``1s``, a whole number, text);
* component ids (``type/name``) and the signals each component takes (a ``prometheus``
  exporter in a traces pipeline), pipelines naming components no section defines, a
  pipeline without receivers or exporters, a processor listed twice in one pipeline;
* each component's own rules, its defaults merged first: ``memory_limiter`` needs
  ``check_interval`` > 0 and a limit, ``batch``'s ``send_batch_max_size`` is at least
  ``send_batch_size``, the ``otlp`` exporter needs ``host:port``, ``otlphttp`` and
  ``zipkin`` a URL, ``debug``'s verbosity is basic, normal or detailed …;
* every server the collector starts (receivers, extensions, the ``prometheus``
  exporter, its own metrics on 8888 by default) on a port of its own, as ``host:port``;
  OTLP's ports by protocol: 4317 is gRPC, 4318 HTTP, for receivers and exporters alike;
* what changed since 2023: the ``jaeger`` exporter (v0.85: use ``otlp`` to Jaeger v2),
  ``logging`` (v0.111: ``debug``), ``loglevel``, the Azure Monitor
  ``instrumentation_key`` (use ``connection_string``), the Prometheus exporter's
  ``resource_to_telemetry_conversion``; receivers that listen on localhost (the default
  since v0.104), which other containers cannot reach (a warning);
* defined components no pipeline uses (a warning), and secrets written inline instead
  of ``${env:NAME}``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import yaml

from kit import collector_components as parts
from kit.views.common import text_on
from kit.views.svg import fit

SECTIONS = ("receivers", "processors", "exporters", "extensions", "connectors")
SIGNALS = ("traces", "metrics", "logs", "profiles")
_SECRET_KEY = re.compile(r"(key|token|password|secret|connection_string|authorization)$", re.I)
_REMOVED = {
    ("exporters", "jaeger"): "the jaeger exporter was removed in v0.85: Jaeger v2 takes OTLP, use an "
                             "otlp exporter (endpoint: jaeger:4317, tls.insecure: true)",
    ("exporters", "jaeger_thrift"): "removed with the jaeger exporter (v0.85): send OTLP to Jaeger v2",
    ("exporters", "logging"): "the logging exporter was removed in v0.111: use debug (verbosity: basic|normal|detailed)",
}
_WILDCARD = ("", "0.0.0.0", "::", "[::]", "[::0]")
_LOCAL = ("localhost", "127.0.0.1", "::1", "[::1]")


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" or "warning"
    where: str
    message: str

    def __str__(self):
        return f"{'✗' if self.severity == 'error' else '!'} {self.where}: {self.message}"


class Report(list):
    """Findings; ``ok`` is True when there is no error (warnings allowed)."""

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self)

    def errors(self):
        return [f for f in self if f.severity == "error"]

    def error(self, where, message):
        self.append(Finding("error", where, message))

    def warning(self, where, message):
        self.append(Finding("warning", where, message))

    def __repr__(self):
        if not self:
            return "✓ no problems found"
        return "\n".join(str(f) for f in self)


class _Yaml12(yaml.SafeLoader):
    """YAML as the collector reads it (YAML 1.2, go-yaml v3): only true/false are bools,
    ``yes``, ``on``, ``2024-01-01`` and ``1:20`` stay text; and, as the collector does,
    a key written twice in one mapping is refused (PyYAML alone keeps the last one)."""


_Yaml12.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag.rsplit(":", 1)[-1] not in ("bool", "int", "float", "null",
                                                                                 "timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Yaml12.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Yaml12.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Yaml12.add_implicit_resolver("tag:yaml.org,2002:int",
                              re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+)$"),
                              list("-+0123456789"))
_Yaml12.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _int12(loader, node):
    text = loader.construct_scalar(node).replace("_", "")
    return int(text, 8 if text.startswith("0o") else 16 if text.startswith("0x") else 10) if text[:2] in ("0o", "0x") \
        else int(text)


def _unique_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is written twice",
                                                    key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_Yaml12.add_constructor("tag:yaml.org,2002:int", _int12)
_Yaml12.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load(text: str) -> dict:
    """The config as the collector reads it (YAML 1.2; a key written twice is an error)."""
    config = yaml.load(text, Loader=_Yaml12) or {}
    if not isinstance(config, dict):
        raise ValueError("a collector config is a YAML mapping")
    return config


def _type(component_id: str) -> str:
    return str(component_id).split("/", 1)[0]


def _pipelines(config) -> dict:
    return ((config.get("service") or {}).get("pipelines") or {})


def check_config(text: str) -> Report:
    """Check a collector config (YAML text); see the module's docstring."""
    report = Report()
    try:
        config = load(text)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        report.error("yaml", f"does not parse: {exc}")
        return report
    shape = _shape_error(config)
    if shape:
        report.error(*shape)
        return report
    _check_keys(report, config)
    defined = {s: set((config.get(s) or {}).keys()) for s in SECTIONS}
    used = {s: set() for s in SECTIONS}
    service = config.get("service") or {}
    pipelines = _pipelines(config)
    if not pipelines:
        report.error("service.pipelines", "no pipeline: nothing is received or exported")
    for name, pipeline in pipelines.items():
        _check_pipeline(report, config, name, pipeline or {}, defined, used)
    for extension in service.get("extensions") or []:
        if extension in defined["extensions"]:
            used["extensions"].add(extension)
        else:
            report.error("service.extensions", f"names {extension!r}, which extensions: does not define")
    for section in SECTIONS:
        for component in sorted(defined[section] - used[section], key=str):
            report.warning(f"{section}.{component}", "defined but used by no pipeline"
                           + (" (list it in service.extensions)" if section == "extensions" else ""))
    settings = {}
    for section in SECTIONS:
        for component, given in (config.get(section) or {}).items():
            settings[(section, component)] = _check_component(report, section, component, given or {})
    _check_ports(report, config, used, settings)
    return report


def _shape_error(config) -> tuple[str, str] | None:
    """A section, component or pipeline that is not a mapping: the collector refuses to start."""
    for section in SECTIONS + ("service",):
        value = config.get(section)
        if value is not None and not isinstance(value, dict):
            return section, f"must be a mapping (name: settings), not {type(value).__name__}"
    for section in SECTIONS:
        for component, settings in (config.get(section) or {}).items():
            if settings is not None and not isinstance(settings, dict):
                return f"{section}.{component}", f"its settings must be a mapping (key: value), not {settings!r}"
    service = config.get("service") or {}
    pipelines = service.get("pipelines")
    if pipelines is not None and not isinstance(pipelines, dict):
        return "service.pipelines", "must map each pipeline name (traces, metrics, logs) to its components"
    for name, pipeline in (pipelines or {}).items():
        if pipeline is not None and not isinstance(pipeline, dict):
            return f"service.pipelines.{name}", "must list receivers, processors and exporters as keys"
        for part in ("receivers", "processors", "exporters"):
            listed = (pipeline or {}).get(part)
            if listed is not None and not isinstance(listed, list):
                return f"service.pipelines.{name}.{part}", f"must be a list, e.g. [{listed}]"
            odd = next((c for c in listed or [] if not isinstance(c, str)), None)
            if listed and odd is not None or (listed and None in listed):
                return f"service.pipelines.{name}.{part}", f"lists {odd!r}: name each component, e.g. [otlp, batch]"
    extensions = service.get("extensions")
    if extensions is not None and not isinstance(extensions, list):
        return "service.extensions", f"must be a list, e.g. [{extensions}]"
    odd = next((e for e in extensions or [] if not isinstance(e, str)), None)
    if extensions and odd is not None or (extensions and None in extensions):
        return "service.extensions", f"lists {odd!r}: name each extension, e.g. [health_check]"
    telemetry = service.get("telemetry")
    if telemetry is not None and not isinstance(telemetry, dict):
        return "service.telemetry", f"must be a mapping (logs:, metrics:), not {telemetry!r}"
    if isinstance(telemetry, dict) and telemetry.get("metrics") is not None \
            and not isinstance(telemetry.get("metrics"), dict):
        return "service.telemetry.metrics", "must be a mapping (level:, readers:)"
    return None


def _check_keys(report, config):
    """Sections, service keys and pipeline keys the collector knows; component ids it accepts."""
    top = parts.Fields({s: parts.ANY for s in SECTIONS + ("service",)})
    service = parts.Fields({"extensions": parts.ANY, "pipelines": parts.ANY, "telemetry": parts.ANY})
    pipeline = parts.Fields({"receivers": parts.ANY, "processors": parts.ANY, "exporters": parts.ANY})
    problems = []
    parts.judge(config, top, "", problems)
    parts.judge(config.get("service"), service, "service", problems)
    for name, given in _pipelines(config).items():
        parts.judge(given, pipeline, f"service.pipelines.{name}", problems)
    for where, message in problems:
        report.error(where, message)
    for section in SECTIONS:
        for component in config.get(section) or {}:
            problem = parts.id_problem(component)
            if problem:
                report.error(f"{section}.{component}", problem + " (the collector refuses to start)")


def _check_pipeline(report, config, name, pipeline, defined, used):
    where = f"service.pipelines.{name}"
    signal = _type(name)
    if signal not in SIGNALS:
        report.error(where, f"unknown signal {signal!r}: use traces, metrics or logs (or traces/name …)")
    elif parts.id_problem(name):
        report.error(where, parts.id_problem(name))
    for section in ("receivers", "processors", "exporters"):
        listed = pipeline.get(section) or []
        for component in listed:
            if component in defined[section]:
                used[section].add(component)
                kind = parts.component(section, _type(component))
                if kind is not None and kind.signals and signal in SIGNALS[:3] and signal not in kind.signals:
                    report.error(where, f"the {_type(component)} {section[:-1]} takes {_and(kind.signals)} only, "
                                        f"not {signal}: the collector refuses to start (\"telemetry type is not "
                                        f"supported\"). Take {component} out of this pipeline")
            elif component in defined["connectors"] and section in ("receivers", "exporters"):
                used["connectors"].add(component)
            else:
                report.error(where, f"names {section[:-1]} {component!r}, which {section}: does not define")
        repeated = sorted({str(c) for c in listed if listed.count(c) > 1})
        if repeated and section == "processors":
            report.error(where, f"lists processor {repeated[0]!r} twice: the collector refuses to start "
                                f"(\"references processor multiple times\")")
    for section in ("receivers", "exporters"):
        if not pipeline.get(section):
            report.error(where, f"has no {section}")


def _and(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _check_component(report, section, component, settings) -> dict:
    """Judge one component's settings; returns them as the collector would run them (defaults merged)."""
    where = f"{section}.{component}"
    kind = _type(component)
    if (section, kind) in _REMOVED:
        report.error(where, _REMOVED[(section, kind)])
    if section == "exporters" and kind == "azuremonitor" and "instrumentation_key" in settings:
        report.warning(where, "instrumentation_key is deprecated: use connection_string "
                              "(from ${env:APPLICATIONINSIGHTS_CONNECTION_STRING})")
    if section == "exporters" and kind == "prometheus" and "resource_to_telemetry_conversion" in settings:
        report.warning(where, "resource_to_telemetry_conversion is deprecated")
    if "loglevel" in settings:
        report.error(where, "loglevel was removed: use verbosity (basic, normal or detailed)")
        settings = {k: v for k, v in settings.items() if k != "loglevel"}
    for path, value in _leaves(settings):
        key = path.rsplit(".", 1)[-1]
        if _SECRET_KEY.search(key) and isinstance(value, str) and value and "${" not in value:
            report.error(f"{where}.{path}", "a secret written inline: read it from the environment, e.g. "
                                            "${env:MY_SECRET}")
    described = parts.component(section, kind)
    if described is None:
        _unknown_type(report, section, component)
        return settings
    if described.fields is None:
        return settings
    problems = []
    judged = parts.judge(settings, described.fields, "", problems)
    for path, message in problems:
        report.error(f"{where}.{path}" if path else where, message)
    for path, value in parts.bare_durations(settings, described.fields):
        report.error(f"{where}.{path}", f"{value} is a bare number, which the collector reads as {value} nanoseconds. "
                                        f"Write the unit: {value}s, {value}ms …")
    running = parts.merged(described.defaults, judged)
    if described.rules and not problems:
        for path, message in described.rules(running):
            report.error(f"{where}.{path}", message)
    if section == "receivers":
        for path, endpoint, _ in (described.listens(running) if described.listens else []):
            _warn_localhost(report, f"{where}.{path}" if path != "endpoint" else where, endpoint,
                            _get(settings, path.split(".")).get("endpoint") if path != "endpoint"
                            else settings.get("endpoint"))
    return running


def _get(settings, keys) -> dict:
    for key in keys:
        settings = (settings or {}).get(key) if isinstance(settings, dict) else None
    return settings if isinstance(settings, dict) else {}


def _unknown_type(report, section, component):
    kind = _type(component)
    if (section, kind) in _REMOVED:
        return
    elsewhere = [s for s in SECTIONS if s != section and parts.component(s, kind) is not None]
    if elsewhere and kind not in parts.known_types(section):
        report.error(f"{section}.{component}", f"{kind} is one of the {' and '.join(elsewhere)}, not of the "
                                               f"{section}: the collector refuses to start (unknown type)")
        return
    import difflib
    close = difflib.get_close_matches(kind, parts.known_types(section), n=1, cutoff=0.75)
    if close:
        report.error(f"{section}.{component}", f"the collector has no {section[:-1]} type {kind!r} and refuses to "
                                               f"start (unknown type). Did you mean {close[0]!r}?")


def _warn_localhost(report, where, endpoint, given):
    host = str(endpoint).rsplit(":", 1)[0]
    if host in _LOCAL:
        why = "by default (since v0.104)" if not given else ""
        report.warning(where, f"listens on {endpoint} {why}".strip() + ": other containers cannot reach it; in a "
                                                                      "container use endpoint: 0.0.0.0:"
                                                                      + str(endpoint).rsplit(":", 1)[-1])


def _servers(config, used, settings) -> list[tuple[str, str, str, str]]:
    """Every server the collector starts: (where, endpoint, transport, what it speaks), its own first."""
    out = []
    metrics = ((config.get("service") or {}).get("telemetry") or {}).get("metrics") or {}
    if isinstance(metrics, dict) and str(metrics.get("level", "normal")).lower() != "none":
        readers = metrics.get("readers") if isinstance(metrics.get("readers"), list) else None
        if readers:
            for i, reader in enumerate(readers):
                exporter = _get(reader, ["pull", "exporter"])
                if "prometheus" in exporter:
                    prom = exporter.get("prometheus") or {}
                    out.append((f"service.telemetry.metrics.readers[{i}]",
                                f"{prom.get('host', 'localhost')}:{prom.get('port', 8888)}", "tcp", ""))
        elif metrics.get("address"):
            out.append(("service.telemetry.metrics.address", str(metrics["address"]), "tcp", ""))
        else:
            out.append(("the collector's own metrics (service.telemetry, by default)", "localhost:8888", "tcp", ""))
    for section in ("receivers", "exporters", "extensions"):
        for component in (config.get(section) or {}):
            described = parts.component(section, _type(component))
            if component not in used[section] or described is None or described.listens is None:
                continue
            running = settings.get((section, component)) or {}
            for path, endpoint, transport in described.listens(running):
                where = f"{section}.{component}" + (f".{path}" if path != "endpoint" else "")
                speaks = path.rsplit(".", 1)[-1] if _type(component) == "otlp" and section == "receivers" else ""
                out.append((where, endpoint, transport, speaks))
    return out


def _check_ports(report, config, used, settings):
    taken = []
    for where, endpoint, transport, speaks in _servers(config, used, settings):
        if "${" in str(endpoint):
            continue
        if "://" in str(endpoint):
            report.error(where, f"endpoint {endpoint} has a scheme: a server listens on host:port, e.g. "
                                f"{str(endpoint).split('://', 1)[1]} (the collector fails to start: too many colons "
                                f"in address)")
            continue
        host, sep, port = str(endpoint).rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            report.error(where, f"endpoint {endpoint!r} is not host:port (e.g. 0.0.0.0:4317): the collector fails "
                                f"to start")
            continue
        port = int(port)
        if speaks and port in parts.OTLP_PORTS and parts.OTLP_PORTS[port] != {"grpc": "gRPC", "http": "HTTP"}[speaks]:
            right = 4317 if speaks == "grpc" else 4318
            report.error(where, f"OTLP over {'gRPC' if speaks == 'grpc' else 'HTTP'} on {port}, which is OTLP "
                                f"over {parts.OTLP_PORTS[port]}'s port: every SDK sends gRPC to 4317 and HTTP to "
                                f"4318, so they would all reach the wrong server. Use {host}:{right}")
        elif not speaks and port in parts.OTLP_PORTS:
            report.error(where, f"listens on {port}, OTLP over {parts.OTLP_PORTS[port]}'s port, where every SDK "
                                f"sends its telemetry: give it a port of its own")
        clash = next((w for w, h, p, t in taken if p == port and t == transport
                      and (h in _WILDCARD or host in _WILDCARD or _same_host(h, host))), None)
        if clash:
            report.error(where, f"port {port} is taken already, by {clash}: two servers cannot listen on one port "
                                f"(the collector fails to start: address already in use). Give each its own port")
        taken.append((where, host, port, transport))


def _same_host(a: str, b: str) -> bool:
    return a == b or (a in _LOCAL[:2] and b in _LOCAL[:2])


def _leaves(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


class PipelineDiagram:
    """Each pipeline as receivers → processors → exporters; components that are
    undefined, or that the checker finds an error in, are drawn in red."""

    def __init__(self, config: dict, flagged: set | None = None):
        self.config = config
        self.flagged = flagged or set()
        self.defined = {s: set((config.get(s) or {}).keys()) for s in SECTIONS}
        self.pipelines = {name: {s: list((p or {}).get(s) or []) for s in ("receivers", "processors", "exporters")}
                          for name, p in _pipelines(config).items()}

    def _ok(self, section, component):
        return (component in self.defined[section] or component in self.defined["connectors"]) \
            and f"{section}.{component}" not in self.flagged

    def __repr__(self):
        if not self.pipelines:
            return "no pipelines"
        width = max(len(n) for n in self.pipelines)
        lines = []
        for name, p in self.pipelines.items():
            parts = [", ".join(c + ("" if self._ok(s, c) else " ✗") for c in p[s]) or "-"
                     for s in ("receivers", "processors", "exporters")]
            lines.append(f"{name:<{width}}  {parts[0]}  →  {parts[1]}  →  {parts[2]}")
        ext = (self.config.get("service") or {}).get("extensions") or []
        if ext:
            lines.append(f"{'extensions':<{width}}  {', '.join(ext)}")
        return "\n".join(lines)

    def _repr_svg_(self):
        if not self.pipelines:
            return None
        box_w, box_h, gap, col_w = 150, 24, 6, 200   # 720 px wide: 12 px text stays 11.7 px in a 700 px column
        rows = [(name, p, max(len(p[s]) for s in p) or 1) for name, p in self.pipelines.items()]
        height = 40 + sum(r[2] * (box_h + gap) + 30 for r in rows)
        width = 120 + 3 * col_w
        e = html.escape
        colors = {"receivers": "#4C78A8", "processors": "#54A24B", "exporters": "#F58518"}
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {width} {height}" '
               f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
               f'<rect width="{width}" height="{height}" fill="white"/>']
        for i, section in enumerate(("receivers", "processors", "exporters")):
            out.append(f'<rect x="{120 + i * col_w}" y="10" width="10" height="10" fill="{colors[section]}"/>'
                       f'<text x="{134 + i * col_w}" y="20" font-weight="bold" fill="#222222">{section}</text>')
        y = 36
        for name, p, n in rows:
            out.append(f'<text x="8" y="{y + 16}" font-weight="bold">{e(fit(name, 12, 108, bold=True))}</text>')
            centers = []
            for i, section in enumerate(("receivers", "processors", "exporters")):
                x = 120 + i * col_w
                ys = []
                for j, component in enumerate(p[section]):
                    by = y + j * (box_h + gap)
                    ok = self._ok(section, component)
                    fill = colors[section] if ok else "#C62828"
                    out.append(f'<rect x="{x}" y="{by}" width="{box_w}" height="{box_h}" rx="4" fill="{fill}"/>'
                               f'<text x="{x + 8}" y="{by + 16}" fill="{text_on(fill)}">'
                               f'{e(fit(component + ("" if ok else " ✗"), 12, box_w - 14))}</text>')
                    ys.append(by + box_h / 2)
                centers.append((x, ys))
            (rx, rys), (px, pys), (ex, eys) = centers
            line = '<line x1="{:.0f}" y1="{:.0f}" x2="{:.0f}" y2="{:.0f}" stroke="#999" stroke-width="1.2"/>'
            if pys:  # processors run in order: every receiver → the first, one after another, the last → every exporter
                out += [line.format(rx + box_w, a, px, pys[0]) for a in rys]
                out += [line.format(px + box_w / 2, a + box_h / 2, px + box_w / 2, b - box_h / 2)
                        for a, b in zip(pys, pys[1:])]
                out += [line.format(px + box_w, pys[-1], ex, b) for b in eys]
            else:
                out += [line.format(rx + box_w, a, ex, b) for a in rys for b in eys]
            y += n * (box_h + gap) + 30
        out.append("</svg>")
        return "".join(out)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """The SVG and, for a notebook not yet trusted (or GitHub), a PNG of it (:mod:`kit.views.png`)."""
        from kit.views import png
        svg = self._repr_svg_()
        return None if svg is None else ({"image/svg+xml": svg, "image/png": png.to_png(svg)},
                                         {"image/png": {"width": int(png.view_width(svg))}})


def pipeline_diagram(text: str) -> PipelineDiagram:
    """Draw the pipelines of a collector config (YAML text); ✗ marks what :func:`check_config`
    finds wrong (undefined, removed)."""
    flagged = {f.where for f in check_config(text).errors()}
    return PipelineDiagram(load(text), flagged)
