"""D4: docker-compose.yml and k8s/ are valid against their schemas and faithful to what `make run` starts."""
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
    assert set(services) == set(SERVICES) | {"gateway", "mongo", "rabbitmq", "topology"}
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
