"""The demo shows storage: backfilled volumes, the demo bill's EVS lines as their cost (issue #18)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from costing.choices import ConnectionType, LineKind
from costing.compute import recompute_day
from costing.demo.backfill import backfill_demo
from costing.demo.setup import ensure_demo_policy, load_demo_bill
from costing.demo.simulator import RELEASED_CLAIM, UNMOUNTED_CLAIM
from costing.models import BillLine, Cluster, ClusterDay, NamespaceCostDay, PodCostDay, Volume, VolumeCostDay

pytestmark = pytest.mark.django_db

DAY = date(2026, 9, 2)


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.FINOPS_CURRENCY = "EUR"
    cluster = Cluster.objects.create(name="demo", connection_type=ConnectionType.SIMULATOR)
    ensure_demo_policy()
    # Two hours of samples (the backfill of "today" up to 02:00), the day's bill.
    backfill_demo(cluster, days=0, now=datetime(2026, 9, 2, 2, tzinfo=UTC))
    load_demo_bill(cluster, DAY, DAY + timedelta(days=1))
    recompute_day(DAY)
    return cluster


def test_the_demo_bills_its_volumes_to_statefulset_pods_unmounted_claims_and_storage_idle(demo):
    evs = BillLine.objects.filter(service_name="Elastic Volume Service")
    assert evs.exists() and set(evs.values_list("kind", flat=True)) == {LineKind.VOLUME}
    assert Volume.objects.filter(cluster=demo).count() == evs.count()
    pods = PodCostDay.objects.filter(day=DAY, storage_cost__gt=0).select_related("workload")
    assert pods.exists() and {p.workload.kind for p in pods} == {"StatefulSet"}
    namespace, _, _ = UNMOUNTED_CLAIM
    sandbox = NamespaceCostDay.objects.get(day=DAY, namespace__name=namespace)
    assert sandbox.unmounted_storage_cost > 0
    released = VolumeCostDay.objects.get(day=DAY, volume__claim_name=RELEASED_CLAIM[1])
    assert released.idle_cost == released.cost > 0
    day = ClusterDay.objects.get(cluster=demo, day=DAY)
    volumes = sum(VolumeCostDay.objects.filter(day=DAY).values_list("cost", flat=True), Decimal(0))
    assert volumes == sum(evs.values_list("effective_cost", flat=True), Decimal(0)).quantize(Decimal("1e-8"))
    # Hours no sample saw (02:00 on) are storage idle too; what the pods and claims paid is charged.
    assert day.storage_cost > 0 and day.storage_idle_cost >= released.cost
    assert day.storage_cost + day.storage_idle_cost == volumes
    assert day.workload_cost + day.idle_cost + day.overhead_cost == day.physical_cost
