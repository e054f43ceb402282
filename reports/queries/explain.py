"""What a stored figure is made of, one level down, as plain dicts and lists for pages and the API."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from costing.billing.spreading import split_cost
from costing.choices import LineKind
from costing.compute import day_bounds
from costing.engine.allocation import POD_COSTS, POD_QUANTITIES
from costing.models import (
    BillLine,
    Cluster,
    DepartmentCostDay,
    LoadBalancerCostDay,
    Namespace,
    NamespaceCostDay,
    Node,
    NodeCostHour,
    NodeHour,
    PodCostDay,
    PodHour,
    PoolShareDay,
    Volume,
    VolumeCostDay,
    VolumeMountHour,
    Workload,
    WorkloadCostDay,
)
from costing.policy.store import spec_for_day

QUANTITIES = POD_QUANTITIES
COSTS = [*POD_COSTS, "storage_cost"]
VOLUME_COSTS = ["cost", "pods_cost", "unmounted_cost", "idle_cost"]
ZERO = Decimal(0)


class NotFound(LookupError):
    """The cluster, namespace, workload, node or node-hour asked about has no stored result."""


def _cluster_id(name: str | None) -> int | None:
    if name is None:
        return None
    found = Cluster.objects.filter(name=name).values_list("pk", flat=True).first()
    if found is None:
        raise NotFound(f"no cluster named {name!r}")
    return found


def _period(qs, start: date, end: date, cluster_id: int | None = None):
    qs = qs.filter(day__gte=start, day__lt=end)
    return qs.filter(cluster_id=cluster_id) if cluster_id is not None else qs


def _sum_rows(rows: list[dict], keys: list[str], measures: list[str]) -> list[dict]:
    """Rows added up per key (Decimal sums stay exact), in key order, with the number of days."""
    out: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        into = out.get(key)
        if into is None:
            into = out[key] = {
                **{k: row[k] for k in keys},
                **{m: row[m] * 0 for m in measures},
                "days": set(),
            }
        for m in measures:
            into[m] += row[m]
        into["days"].add(row["day"])
    result = []
    for key in sorted(out, key=lambda k: tuple(str(v) for v in k)):
        row = out[key]
        row["days"] = len(row["days"])
        result.append(row)
    return result


def explain_department(name: str, start: date, end: date, cluster: str | None = None) -> dict:
    """A department's (or a pool line's) total over [start, end): its namespaces' direct cost and its
    share of each pool with the method configured, the method applied, the basis and the fraction.

    `direct` equals the sum of the namespaces' costs; `shared`, `idle` and `overhead` equal the sums
    of the pool shares of that pool (to the 1e-8 of each day's rounding).
    """
    cluster_id = _cluster_id(cluster)
    parts = ["direct", "shared", "idle", "gpu_idle", "overhead", "total"]
    totals = dict.fromkeys(parts, ZERO)
    lines = _period(DepartmentCostDay.objects.filter(name=name), start, end, cluster_id).values(
        *parts, "is_line"
    )
    is_line = False
    for line in lines:
        is_line = line["is_line"]
        for p in parts:
            totals[p] += line[p]
    namespaces = _sum_rows(
        [
            {
                "cluster": r["cluster__name"],
                "namespace": r["namespace__name"],
                "day": r["day"],
                "cost": r["cost"],
            }
            for r in _period(
                NamespaceCostDay.objects.filter(department=name, shared=False), start, end, cluster_id
            ).values("cluster__name", "namespace__name", "day", "cost")
        ],
        ["cluster", "namespace"],
        ["cost"],
    )
    shares = _sum_rows(
        [
            {"cluster": r.pop("cluster__name"), **r}
            for r in _period(PoolShareDay.objects.filter(name=name), start, end, cluster_id).values(
                "cluster__name",
                "day",
                "pool",
                "method",
                "applied",
                "scope",
                "basis",
                "resource",
                "via",
                "pool_amount",
                "amount",
            )
        ],
        ["cluster", "pool", "method", "applied", "scope", "basis", "resource", "via"],
        ["pool_amount", "amount"],
    )
    for share in shares:
        # Over several days the fraction is what the department took of what was divided.
        share["fraction"] = float(share["amount"] / share["pool_amount"]) if share["pool_amount"] else 0.0
    return {
        "department": name,
        "is_line": is_line,
        "start": start,
        "end": end,
        "cluster": cluster,
        **totals,
        "namespaces": namespaces,
        "pools": shares,
    }


def explain_namespace(cluster: str, namespace: str, start: date, end: date) -> dict:
    """A namespace's cost over [start, end) and its workloads, which add up to it exactly."""
    cluster_id = _cluster_id(cluster)
    ns = Namespace.objects.filter(cluster_id=cluster_id, name=namespace).first()
    if ns is None:
        raise NotFound(f"no namespace {namespace!r} in cluster {cluster!r}")
    days = list(
        _period(NamespaceCostDay.objects.filter(namespace=ns), start, end).values(
            "day", "department", "shared", "unmounted_storage_cost", *COSTS, "network_cost"
        )
    )
    pods = defaultdict(set)
    for workload_id, pod_id in _period(PodCostDay.objects.filter(namespace=ns), start, end).values_list(
        "workload_id", "pod_id"
    ):
        pods[workload_id].add(pod_id)
    workloads = _sum_rows(
        [
            {
                "workload_id": r.pop("workload_id"),
                "kind": r.pop("workload__kind"),
                "name": r.pop("workload__name"),
                **r,
            }
            for r in _period(WorkloadCostDay.objects.filter(namespace=ns), start, end).values(
                "workload_id", "workload__kind", "workload__name", "day", *QUANTITIES, *COSTS
            )
        ],
        ["workload_id", "kind", "name"],
        [*QUANTITIES, *COSTS],
    )
    for row in workloads:
        row["pods"] = len(pods[row["workload_id"]])
    unmounted = sum((d["unmounted_storage_cost"] for d in days), ZERO)
    return {
        "cluster": cluster,
        "namespace": namespace,
        "start": start,
        "end": end,
        "departments": sorted({d["department"] for d in days}),
        "shared": any(d["shared"] for d in days),
        **{c: sum((d[c] for d in days), ZERO) for c in COSTS},
        "network_cost": sum((d["network_cost"] for d in days), ZERO),
        "workloads": workloads,
        # The namespace's claims that no pod mounted: part of its cost, in none of its workloads.
        "unmounted_storage_cost": unmounted,
        "volumes": volume_explanations(
            _period(
                VolumeCostDay.objects.filter(Q(namespace=ns) | Q(volume__claim_namespace=namespace)),
                start,
                end,
            ).filter(cluster_id=cluster_id),
            start,
            end,
        ),
        # Read only where the namespace has network cost: a namespace page without one costs no query more.
        "load_balancers": explain_load_balancers(ns, start, end)
        if any(d["network_cost"] for d in days)
        else [],
    }


def workload_volumes(workload_id: int, start: date, end: date) -> list[dict]:
    """volume_explanations of the volumes the workload's pods mounted within [start, end) and hourly
    retention (mount-hours are kept as long as node-hours)."""
    hourly_start = max(start, hourly_cutoff())
    if hourly_start >= end:
        return []
    first, _ = day_bounds(hourly_start)
    last, _ = day_bounds(end)
    mounted = VolumeMountHour.objects.filter(pod__workload_id=workload_id, hour__gte=first, hour__lt=last)
    ids = sorted(set(mounted.values_list("volume_id", flat=True)))
    if not ids:
        return []
    return volume_explanations(
        _period(VolumeCostDay.objects.filter(volume_id__in=ids), hourly_start, end), hourly_start, end
    )


def volume_explanations(volume_days, start: date, end: date) -> list[dict]:
    """Per volume of the VolumeCostDay rows given, over [start, end): its claim and disk, what its disk cost
    and who paid it (pods mounting it, its claim's namespace while unmounted, idle while released or
    unbound), and the bill lines of its disk ("this volume, bill line X")."""
    rows = _sum_rows(
        [
            {"volume_id": r.pop("volume_id"), **r}
            for r in volume_days.values("volume_id", "day", *VOLUME_COSTS)
        ],
        ["volume_id"],
        VOLUME_COSTS,
    )
    if not rows:
        return []
    ids = [r["volume_id"] for r in rows]
    volumes = {
        v["pk"]: v
        for v in Volume.objects.filter(pk__in=ids).values(
            "pk",
            "name",
            "disk_id",
            "driver",
            "storage_class",
            "capacity_bytes",
            "phase",
            "claim_namespace",
            "claim_name",
        )
    }
    first, _ = day_bounds(start)
    last, _ = day_bounds(end)
    lines = defaultdict(list)
    for line in (
        BillLine.objects.filter(volume_id__in=ids, charge_period_start__lt=last, charge_period_end__gt=first)
        .order_by("charge_period_start", "pk")
        .values(
            "pk",
            "volume_id",
            "resource_id",
            "resource_name",
            "service_name",
            "charge_period_start",
            "charge_period_end",
            "effective_cost",
        )
    ):
        lines[line.pop("volume_id")].append(line)
    for row in rows:
        volume = volumes[row["volume_id"]]
        row.update({k: v for k, v in volume.items() if k != "pk"})
        row["claim"] = f"{volume['claim_namespace']}/{volume['claim_name']}" if volume["claim_name"] else ""
        row["bill_lines"] = lines.get(row["volume_id"], [])
    return sorted(rows, key=lambda r: r["name"])


def explain_load_balancers(ns: Namespace, start: date, end: date) -> list[dict]:
    """The namespace's load balancers over [start, end) (docs/cost-model.md, Load balancers): per Service
    of type LoadBalancer its cost (the exact sum of its days, part of the namespace's network_cost), its
    cloud ids, and the bill lines it was charged from (`lines`: id, resource id and name, service, charge
    period, the line's whole effective cost)."""
    rows = _sum_rows(
        [
            {"load_balancer_id": r.pop("load_balancer_id"), **r}
            for r in _period(LoadBalancerCostDay.objects.filter(namespace=ns), start, end).values(
                "load_balancer_id", "day", "cost"
            )
        ],
        ["load_balancer_id"],
        ["cost"],
    )
    if not rows:
        return []
    found = {lb.pk: lb for lb in ns.load_balancers.filter(pk__in=[r["load_balancer_id"] for r in rows])}
    first, last = day_bounds(start)[0], day_bounds(end)[0]
    lines = (
        BillLine.objects.filter(
            load_balancer_id__in=list(found), charge_period_start__lt=last, charge_period_end__gt=first
        )
        .order_by("charge_period_start", "pk")
        .values(
            "pk",
            "load_balancer_id",
            "resource_id",
            "resource_name",
            "service_name",
            "charge_period_start",
            "charge_period_end",
            "effective_cost",
        )
    )
    by_lb: dict[int, list[dict]] = defaultdict(list)
    for line in lines:
        by_lb[line.pop("load_balancer_id")].append(line)
    for row in rows:
        lb = found[row["load_balancer_id"]]
        row.update(service=lb.name, cloud_id=lb.cloud_id, hostname=lb.hostname, ip=lb.ip, lines=by_lb[lb.pk])
    return sorted(rows, key=lambda r: (-r["cost"], r["service"]))


def hourly_cutoff(today: date | None = None) -> date:
    """The first day whose node-hour costs are still kept (FINOPS_HOURLY_RETENTION_DAYS)."""
    return (today or timezone.now().date()) - timedelta(days=settings.FINOPS_HOURLY_RETENTION_DAYS)


def explain_workload(workload_id: int, start: date, end: date, *, with_volumes: bool = True) -> dict:
    """A workload's pods over [start, end): per pod its daily figures and, for the days within hourly
    retention, its node-hours with quantities, the unit prices it paid and the cost they make.

    An hour's cost is billable core-hours * cpu_price + billable GiB-hours * mem_price (+ billable
    GPU-hours * gpu_price on a GPU node); the hours of a pod add up to its daily cost (to the 1e-8
    rounding of each stored day). `volumes`: the persistent volumes its pods mounted (workload_volumes),
    unless `with_volumes` is False (the Pod page shows none).
    """
    workload = Workload.objects.filter(pk=workload_id).select_related("namespace", "cluster").first()
    if workload is None:
        raise NotFound(f"no workload with id {workload_id}")
    cutoff = hourly_cutoff()
    pod_days = list(
        _period(PodCostDay.objects.filter(workload=workload), start, end)
        .order_by("pod__name", "day")
        .values("pod_id", "pod__name", "node__name", "day", "samples", *QUANTITIES, *COSTS)
    )
    hourly_start = max(start, cutoff)
    hours_by_pod: dict[int, list[dict]] = defaultdict(list)
    if hourly_start < end:
        first, _ = day_bounds(hourly_start)
        last, _ = day_bounds(end)
        pod_hours = list(
            PodHour.objects.filter(pod__workload=workload, hour__gte=first, hour__lt=last)
            .order_by("hour")
            .values(
                "pod_id",
                "node_id",
                "node__name",
                "hour",
                "cpu_billable_core_hours",
                "mem_billable_gib_hours",
                "gpu_billable_hours",
            )
        )
        node_ids = {h["node_id"] for h in pod_hours}
        prices = {
            (n["node_id"], n["hour"]): n
            for n in NodeCostHour.objects.filter(node_id__in=node_ids, hour__gte=first, hour__lt=last).values(
                "node_id", "hour", "cpu_price", "mem_price", "gpu_price", "estimated", "cost"
            )
        }
        for h in pod_hours:
            price = prices.get((h["node_id"], h["hour"]))
            cpu_price = price["cpu_price"] if price else None
            mem_price = price["mem_price"] if price else None
            cpu_cost = h["cpu_billable_core_hours"] * (cpu_price or 0.0)
            mem_cost = h["mem_billable_gib_hours"] * (mem_price or 0.0)
            gpu_price = price["gpu_price"] if price else None
            gpu_cost = h["gpu_billable_hours"] * (gpu_price or 0.0)
            hours_by_pod[h["pod_id"]].append(
                {
                    "hour": h["hour"],
                    "node": h["node__name"],
                    "cpu_billable_core_hours": h["cpu_billable_core_hours"],
                    "mem_billable_gib_hours": h["mem_billable_gib_hours"],
                    "cpu_price": cpu_price,
                    "mem_price": mem_price,
                    "gpu_billable_hours": h["gpu_billable_hours"],
                    "gpu_price": gpu_price,
                    "cpu_cost": cpu_cost,
                    "mem_cost": mem_cost,
                    "gpu_cost": gpu_cost,
                    "cost": cpu_cost + mem_cost + gpu_cost,
                    "priced": price is not None,
                    "estimated": bool(price and price["estimated"]),
                    "node_hour_cost": price["cost"] if price else None,
                }
            )
    pods = _sum_rows(
        [
            {"pod_id": r.pop("pod_id"), "pod": r.pop("pod__name"), "node": r.pop("node__name"), **r}
            for r in pod_days
        ],
        ["pod_id", "pod", "node"],
        ["samples", *QUANTITIES, *COSTS],
    )
    for pod in pods:
        pod["hours"] = hours_by_pod.get(pod["pod_id"], [])
    volumes = workload_volumes(workload.pk, start, end) if with_volumes else []
    note = ""
    if start < cutoff:
        note = (
            f"Node-hour detail is kept for {settings.FINOPS_HOURLY_RETENTION_DAYS} days: days before "
            f"{cutoff} show daily figures only."
        )
    return {
        "workload_id": workload.pk,
        "cluster": workload.cluster.name,
        "namespace": workload.namespace.name,
        "kind": workload.kind,
        "name": workload.name,
        "start": start,
        "end": end,
        **{c: sum((p[c] for p in pods), ZERO) for c in COSTS},
        "hourly_from": hourly_start if hourly_start < end else None,
        "note": note,
        "pods": pods,
        "volumes": volumes,
    }


def explain_node_hour(node_id: int, hour: datetime) -> dict:
    """What a node-hour cost and where it came from: the part of each bill line spread into this hour
    (they add up to the cost), or, when estimated, the fallback price-sheet row and the capacity it priced.

    A billed cost is split into CPU and memory by the policy; an estimated one is not: its unit prices
    are the sheet row's, as written (`price_sheet`), unless its pods billed more than the capacity.
    """
    hour = hour.astimezone(UTC) if hour.tzinfo else hour.replace(tzinfo=UTC)
    row = NodeCostHour.objects.filter(node_id=node_id, hour=hour).select_related("node").first()
    if row is None:
        raise NotFound(f"no computed cost for node {node_id} at {hour:%Y-%m-%d %H:00} (outside retention?)")
    out = {
        "node": row.node.name,
        "node_id": node_id,
        "hour": hour,
        "cost": row.cost,
        "cpu_cost_pool": row.cpu_cost_pool,
        "mem_cost_pool": row.mem_cost_pool,
        "gpu_cost_pool": row.gpu_cost_pool,
        "cpu_price": row.cpu_price,
        "mem_price": row.mem_price,
        "gpu_price": row.gpu_price,
        "cpu_idle": row.cpu_idle,
        "mem_idle": row.mem_idle,
        "gpu_idle": row.gpu_idle,
        "estimated": row.estimated,
        "sampled": row.sampled,
        "bill_lines": [],
        "price_sheet": None,
    }
    if row.estimated:
        out["price_sheet"] = _price_sheet_row(row.node, hour, row)
        return out
    end = hour + timedelta(hours=1)
    lines = BillLine.objects.filter(
        Q(charge_period_end__gt=hour) | Q(charge_period_start__gte=hour),
        node_id=node_id,
        kind=LineKind.NODE,
        charge_period_start__lt=end,
    ).order_by("pk")
    hour_ns = pd.Timestamp(hour).value
    for line in lines:
        shares = dict(
            split_cost(
                line.effective_cost,
                pd.Timestamp(line.charge_period_start).value,
                pd.Timestamp(line.charge_period_end).value,
            )
        )
        part = shares.get(hour_ns, ZERO)
        out["bill_lines"].append(
            {
                "id": line.pk,
                "bill_import_id": line.bill_import_id,
                "source_row": line.source_row,
                "resource_id": line.resource_id,
                "service_name": line.service_name,
                "charge_period_start": line.charge_period_start,
                "charge_period_end": line.charge_period_end,
                "effective_cost": line.effective_cost,
                "part": part,
            }
        )
    return out


def _price_sheet_row(node: Node, hour: datetime, row: NodeCostHour) -> dict | None:
    """The sheet row that priced an estimated node-hour: its prices, the capacity and the parts they make.

    `cpu_shared` / `mem_shared` say that the pods billed more than the capacity, so they shared the
    part (price x capacity) and paid less than the sheet price per unit (the stored price).
    """
    spec = spec_for_day(hour.date())
    prices = {p.instance_type: p for p in spec.fallback_prices}
    price = prices.get(node.instance_type) or prices.get("")
    capacity = NodeHour.objects.filter(node=node, hour=hour).first()
    if price is None or capacity is None:
        return None
    cpu_cost = float(price.cpu_core_hour) * capacity.cpu_capacity_core_hours
    mem_cost = float(price.mem_gib_hour) * capacity.mem_capacity_gib_hours
    gpu_cost = float(price.gpu_hour or 0) * capacity.gpu_capacity_hours
    return {
        "policy_effective_from": spec.effective_from,
        "instance_type": price.instance_type,
        "cpu_core_hour": price.cpu_core_hour,
        "mem_gib_hour": price.mem_gib_hour,
        "cpu_core_hours": capacity.cpu_capacity_core_hours,
        "mem_gib_hours": capacity.mem_capacity_gib_hours,
        "gpu_hour": price.gpu_hour,
        "gpu_hours": capacity.gpu_capacity_hours,
        "cpu_cost": cpu_cost,
        "mem_cost": mem_cost,
        "gpu_cost": gpu_cost,
        "cost": cpu_cost + mem_cost + gpu_cost,
        "cpu_shared": _below(row.cpu_price, price.cpu_core_hour),
        "mem_shared": _below(row.mem_price, price.mem_gib_hour),
    }


def _below(paid: float | None, sheet: Decimal) -> bool:
    # Stored prices are floats of pool / max(capacity, billed): equal to the sheet's up to rounding.
    return paid is not None and paid < float(sheet) * (1 - 1e-9)
