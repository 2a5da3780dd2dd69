"""Check an OpenTelemetry Collector configuration, and draw its pipelines.

    >>> from kit.collector_config import check_config, pipeline_diagram
    >>> report = check_config(open("config/collector/otel-collector.yaml").read())
    >>> report            # ✓ or one line per problem, with the fix
    >>> report.ok         # False if anything would stop the collector or leak a secret
    >>> pipeline_diagram(open("config/collector/otel-collector.yaml").read())

A collector config has five sections: ``receivers``, ``processors``,
``exporters``, ``extensions`` define components (``type`` or ``type/name``);
``service`` switches them on: ``service.extensions`` and
``service.pipelines.<signal>`` (traces, metrics, logs) list which receivers,
processors and exporters each pipeline uses. A component that is defined but
in no pipeline does nothing; a pipeline that names an undefined one stops the
collector at start.

What it finds (the collector itself would find the first two, at start):

* pipelines or ``service.extensions`` naming components that are not defined;
* defined components no pipeline uses (a warning);
* components removed or renamed since 2023: the ``jaeger`` exporter (v0.85: use
  ``otlp`` to Jaeger v2), ``logging`` (v0.111: ``debug``), ``loglevel``, the
  Azure Monitor ``instrumentation_key`` (use ``connection_string``), the
  Prometheus exporter's ``resource_to_telemetry_conversion``;
* receivers that listen on localhost (the default since v0.104), which other
  containers cannot reach: ``endpoint: 0.0.0.0:4317``;
* secrets written inline instead of ``${env:NAME}``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import yaml

from kit.views.common import text_on
from kit.views.svg import fit

SECTIONS = ("receivers", "processors", "exporters", "extensions", "connectors")
SIGNALS = ("traces", "metrics", "logs", "profiles")
_SECRET_KEY = re.compile(r"(key|token|password|secret|connection_string|authorization)$", re.I)
_DEFAULT_ENDPOINTS = {"otlp": {"grpc": "localhost:4317", "http": "localhost:4318"}, "zipkin": "localhost:9411"}
_REMOVED = {
    ("exporters", "jaeger"): "the jaeger exporter was removed in v0.85: Jaeger v2 takes OTLP, use an "
                             "otlp exporter (endpoint: jaeger:4317, tls.insecure: true)",
    ("exporters", "jaeger_thrift"): "removed with the jaeger exporter (v0.85): send OTLP to Jaeger v2",
    ("exporters", "logging"): "the logging exporter was removed in v0.111: use debug (verbosity: basic|normal|detailed)",
}


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

    def __repr__(self):
        if not self:
            return "✓ no problems found"
        return "\n".join(str(f) for f in self)


class _UniqueKeys(yaml.SafeLoader):
    """YAML that refuses a key written twice in one mapping, as the collector does
    (PyYAML alone would silently keep the last one)."""


def _unique_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is written twice",
                                                    key_node.start_mark)
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)

_VERBOSITY = ("basic", "normal", "detailed")


def load(text: str) -> dict:
    config = yaml.load(text, Loader=_UniqueKeys) or {}
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
        report.append(Finding("error", "yaml", f"does not parse: {exc}"))
        return report
    shape = _shape_error(config)
    if shape:
        report.append(Finding("error", shape[0], shape[1]))
        return report
    defined = {s: set((config.get(s) or {}).keys()) for s in SECTIONS}
    used = {s: set() for s in SECTIONS}
    service = config.get("service") or {}
    pipelines = _pipelines(config)
    if not pipelines:
        report.append(Finding("error", "service.pipelines", "no pipeline: nothing is received or exported"))
    for name, pipeline in pipelines.items():
        where = f"service.pipelines.{name}"
        if _type(name) not in SIGNALS:
            report.append(Finding("error", where, f"unknown signal {_type(name)!r}: use traces, metrics or logs"))
        pipeline = pipeline or {}
        for section in ("receivers", "processors", "exporters"):
            for component in pipeline.get(section) or []:
                if component in defined[section]:
                    used[section].add(component)
                elif component in defined["connectors"] and section in ("receivers", "exporters"):
                    used["connectors"].add(component)
                else:
                    report.append(Finding("error", where, f"names {section[:-1]} {component!r}, which "
                                                          f"{section}: does not define"))
        for section in ("receivers", "exporters"):
            if not pipeline.get(section):
                report.append(Finding("error", where, f"has no {section}"))
    for extension in service.get("extensions") or []:
        if extension in defined["extensions"]:
            used["extensions"].add(extension)
        else:
            report.append(Finding("error", "service.extensions", f"names {extension!r}, which extensions: "
                                                                 f"does not define"))
    for section in SECTIONS:
        for component in sorted(defined[section] - used[section]):
            report.append(Finding("warning", f"{section}.{component}", "defined but used by no pipeline"
                                  + (" (list it in service.extensions)" if section == "extensions" else "")))
    for section in SECTIONS:
        for component, settings in (config.get(section) or {}).items():
            _check_component(report, section, component, settings or {})
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
    return None


def _check_component(report, section, component, settings):
    where = f"{section}.{component}"
    kind = _type(component)
    if section == "exporters" and kind == "debug" and "verbosity" in settings \
            and str(settings["verbosity"]).lower() not in _VERBOSITY:
        report.append(Finding("error", where, f"verbosity {settings['verbosity']!r} is not one: use basic, normal or "
                                              f"detailed (the collector refuses to start)"))
    if (section, kind) in _REMOVED:
        report.append(Finding("error", where, _REMOVED[(section, kind)]))
    if section == "exporters" and kind == "azuremonitor" and "instrumentation_key" in settings:
        report.append(Finding("warning", where, "instrumentation_key is deprecated: use connection_string "
                                                "(from ${env:APPLICATIONINSIGHTS_CONNECTION_STRING})"))
    if section == "exporters" and kind == "prometheus" and "resource_to_telemetry_conversion" in settings:
        report.append(Finding("warning", where, "resource_to_telemetry_conversion is deprecated"))
    if isinstance(settings, dict) and "loglevel" in settings:
        report.append(Finding("error", where, "loglevel was removed: use verbosity"))
    if section == "receivers" and kind in _DEFAULT_ENDPOINTS:
        _check_bind(report, where, kind, settings)
    for path, value in _leaves(settings):
        key = path.rsplit(".", 1)[-1]
        if _SECRET_KEY.search(key) and isinstance(value, str) and value and "${" not in value:
            report.append(Finding("error", f"{where}.{path}", "a secret written inline: read it from the "
                                                              "environment, e.g. ${env:MY_SECRET}"))


def _check_bind(report, where, kind, settings):
    if kind == "otlp":
        protocols = (settings or {}).get("protocols") or {}
        for proto, proto_settings in protocols.items():
            endpoint = (proto_settings or {}).get("endpoint") or _DEFAULT_ENDPOINTS["otlp"].get(proto, "localhost")
            _warn_localhost(report, f"{where}.protocols.{proto}", endpoint, (proto_settings or {}).get("endpoint"))
    else:
        endpoint = (settings or {}).get("endpoint") or _DEFAULT_ENDPOINTS[kind]
        _warn_localhost(report, where, endpoint, (settings or {}).get("endpoint"))


def _warn_localhost(report, where, endpoint, given):
    host = str(endpoint).rsplit(":", 1)[0]
    if host in ("localhost", "127.0.0.1", "::1", "[::1]"):
        why = "by default (since v0.104)" if not given else ""
        report.append(Finding("warning", where, f"listens on {endpoint} {why}".strip() + ": other containers "
                                                "cannot reach it; in a container use endpoint: 0.0.0.0:"
                                                + str(endpoint).rsplit(":", 1)[-1]))


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
