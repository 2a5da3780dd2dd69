"""Write the Kubernetes manifests in k8s/ from the compose stack's config files.

    python tools/build_k8s.py

The ConfigMaps carry the very files compose mounts (config/...), so the two
deployments never drift apart; tests/test_deploy.py checks they are equal, and
that running this script again would change nothing. Apply with
``kubectl apply -k k8s/``.

It writes only the files it names (listed in k8s/kustomization.yaml): the
hand-written k8s/operator/ (an OpenTelemetry Operator Instrumentation, which
needs the operator's CRDs first) is neither generated nor applied by default.
"""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NS = "otel-mqtt"

# name: (image, container ports, service ports, config files {mount dir: [(key, path)]}, args, env)
COMPONENTS = {
    "mosquitto": ("eclipse-mosquitto:2.0.21", [1883], [1883],
                  {"/mosquitto/config": [("mosquitto.conf", "config/mosquitto/mosquitto.conf")]}, [], {}),
    # pprof (1777) listens in the pod but is neither declared nor in the Service: it is for
    # debugging the collector itself (kubectl port-forward deploy/otel-collector 1777).
    "otel-collector": ("otel/opentelemetry-collector-contrib:0.157.0", [4317, 4318, 8888, 8889, 13133, 55679],
                       [4317, 4318, 8888, 8889, 13133],
                       {"/etc/otelcol-contrib": [("config.yaml", "config/collector/otel-collector.yaml")]},
                       ["--config=/etc/otelcol-contrib/config.yaml"], {}),
    "jaeger": ("jaegertracing/jaeger:2.14.1", [16686, 4317, 4318], [16686, 4317, 4318], {}, [],
               {"JAEGER_LISTEN_HOST": "0.0.0.0"}),
    "zipkin": ("openzipkin/zipkin:3.5.1", [9411], [9411], {}, [], {}),
    "prometheus": ("prom/prometheus:v3.4.1", [9090], [9090],
                   {"/etc/prometheus": [("prometheus.yml", "config/prometheus/prometheus.yml")]},
                   ["--config.file=/etc/prometheus/prometheus.yml"], {}),
    "grafana": ("grafana/grafana:12.0.2", [3000], [3000],
                {"/etc/grafana/provisioning/datasources": [
                    ("datasources.yaml", "config/grafana/provisioning/datasources/datasources.yaml")],
                 "/etc/grafana/provisioning/dashboards": [
                    ("dashboards.yaml", "config/grafana/provisioning/dashboards/dashboards.yaml")],
                 "/var/lib/grafana/dashboards": [
                    ("mqtt-messaging.json", "config/grafana/dashboards/mqtt-messaging.json")]},
                # as in docker-compose.yml: anonymous visitors may look, not change anything
                [], {"GF_AUTH_ANONYMOUS_ENABLED": "true", "GF_AUTH_ANONYMOUS_ORG_ROLE": "Viewer"}),
}


def _literal(dumper, text):
    """Config files as readable YAML blocks (|), not one escaped line."""
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


yaml.SafeDumper.add_representer(str, _literal)


def manifests(name, image, ports, service_ports, configs, args, env):
    docs, volumes, mounts = [], [], []
    for i, (mount, files) in enumerate(configs.items()):
        cm = f"{name}-config-{i}" if len(configs) > 1 else f"{name}-config"
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm, "namespace": NS},
                     "data": {key: (ROOT / path).read_text() for key, path in files}})
        volumes.append({"name": cm, "configMap": {"name": cm}})
        mounts.append({"name": cm, "mountPath": mount})
    container = {"name": name, "image": image, "ports": [{"containerPort": p} for p in ports]}
    if args:
        container["args"] = args
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    if mounts:
        container["volumeMounts"] = mounts
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "otel-mqtt-kit"}
    docs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS,
                                                                              "labels": labels},
                 "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
                          "template": {"metadata": {"labels": labels},
                                       "spec": {"containers": [container],
                                                **({"volumes": volumes} if volumes else {})}}}})
    docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
                 "spec": {"selector": {"app.kubernetes.io/name": name},
                          "ports": [{"name": f"p{p}", "port": p, "targetPort": p} for p in service_ports]}})
    return docs


def main(out: Path = ROOT / "k8s") -> list[str]:
    """Write the manifests into ``out``; return the names of the files written."""
    out.mkdir(exist_ok=True)
    files = ["namespace.yaml"]
    (out / "namespace.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace",
                                                         "metadata": {"name": NS}}, sort_keys=False))
    for name, spec in COMPONENTS.items():
        (out / f"{name}.yaml").write_text("# generated by tools/build_k8s.py from the compose stack's config\n"
                                          + yaml.safe_dump_all(manifests(name, *spec), sort_keys=False))
        files.append(f"{name}.yaml")
    (out / "kustomization.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "namespace": NS,
         "resources": files}, sort_keys=False))
    return files + ["kustomization.yaml"]


if __name__ == "__main__":
    print("wrote", ", ".join(main()))
