"""Attribution in the database: the policy in force on each charge date, known nodes, re-attribution, dirty days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from costing.billing import attribution_db as attribute
from costing.billing.attribution_db import attribute_lines_in_db, reattribute
from costing.billing.importer import import_bill
from costing.choices import ConnectionType
from costing.models import (
    BillLine,
    Cluster,
    ClusterDay,
    LoadBalancer,
    Namespace,
    Node,
    NodePool,
    Policy,
    TagRule,
)
from tests.costing import scenario
from tests.costing.billing.conftest import focus_row

pytestmark = pytest.mark.django_db
SEEN = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.fixture
def world():
    """Clusters prod and staging, node prod-1 (instance i-0abc); policies from 1 and 15 September."""
    prod = Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)
    staging = Cluster.objects.create(name="staging", connection_type=ConnectionType.KUBECONFIG)
    pool = NodePool.objects.create(cluster=prod, name="general")
    node = Node.objects.create(
        cluster=prod, node_pool=pool, name="prod-1", instance_id="i-0abc", first_seen=SEEN, last_seen=SEEN
    )
    early = Policy.objects.create(effective_from=date(2026, 9, 1))
    late = Policy.objects.create(effective_from=date(2026, 9, 15))
    for policy in (early, late):
        TagRule.objects.create(policy=policy, cluster_name="prod", key="aws:eks:cluster-name", value="prod")
        TagRule.objects.create(policy=policy, cluster_name="staging", key="kubernetes.io/cluster/staging")
    # The team tag moves from prod to staging on the 15th.
    TagRule.objects.create(policy=early, cluster_name="prod", key="team", value="web")
    TagRule.objects.create(policy=late, cluster_name="staging", key="team", value="web")
    # A rule for a cluster that is not registered is ignored.
    TagRule.objects.create(policy=early, cluster_name="ghost", key="env", value="ghost")
    return {"prod": prod, "staging": staging, "node": node, "pool": pool, "early": early, "late": late}


def _on(day: int, hour: int = 0, hours: int = 1, **values) -> dict:
    start = datetime(2026, 9, day, hour, tzinfo=UTC)
    end = datetime(2026, 9, day + (hour + hours) // 24, (hour + hours) % 24, tzinfo=UTC)
    return focus_row(
        ChargePeriodStart=start.strftime("%Y-%m-%d %H:%M:%S"),
        ChargePeriodEnd=end.strftime("%Y-%m-%d %H:%M:%S"),
        **values,
    )


def _kinds() -> list[tuple]:
    return list(
        BillLine.objects.order_by("source_row").values_list(
            "source_row", "kind", "cluster__name", "node__name"
        )
    )


def test_lines_follow_nodes_then_the_tag_rules_in_force_on_their_date(world, write_focus):
    rows = [
        _on(2, ResourceId="i-0abc", Tags='{"aws:eks:cluster-name": "staging-looking"}'),  # the node wins
        _on(2, ResourceId="arn:aws:ec2:eu-west-1:1:instance/i-0abc", Tags="{}"),  # ARN ending in the id
        _on(3, ResourceId="vol-1", Tags='{"aws:eks:cluster-name": "prod"}'),
        _on(3, ResourceId="vol-2", Tags='{"kubernetes.io/cluster/staging": "owned"}'),  # key alone
        _on(10, ResourceId="lb-1", Tags='{"team": "web"}'),  # early policy: prod
        _on(20, ResourceId="lb-1", Tags='{"team": "web"}'),  # late policy: staging
        _on(20, ResourceId="bucket", Tags='{"team": "data"}'),  # no rule: outside
        _on(21, ResourceId="x", Tags='{"env": "ghost"}'),  # rule of an unknown cluster: outside
    ]
    import_bill(write_focus(rows), "focus", expected_currency="USD")
    assert _kinds() == [
        (2, "node", "prod", "prod-1"),
        (3, "node", "prod", "prod-1"),
        (4, "overhead", "prod", None),
        (5, "overhead", "staging", None),
        (6, "overhead", "prod", None),
        (7, "overhead", "staging", None),
        (8, "outside", None, None),
        (9, "outside", None, None),
    ]


def test_before_any_policy_only_nodes_are_recognised(world, write_focus):
    rows = [
        focus_row(
            ResourceId="i-0abc",
            ChargePeriodStart="2026-08-20 00:00:00",
            ChargePeriodEnd="2026-08-20 01:00:00",
        ),
        focus_row(
            ResourceId="vol-1", ChargePeriodStart="2026-08-20 00:00:00", ChargePeriodEnd="2026-08-20 01:00:00"
        ),
    ]
    import_bill(write_focus(rows), "focus", expected_currency="USD")
    assert _kinds() == [(2, "node", "prod", "prod-1"), (3, "outside", None, None)]


def test_import_marks_the_cluster_days_its_lines_touch(world, write_focus):
    rows = [
        _on(2, hour=22, hours=27, ResourceId="vol-1", Tags='{"aws:eks:cluster-name": "prod"}'),  # 2nd-4th
        _on(5, ResourceId="i-0abc", Tags="{}"),
        _on(6, ResourceId="bucket", Tags="{}"),  # outside: no cluster-day
        _on(7, ResourceId="vol-2", Tags='{"kubernetes.io/cluster/staging": "owned"}'),
    ]
    import_bill(write_focus(rows), "focus", expected_currency="USD")
    assert set(ClusterDay.objects.filter(dirty=True).values_list("cluster__name", "day")) == {
        ("prod", date(2026, 9, 2)),
        ("prod", date(2026, 9, 3)),
        ("prod", date(2026, 9, 4)),
        ("prod", date(2026, 9, 5)),
        ("staging", date(2026, 9, 7)),
    }


def test_a_replaced_import_marks_the_days_of_the_lines_it_removes(world, write_focus):
    staging_line = _on(8, ResourceId="vol-2", Tags='{"kubernetes.io/cluster/staging": "owned"}')
    import_bill(
        write_focus([_on(2, ResourceId="i-0abc"), staging_line], name="a.csv"),
        "focus",
        expected_currency="USD",
    )
    ClusterDay.objects.update(dirty=False)

    import_bill(write_focus([_on(2, ResourceId="i-0abc")], name="b.csv"), "focus", expected_currency="USD")

    assert set(ClusterDay.objects.filter(dirty=True).values_list("cluster__name", "day")) == {
        ("prod", date(2026, 9, 2)),
        ("staging", date(2026, 9, 8)),  # its only line went away
    }


def test_a_node_seen_after_the_import_takes_its_lines_on_reattribute(world, write_focus, monkeypatch):
    monkeypatch.setattr(attribute, "BATCH", 1)  # one line per batch: the batches follow each other
    rows = [
        _on(4, hour=10, ResourceId="i-0new", Tags='{"aws:eks:cluster-name": "prod"}'),
        _on(4, hour=11, ResourceId="i-0new", Tags='{"aws:eks:cluster-name": "prod"}'),
        _on(12, ResourceId="i-0new", Tags='{"aws:eks:cluster-name": "prod"}'),  # outside the window below
    ]
    import_bill(write_focus(rows), "focus", expected_currency="USD")
    assert set(BillLine.objects.values_list("kind", flat=True)) == {"overhead"}
    ClusterDay.objects.update(dirty=False)
    new = Node.objects.create(
        cluster=world["prod"], node_pool=world["pool"], name="prod-2", instance_id="i-0new",
        first_seen=SEEN, last_seen=SEEN,
    )  # fmt: skip

    changed = reattribute(datetime(2026, 9, 4, tzinfo=UTC), datetime(2026, 9, 5, tzinfo=UTC))

    assert changed == 2
    assert _kinds() == [
        (2, "node", "prod", "prod-2"),
        (3, "node", "prod", "prod-2"),
        (4, "overhead", "prod", None),
    ]
    assert BillLine.objects.filter(node=new).count() == 2
    assert set(ClusterDay.objects.filter(dirty=True).values_list("cluster__name", "day")) == {
        ("prod", date(2026, 9, 4))
    }
    assert reattribute(datetime(2026, 9, 4, tzinfo=UTC), datetime(2026, 9, 5, tzinfo=UTC)) == 0  # settled


def test_a_tag_rule_added_later_moves_lines_and_marks_both_clusters(world, write_focus):
    rows = [
        _on(16, ResourceId="db-1", Tags='{"env": "stg"}'),
        _on(17, ResourceId="db-2", Tags='{"aws:eks:cluster-name": "prod", "env": "stg"}'),
    ]
    import_bill(write_focus(rows), "focus", expected_currency="USD")
    ClusterDay.objects.update(dirty=False)
    # A precise rule (key and value) is tried before the key-only ones, then by cluster name: staging's
    # env=stg rule does not beat prod's, both have values; prod < staging by name.
    TagRule.objects.create(policy=world["late"], cluster_name="staging", key="env", value="stg")

    changed = attribute_lines_in_db(BillLine.objects.all())

    assert changed == 1
    assert _kinds() == [(2, "overhead", "staging", None), (3, "overhead", "prod", None)]
    assert set(ClusterDay.objects.filter(dirty=True).values_list("cluster__name", "day")) == {
        ("staging", date(2026, 9, 16))
    }


def test_removing_a_tag_rule_moves_the_line_out_and_marks_the_old_cluster(world, write_focus):
    import_bill(
        write_focus([_on(20, ResourceId="lb-1", Tags='{"team": "web"}')]), "focus", expected_currency="USD"
    )
    assert _kinds() == [(2, "overhead", "staging", None)]
    ClusterDay.objects.update(dirty=False)
    TagRule.objects.filter(policy=world["late"], key="team").delete()

    assert reattribute(datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)) == 1

    assert _kinds() == [(2, "outside", None, None)]
    assert set(ClusterDay.objects.filter(dirty=True).values_list("cluster__name", "day")) == {
        ("staging", date(2026, 9, 20))
    }


@pytest.mark.django_db
def test_attributing_again_without_any_change_writes_nothing_and_marks_no_day():
    scenario.build()
    assert reattribute(scenario.START, scenario.START + timedelta(days=2)) == 0
    assert not ClusterDay.objects.exists()


def test_a_service_seen_after_the_import_takes_its_load_balancer_line(world, write_focus):
    rows = [
        _on(3, ResourceId="elb-0abc", Tags='{"aws:eks:cluster-name": "prod"}'),
        _on(3, ResourceId="elb-0def", Tags='{"aws:eks:cluster-name": "prod"}'),
    ]
    import_bill(write_focus(rows), "focus", expected_currency="USD")
    assert [kind for _, kind, *_ in _kinds()] == ["overhead", "overhead"]
    ClusterDay.objects.update(dirty=False)
    shop = Namespace.objects.create(cluster=world["prod"], name="shop", first_seen=SEEN, last_seen=SEEN)
    lb = LoadBalancer.objects.create(
        cluster=world["prod"], namespace=shop, name="web", ids=["elb-0abc"], first_seen=SEEN, last_seen=SEEN
    )
    assert attribute_lines_in_db(BillLine.objects.all()) == 1
    assert list(BillLine.objects.order_by("source_row").values_list("kind", "load_balancer_id")) == [
        ("load_balancer", lb.pk),
        ("overhead", None),  # matches no Service: stays overhead
    ]
    assert set(ClusterDay.objects.filter(dirty=True).values_list("cluster__name", "day")) == {
        ("prod", date(2026, 9, 3))
    }
    assert attribute_lines_in_db(BillLine.objects.all()) == 0
