"""The compose stack and the Kubernetes manifests, checked here without Docker (no engine runs
on these machines): they parse, agree with each other, and pass the kit's and Prometheus' checks,
the Kubernetes schemas (kubernetes-validate), the Compose Specification (check-jsonschema) and,
for the OpenTelemetry Operator's Instrumentation, the fields of its CRD. All offline."""

import contextlib
import copy
import importlib.util
import io
import json
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from kit.collector_config import check_config

ROOT = Path(__file__).parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
K8S = ROOT / "k8s"
OPERATOR = K8S / "operator"
INSTRUMENTATION_SCHEMA = ROOT / "tests/data/instrumentation-v1alpha1.schema.yaml"


def host_port(mapping: str) -> tuple[str, str]:
    ip, host, _container = mapping.split(":")
    return ip, host


def test_every_image_is_pinned():
    for name, service in SERVICES.items():
        image = service["image"]
        assert re.search(r":v?\d+\.\d+\.\d+$", image), f"{name}: {image} is not pinned to a version"
        assert not image.endswith(":latest")


def test_host_ports_are_on_loopback_and_unique_per_profile():
    for profile in ("local", "azure"):
        seen = {}
        for name, service in SERVICES.items():
            if service.get("profiles") and profile not in service["profiles"]:
                continue
            for mapping in service.get("ports", []):
                ip, port = host_port(mapping)
                assert ip == "127.0.0.1", f"{name}: {mapping} is reachable from the network"
                assert port not in seen, f"{name} and {seen.get(port)} both want host port {port}"
                seen[port] = name


def test_mounted_files_exist():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"


def test_health_checks_where_the_image_can_run_one():
    for name in ("mosquitto", "zipkin", "prometheus", "grafana"):
        assert "healthcheck" in SERVICES[name]


def test_default_and_azure_profiles():
    assert "COMPOSE_PROFILES=local" in (ROOT / ".env").read_text()
    azure = SERVICES["otel-collector-azure"]
    assert azure["profiles"] == ["azure"] and "otel-collector" in azure["networks"]["default"]["aliases"]
    assert azure["environment"]["APPLICATIONINSIGHTS_CONNECTION_STRING"].startswith("${")
    text = (ROOT / "config/collector/otel-collector-azure.yaml").read_text()
    assert "connection_string: ${env:APPLICATIONINSIGHTS_CONNECTION_STRING}" in text


@pytest.mark.parametrize("service", ["otel-collector", "otel-collector-azure"])
def test_collector_configs_pass_the_checker(service):
    source = next(v.split(":")[0] for v in SERVICES[service]["volumes"])
    report = check_config((ROOT / source).read_text())
    assert report.ok and not list(report), repr(report)


def test_collector_config_matches_the_stack():
    config = yaml.safe_load((ROOT / "config/collector/otel-collector.yaml").read_text())
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert config["exporters"]["zipkin"]["endpoint"].startswith("http://zipkin:9411")
    targets = {t for job in yaml.safe_load((ROOT / "config/prometheus/prometheus.yml").read_text())["scrape_configs"]
               for sc in job["static_configs"] for t in sc["targets"]}
    assert targets == {"otel-collector:8889", "otel-collector:8888"}
    assert config["exporters"]["prometheus"]["endpoint"].endswith(":8889")


@pytest.mark.skipif(not shutil.which("promtool"),
                    reason="promtool is not installed (Debian: apt-get install prometheus); CI installs it")
def test_promtool_accepts_the_prometheus_config():
    out = subprocess.run(["promtool", "check", "config", str(ROOT / "config/prometheus/prometheus.yml")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout + out.stderr


def test_grafana_provisioning_and_dashboard():
    ds = yaml.safe_load((ROOT / "config/grafana/provisioning/datasources/datasources.yaml").read_text())
    assert {(d["type"], d["url"]) for d in ds["datasources"]} == {
        ("prometheus", "http://prometheus:9090"), ("jaeger", "http://jaeger:16686")}
    providers = yaml.safe_load((ROOT / "config/grafana/provisioning/dashboards/dashboards.yaml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    dashboard = json.loads((ROOT / "config/grafana/dashboards/mqtt-messaging.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for metric in ("messaging_client_sent_messages_total", "messaging_client_consumed_messages_total",
                   "messaging_client_operation_duration_seconds_bucket", "messaging_process_duration_seconds_bucket"):
        assert metric in exprs


def k8s_docs():
    kustomization = yaml.safe_load((ROOT / "k8s/kustomization.yaml").read_text())
    docs = []
    for resource in kustomization["resources"]:
        docs.extend(d for d in yaml.safe_load_all((ROOT / "k8s" / resource).read_text()) if d)
    return docs


def test_kubernetes_names_the_same_components_and_images_as_compose():
    deployments = {d["metadata"]["name"]: d for d in k8s_docs() if d["kind"] == "Deployment"}
    compose = {n: s for n, s in SERVICES.items() if "azure" not in s.get("profiles", [])}
    assert set(deployments) == set(compose)
    for name, d in deployments.items():
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == compose[name]["image"]
    services = {d["metadata"]["name"] for d in k8s_docs() if d["kind"] == "Service"}
    assert services == set(compose)


def test_kubernetes_carries_the_same_config_files():
    configmaps = {d["metadata"]["name"]: d["data"] for d in k8s_docs() if d["kind"] == "ConfigMap"}
    assert configmaps["otel-collector-config"]["config.yaml"] == \
        (ROOT / "config/collector/otel-collector.yaml").read_text()
    assert configmaps["prometheus-config"]["prometheus.yml"] == (ROOT / "config/prometheus/prometheus.yml").read_text()
    assert configmaps["mosquitto-config"]["mosquitto.conf"] == (ROOT / "config/mosquitto/mosquitto.conf").read_text()


def build_k8s():
    """tools/build_k8s.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("build_k8s", ROOT / "tools/build_k8s.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def all_k8s_docs():
    """(path, document) for every YAML document under k8s/, k8s/operator/ included."""
    for path in sorted(K8S.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                yield path.relative_to(ROOT), doc


def k8s_object(kind, name):
    """One object of the default kustomization (kubectl apply -k k8s/)."""
    return next(d for d in k8s_docs() if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.fixture
def offline(monkeypatch):
    """The validators must need no network: there is none here, nor at many a workshop.
    They run in the test's thread; a connection from any other thread (a paho client
    of an earlier test still reconnecting) is not theirs and goes through."""
    validator_thread = threading.get_ident()
    connect = socket.socket.connect

    def refuse(sock, address):
        if threading.get_ident() != validator_thread:
            return connect(sock, address)
        raise AssertionError(f"a validator tried to connect to {address}")
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_the_offline_guard_refuses_the_validators_thread_only(offline):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        address = listener.getsockname()
        with pytest.raises(AssertionError, match="tried to connect"):
            socket.create_connection(address, timeout=5)
        connected = []
        other = threading.Thread(target=lambda: connected.append(socket.create_connection(address, timeout=5)))
        other.start(), other.join(10)
        assert connected, "a connection from another thread goes through"
        connected[0].close()


def check_jsonschema(*args) -> tuple[int, str]:
    """check-jsonschema's command line, run in this process: (exit code, what it printed)."""
    from check_jsonschema import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(args), standalone_mode=False)
    return code, out.getvalue()


def test_generated_manifests_are_current_and_the_operator_folder_is_left_alone(tmp_path):
    written = build_k8s().main(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written), "it writes only what it names"
    for name in written:
        assert (tmp_path / name).read_text() == (K8S / name).read_text(), \
            f"k8s/{name} is not what tools/build_k8s.py writes: run python tools/build_k8s.py"
    resources = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert set(resources) == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert (OPERATOR / "instrumentation.yaml").exists() and not any("operator" in r for r in resources), \
        "k8s/operator/ needs the operator's CRDs: not part of kubectl apply -k k8s/"


def test_grafana_anonymous_visitors_are_viewers_not_admins():
    container = k8s_object("Deployment", "grafana")["spec"]["template"]["spec"]["containers"][0]
    kubernetes_env = {e["name"]: e["value"] for e in container["env"]}
    for env in (SERVICES["grafana"]["environment"], kubernetes_env):
        assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
        assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    for path in (ROOT / "config/grafana").rglob("*"):  # no grafana.ini turning it back
        assert not path.is_file() or "org_role" not in path.read_text().lower(), path


def test_collector_pprof_is_not_published_but_zpages_is():
    for name in ("otel-collector", "otel-collector-azure"):
        published = {mapping.split(":")[-1] for mapping in SERVICES[name]["ports"]}
        assert "1777" not in published and "55679" in published, name
    deployment = k8s_object("Deployment", "otel-collector")
    declared = {p["containerPort"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert 1777 not in declared and 55679 in declared
    assert 1777 not in {p["port"] for p in k8s_object("Service", "otel-collector")["spec"]["ports"]}
    for config in ("otel-collector.yaml", "otel-collector-azure.yaml"):  # both still run, unpublished
        extensions = yaml.safe_load((ROOT / "config/collector" / config).read_text())["service"]["extensions"]
        assert {"pprof", "zpages"} <= set(extensions), config


def test_instrumentation_sends_otlp_over_http_to_the_kits_collector():
    namespace = build_k8s().NS
    instrumentation = yaml.safe_load((OPERATOR / "instrumentation.yaml").read_text())
    assert instrumentation["metadata"]["namespace"] == namespace
    endpoint = urlsplit(instrumentation["spec"]["exporter"]["endpoint"])
    # the operator's Python image exports http/protobuf only: the collector's HTTP receiver
    assert (endpoint.scheme, endpoint.hostname, endpoint.port) == (
        "http", f"otel-collector.{namespace}.svc.cluster.local", 4318)
    service = k8s_object("Service", "otel-collector")
    assert 4318 in {p["port"] for p in service["spec"]["ports"]}
    collector = yaml.safe_load((ROOT / "config/collector/otel-collector.yaml").read_text())
    assert collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    python_env = {e["name"]: e["value"] for e in instrumentation["spec"]["python"]["env"]}
    assert python_env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in python_env, "it would win over spec.exporter.endpoint"


def test_instrumentation_propagates_w3c_and_samples_by_parent_then_ratio():
    spec = yaml.safe_load((OPERATOR / "instrumentation.yaml").read_text())["spec"]
    assert spec["propagators"] == ["tracecontext", "baggage"]  # what the kit's services use
    assert spec["sampler"]["type"] == "parentbased_traceidratio"
    assert 0 <= float(spec["sampler"]["argument"]) <= 1  # the operator's webhook refuses others
    image = spec["python"]["image"]
    assert re.search(r"/autoinstrumentation-python:\d+\.\d+b\d+$", image), f"{image} is not pinned"


def test_processor_example_opts_in_on_its_pod_template():
    text = (OPERATOR / "processor-deployment.yaml").read_text()
    assert "DOES NOT EXIST" in text, "say plainly that the kit ships no image for its services"
    deployment = yaml.safe_load(text)
    namespace = build_k8s().NS
    assert deployment["metadata"]["namespace"] == namespace
    assert "annotations" not in deployment["metadata"], "the operator reads the pod's annotations"
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["instrumentation.opentelemetry.io/inject-python"] == "true"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert (ROOT / container["command"][1]).name == "processor.py"
    assert (ROOT / container["command"][1]).exists()
    env = {e["name"]: e["value"] for e in container["env"]}
    assert not [n for n in env if n.startswith("OTEL_")], "the container's own OTEL_* win over the operator's"
    broker = urlsplit(env["MQTT_BROKER_URL"])
    assert broker.hostname == f"mosquitto.{namespace}.svc.cluster.local"
    assert broker.port in {p["port"] for p in k8s_object("Service", "mosquitto")["spec"]["ports"]}


# kubernetes-validate 1.37.0 bundles the schemas of Kubernetes 1.25 to 1.37: check the oldest
# and the newest, so a field too new for an older cluster shows up too.
@pytest.mark.parametrize("kubernetes", ["1.25", "1.37"])
def test_every_kubernetes_manifest_passes_the_kubernetes_schemas(kubernetes, offline):
    import kubernetes_validate
    kinds, errors = set(), []
    for path, doc in all_k8s_docs():
        if doc["kind"] in ("Kustomization", "Instrumentation"):  # not Kubernetes API kinds: below
            continue
        kinds.add(doc["kind"])
        try:  # strict: a field the schema does not know fails, not only a wrong type
            kubernetes_validate.validate(doc, kubernetes, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(map(str, error.absolute_path))
            errors.append(f"{path}: {doc['kind']} {doc['metadata']['name']}: {error.message} (at {where})")
    assert not errors, "\n".join(errors)
    assert kinds == {"Namespace", "ConfigMap", "Deployment", "Service"}


def test_kubernetes_validation_refuses_a_misspelt_field(offline):
    import kubernetes_validate
    deployment = copy.deepcopy(k8s_object("Deployment", "mosquitto"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["port"] = container.pop("ports")
    with pytest.raises(kubernetes_validate.ValidationError, match="'port' was unexpected"):
        kubernetes_validate.validate(deployment, "1.37", strict=True)


def test_instrumentation_has_only_fields_of_the_operators_crd(offline):
    code, out = check_jsonschema("--check-metaschema", str(INSTRUMENTATION_SCHEMA))
    assert code == 0, out
    files = {path for path, doc in all_k8s_docs() if doc["kind"] == "Instrumentation"}
    assert files == {Path("k8s/operator/instrumentation.yaml")}, "one per namespace: inject-python: \"true\""
    for path in files:
        code, out = check_jsonschema("--schemafile", str(INSTRUMENTATION_SCHEMA), str(ROOT / path))
        assert code == 0, out


def test_instrumentation_schema_refuses_a_misspelt_field_and_an_unquoted_value(offline, tmp_path):
    instrumentation = yaml.safe_load((OPERATOR / "instrumentation.yaml").read_text())
    instrumentation["spec"]["python"]["resources"] = {}  # the CRD's name is resourceRequirements
    instrumentation["spec"]["python"]["env"][0]["value"] = False  # YAML false, not "false"
    bad = tmp_path / "instrumentation.yaml"
    bad.write_text(yaml.safe_dump(instrumentation))
    code, out = check_jsonschema("--schemafile", str(INSTRUMENTATION_SCHEMA), str(bad))
    assert code == 1
    assert "'resources' was unexpected" in out and "False is not of type 'string'" in out


def test_compose_file_passes_the_compose_specification(offline):
    code, out = check_jsonschema("--builtin-schema", "vendor.compose-spec", str(ROOT / "docker-compose.yml"))
    assert code == 0, out


def test_compose_specification_check_refuses_a_misspelt_key(offline, tmp_path):
    bad = tmp_path / "docker-compose.yml"
    bad.write_text((ROOT / "docker-compose.yml").read_text().replace("    healthcheck:", "    healthchek:", 1))
    code, out = check_jsonschema("--builtin-schema", "vendor.compose-spec", str(bad))
    assert code == 1 and "'healthchek' was unexpected" in out, out
