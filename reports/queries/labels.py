"""Cost per value of a pod label."""

from __future__ import annotations

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

    Pod days are summed per pod in SQL; the labels of those pods are read once."""
    from costing.models import Pod

    measures = RANKED
    qs = restrict_to_owners(for_period(PodCostDay.objects, start, end, cluster_id), departments)
    if cluster_id is None and cluster_ids:
        # Naming every cluster (the caller knows them) lets PostgreSQL use the (cluster, day) index.
        qs = qs.filter(cluster_id__in=cluster_ids)
    per_pod = list(qs.values("pod_id").annotate(**sums(measures)).order_by())
    # The labels of every pod alive in the period (a superset of those with costs), in one indexed read.
    pods = Pod.objects.filter(last_seen__gte=_midnight(start), first_seen__lt=_midnight(end))
    if cluster_id is not None:
        pods = pods.filter(cluster_id=cluster_id)
    labels = dict(pods.values_list("pk", "labels"))
    costed = {row["pod_id"] for row in per_pod}
    labels = {pk: value for pk, value in labels.items() if pk in costed}
    keys = sorted({k for pod_labels in labels.values() for k in (pod_labels or {})})
    if key is None:
        key = next((k for k in PREFERRED_LABEL_KEYS if k in keys), keys[0] if keys else None)
    groups: dict[str, dict] = {}
    for row in per_pod:
        value = (labels.get(row["pod_id"]) or {}).get(key) if key else None
        value = NO_LABEL if value is None else str(value)
        into = groups.setdefault(value, {"label": value, "pods": 0, **{m: row[m] * 0 for m in measures}})
        into["pods"] += 1
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


def _midnight(day: date):
    from datetime import UTC, datetime, time

    return datetime.combine(day, time(), tzinfo=UTC)
