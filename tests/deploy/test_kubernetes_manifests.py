"""deploy/kubernetes: the collector's identity can only read what a sample needs; the app takes its settings from a Secret."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
READ = {"get", "list", "watch"}
# apiGroup -> resources the collector lists (costing/collectors/kubernetes.py).
EXPECTED = {
    "": {"nodes", "pods", "namespaces"},
    "apps": {"replicasets"},
    "batch": {"jobs"},
    "metrics.k8s.io": {"pods", "nodes"},
}


def documents() -> list[dict]:
    docs = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def of_kind(kind: str) -> list[dict]:
    return [d for d in documents() if d["kind"] == kind]


def test_the_cluster_role_only_reads_exactly_what_the_collector_lists():
    (role,) = of_kind("ClusterRole")
    granted: dict[str, set[str]] = {}
    for rule in role["rules"]:
        assert set(rule["verbs"]) <= READ, rule
        assert set(rule) <= {"apiGroups", "resources", "verbs"}, rule  # no nonResourceURLs, no names
        for group in rule["apiGroups"]:
            assert "*" not in rule["resources"] and group != "*"
            granted.setdefault(group, set()).update(rule["resources"])
    assert granted == EXPECTED
    assert {v for rule in role["rules"] for v in rule["verbs"]} == READ


def test_nothing_else_grants_rights():
    assert not of_kind("Role") and not of_kind("RoleBinding")
    (binding,) = of_kind("ClusterRoleBinding")
    (account,) = of_kind("ServiceAccount")
    (role,) = of_kind("ClusterRole")
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


def test_web_worker_and_beat_take_their_settings_from_the_secret():
    deployments = {d["metadata"]["name"]: d for d in of_kind("Deployment")}
    assert set(deployments) == {"finops-web", "finops-worker", "finops-beat"}
    (account,) = of_kind("ServiceAccount")
    for name, deployment in deployments.items():
        spec = deployment["spec"]["template"]["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert container["image"] == "finops-k8s:latest", name
            assert {"secretRef": {"name": "finops"}} in container["envFrom"], name
            plain = {e["name"] for e in container.get("env", [])}
            assert not plain & {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"}, name
        # only the worker samples, so only the worker carries the collector's token
        if name == "finops-worker":
            assert spec["serviceAccountName"] == account["metadata"]["name"]
            assert spec["automountServiceAccountToken"] is True
        else:
            assert spec["automountServiceAccountToken"] is False, name
    assert deployments["finops-beat"]["spec"]["replicas"] == 1
    (service,) = of_kind("Service")
    assert service["spec"]["selector"] == deployments["finops-web"]["spec"]["selector"]["matchLabels"]
