"""A hand-built right-sizing history on the pages' scenario: one over-requested container per department.

Pods co-1 (checkout, Payments) and se-1 (search-api, Search) each get a container `app` that asks 1 core and
1 GiB and uses a flat 0.2 core and 256 MiB for the 21 days before 2025-03-11, on node-hours priced 0.04 per
core-hour and 0.005 per GiB-hour. Advice: CPU 0.2 x 1.15 = 0.23 core, memory 256 MiB x 1.15 = 294.4 -> 295 MiB.
Monthly now (1 x 0.04 + 1 x 0.005) x 730 = 32.85; advised (0.23 x 0.04 + 295/1024 x 0.005) x 730 = 7.7675...
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from costing import histograms
from costing.models import ContainerHour, CoverageHour, NodeCostHour

END = datetime(2025, 3, 11, tzinfo=UTC)
MIB = 2**20
NOW = 32.85
ADVISED = (0.23 * 0.04 + 295 / 1024 * 0.005) * 730
SAVING = NOW - ADVISED


def build(prod) -> None:
    ContainerHour.objects.all().delete()
    hours = [END - timedelta(hours=h) for h in range(1, 21 * 24 + 1)]
    cluster = prod["cluster"]
    pods = [prod["pods"]["co-1"], prod["pods"]["se-1"]]
    cpu = {str(int(histograms.CPU.index([0.2])[0])): 3600}
    mem = {str(int(histograms.MEMORY.index([256 * MIB])[0])): 3600}
    ContainerHour.objects.bulk_create(
        ContainerHour(
            cluster=cluster, pod=pod, node=pod.node, container="app", hour=hour, samples=60, seconds=3600,
            cpu_request_core_hours=1, mem_request_gib_hours=1, cpu_usage_core_hours=0.2, mem_usage_gib_hours=0.25,
            cpu_billable_core_hours=1, mem_billable_gib_hours=1, cpu_usage_max_cores=0.2,
            mem_usage_max_bytes=256 * MIB, cpu_histogram=cpu, mem_histogram=mem,
        )
        for pod in pods
        for hour in hours
    )  # fmt: skip
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
