"""A hand-built right-sizing history on the pages' scenario: one over-requested container per department.

Pods co-1 (checkout, Payments) and se-1 (search-api, Search) each get a container `app` that asks 1 core and
1 GiB and uses a flat 0.2 core and 256 MiB for the 21 days before 2025-03-11, on node-hours priced 0.04 per
core-hour and 0.005 per GiB-hour. Advice: CPU 0.2 x 1.15 = 0.23 core, memory 256 MiB x 1.15 = 294.4 -> 295 MiB.
Monthly now (1 x 0.04 + 1 x 0.005) x 730 = 32.85; advised (0.23 x 0.04 + 295/1024 x 0.005) x 730 = 7.7675...

co-1 also has an under-requested `sidecar`: it asks 0.1 core and 64 MiB and uses 0.5 core and 128 MiB.
Advice 0.575 core and 147.2 -> 148 MiB; now (0.5 x 0.04 + 0.125 x 0.005) x 730 = 15.05625, advised
(0.575 x 0.04 + 148/1024 x 0.005) x 730 = 17.3175...: a risk costing 2.2613 more a month.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from costing import histograms
from costing.models import ClusterDay, ContainerHour, CoverageHour, NodeCostHour
from costing.recommendations import store_container_days

END = datetime(2025, 3, 11, tzinfo=UTC)
MIB = 2**20
NOW = 32.85
ADVISED = (0.23 * 0.04 + 295 / 1024 * 0.005) * 730
SAVING = NOW - ADVISED
RISK_COST = (0.575 * 0.04 + 148 / 1024 * 0.005) * 730 - (0.5 * 0.04 + 0.125 * 0.005) * 730
# container, pods, CPU request and use (cores), memory request and use (MiB)
CONTAINERS = [("app", ("co-1", "se-1"), 1.0, 0.2, 1024, 256), ("sidecar", ("co-1",), 0.1, 0.5, 64, 128)]


def build(prod) -> None:
    ContainerHour.objects.all().delete()
    hours = [END - timedelta(hours=h) for h in range(1, 21 * 24 + 1)]
    cluster = prod["cluster"]
    rows = []
    for container, names, cpu_request, cpu_use, mem_request, mem_use in CONTAINERS:
        cpu = {str(int(histograms.CPU.index([cpu_use])[0])): 3600}
        mem = {str(int(histograms.MEMORY.index([mem_use * MIB])[0])): 3600}
        rows += [
            ContainerHour(
                cluster=cluster, pod=prod["pods"][name], node=prod["pods"][name].node, container=container,
                hour=hour, samples=60, seconds=3600, cpu_request_core_hours=cpu_request,
                mem_request_gib_hours=mem_request / 1024, cpu_usage_core_hours=cpu_use,
                mem_usage_gib_hours=mem_use / 1024, cpu_billable_core_hours=max(cpu_use, cpu_request),
                mem_billable_gib_hours=max(mem_use, mem_request) / 1024, cpu_usage_max_cores=cpu_use,
                mem_usage_max_bytes=mem_use * MIB, cpu_histogram=cpu, mem_histogram=mem,
            )
            for name in names
            for hour in hours
        ]  # fmt: skip
    ContainerHour.objects.bulk_create(rows)
    pods = [prod["pods"]["co-1"], prod["pods"]["se-1"]]
    zero = Decimal(0)
    money = dict.fromkeys(["cost", "cpu_cost_pool", "mem_cost_pool", "cpu_idle"], zero)
    NodeCostHour.objects.bulk_create(
        [
            NodeCostHour(cluster=cluster, node=n, hour=h, **money)
            for n in {p.node for p in pods}
            for h in hours
        ],
        ignore_conflicts=True,
    )
    NodeCostHour.objects.filter(hour__in=hours).update(cpu_price=0.04, mem_price=0.005)
    CoverageHour.objects.bulk_create(
        [CoverageHour(cluster=cluster, hour=h) for h in hours], ignore_conflicts=True
    )
    CoverageHour.objects.filter(hour__in=hours).update(sampled_seconds=3600)
    # The scenario's computed days store their container-days as compute does, from these hours and prices;
    # the days it did not compute are read from the hours.
    for day in ClusterDay.objects.filter(cluster=cluster, day__lt=END.date()).values_list("day", flat=True):
        store_container_days(cluster.pk, day)
