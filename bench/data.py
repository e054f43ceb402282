"""One realistic fleet for every benchmark: many pods per workload, daily replacement, CronJobs, node churn.

A production cluster is not one long-lived pod per workload. Here:
  - Deployments run 2 to 10 replicas; every replica is replaced once a day at a random minute (a
    rollout or an eviction), so a day sees two pods per replica, each for part of it;
  - StatefulSets keep their pods (same name) for the whole period;
  - CronJobs start a pod every hour that lives 2 to 25 minutes;
  - a tenth of the nodes are replaced each day; a pod whose node goes away ends with it.
`fleet()` draws the lifetimes once (vectorised, deterministic for a seed); the benchmarks turn them into
what they need: minute samples, pod-hours, pod-days, inventory rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MINUTE = np.timedelta64(60, "s")
NAMESPACES = 60
DEPARTMENTS = 8
NODE_CORES = np.array([4.0, 8.0, 16.0])
# Share of the running pods by kind; CronJob pods come on top (hourly, short).
DEPLOYMENT_SHARE, STATEFULSET_SHARE = 0.9, 0.1
CRON_PER_100_PODS = 4
NODE_REPLACED_PER_DAY = 0.1
PODS_PER_NODE = 20


@dataclass
class Fleet:
    start: pd.Timestamp
    days: int
    nodes: pd.DataFrame  # node, name, instance_id, pool, cores, start, end (minutes from start)
    workloads: pd.DataFrame  # workload, namespace, kind, name
    pods: pd.DataFrame  # pod, name, uid, workload, namespace, node, start, end (minutes), cpu/mem request
    namespaces: list[str]

    @property
    def minutes(self) -> int:
        return self.days * 1440


def namespace_names() -> list[str]:
    return ["kube-system", "monitoring"] + [f"team-{i % DEPARTMENTS}-app{i}" for i in range(NAMESPACES - 2)]


def fleet(pods: int, days: int, start: str | pd.Timestamp = "2025-03-01", seed: int = 7) -> Fleet:
    """About `pods` pods running at any minute over `days` days from `start` (UTC midnight)."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(start, tz="UTC") if not isinstance(start, pd.Timestamp) else start
    minutes = days * 1440
    nodes = _nodes(rng, max(1, pods // PODS_PER_NODE), days)

    # Workloads: Deployments of 2-10 replicas and StatefulSets of 3, until the running pods are reached.
    replicas, kinds = [], []
    while sum(replicas) < pods * DEPLOYMENT_SHARE:
        replicas.append(int(rng.integers(2, 11)))
        kinds.append("Deployment")
    while sum(replicas) < pods:
        replicas.append(3)
        kinds.append("StatefulSet")
    cron = max(1, pods * CRON_PER_100_PODS // 100)
    replicas += [1] * cron
    kinds += ["CronJob"] * cron
    names = namespace_names()
    workloads = pd.DataFrame(
        {
            "workload": np.arange(len(kinds)),
            "namespace": rng.integers(0, len(names), len(kinds)),
            "kind": kinds,
            "name": [f"{k.lower()}-{i:05d}" for i, k in enumerate(kinds)],
            "cpu_request": rng.choice([0.1, 0.25, 0.5, 1.0, 1.5], len(kinds)),
            "mem_request_gib": rng.choice([0.125, 0.25, 0.5, 1.0, 2.0], len(kinds)),
        }
    )
    slots = np.repeat(workloads["workload"].to_numpy(), replicas)  # one per replica
    slot_kind = workloads["kind"].to_numpy()[slots]

    parts = []
    # Deployments: each replica replaced daily at its own minute; lifetimes chain without a gap.
    dep = slots[slot_kind == "Deployment"]
    if len(dep):
        change = rng.integers(0, 1440, len(dep))
        bounds = np.concatenate(
            [np.zeros((len(dep), 1), int), change[:, None] + 1440 * np.arange(days)[None, :]], axis=1
        )
        ends = np.concatenate([bounds[:, 1:], np.full((len(dep), 1), minutes)], axis=1)
        parts.append((np.repeat(dep, days + 1), bounds.ravel(), np.minimum(ends.ravel(), minutes)))
    sts = slots[slot_kind == "StatefulSet"]
    parts.append((sts, np.zeros(len(sts), int), np.full(len(sts), minutes)))
    # CronJobs: a pod each hour from a fixed minute, living 2-25 minutes.
    cj = slots[slot_kind == "CronJob"]
    if len(cj):
        runs = days * 24
        offset = rng.integers(0, 30, len(cj))
        begin = offset[:, None] + 60 * np.arange(runs)[None, :]
        last = rng.integers(2, 26, (len(cj), runs))
        parts.append((np.repeat(cj, runs), begin.ravel(), np.minimum(begin + last, minutes).ravel()))
    workload_of = np.concatenate([p[0] for p in parts])
    begin = np.concatenate([p[1] for p in parts]).astype(np.int64)
    end = np.concatenate([p[2] for p in parts]).astype(np.int64)

    # A node alive at the pod's start; the pod ends when its node does.
    node_start, node_end = nodes["start"].to_numpy(), nodes["end"].to_numpy()
    slot_of_node = nodes["slot"].to_numpy()
    node_slots = int(slot_of_node.max()) + 1
    chosen_slot = rng.integers(0, node_slots, len(begin))
    order = np.lexsort((node_start, slot_of_node))
    keys = slot_of_node[order] * (minutes + 1) + node_start[order]
    at = np.searchsorted(keys, chosen_slot * (minutes + 1) + begin, side="right") - 1
    node_index = order[at]
    end = np.minimum(end, node_end[node_index])
    keep = end > begin
    workload_of, begin, end, node_index = workload_of[keep], begin[keep], end[keep], node_index[keep]
    n = len(begin)
    sts_pod = workloads["kind"].to_numpy()[workload_of] == "StatefulSet"
    wl_names = workloads["name"].to_numpy()[workload_of]
    pod_names = np.where(
        sts_pod,
        [f"{w}-{i % 3}" for i, w in enumerate(wl_names)],
        [f"{w}-{i:07x}" for i, w in enumerate(wl_names)],
    )
    pods_frame = pd.DataFrame(
        {
            "pod": np.arange(n),
            "name": pod_names,
            "uid": [f"uid-{seed}-{i:08d}" for i in range(n)],
            "workload": workload_of,
            "namespace": workloads["namespace"].to_numpy()[workload_of],
            "node": node_index,
            "start": begin,
            "end": end,
            "cpu_request": workloads["cpu_request"].to_numpy()[workload_of],
            "mem_request_gib": workloads["mem_request_gib"].to_numpy()[workload_of],
        }
    )
    return Fleet(start, days, nodes, workloads, pods_frame, names)


def _nodes(rng: np.random.Generator, count: int, days: int) -> pd.DataFrame:
    """`count` node slots; each slot's node is replaced with probability NODE_REPLACED_PER_DAY a day."""
    minutes = days * 1440
    slot, begin = [], []
    for s in range(count):
        t = 0
        while t < minutes:
            slot.append(s)
            begin.append(t)
            t += int(rng.exponential(1440 / NODE_REPLACED_PER_DAY)) + 60
    slot, begin = np.array(slot), np.array(begin)
    end = np.append(begin[1:], minutes)
    end = np.where(np.append(slot[1:] != slot[:-1], True), minutes, end)
    cores = NODE_CORES[rng.integers(0, 3, len(slot))]
    return pd.DataFrame(
        {
            "slot": slot,
            "name": [f"node-{s:05d}-{i}" for i, s in enumerate(slot)],
            "instance_id": [f"i-{rng.integers(0, 2**60):016x}" for _ in slot],
            "pool": slot % 5,
            "cores": cores,
            "mem_gib": cores * 4,
            "start": begin,
            "end": end,
        }
    )


def pod_hours(fleet: Fleet, day: int, seed: int = 11) -> pd.DataFrame:
    """The pod-hours of day `day` (0-based): one row per pod and hour it ran in, quantities in core- and
    GiB-hours for the minutes it ran; usage wanders around the request."""
    return _spread(fleet, day * 1440, (day + 1) * 1440, 60, seed + day)


def minute_samples(fleet: Fleet, first_minute: int, count: int, seed: int = 13) -> pd.DataFrame:
    """One row per running pod and minute in [first_minute, first_minute + count)."""
    return _spread(fleet, first_minute, first_minute + count, 1, seed)


def _spread(fleet: Fleet, lo: int, hi: int, step: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pods = fleet.pods
    alive = pods[(pods["start"] < hi) & (pods["end"] > lo)]
    begin = np.maximum(alive["start"].to_numpy(), lo)
    end = np.minimum(alive["end"].to_numpy(), hi)
    first = (begin - lo) // step
    last = (end - 1 - lo) // step
    counts = last - first + 1
    index = np.repeat(np.arange(len(alive)), counts)
    bucket = (
        np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(first, counts)
    )
    bucket_lo = lo + bucket * step
    minutes = np.minimum(end[index], bucket_lo + step) - np.maximum(begin[index], bucket_lo)
    hours = minutes / 60
    cpu = alive["cpu_request"].to_numpy()[index]
    mem = alive["mem_request_gib"].to_numpy()[index]
    usage = cpu * rng.uniform(0.2, 1.6, len(index))
    mem_usage = mem * rng.uniform(0.3, 1.3, len(index))
    return pd.DataFrame(
        {
            "pod": alive["pod"].to_numpy()[index],
            "node": alive["node"].to_numpy()[index],
            "minute": bucket_lo,
            "minutes": minutes,
            "cpu_request": cpu,
            "cpu_usage": usage,
            "mem_request_gib": mem,
            "mem_usage_gib": mem_usage,
            "cpu_request_core_hours": cpu * hours,
            "cpu_usage_core_hours": usage * hours,
            "cpu_billable_core_hours": np.maximum(cpu, usage) * hours,
            "mem_request_gib_hours": mem * hours,
            "mem_usage_gib_hours": mem_usage * hours,
            "mem_billable_gib_hours": np.maximum(mem, mem_usage) * hours,
        }
    )


def node_hours(fleet: Fleet, day: int) -> pd.DataFrame:
    """Each node's hours of day `day` with its capacity for the minutes it existed."""
    nodes = fleet.nodes
    lo, hi = day * 1440, (day + 1) * 1440
    alive = nodes[(nodes["start"] < hi) & (nodes["end"] > lo)]
    rows = []
    for h in range(24):
        a, b = lo + 60 * h, lo + 60 * (h + 1)
        part = alive[(alive["start"] < b) & (alive["end"] > a)]
        share = (np.minimum(part["end"], b) - np.maximum(part["start"], a)) / 60
        rows.append(pd.DataFrame({"node": part.index.to_numpy(), "minute": a, "share": share.to_numpy()}))
    frame = pd.concat(rows, ignore_index=True)
    frame["cores"] = nodes["cores"].to_numpy()[frame["node"]]
    frame["mem_gib"] = nodes["mem_gib"].to_numpy()[frame["node"]]
    return frame


def summary(fleet: Fleet) -> str:
    pods = fleet.pods
    per_day = len(pods) / fleet.days
    kinds = fleet.workloads["kind"].value_counts().to_dict()
    return (
        f"fleet: {len(fleet.workloads):,} workloads {kinds}, {len(pods):,} pods over {fleet.days} days "
        f"({per_day:,.0f} a day), {len(fleet.nodes):,} nodes over {fleet.nodes['slot'].nunique()} node slots"
    )


# --- into the database (Django set up by bench.common) ------------------------------------------------


def _copy_with_ids(model, frame: pd.DataFrame) -> np.ndarray:
    """COPY rows with ids of our own (after the table's highest), then move the id sequence past them."""
    from django.db import connection

    from bench.common import copy_frame

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"')
        (base,) = cursor.fetchone()
    ids = base + 1 + np.arange(len(frame))
    copy_frame(table, frame.assign(id=ids)[["id", *frame.columns]], float_format=None)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), %s)", [int(ids[-1])])
    return ids


def _stamper(fleet: Fleet):
    def stamp(minutes) -> np.ndarray:
        moments = fleet.start + pd.to_timedelta(np.asarray(minutes), unit="min")
        return np.asarray(moments.strftime("%Y-%m-%d %H:%M:%S+00"))

    return stamp


def store_inventory(fleet: Fleet, cluster, pools: list, known: dict | None = None) -> dict[str, np.ndarray]:
    """The fleet's nodes, namespaces, workloads and pods as inventory rows of `cluster`, by COPY (the
    pods of a month of churn are hundreds of thousands). With `known` (the ids of an earlier call), the
    namespaces and workloads are those and only nodes and pods are added. Returns the database ids by
    fleet index."""
    from costing.models import Namespace, Node, Pod, Workload

    stamp = _stamper(fleet)
    nodes = fleet.nodes
    node_ids = _copy_with_ids(
        Node,
        pd.DataFrame(
            {
                "cluster_id": cluster.pk,
                "name": nodes["name"],
                "node_pool_id": [pools[p % len(pools)].pk for p in nodes["pool"]],
                "provider_id": "aws:///eu-west-1a/" + nodes["instance_id"],
                "instance_id": nodes["instance_id"],
                "instance_type": "m5." + nodes["cores"].map({4.0: "xlarge", 8.0: "2xlarge", 16.0: "4xlarge"}),
                "cpu_capacity_cores": nodes["cores"],
                "memory_capacity_bytes": (nodes["mem_gib"] * 2**30).astype(np.int64),
                "labels": "{}",
                "first_seen": stamp(nodes["start"]),
                "last_seen": stamp(nodes["end"]),
            }
        ),
    )
    if known is None:
        whole = {"first_seen": stamp([0])[0], "last_seen": stamp([fleet.minutes])[0]}
        ns_ids = _copy_with_ids(
            Namespace,
            pd.DataFrame({"cluster_id": cluster.pk, "name": fleet.namespaces, "labels": "{}", **whole}),
        )
        wl = fleet.workloads
        wl_ids = _copy_with_ids(
            Workload,
            pd.DataFrame(
                {
                    "cluster_id": cluster.pk,
                    "namespace_id": ns_ids[wl["namespace"]],
                    "kind": wl["kind"],
                    "name": wl["name"],
                }
            ),
        )
    else:
        ns_ids, wl_ids = known["namespace"], known["workload"]
    pods = fleet.pods
    team = pods["workload"] % 13
    pod_ids = _copy_with_ids(
        Pod,
        pd.DataFrame(
            {
                "cluster_id": cluster.pk,
                "namespace_id": ns_ids[pods["namespace"]],
                "workload_id": wl_ids[pods["workload"]],
                "node_id": node_ids[pods["node"]],
                "name": pods["name"],
                "uid": pods["uid"],
                "labels": '{"team": "t' + team.astype(str) + '", "tier": "' + _tiers(pods["workload"]) + '"}',
                "first_seen": stamp(pods["start"]),
                "last_seen": stamp(pods["end"]),
            }
        ),
    )
    return {"node": node_ids, "namespace": ns_ids, "workload": wl_ids, "pod": pod_ids}


def _tiers(workload: pd.Series) -> pd.Series:
    return pd.Series(np.array(["web", "api", "batch"])[workload.to_numpy() % 3], index=workload.index)


# --- churn on the test API server (tests/k8s_api) ----------------------------------------------------


def churn_api(api, rng: np.random.Generator, replaced: int) -> int:
    """Replace `replaced` running pods of a FakeKubeAPI with new ones (new name and uid, same owner and
    node, metrics under the new name), as a minute of rollouts and CronJob runs does. Returns the count."""
    import json

    keys = sorted(k for k, (sel, _) in api._stores["pods"].items() if sel["status"]["phase"] == "Running")
    chosen = rng.choice(len(keys), size=min(replaced, len(keys)), replace=False)
    for i in chosen:
        namespace, name = keys[i]
        pod = json.loads(api._stores["pods"][(namespace, name)][1])
        metrics = api._stores["pods.metrics"].get((namespace, name))
        fresh = f"{name[:40]}-r{rng.integers(0, 2**32):08x}"
        pod["metadata"]["name"] = fresh
        pod["metadata"]["uid"] = f"uid-{rng.integers(0, 2**62):016x}"
        pod["metadata"].pop("resourceVersion", None)
        api.remove("Pod", name, namespace)
        api.add({"kind": "Pod", "apiVersion": "v1", **pod})
        if metrics is not None:
            usage = json.loads(metrics[1])
            usage["metadata"]["name"] = fresh
            api.remove("PodMetrics", name, namespace)
            api.add({"kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1", **usage})
    return len(chosen)


# --- two years of daily results (pages, report) ------------------------------------------------------

TILE_DAYS = 7
CPU_PRICE, MEM_PRICE, NODE_CORE_HOUR = 0.04, 0.005, 0.045
OVERHEAD_PER_DAY = 24.0


def seed_daily_results(first_day, days: int, running_pods: int, clusters: int = 3, seed: int = 11) -> dict:
    """Inventory and daily results (ClusterDay, NodeCostDay, PodCostDay, WorkloadCostDay, NamespaceCostDay,
    DepartmentCostDay, PoolShareDay, and the rollups WorkloadCostMonth and PodGroupDay) as the engine stores them, for `days` days from `first_day`.

    Each cluster runs a fleet of running_pods / clusters pods, drawn for a week and repeated week after
    week with new pods and nodes (the workloads stay): daily replacement, CronJobs and node churn are
    in every day. Figures are random but add up as the engine's do: node cost = pods + idle; cluster
    physical cost = workloads + idle + overhead; departments = their namespaces + shares of the pools.
    Returns {"clusters", "pods", "pod_days", "workloads"}.
    """
    from datetime import timedelta
    from decimal import Decimal

    from django.db import connection, transaction

    from bench.common import copy_model
    from costing.choices import ConnectionType
    from costing.models import (
        Cluster,
        ClusterDay,
        Department,
        DepartmentCostDay,
        NamespaceCostDay,
        NodeCostDay,
        NodePool,
        PodCostDay,
        PoolShareDay,
        WorkloadCostDay,
    )
    from costing.policy import DepartmentSpec, FallbackPrice, PolicySpec
    from costing.policy.store import save_spec

    with transaction.atomic():
        policy = save_spec(
            PolicySpec(
                effective_from=first_day,
                fallback_prices=[
                    FallbackPrice(cpu_core_hour=Decimal("0.0316"), mem_gib_hour=Decimal("0.0042"))
                ],
                shared_namespaces=["kube-system", "monitoring"],
                departments=[
                    DepartmentSpec(f"Dept {d}", patterns=[f"team-{d}-*"], weight=Decimal(10 + d))
                    for d in range(DEPARTMENTS)
                ],
            )
        )
    department_ids = dict(Department.objects.values_list("name", "pk"))
    names = namespace_names()
    ns_department = np.array(["Shared", "Shared"] + [f"Dept {i % DEPARTMENTS}" for i in range(2, NAMESPACES)])
    ns_shared = np.arange(NAMESPACES) < 2
    totals = {"clusters": clusters, "pods": 0, "pod_days": 0, "workloads": 0}
    rng = np.random.default_rng(seed)
    start = pd.Timestamp(first_day, tz="UTC")
    for c in range(clusters):
        template = fleet(max(1, running_pods // clusters), TILE_DAYS, start, seed=seed + c)
        with transaction.atomic():
            cluster = Cluster.objects.create(
                name=f"cluster-{c + 1}", connection_type=ConnectionType.SIMULATOR
            )
            pools = [NodePool.objects.create(cluster=cluster, name=f"pool-{p}") for p in range(5)]
        # Workloads and namespaces once; pods and nodes anew every tile.
        ids = None
        totals["workloads"] += len(template.workloads)
        batch: dict[type, list[pd.DataFrame]] = {}
        for tile in range(-(-days // TILE_DAYS)):
            tile_start = start + pd.Timedelta(days=tile * TILE_DAYS)
            shifted = Fleet(
                tile_start,
                TILE_DAYS,
                template.nodes.assign(name=template.nodes["name"] + f"-w{tile}"),
                template.workloads,
                template.pods.assign(
                    name=template.pods["name"] + f"-w{tile}", uid=template.pods["uid"] + f"-w{tile}"
                ),
                names,
            )
            with transaction.atomic():
                ids = store_inventory(shifted, cluster, pools, known=ids)
            totals["pods"] += len(shifted.pods)
            for d in range(min(TILE_DAYS, days - tile * TILE_DAYS)):
                day = (tile_start + pd.Timedelta(days=d)).date()
                frames = _day_results(shifted, d, day, cluster.pk, ids, pools, rng, ns_department, ns_shared)
                frames[ClusterDay]["policy_id"] = policy.pk
                frames[DepartmentCostDay]["policy_id"] = policy.pk
                frames[DepartmentCostDay]["department_id"] = frames[DepartmentCostDay]["name"].map(
                    department_ids
                )
                totals["pod_days"] += len(frames[PodCostDay])
                for model, frame in frames.items():
                    batch.setdefault(model, []).append(frame)
                if (day + timedelta(days=1)).day == 1 or (tile * TILE_DAYS + d) == days - 1:
                    with transaction.atomic():
                        for model in (
                            ClusterDay,
                            NodeCostDay,
                            PodCostDay,
                            WorkloadCostDay,
                            NamespaceCostDay,
                            DepartmentCostDay,
                            PoolShareDay,
                        ):
                            copy_model(model, pd.concat(batch.pop(model), ignore_index=True))
                    print(f"  {cluster.name}: results up to {day}", flush=True)
    from costing.rollups import fill_pod_groups, fill_workload_months

    # The rollups (monthly workloads, daily pod groups), as compute keeps them beside the days it writes.
    with transaction.atomic():
        fill_workload_months()
        fill_pod_groups()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return totals


def _day_results(fleet, d, day, cluster_id, ids, pools, rng, ns_department, ns_shared) -> dict:
    """One cluster-day of stored results from the fleet's pod-hours of day `d` (of its tile)."""
    from costing.models import (
        ClusterDay,
        DepartmentCostDay,
        NamespaceCostDay,
        NodeCostDay,
        PodCostDay,
        PoolShareDay,
        WorkloadCostDay,
    )

    quantities = [
        "cpu_request_core_hours",
        "cpu_usage_core_hours",
        "cpu_billable_core_hours",
        "mem_request_gib_hours",
        "mem_usage_gib_hours",
        "mem_billable_gib_hours",
    ]
    money = ["cpu_cost", "mem_cost", "cost", "estimated_cost"]
    hours = pod_hours(fleet, d, seed=int(rng.integers(0, 2**31)))
    pods = hours.groupby("pod", sort=False).agg(
        {"node": "first", "minutes": "sum", **dict.fromkeys(quantities, "sum")}
    )
    pod_index = pods.index.to_numpy()
    workload = fleet.pods["workload"].to_numpy()[pod_index]
    namespace = fleet.pods["namespace"].to_numpy()[pod_index]
    pods["cpu_cost"] = np.round(pods["cpu_billable_core_hours"] * CPU_PRICE, 8)
    pods["mem_cost"] = np.round(pods["mem_billable_gib_hours"] * MEM_PRICE, 8)
    pods["cost"] = pods["cpu_cost"] + pods["mem_cost"]
    pods["estimated_cost"] = 0.0
    common = {"cluster_id": cluster_id, "day": day}
    pod_days = pd.DataFrame(
        {
            **common,
            "pod_id": ids["pod"][pod_index],
            "node_id": ids["node"][pods["node"].to_numpy()],
            "namespace_id": ids["namespace"][namespace],
            "workload_id": ids["workload"][workload],
            "samples": pods["minutes"].to_numpy(),
            **{c: pods[c].to_numpy() for c in quantities + money},
        }
    )
    by_workload = pod_days.groupby(["workload_id", "namespace_id"], sort=False)
    workload_days = by_workload[quantities + money].sum().reset_index().assign(**common)
    workload_days["pods"] = by_workload.size().to_numpy()
    namespace_days = pod_days.groupby("namespace_id", sort=False)[quantities + money].sum().reset_index()
    ns_index = np.searchsorted(ids["namespace"], namespace_days["namespace_id"].to_numpy())
    namespace_days = namespace_days.assign(
        **common, department=ns_department[ns_index], shared=ns_shared[ns_index]
    )

    # Nodes: billed for the hours they existed; what pods did not use is idle.
    nodes = node_hours(fleet, d).groupby("node").agg(share=("share", "sum"), cores=("cores", "first"))
    node_index = nodes.index.to_numpy()
    pods_cost = pod_days.groupby("node_id")["cost"].sum()
    used = pods_cost.reindex(ids["node"][node_index], fill_value=0.0).to_numpy()
    node_cost = np.maximum(
        np.round(nodes["cores"].to_numpy() * NODE_CORE_HOUR * nodes["share"].to_numpy(), 8), used
    )
    idle = np.round(node_cost - used, 8)
    cpu_pool = np.round(node_cost / 2, 8)
    node_days = pd.DataFrame(
        {
            **common,
            "node_id": ids["node"][node_index],
            "node_pool_id": [pools[p % len(pools)].pk for p in fleet.nodes["pool"].to_numpy()[node_index]],
            "cost": node_cost,
            "cpu_cost_pool": cpu_pool,
            "mem_cost_pool": np.round(node_cost - cpu_pool, 8),
            "cpu_idle": np.round(idle / 2, 8),
            "mem_idle": np.round(idle - np.round(idle / 2, 8), 8),
            "estimated_cost": 0.0,
            "cpu_capacity_core_hours": nodes["cores"].to_numpy() * nodes["share"].to_numpy(),
            "mem_capacity_gib_hours": nodes["cores"].to_numpy() * 4 * nodes["share"].to_numpy(),
            "hours_billed": np.round(nodes["share"].to_numpy()).astype(int),
        }
    )
    workload_total, idle_total = float(pod_days["cost"].sum()), float(idle.sum())
    cluster_day = pd.DataFrame(
        {
            **{k: [v] for k, v in common.items()},
            "dirty": [False],
            "computed_at": [f"{day.isoformat()} 03:00:00+00"],
            "physical_cost": [round(workload_total + idle_total + OVERHEAD_PER_DAY, 8)],
            "workload_cost": [round(workload_total, 8)],
            "idle_cost": [round(idle_total, 8)],
            "overhead_cost": [OVERHEAD_PER_DAY],
            "estimated_cost": [0.0],
            "coverage": [float(rng.uniform(0.97, 1.0))],
        }
    )
    # Departments: their namespaces' cost, then the shared, idle and overhead pools in proportion.
    direct = namespace_days[~namespace_days["shared"]].groupby("department")["cost"].sum()
    weight = direct / direct.sum()
    shared_pool = float(namespace_days.loc[namespace_days["shared"], "cost"].sum())
    parts = pd.DataFrame(
        {
            "direct": direct,
            "shared": weight * shared_pool,
            "idle": weight * idle_total,
            "overhead": weight * OVERHEAD_PER_DAY,
        }
    ).round(8)
    parts["total"] = parts.sum(axis=1).round(8)
    department_days = pd.DataFrame(
        {**common, "name": parts.index, "is_line": False, **{c: parts[c].to_numpy() for c in parts.columns}}
    )
    shares = pd.concat(
        [
            pd.DataFrame(
                {
                    **common,
                    "pool": pool,
                    "name": parts.index,
                    "method": "proportional",
                    "applied": "proportional",
                    "scope": "cluster",
                    "basis": "direct cost",
                    "pool_amount": amount,
                    "fraction": weight.to_numpy(),
                    "amount": parts[pool].to_numpy(),
                }
            )
            for pool, amount in (
                ("shared", shared_pool),
                ("idle", idle_total),
                ("overhead", OVERHEAD_PER_DAY),
            )
        ],
        ignore_index=True,
    )
    return {
        ClusterDay: cluster_day,
        NodeCostDay: node_days,
        PodCostDay: pod_days,
        WorkloadCostDay: workload_days,
        NamespaceCostDay: namespace_days,
        DepartmentCostDay: department_days,
        PoolShareDay: shares,
    }
