"""Kubernetes name rules: what the API server accepts for namespaces, pods, nodes and pod owners."""

from __future__ import annotations

import pytest

from costing.k8snames import first_problem, kind_problem, name_problem, owner_problem, workload_name_problem


@pytest.mark.parametrize("name", ["shop", "a", "0", "a-b", "9to5", "x" * 63])
def test_namespace_names_kubernetes_accepts(name):
    assert name_problem("namespace", name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("team/a b", "namespace name 'team/a b' is not one Kubernetes accepts (an RFC 1123 label"),
        ("-x", "not one Kubernetes accepts"),
        ("x-", "not one Kubernetes accepts"),
        ("Shop", "not one Kubernetes accepts"),
        ("a.b", "not one Kubernetes accepts"),  # a subdomain, not a label
        ("a_b", "not one Kubernetes accepts"),
        ("", "not one Kubernetes accepts"),
        ("x" * 64, "is 64 characters; Kubernetes allows at most 63"),
    ],
)
def test_namespace_names_kubernetes_refuses(name, why):
    assert why in name_problem("namespace", name)


@pytest.mark.parametrize("what", ["pod", "node"])
def test_pod_and_node_names_are_subdomains(what):
    for good in ["web-1", "ip-10-0-0-1.eu-west-1.compute.internal", "a" * 253, "a." * 126 + "a"]:
        assert name_problem(what, good) is None, good
    for bad in ["web_1", "Web-1", "a..b", ".a", "a.", "a.-b", "n 1", "a/b"]:
        assert "an RFC 1123 subdomain" in name_problem(what, bad), bad
    assert name_problem(what, "a" * 254) == (
        f"{what} name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is 254 characters; Kubernetes allows at most 253"
    )


@pytest.mark.parametrize(
    ("kind", "longest"),
    [
        ("Deployment", 253),
        ("StatefulSet", 253),
        ("DaemonSet", 253),
        ("Rollout", 253),
        ("Job", 63),
        ("CronJob", 52),
    ],
)
def test_owner_names_by_kind(kind, longest):
    assert workload_name_problem(kind, "w" * longest) is None
    assert workload_name_problem(kind, "w" * (longest + 1)).endswith(f"Kubernetes allows at most {longest}")
    assert workload_name_problem(kind, "api.v2") is None
    assert f"{kind} name 'web app' is not one" in workload_name_problem(kind, "web app")


def test_kinds_and_bare_pods():
    for good in ["Deployment", "Rollout", "VirtualMachineInstance", "My-Kind"]:
        assert kind_problem(good) is None
    for bad in ["Deploy ment", "1Job", "Job/x", "K" * 64]:
        assert "is not a Kubernetes kind" in kind_problem(bad)
    # A pod with an empty kind or name is bare: its own workload, nothing more to check.
    assert owner_problem("", "any thing") is None and owner_problem("Job", "") is None
    assert "is not a Kubernetes kind" in owner_problem("a b", "web")
    assert "Job name" in owner_problem("Job", "j" * 64)


def test_first_problem_names_the_first_bad_name():
    assert first_problem("namespace", ["shop", "a b", "-x"]) == first_problem("namespace", ["a b"])
    assert first_problem("pod", ["web-1", "web-2"]) is None
