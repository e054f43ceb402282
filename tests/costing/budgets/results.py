"""Five weeks of stored daily results, built by hand, with an anomaly injected on the last day.

From Sunday 4 October to Sunday 8 November 2026, cluster prod:
  payments/Deployment/pay-api: 10 a day Sunday..Thursday, 3 on Friday and Saturday, 2 pods, CPU at 0.5
      per core-hour (cpu cost = half the cost); on Sunday 8 November 20 with 4 pods (the anomaly).
  search/Deployment/search-api: 4 every day, 1 pod.
  Departments: Payments = pay-api + 1 shared, Search = 4 + 1 shared; the Idle line 2.
  The cluster's physical cost: pay-api + 4 + 1 + 1 + 2 = pay-api + 8.
November 1..7 (a week from Sunday): pay-api 56, Payments 63, search 28, organisation 112;
November 8: pay-api 20, Payments 21, search 4, organisation 28.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from costing.choices import OwnerKind
from costing.models import (
    Cluster,
    ClusterDay,
    Department,
    DepartmentCostDay,
    Namespace,
    NamespaceCostDay,
    Workload,
    WorkloadCostDay,
)

FIRST = date(2026, 10, 4)
AS_OF = date(2026, 11, 8)
PATTERN = [10, 10, 10, 10, 10, 3, 3]


def pay_cost(day: date) -> tuple[int, int]:
    """pay-api's (cost, pods) of the day."""
    if day == AS_OF:
        return 20, 4
    return PATTERN[(day - FIRST).days % 7], 2


def build(last: date = AS_OF) -> Cluster:
    cluster = Cluster.objects.create(name="prod")
    payments = Department.objects.get_or_create(name="Payments")[0]
    search = Department.objects.get_or_create(name="Search")[0]
    seen = {"first_seen": timezone.now(), "last_seen": timezone.now()}
    spaces = {n: Namespace.objects.create(cluster=cluster, name=n, **seen) for n in ("payments", "search")}
    workloads = {
        n: Workload.objects.create(cluster=cluster, namespace=spaces[n], kind=OwnerKind.DEPLOYMENT, name=w)
        for n, w in (("payments", "pay-api"), ("search", "search-api"))
    }
    day = FIRST
    while day <= last:
        pay, pods = pay_cost(day)
        for name, cost, count, department in (
            ("payments", pay, pods, "Payments"),
            ("search", 4, 1, "Search"),
        ):
            money = Decimal(cost)
            common = {"cluster": cluster, "day": day, "namespace": spaces[name], "cost": money}
            WorkloadCostDay.objects.create(
                **common,
                workload=workloads[name],
                pods=count,
                cpu_cost=money / 2,
                cpu_billable_core_hours=cost,  # 0.5 per core-hour
            )
            NamespaceCostDay.objects.create(**common, department=department, cpu_cost=money / 2)
        for name, total, department in (
            ("Payments", pay + 1, payments),
            ("Search", 5, search),
            ("Idle", 2, None),
        ):
            DepartmentCostDay.objects.create(
                day=day,
                cluster=cluster,
                name=name,
                department=department,
                is_line=department is None,
                direct=Decimal(total - 1 if department else 0),
                total=Decimal(total),
            )
        ClusterDay.objects.create(
            cluster=cluster, day=day, dirty=False, computed_at=timezone.now(), physical_cost=Decimal(pay + 8)
        )
        day += timedelta(days=1)
    return cluster
