"""Cost per value of a pod label."""

from __future__ import annotations

import json
from datetime import date

from costing.access import restrict_to_owners
from costing.models import PodCostDay
from reports.periods import Period
from reports.queries.cents import cents
from reports.queries.common import NO_LABEL, RANKED, for_period, sums, with_efficiency

PREFERRED_LABEL_KEYS = ("app.kubernetes.io/name", "app", "team", "component")


def label_totals(
    key: str | None,
    start: date,
    end: date,
    cluster_id: int | None = None,
    departments=None,
    *,
    cluster_ids: list[int] | None = None,
) -> tuple[list[dict], list[str], str | None]:
    """Cost per value of the pod label `key` (NO_LABEL for pods without it), every label key seen on the
    period's pods, and the key used (when `key` is None: a well-known one, else the first seen).

    Pod days are summed in SQL per set of pod labels (a few per workload), with the number of pods of
    each: a pod has one set of labels, so the pods of a value are the sum over its sets."""
    qs = restrict_to_owners(for_period(PodCostDay.objects, start, end, cluster_id), departments)
    if cluster_id is None and cluster_ids:
        # Naming every cluster (the caller knows them) lets PostgreSQL use the (cluster, day) index.
        qs = qs.filter(cluster_id__in=cluster_ids)
    measures = RANKED
    per_set = _per_label_set(qs, measures)
    keys = sorted({k for row in per_set for k in (row["pod__labels"] or {})})
    if key is None:
        key = next((k for k in PREFERRED_LABEL_KEYS if k in keys), keys[0] if keys else None)
    groups: dict[str, dict] = {}
    for row in per_set:
        value = (row["pod__labels"] or {}).get(key) if key else None
        value = NO_LABEL if value is None else str(value)
        into = groups.setdefault(value, {"label": value, "pods": 0, **{m: row[m] * 0 for m in measures}})
        into["pods"] += row["_pods"]
        for m in measures:
            into[m] += row[m] or 0
    rows = sorted(groups.values(), key=lambda r: (-r["cost"], r["label"]))
    return [with_efficiency(r) for r in rows], keys, key


def label_table(
    key: str | None,
    period: Period,
    cluster_id: int | None = None,
    departments=None,
    *,
    cluster_ids: list[int] | None = None,
) -> dict:
    """The Labels page: label_totals' `rows` with their cost to the cent, adding up to `total`; the label
    `keys` seen and the `key` used."""
    rows, keys, key = label_totals(
        key, period.start, period.end, cluster_id, departments, cluster_ids=cluster_ids
    )
    return {"rows": rows, "keys": keys, "key": key, "total": cents(rows, "cost")}


def _per_label_set(pod_days, measures: list[str]) -> list[dict]:
    """The `measures` of the pod days summed per set of pod labels, with the pods of each counted by a
    second query (pods with a day among them): two hash aggregates, no COUNT(DISTINCT), which sorts.
    Rows {"pod__labels", "_pods", *measures}."""
    from django.db.models import Count, Exists, OuterRef

    from costing.models import Pod

    rows = list(pod_days.values("pod__labels").annotate(**sums(measures)).order_by())
    pods = (
        Pod.objects.filter(Exists(pod_days.filter(pod_id=OuterRef("pk"))))
        .values("labels")
        .annotate(_pods=Count("id"))
        .order_by()
    )
    counted = {_key(r["labels"]): r["_pods"] for r in pods}
    for row in rows:
        row["_pods"] = counted.get(_key(row["pod__labels"]), 0)
    return rows


def _key(labels) -> str:
    return json.dumps(labels or {}, sort_keys=True)
