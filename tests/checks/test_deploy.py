"""D4: docker-compose.yml and k8s/ are valid against their schemas and faithful to what `make run` starts."""
import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from hotline_common.subscriber import inbox_queue_name
from tools.services import SERVICES

REPO = Path(__file__).resolve().parents[2]
K8S_VERSION = "1.30.0"


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_file_matches_the_compose_spec():
    result = subprocess.run([str(Path(sys.executable).parent / "check-jsonschema"), "--builtin-schema",
                             "vendor.compose-spec", str(REPO / "docker-compose.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_runs_what_make_run_runs(compose):
    services = compose["services"]
    monitoring = {"prometheus", "grafana"}  # watching it (ops/, tests/unit/test_ops.py)
    assert set(services) - monitoring == set(SERVICES) | {"gateway", "mongo", "rabbitmq", "topology"}
    for name, path in SERVICES.items():
        service = services[name]
        assert service["command"][:3] == ["nameko", "run", path], name
        assert service["depends_on"]["topology"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["mongo"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert service["environment"]["HOTLINE_ENV"] == "production"
    assert services["topology"]["command"] == ["python", "-m", "tools.topology"]
    assert services["gateway"]["command"][-1] == "gateway.app:get_app()"
    assert "--replSet" in services["mongo"]["command"]  # transactions and change streams need a replica set


def k8s_documents():
    kustomization = yaml.safe_load((REPO / "k8s/base/kustomization.yaml").read_text())
    for name in kustomization["resources"]:
        path = REPO / "k8s/base" / name
        assert path.exists(), name
        for doc in yaml.safe_load_all(path.read_text()):
            yield name, doc


@pytest.mark.parametrize("name, doc", list(k8s_documents()), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_k8s_manifests_are_valid(name, doc):
    if doc["apiVersion"].startswith("keda.sh/"):
        spec = doc["spec"]
        assert spec["scaleTargetRef"]["name"] in SERVICES
        (trigger,) = spec["triggers"]
        assert trigger["metadata"]["queueName"] == inbox_queue_name(spec["scaleTargetRef"]["name"])
        return
    if doc["apiVersion"].startswith("rabbitmq.com/"):  # the RabbitMQ Cluster Operator's custom resource
        assert doc["kind"] == "RabbitmqCluster" and doc["spec"]["replicas"] >= 3
        assert "load_definitions = /etc/rabbitmq/definitions/definitions.json" in doc["spec"]["rabbitmq"]["additionalConfig"]
        pod = doc["spec"]["override"]["statefulSet"]["spec"]["template"]["spec"]
        assert pod["volumes"][0]["secret"]["secretName"] == "hotline-rabbitmq-definitions"
        assert pod["containers"][0]["volumeMounts"][0]["mountPath"] == "/etc/rabbitmq/definitions"
        return
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_every_service_has_a_deployment_with_probes_and_a_disruption_budget():
    docs = [doc for _, doc in k8s_documents()]
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    budgets = {d["metadata"]["name"] for d in docs if d["kind"] == "PodDisruptionBudget"}
    assert set(deployments) == set(SERVICES) | {"gateway"}
    assert budgets == set(deployments)
    for name, path in SERVICES.items():
        container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"][:3] == ["nameko", "run", path]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["requests"] and container["resources"]["limits"]


def test_production_overlay_refers_to_files_that_exist():
    overlay = yaml.safe_load((REPO / "k8s/overlays/production/kustomization.yaml").read_text())
    for resource in overlay["resources"]:
        assert (REPO / "k8s/overlays/production" / resource).exists(), resource
    kubernetes_validate.validate(yaml.safe_load((REPO / "k8s/overlays/production/namespace.yaml").read_text()),
                                 K8S_VERSION, strict=True)


# -- durability and who may publish what (issue 9)

def _env(container) -> dict:
    return {e["name"]: e for e in container.get("env", [])}


def test_each_process_connects_to_the_broker_as_its_own_user(compose):
    """compose: each service and the gateway with its own user of config/rabbitmq/definitions.json;
    k8s: each Deployment's AMQP_URI from its own key of the Secret `tools.brokerusers k8s-secrets` makes."""
    from urllib.parse import urlparse

    from tools import brokerusers
    services = compose["services"]
    for name in list(SERVICES) + ["gateway"]:
        uri = urlparse(services[name]["environment"]["AMQP_URI"])
        assert uri.username == brokerusers.service_user(name) == uri.password, name
    assert urlparse(services["topology"]["environment"]["AMQP_URI"]).username == brokerusers.ADMIN_USER
    mounts = " ".join(services["rabbitmq"]["volumes"])
    assert "config/rabbitmq/definitions.json" in mounts and "config/rabbitmq/rabbitmq.conf" in mounts
    assert "RABBITMQ_DEFAULT_USER" not in (services["rabbitmq"].get("environment") or {})

    secret = yaml.safe_load_all(brokerusers.k8s_secrets())
    keys = set(list(secret)[1]["stringData"])
    docs = [doc for _, doc in k8s_documents()]
    for d in docs:
        if d["kind"] == "Deployment":
            ref = _env(d["spec"]["template"]["spec"]["containers"][0])["AMQP_URI"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "hotline-amqp", "key": f"AMQP_URI_{d['metadata']['name'].upper()}"}
            assert ref["key"] in keys
        if d["kind"] == "Job":
            ref = _env(d["spec"]["template"]["spec"]["containers"][0])["AMQP_URI"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "hotline-amqp", "key": "AMQP_URI_ADMIN"}


def test_the_broker_definitions_in_git_are_what_the_tool_makes():
    from tools import brokerusers
    shipped = json.loads((REPO / "config/rabbitmq/definitions.json").read_text())
    assert shipped == brokerusers.dev_definitions(), "regenerate: python -m tools.brokerusers definitions --dev"
    assert {u["name"] for u in shipped["users"] if "administrator" in u["tags"]} == {brokerusers.ADMIN_USER}
    writes = {p["user"]: p["write"] for p in shipped["permissions"]}
    assert "hotline.events" not in writes["sub-example"] and "amq" not in writes["sub-example"]
    denied = {(t["user"], t["exchange"]) for t in shipped["topic_permissions"] if t["write"] == brokerusers.NOTHING}
    assert all((brokerusers.service_user(s), "hotline.events") in denied for s in SERVICES)


def test_durable_by_default_in_the_deployment_files(compose):
    env = compose["services"]["intake"]["environment"]
    assert "w=majority" in env["MONGO_URI"] and "journal=true" in env["MONGO_URI"]
    assert env["QUEUE_TYPE"] == "quorum" and env["MONGO_WRITE_CONCERN"] == "majority"
    assert compose["services"]["topology"]["environment"]["QUEUE_TYPE"] == "quorum"
    config = next(doc for _, doc in k8s_documents() if doc["kind"] == "ConfigMap")
    assert config["data"]["QUEUE_TYPE"] == "quorum" and config["data"]["MONGO_WRITE_CONCERN"] == "majority"


def test_make_run_starts_the_embedded_store_durable_with_a_bounded_oplog(tmp_path):
    from tools.stack import embedded_mongo_argv
    argv = embedded_mongo_argv({}, 27017, tmp_path)
    assert "--sync-on-commit" in argv
    assert int(argv[argv.index("--oplog-retention-seconds") + 1]) <= 3600
    assert int(argv[argv.index("--oplog-max-entries") + 1]) <= 100000
    assert "--sync-on-commit" not in embedded_mongo_argv({"EMBEDDED_MONGO_SYNC": "0"}, 27017, tmp_path)
