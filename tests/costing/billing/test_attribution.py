from __future__ import annotations

from decimal import Decimal

import pandas as pd

from costing.billing import BillReader
from costing.billing.attribution import TagRule, attribute_lines, attribute_load_balancers
from tests.costing.billing.conftest import DATA


def _lines(*rows: tuple[str | None, dict]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "resource_id": pd.Series([r for r, _ in rows], dtype=object),
            "tags": pd.Series([t for _, t in rows], dtype=object),
            "effective_cost": [Decimal(1)] * len(rows),
        }
    )


RULES = [
    TagRule("eks-prod", "aws:eks:cluster-name", "prod"),
    TagRule("eks-dev", "kubernetes.io/cluster/dev", None),
    TagRule("cce-1", "CCE-Cluster-ID", "c0ffee01"),
]
NODES = {"i-0aaa": ("eks-prod", "ip-10-0-0-1"), "0b3d-node-uuid": ("cce-1", "192.168.0.7")}


def test_node_lines_overhead_lines_and_lines_outside_kubernetes():
    lines = _lines(
        ("i-0aaa", {"aws:eks:cluster-name": "prod"}),  # node, tagged
        ("arn:aws:ec2:eu-west-1:1:instance/i-0aaa", {}),  # node by ARN, no tags
        ("vol-1", {"aws:eks:cluster-name": "prod"}),  # overhead of eks-prod
        ("vol-2", {"aws:eks:cluster-name": "staging"}),  # value differs: outside
        ("lb-1", {"kubernetes.io/cluster/dev": "shared"}),  # key-present rule
        ("lb-2", {"Kubernetes.io/cluster/dev": "owned"}),  # keys are case-sensitive: outside
        ("projects/p/zones/z/instances/0b3d-node-uuid", {"CCE-Cluster-ID": "other"}),  # node wins over tags
        (None, None),  # a credit without resource or tags
    )
    result = attribute_lines(lines, RULES, NODES)
    kinds = ["node", "node", "overhead", "outside", "overhead", "outside", "node", "outside"]
    clusters = ["eks-prod", "eks-prod", "eks-prod", None, "eks-dev", None, "cce-1", None]
    nodes = ["ip-10-0-0-1", "ip-10-0-0-1", None, None, None, None, "192.168.0.7", None]
    assert list(result["kind"]) == kinds
    assert list(result["cluster"]) == clusters
    assert list(result["node"]) == nodes
    assert "cluster" not in lines.columns  # the input is left alone


def test_a_partial_id_is_not_a_node():
    result = attribute_lines(_lines(("xi-0aaa", {}), ("i-0aaa-disk", {})), RULES, NODES)
    assert list(result["kind"]) == ["outside", "outside"]


def test_the_first_matching_rule_wins():
    rules = [TagRule("a", "team", None), TagRule("b", "team", "web")]
    result = attribute_lines(_lines(("x", {"team": "web"})), rules, {})
    assert result["cluster"].iat[0] == "a"


def test_cbc_bill_attributed_end_to_end():
    reader = BillReader(DATA / "cbc_zh_utf8_bom.csv", "cbc")
    lines = pd.concat(list(reader), ignore_index=True)
    nodes = {"0b3d6a52-7a5e-4c39-9e55-2d7a1b3c4f01": ("cce-1", "node-1")}
    result = attribute_lines(lines, [TagRule("cce-1", "CCE-Cluster-ID", "c0ffee01")], nodes)
    by_kind = {kind: sum(group["effective_cost"], Decimal(0)) for kind, group in result.groupby("kind")}
    # node-1: 1.00; overhead: node-2 (not a known node) 2.00 + disk 0.72 + CCE fee 255 + EIP refund -12.50
    assert by_kind == {
        "node": Decimal("1.0000"),
        "overhead": Decimal("245.2200"),
        "outside": Decimal("0.0990") + Decimal("3.3333"),
    }


EVS = "5b0c3a64-8f4c-4c1e-9f7d-2b3f1c9e0a11"
AZURE_DISK = "/subscriptions/0000-1111/resourceGroups/MC_rg/providers/Microsoft.Compute/disks/pvc-db"
VOLUMES = {  # normalised disk id -> (cluster, PersistentVolume), as costing.volumes.disk_id reads them
    EVS: ("cce-1", "pvc-evs"),
    "vol-0abc": ("eks-prod", "pvc-ebs"),
    AZURE_DISK.lower(): ("aks", "pvc-azure"),
}


def test_a_disk_line_is_its_volumes_cost_and_an_unknown_disk_stays_overhead():
    lines = _lines(
        (EVS, {"CCE-Cluster-ID": "c0ffee01"}),  # Huawei EVS volume id
        ("arn:aws:ec2:eu-west-1:1:volume/vol-0abc", {}),  # EBS by ARN, untagged: the volume names the cluster
        (
            AZURE_DISK.upper(),
            {"aws:eks:cluster-name": "prod"},
        ),  # Azure URIs ignore case; volume wins over tags
        ("vol-0fff", {"aws:eks:cluster-name": "prod"}),  # a disk no volume stands for: overhead
        ("i-0aaa", {}),  # nodes are matched as before
    )
    result = attribute_lines(lines, RULES, NODES, VOLUMES)
    assert list(result["kind"]) == ["volume", "volume", "volume", "overhead", "node"]
    assert list(result["cluster"]) == ["cce-1", "eks-prod", "aks", "eks-prod", "eks-prod"]
    assert list(result["volume"]) == ["pvc-evs", "pvc-ebs", "pvc-azure", None, None]
    assert list(result["node"]) == [None, None, None, None, "ip-10-0-0-1"]
    # Without volume ids (the database attribution today) a disk line is overhead, as it always was.
    assert list(attribute_lines(lines, RULES, NODES)["kind"]) == [
        "overhead",
        "outside",
        "overhead",
        "overhead",
        "node",
    ]


ELB = "7f3a1c2e-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
LB_IDS = {ELB: ("cce-1", "lb-ingress"), "a1b2c3": ("eks-prod", "lb-web"), "20.1.2.3": ("eks-dev", "lb-gw")}
LB_SERVICES = {("cce-1", "shop/checkout"): "lb-checkout"}


def test_load_balancer_lines_by_resource_id_or_service_tag_the_rest_stays_overhead():
    lines = _lines(
        (ELB.upper(), {"CCE-Cluster-ID": "c0ffee01"}),  # Huawei ELB id (case-insensitive)
        (
            "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/a1b2c3/0123abcd",
            {},
        ),  # untagged: its cluster
        ("elb-9", {"CCE-Cluster-ID": "c0ffee01", "kubernetes.io/service-name": "shop/checkout"}),  # by tag
        (
            "elb-10",
            {"CCE-Cluster-ID": "c0ffee01", "kubernetes.io/service-name": "shop/gone"},
        ),  # no such Service
        ("elb-11", {"CCE-Cluster-ID": "c0ffee01"}),  # no Service named: overhead
        ("i-0aaa", {"kubernetes.io/service-name": "shop/checkout"}),  # a node stays a node
        ("elb-12", {"kubernetes.io/service-name": "shop/checkout"}),  # no cluster: the tag alone says nothing
    )
    result = attribute_load_balancers(attribute_lines(lines, RULES, NODES), LB_IDS, LB_SERVICES)
    assert list(result["kind"]) == [
        "load_balancer",
        "load_balancer",
        "load_balancer",
        "overhead",
        "overhead",
        "node",
        "outside",
    ]
    assert list(result["cluster"]) == ["cce-1", "eks-prod", "cce-1", "cce-1", "cce-1", "eks-prod", None]
    assert list(result["load_balancer"]) == ["lb-ingress", "lb-web", "lb-checkout", None, None, None, None]
    # Without any load balancer known, nothing changes but the column.
    plain = attribute_load_balancers(attribute_lines(lines, RULES, NODES), {}, {})
    assert list(plain["kind"]) == list(attribute_lines(lines, RULES, NODES)["kind"])
    assert plain["load_balancer"].isna().all()
