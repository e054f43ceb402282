"""Attributes bill lines in the database: tag rules of the policy in force on each charge date, known nodes
and the disks of known persistent volumes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import QuerySet

from costing.billing.attribution import TagRule, attribute_lines, attribute_load_balancers
from costing.dirty import mark_days_dirty
from costing.models import BillLine, Cluster, LoadBalancer, Node, NodeInstance, Policy, Volume
from costing.models import TagRule as TagRuleRow
from costing.volumes import normalise_disk_id

DAY_NS = 86_400 * 10**9
BATCH = 50_000
_EPOCH = date(1970, 1, 1)


class Attributor:
    """The tag rules of every policy and the instance ids of every known node, read once.

    `attribute(lines)` adds columns cluster (Cluster pk or None), node (Node pk or None), load_balancer
    (LoadBalancer pk or None: attribution.attribute_load_balancers) and kind to canonical lines, using for each line the rules of the policy in force on the UTC date its charge period starts
    (the policy with the greatest effective_from <= that date; none: no tag rules, only node matches).
    Within a policy, rules with a value are tried before key-only rules, then by cluster name and key, so
    a precise rule wins over a broad one. A rule naming a cluster that is not registered is ignored.
    A node's earlier instances (NodeInstance) stay its own; an instance id seen on several nodes belongs to the
    one seen last. A disk id of a known PersistentVolume (Volume.disk_id) makes its lines that volume's
    (kind volume); a disk id on several volumes belongs to the one seen last. Disks of no volume stay
    overhead.
    """

    def __init__(self) -> None:
        clusters = dict(Cluster.objects.values_list("name", "pk"))
        policies = list(Policy.objects.order_by("effective_from").values_list("pk", "effective_from"))
        rules: dict[int, list[tuple]] = defaultdict(list)
        for policy_id, name, key, value in TagRuleRow.objects.values_list(
            "policy_id", "cluster_name", "key", "value"
        ):
            if name in clusters:
                rules[policy_id].append((value is None or value == "", name, key, value or None))
        self.policy_days = np.array([(d - _EPOCH).days for _, d in policies], dtype=np.int64)
        self.rules = [
            [
                TagRule(clusters[name], key, value)
                for _, name, key, value in sorted(rules[pk], key=_rule_order)
            ]
            for pk, _ in policies
        ]
        # Every instance a node has stood for (a name used again keeps the bill of its earlier instance),
        # and its current one (nodes written without history); the instance seen last decides.
        known = [
            *Node.objects.exclude(instance_id="").values_list("last_seen", "pk", "instance_id", "cluster_id"),
            *NodeInstance.objects.values_list("last_seen", "node_id", "instance_id", "node__cluster_id"),
        ]
        known.sort(key=lambda row: (row[0], row[1]))
        self.nodes = {instance_id: (cluster_id, node_id) for _, node_id, instance_id, cluster_id in known}
        disks = sorted(
            Volume.objects.exclude(disk_id="").values_list("last_seen", "pk", "disk_id", "cluster_id"),
            key=lambda row: (row[0], row[1]),
        )
        self.volumes = {normalise_disk_id(disk): (cluster_id, pk) for _, pk, disk, cluster_id in disks}
        self.load_balancer_ids, self.load_balancer_services = _load_balancers()

    def attribute(self, lines: pd.DataFrame) -> pd.DataFrame:
        days = _ns(lines["charge_period_start"]) // DAY_NS
        which = np.searchsorted(self.policy_days, days, side="right") - 1
        groups = np.unique(which)
        if len(groups) == 1:
            attributed = attribute_lines(lines, self._rules(int(groups[0])), self.nodes, self.volumes)
        else:
            parts = [
                attribute_lines(lines[which == group], self._rules(int(group)), self.nodes, self.volumes)
                for group in groups
            ]
            attributed = pd.concat(parts).loc[lines.index]
        return attribute_load_balancers(attributed, self.load_balancer_ids, self.load_balancer_services)

    def _rules(self, index: int) -> list[TagRule]:
        return self.rules[index] if index >= 0 else []


def _load_balancers() -> tuple[dict[str, tuple[int, int]], dict[tuple[int, str], int]]:
    """Every known load balancer by each of its ids ((cluster, pk); the one seen last wins an id seen on
    several) and by (cluster, "namespace/name") of its Service."""
    by_id: dict[str, tuple[int, int]] = {}
    by_service: dict[tuple[int, str], int] = {}
    rows = LoadBalancer.objects.order_by("last_seen", "pk").values_list(
        "pk", "cluster_id", "namespace__name", "name", "ids"
    )
    for pk, cluster_id, namespace, name, ids in rows:
        for lb_id in ids or ():
            by_id[str(lb_id)] = (cluster_id, pk)
        by_service[(cluster_id, f"{namespace}/{name}")] = pk
    return by_id, by_service


def _rule_order(rule: tuple) -> tuple:
    key_only, name, key, value = rule
    return key_only, name, key, value or ""


def touched_days(lines: pd.DataFrame) -> dict[int, set[date]]:
    """{cluster pk: UTC days} that the charge periods of lines with a cluster overlap."""
    has_cluster = lines["cluster"].notna().to_numpy()
    if not has_cluster.any():
        return {}
    subset = lines.loc[has_cluster, ["cluster", "charge_period_start", "charge_period_end"]]
    starts = _ns(subset["charge_period_start"])
    ends = np.maximum(_ns(subset["charge_period_end"]) - 1, starts)  # end excluded; empty: the start's day
    spans = pd.DataFrame(
        {
            "cluster": subset["cluster"].to_numpy().astype(np.int64),
            "first": starts // DAY_NS,
            "last": ends // DAY_NS,
        }
    ).drop_duplicates()
    spans = spans.itertuples(index=False)
    result: dict[int, set[date]] = defaultdict(set)
    for cluster, first, last in spans:
        result[int(cluster)].update(_EPOCH + timedelta(days=int(d)) for d in range(first, last + 1))
    return result


def merge_days(into: dict[int, set[date]], more: dict[int, set[date]]) -> dict[int, set[date]]:
    for cluster, days in more.items():
        into.setdefault(cluster, set()).update(days)
    return into


def mark_dirty(days_by_cluster: dict[int, Iterable[date]]) -> int:
    """mark_days_dirty per cluster (not the product of all clusters and all days). Returns pairs flagged."""
    return sum(mark_days_dirty([cluster], days) for cluster, days in days_by_cluster.items())


def attribute_lines_in_db(
    lines: QuerySet | tuple[datetime, datetime], *, attributor: Attributor | None = None
) -> int:
    """Attribute stored lines again (a node or a tag rule added since) and return how many changed.

    `lines`: a BillLine queryset, or a period (start, end) meaning the lines whose charge period overlaps
    [start, end). Only lines whose kind, cluster, node, volume or load balancer change are written, and the cluster-days they
    touch, under their old cluster and under their new one, are marked dirty in the same transaction.
    """
    if isinstance(lines, tuple):
        start, end = lines
        lines = BillLine.objects.filter(charge_period_end__gte=start, charge_period_start__lt=end)
    attributor = attributor or Attributor()
    fields = (
        "pk",
        "resource_id",
        "tags",
        "charge_period_start",
        "charge_period_end",
        "kind",
        "cluster_id",
        "load_balancer_id",
    )
    changed = 0
    with transaction.atomic():
        last = 0
        # Keyset batches, each read whole before its updates (SQLite has no isolation between the queries of
        # one connection, so no open cursor over the table being written).
        while batch := list(
            lines.filter(pk__gt=last).order_by("pk").values_list(*fields, "node_id", "volume_id")[:BATCH]
        ):
            last = batch[-1][0]
            frame = pd.DataFrame(batch, columns=[*fields, "node_id", "volume_id"])
            frame["charge_period_start"] = pd.to_datetime(frame["charge_period_start"], utc=True)
            frame["charge_period_end"] = pd.to_datetime(frame["charge_period_end"], utc=True)
            new = attributor.attribute(frame)
            differs = (
                (new["kind"] != frame["kind"])
                | ~_same(new["cluster"], frame["cluster_id"])
                | ~_same(new["node"], frame["node_id"])
                | ~_same(new["volume"], frame["volume_id"])
                | ~_same(new["load_balancer"], frame["load_balancer_id"])
            ).to_numpy()
            if not differs.any():
                continue
            moved = new[differs]
            before = frame[differs].rename(columns={"cluster_id": "cluster"})
            days = merge_days(touched_days(before), touched_days(moved))
            updates: dict[tuple, list[int]] = defaultdict(list)
            for pk, kind, cluster, node, volume, lb in zip(
                moved["pk"],
                moved["kind"],
                moved["cluster"],
                moved["node"],
                moved["volume"],
                moved["load_balancer"],
                strict=True,
            ):
                updates[(kind, _id(cluster), _id(node), _id(volume), _id(lb))].append(int(pk))
            for (kind, cluster, node, volume, lb), pks in updates.items():
                for i in range(0, len(pks), 10_000):  # bounded IN lists
                    BillLine.objects.filter(pk__in=pks[i : i + 10_000]).update(
                        kind=kind, cluster_id=cluster, node_id=node, volume_id=volume, load_balancer_id=lb
                    )
            mark_dirty(days)
            changed += int(differs.sum())
    return changed


def reattribute(start: datetime, end: datetime) -> int:
    """Attribute again the lines whose charge period overlaps [start, end); see attribute_lines_in_db."""
    return attribute_lines_in_db((start, end))


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    # Element by element: a mapped Series of ints and None turns back into floats and NaN, and NaN is
    # unequal to everything, which would rewrite (and mark dirty) every line without a cluster or node.
    return pd.Series([_id(x) == _id(y) for x, y in zip(a, b, strict=True)], index=a.index)


def _id(value) -> int | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return int(value)


def _ns(values: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(values).as_unit("ns").asi8
