"""Hourly bill costs per node-hour and cluster-hour, and the lines behind one node-hour."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd
import pytest

from costing.billing.costs import bill_costs_by_hour, lines_for_node_hour
from costing.billing.importer import import_bill
from costing.choices import ConnectionType
from costing.models import Cluster, Node, NodePool, Policy, TagRule
from tests.costing.billing.conftest import focus_row

pytestmark = pytest.mark.django_db
SEEN = datetime(2026, 9, 1, tzinfo=UTC)
DAY = datetime(2026, 9, 2, tzinfo=UTC)
NEXT_DAY = datetime(2026, 9, 3, tzinfo=UTC)


def _line(start: str, end: str, cost: str, billed: str | None = None, **values) -> dict:
    return focus_row(
        ChargePeriodStart=f"2026-09-{start}:00",
        ChargePeriodEnd=f"2026-09-{end}:00",
        EffectiveCost=cost,
        BilledCost=billed or cost,
        **values,
    )


@pytest.fixture
def bill(write_focus):
    prod = Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)
    other = Cluster.objects.create(name="other", connection_type=ConnectionType.KUBECONFIG)
    pool = NodePool.objects.create(cluster=prod, name="general")
    node_a = Node.objects.create(
        cluster=prod, node_pool=pool, name="a", instance_id="i-a", first_seen=SEEN, last_seen=SEEN
    )
    node_b = Node.objects.create(
        cluster=prod, node_pool=pool, name="b", instance_id="i-b", first_seen=SEEN, last_seen=SEEN
    )
    policy = Policy.objects.create(effective_from=date(2026, 1, 1))
    TagRule.objects.create(policy=policy, cluster_name="prod", key="cluster", value="prod")
    TagRule.objects.create(policy=policy, cluster_name="other", key="cluster", value="other")
    prod_tag = '{"cluster": "prod"}'
    rows = [
        _line("02 10:00", "02 13:00", "0.9", "1.2", ResourceId="i-a"),  # 0.3 (0.4 billed) per hour, 10-12
        _line("02 10:00", "02 11:00", "0.25", ResourceId="i-a"),  # a second line in node a's 10:00
        _line("02 10:30", "02 11:30", "1.0", ResourceId="i-b"),  # half in 10:00, half in 11:00
        _line("02 00:00", "03 00:00", "2.4", ResourceId="disk", Tags=prod_tag),  # overhead, 0.1 per hour
        _line("02 22:00", "03 02:00", "4.0", ResourceId="lb", Tags=prod_tag),  # half of it inside the day
        _line("02 05:00", "02 06:00", "7.0", ResourceId="x", Tags='{"cluster": "other"}'),  # another cluster
        _line("02 05:00", "02 06:00", "9.0", ResourceId="bucket", Tags="{}"),  # outside Kubernetes
    ]
    record = import_bill(write_focus(rows), "focus", expected_currency="USD")
    assert record.status == "succeeded", record.error
    return {"prod": prod, "other": other, "a": node_a, "b": node_b}


def _at(hour: int) -> pd.Timestamp:
    return pd.Timestamp(datetime(2026, 9, 2, hour, tzinfo=UTC))


def test_the_day_adds_up_to_the_lines_inside_it_and_half_of_the_one_half_inside(bill):
    costs = bill_costs_by_hour(bill["prod"].pk, DAY, NEXT_DAY)

    node = costs[costs["kind"] == "node"]
    overhead = costs[costs["kind"] == "overhead"]
    assert sum(node["effective_cost"], Decimal(0)) == Decimal("0.9") + Decimal("0.25") + Decimal("1.0")
    assert sum(node["billed_cost"], Decimal(0)) == Decimal("1.2") + Decimal("0.25") + Decimal("1.0")
    # The disk entirely, the load balancer's 22:00-24:00 of its 22:00-02:00.
    assert sum(overhead["effective_cost"], Decimal(0)) == Decimal("2.4") + Decimal("2.0")
    assert overhead["node_id"].isna().all() and len(overhead) == 24
    assert all(isinstance(v, Decimal) for v in costs["effective_cost"])


def test_node_lines_land_on_their_node_hours(bill):
    costs = bill_costs_by_hour(bill["prod"].pk, DAY, NEXT_DAY)
    node = costs[costs["kind"] == "node"].set_index(["hour", "node_id"])
    a, b = bill["a"].pk, bill["b"].pk
    assert node.loc[(_at(10), a), "effective_cost"] == Decimal("0.3") + Decimal("0.25")
    assert node.loc[(_at(11), a), "effective_cost"] == Decimal("0.3")
    assert node.loc[(_at(12), a), "billed_cost"] == Decimal("0.4")
    assert (
        node.loc[(_at(10), b), "effective_cost"] == node.loc[(_at(11), b), "effective_cost"] == Decimal("0.5")
    )
    assert len(node) == 5


def test_a_window_keeps_only_its_hours(bill):
    costs = bill_costs_by_hour(bill["prod"].pk, _at(11).to_pydatetime(), _at(12).to_pydatetime())
    assert sorted(costs["hour"].unique()) == [_at(11)]
    by_kind = costs.groupby("kind")["effective_cost"].sum()
    assert by_kind["node"] == Decimal("0.3") + Decimal("0.5")
    assert by_kind["overhead"] == Decimal("0.1")


def test_other_clusters_and_outside_lines_stay_out(bill):
    other = bill_costs_by_hour(bill["other"].pk, DAY, NEXT_DAY)
    assert list(other["effective_cost"]) == [Decimal("7.0")] and list(other["hour"]) == [_at(5)]
    assert bill_costs_by_hour(
        bill["prod"].pk, datetime(2026, 9, 10, tzinfo=UTC), datetime(2026, 9, 11, tzinfo=UTC)
    ).empty


def test_the_lines_of_a_node_hour_explain_its_cost(bill):
    lines = lines_for_node_hour(bill["a"].pk, _at(10).to_pydatetime())
    assert sorted(zip(lines["effective_cost"], lines["effective_share"], strict=True)) == [
        (Decimal("0.25"), Decimal("0.25")),
        (Decimal("0.9"), Decimal("0.3")),
    ]
    costs = bill_costs_by_hour(bill["prod"].pk, DAY, NEXT_DAY).set_index(["hour", "node_id"])
    assert sum(lines["effective_share"], Decimal(0)) == costs.loc[(_at(10), bill["a"].pk), "effective_cost"]
    assert set(lines["file_name"]) == {"bill.csv"}
    assert lines_for_node_hour(bill["a"].pk, _at(15).to_pydatetime()).empty
