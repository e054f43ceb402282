"""deploy/kubernetes: valid against Kubernetes' schemas, least-privilege RBAC, probes, requests, NetworkPolicy, overlay.

Schemas: kubernetes-validate ships Kubernetes' OpenAPI schemas as JSON files, so this runs offline. The
production overlay is rendered with `kubectl kustomize` (kubectl's built-in kustomize) when kubectl is
installed; without it those tests skip and the base and the overlay's own files are still checked.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
BASE = MANIFESTS / "base"
PRODUCTION = MANIFESTS / "overlays" / "production"
# The oldest Kubernetes release still supported upstream when this was written, and the newest schema shipped.
VERSIONS = ("1.33", "1.37")
READ = {"get", "list", "watch"}
# apiGroup -> resources the collector lists (costing/collectors/kubernetes.py).
EXPECTED = {
    "": {"nodes", "pods", "namespaces", "persistentvolumes", "persistentvolumeclaims", "services"},
    "apps": {"replicasets"},
    "batch": {"jobs"},
    "metrics.k8s.io": {"pods", "nodes"},
}
APP = {"finops-web", "finops-worker", "finops-worker-compute", "finops-beat"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet"}


def load(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomization(folder: Path) -> dict:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())


def documents() -> list[dict]:
    """The base as `kubectl apply -k deploy/kubernetes/base` sends it (the base has no transformers)."""
    return [d for name in kustomization(BASE)["resources"] for d in load(BASE / name)]


def of_kind(kind: str, docs: list[dict] | None = None) -> list[dict]:
    return [d for d in (documents() if docs is None else docs) if d["kind"] == kind]


def render(folder: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("no kubectl (its built-in kustomize renders the overlay)")
    out = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module")
def production() -> list[dict]:
    return render(PRODUCTION)


def validate_all(docs: list[dict], version: str) -> None:
    for doc in docs:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{where} is not a valid {version} object: {path}: {exc.message}")


def containers(workload: dict) -> list[dict]:
    spec = workload["spec"]["template"]["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


# --- every object is what Kubernetes accepts ---------------------------------------------------------


def test_the_base_lists_every_manifest_of_its_folder_but_the_secret_example():
    files = {p.name for p in BASE.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert set(kustomization(BASE)["resources"]) == files


@pytest.mark.parametrize("version", VERSIONS)
def test_the_base_and_the_secret_example_validate_against_the_kubernetes_schemas(version):
    validate_all([*documents(), *load(BASE / "secret.example.yaml")], version)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_rendered_production_overlay_validates_against_the_kubernetes_schemas(production, version):
    validate_all(production, version)


def test_the_validator_rejects_a_misspelt_field_and_a_wrong_type():
    # So that the tests above can fail: strict schemas refuse unknown fields, and types are checked.
    web = next(d for d in of_kind("Deployment") if d["metadata"]["name"] == "finops-web")
    misspelt = copy.deepcopy(web)
    misspelt["spec"]["template"]["spec"]["contaners"] = misspelt["spec"]["template"]["spec"].pop("containers")
    wrong_type = copy.deepcopy(web)
    wrong_type["spec"]["replicas"] = "two"
    for broken in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


# --- the collector reads, and only what it lists -----------------------------------------------------


def granted_rules(role: dict) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {}
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= READ, rule
        assert set(rule) <= {"apiGroups", "resources", "verbs"}, rule  # no nonResourceURLs, no names
        for group in rule["apiGroups"]:
            assert "*" not in rule["resources"] and group != "*"
            granted.setdefault(group, set()).update(rule["resources"])
    return granted


def test_the_cluster_role_only_reads_exactly_what_the_collector_lists():
    (role,) = of_kind("ClusterRole")
    # The whole grant, verb by resource: 3 verbs x 9 (group, resource) pairs.
    listed = sorted(
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    )
    assert len(listed) == 30
    assert {verb for _, _, verb in listed} == READ
    assert granted_rules(role) == EXPECTED


def test_nothing_else_grants_rights(production):
    for docs in (documents(), production):
        assert not of_kind("Role", docs) and not of_kind("RoleBinding", docs)
        (binding,) = of_kind("ClusterRoleBinding", docs)
        (account,) = of_kind("ServiceAccount", docs)
        (role,) = of_kind("ClusterRole", docs)
        assert granted_rules(role) == EXPECTED
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role["metadata"]["name"],
        }
        assert binding["subjects"] == [
            {
                "kind": "ServiceAccount",
                "name": account["metadata"]["name"],
                "namespace": account["metadata"]["namespace"],
            }
        ]


# --- web, worker, beat and the bundled datastores ----------------------------------------------------


def test_web_worker_and_beat_take_their_settings_from_the_secret():
    deployments = {d["metadata"]["name"]: d for d in of_kind("Deployment") if d["metadata"]["name"] in APP}
    assert set(deployments) == APP
    (account,) = of_kind("ServiceAccount")
    for name, deployment in deployments.items():
        spec = deployment["spec"]["template"]["spec"]
        for container in containers(deployment):
            assert container["image"] == "finops-k8s:latest", name
            assert {"secretRef": {"name": "finops"}} in container["envFrom"], name
            plain = {e["name"] for e in container.get("env", [])}
            assert not plain & {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "OIDC_RP_CLIENT_SECRET"}, (
                name
            )
        # only the worker samples, so only the worker carries the collector's token
        if name == "finops-worker":
            assert spec["serviceAccountName"] == account["metadata"]["name"]
            assert spec["automountServiceAccountToken"] is True
        else:
            assert spec["automountServiceAccountToken"] is False, name
    assert deployments["finops-beat"]["spec"]["replicas"] == 1
    web = [s for s in of_kind("Service") if s["metadata"]["name"] == "finops-web"]
    assert web[0]["spec"]["selector"] == deployments["finops-web"]["spec"]["selector"]["matchLabels"]


def worker_queues(command: list[str]) -> list[str]:
    assert command[:4] == ["celery", "-A", "finops", "worker"], command
    return command[command.index("-Q") + 1].split(",")


def test_the_workers_consume_every_queue_once_and_sampling_apart_from_compute():
    from django.conf import settings

    workers = {
        d["metadata"]["name"]: worker_queues(d["spec"]["template"]["spec"]["containers"][0]["command"])
        for d in of_kind("Deployment")
        if d["metadata"]["name"].startswith("finops-worker")
    }
    assert workers == {
        "finops-worker": ["sampling", "default"],
        "finops-worker-compute": ["compute", "billing"],
    }
    assert sorted(q for queues in workers.values() for q in queues) == sorted(settings.FINOPS_QUEUES)
    # Two deployments with one selector would fight over each other's pods.
    selectors = [
        str(d["spec"]["selector"])
        for d in of_kind("Deployment")
        if d["metadata"]["name"].startswith("finops-")
    ]
    assert len(selectors) == len(set(selectors))


def test_web_is_probed_on_healthz_and_restarted_only_when_it_stops_answering():
    (web,) = (d for d in of_kind("Deployment") if d["metadata"]["name"] == "finops-web")
    (container,) = web["spec"]["template"]["spec"]["containers"]
    for probe in ("startupProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz", probe
        assert container[probe]["httpGet"]["port"] == "http"
    # /healthz fails while the database is down; restarting web would not bring it back.
    assert "httpGet" not in container["livenessProbe"]


def test_every_container_requests_cpu_and_memory_and_cannot_escalate():
    workloads = [d for d in documents() if d["kind"] in WORKLOAD_KINDS]
    assert {d["metadata"]["name"] for d in workloads} == APP | {"finops-postgres", "finops-redis"}
    for workload in workloads:
        assert workload["spec"]["template"]["spec"]["securityContext"]["seccompProfile"] == {
            "type": "RuntimeDefault"
        }
        for container in containers(workload):
            where = f"{workload['metadata']['name']}/{container['name']}"
            assert set(container["resources"]["requests"]) == {"cpu", "memory"}, where
            assert "memory" in container["resources"].get("limits", {}), where
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}, where


def test_the_bundled_datastores_are_probed_and_match_the_secret_example():
    (postgres,) = of_kind("StatefulSet")
    (redis,) = (d for d in of_kind("Deployment") if d["metadata"]["name"] == "finops-redis")
    for workload in (postgres, redis):
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        assert "readinessProbe" in container and "livenessProbe" in container
    services = {s["metadata"]["name"]: s for s in of_kind("Service")}
    assert selects(
        {"matchLabels": services["finops-postgres"]["spec"]["selector"]},
        postgres["spec"]["template"]["metadata"]["labels"],
    )
    assert selects(
        {"matchLabels": services["finops-redis"]["spec"]["selector"]},
        redis["spec"]["template"]["metadata"]["labels"],
    )

    secrets = {s["metadata"]["name"]: s["stringData"] for s in load(BASE / "secret.example.yaml")}
    assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"} <= set(secrets["finops"])
    assert "@finops-postgres:5432/" in secrets["finops"]["DATABASE_URL"]
    assert secrets["finops"]["CELERY_BROKER_URL"].startswith("redis://finops-redis:6379/")
    (password,) = (
        e for e in postgres["spec"]["template"]["spec"]["containers"][0]["env"] if "valueFrom" in e
    )
    ref = password["valueFrom"]["secretKeyRef"]
    assert ref["key"] in secrets[ref["name"]]


# --- NetworkPolicy -----------------------------------------------------------------------------------


def pod_labels(docs: list[dict]) -> dict[str, dict]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in docs
        if d["kind"] in WORKLOAD_KINDS
    }


def admitted(docs: list[dict], target: str, source: str, port: int) -> bool:
    """Whether the namespace's policies let pod `source` reach pod `target` on `port`."""
    labels = pod_labels(docs)
    for policy in of_kind("NetworkPolicy", docs):
        spec = policy["spec"]
        if not selects(spec["podSelector"], labels[target]):
            continue
        for rule in spec.get("ingress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            peers = rule.get("from")
            if (not ports or port in ports) and (
                peers is None
                or any(selects(p["podSelector"], labels[source]) for p in peers if "podSelector" in p)
            ):
                return True
    return False


def test_ingress_is_denied_but_for_web_and_the_datastores_from_the_app():
    docs = documents()
    deny = [p for p in of_kind("NetworkPolicy", docs) if p["spec"]["podSelector"] == {}]
    assert (
        len(deny) == 1 and deny[0]["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in deny[0]["spec"]
    )
    assert admitted(docs, "finops-web", "finops-redis", 8000)  # web: from anywhere, on its port only
    assert not admitted(docs, "finops-web", "finops-worker", 22)
    assert not admitted(docs, "finops-web", "finops-worker-compute", 22)
    for app in APP:
        assert admitted(docs, "finops-postgres", app, 5432), app
        assert admitted(docs, "finops-redis", app, 6379), app
    assert not admitted(docs, "finops-postgres", "finops-redis", 5432)
    assert not admitted(docs, "finops-redis", "finops-postgres", 6379)
    assert not admitted(docs, "finops-postgres", "finops-web", 6379)
    for quiet in ("finops-worker", "finops-worker-compute", "finops-beat"):
        assert not admitted(docs, quiet, "finops-web", 8000), quiet


# --- the production overlay --------------------------------------------------------------------------


def test_the_production_overlay_pins_the_image_scales_web_and_uses_external_datastores(production):
    names = {(d["kind"], d["metadata"]["name"]) for d in production}
    base_names = {(d["kind"], d["metadata"]["name"]) for d in documents()}
    bundled = {n for n in base_names if n[1] in ("finops-postgres", "finops-redis")}
    # The StatefulSet, the Deployment, their two Services and the two NetworkPolicies admitting them.
    assert len(bundled) == 6
    assert names == (base_names - bundled) | {("PodDisruptionBudget", "finops-web")}
    workloads = {d["metadata"]["name"]: d for d in production if d["kind"] == "Deployment"}
    for workload in workloads.values():
        for container in containers(workload):
            assert container["image"] == "registry.example.com/finops/finops-k8s:0.1.0"
    assert workloads["finops-web"]["spec"]["replicas"] == 3
    assert workloads["finops-worker"]["spec"]["replicas"] == 2
    assert workloads["finops-beat"]["spec"]["replicas"] == 1
    (web,) = workloads["finops-web"]["spec"]["template"]["spec"]["containers"]
    assert web["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert web["readinessProbe"]["httpGet"]["path"] == "/healthz"  # the patch kept the base's probes
    assert {e["name"] for e in web["env"]} == {"ALLOWED_HOSTS", "SECURE_HTTPS"}
    (pdb,) = of_kind("PodDisruptionBudget", production)
    assert pdb["spec"]["minAvailable"] < workloads["finops-web"]["spec"]["replicas"]
    assert selects(pdb["spec"]["selector"], workloads["finops-web"]["spec"]["template"]["metadata"]["labels"])


def test_the_overlay_patches_name_objects_of_the_base():
    base = {(d["kind"], d["metadata"]["name"]) for d in documents()}
    for patch in kustomization(PRODUCTION)["patches"]:
        if "path" in patch:
            for doc in load(PRODUCTION / patch["path"]):
                assert (doc["kind"], doc["metadata"]["name"]) in base, patch
