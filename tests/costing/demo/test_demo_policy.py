"""The demo policy fits the simulated cluster: every namespace has the owner the demo intends."""

from pathlib import Path

from costing.demo.simulator import DemoCluster
from costing.policy import DepartmentResolver, read_policy

POLICY = Path(__file__).resolve().parents[3] / "costing" / "demo" / "policy.yaml"


def test_demo_policy_loads_clean_and_owns_the_simulated_namespaces():
    demo = DemoCluster()
    namespaces = demo.namespaces()
    read = read_policy(
        POLICY.read_text(), source="policy.yaml", known_namespaces=[n.name for n in namespaces]
    )
    assert read.warnings == []
    assert read.spec.clusters[0].tag_rules[0].value == demo.cluster_id  # the demo bill's cluster tag
    resolver = DepartmentResolver(read.spec)
    owners = {n.name: resolver.resolve(n.name, n.labels) for n in namespaces}
    expected = {ns: dept for dept, names in demo.departments().items() for ns in names}
    expected.update(dict.fromkeys(demo.shared_namespaces(), "Shared"))
    expected["sandbox"] = "Unallocated"
    assert owners == expected
