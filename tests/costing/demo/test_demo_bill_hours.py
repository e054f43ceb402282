"""The demo bill pays every node-hour the simulator samples: no estimate on a fully billed day."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from costing.billing.importer import import_bill
from costing.choices import ConnectionType, RunStatus, SampleSource
from costing.compute import recompute_day
from costing.demo.bill import CLUSTER_TAG_KEY, write_demo_focus_bill
from costing.demo.setup import ensure_demo_policy
from costing.demo.simulator import POOLS, DemoCluster
from costing.models import ClusterDay, Node
from costing.recording import NAMESPACE_COLUMNS, record_samples

pytestmark = pytest.mark.django_db

# Wednesday and Thursday: the spot pool's scaling node of both days is called 192.168.3.183 (its name is the
# private IP, which the cloud hands out again), on two different instances.
WEDNESDAY, THURSDAY = date(2025, 4, 9), date(2025, 4, 10)
INTERVAL = 600  # a sample every 10 minutes: a multiple of the minute, and of the hour's boundaries


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _cluster_cost_by_day(path, cluster_id: str) -> dict[date, Decimal]:
    """The bill's lines tagged with the cluster, summed by the day their charge period starts in."""
    out: dict[date, Decimal] = defaultdict(Decimal)
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if json.loads(row["Tags"]).get(CLUSTER_TAG_KEY) == cluster_id:
                out[date.fromisoformat(row["ChargePeriodStart"][:10])] += Decimal(row["EffectiveCost"])
    return out


def test_a_node_name_used_again_keeps_the_bill_of_its_earlier_instance(tmp_path):
    from costing.models import Cluster

    demo = DemoCluster("demo", 42)
    spot = next(p for p in POOLS if p.scaling)
    day_number = (WEDNESDAY - date(1970, 1, 1)).days
    first, second = demo._scaling_node(spot, day_number), demo._scaling_node(spot, day_number + 1)
    assert first["node"] == second["node"] and first["provider_id"] != second["provider_id"]

    cluster = Cluster.objects.create(
        name="demo", connection_type=ConnectionType.SIMULATOR, sampling_interval=INTERVAL
    )
    namespaces = pd.DataFrame([(ns.name, ns.labels) for ns in demo.namespaces()], columns=NAMESPACE_COLUMNS)
    for day in (WEDNESDAY, THURSDAY):
        nodes, pods = demo.frames(_midnight(day), _midnight(day) + timedelta(days=1), INTERVAL)
        record_samples(cluster, nodes, pods, namespaces, interval=INTERVAL, source=SampleSource.SIMULATOR)
    ensure_demo_policy()
    path = tmp_path / "bill.csv"
    write_demo_focus_bill(demo, WEDNESDAY, THURSDAY + timedelta(days=1), path)
    assert import_bill(path, "focus").status == RunStatus.SUCCEEDED
    billed = _cluster_cost_by_day(path, demo.cluster_id)

    for day in (WEDNESDAY, THURSDAY):
        recompute_day(day)
        row = ClusterDay.objects.get(cluster=cluster, day=day)
        # Every node-hour sampled is on the bill: nothing estimated, and the day costs what the bill says
        # (an estimate beside the unattributed line, booked as overhead, would count the node twice).
        assert row.estimated_cost == 0, day
        assert row.physical_cost == billed[day].quantize(Decimal("0.00000001")), day
    reused = Node.objects.get(cluster=cluster, name=first["node"])
    assert reused.instance_id == second["provider_id"].rsplit("/", 1)[-1]  # the node as last seen
    assert set(reused.instances.values_list("instance_id", flat=True)) == {
        first["provider_id"].rsplit("/", 1)[-1],
        second["provider_id"].rsplit("/", 1)[-1],
    }
