"""The stored daily costs that budgets, forecasts and anomalies are measured on, read per subject."""

from __future__ import annotations

from datetime import date

import pandas as pd
from django.db.models import F, Sum

from costing.choices import SubjectKind
from costing.models import ClusterDay, DepartmentCostDay, NamespaceCostDay, WorkloadCostDay

# What each budget subject's cost is: the organisation and a cluster pay the physical cost (every
# department and pool line), a department its total with its pool shares, a namespace its direct cost.
_DAILY = {
    SubjectKind.ORGANISATION: (ClusterDay, "physical_cost", None),
    SubjectKind.CLUSTER: (ClusterDay, "physical_cost", "cluster__name"),
    SubjectKind.DEPARTMENT: (DepartmentCostDay, "total", "name"),
    SubjectKind.NAMESPACE: (NamespaceCostDay, "cost", "namespace__name"),
}


def daily_costs(subject_kind: str, subject: str, start: date, end: date) -> pd.Series:
    """The subject's cost per day in [start, end), summed over clusters, as floats indexed by day."""
    model, field, name_field = _DAILY[subject_kind]
    qs = model.objects.filter(day__gte=start, day__lt=end)
    if subject_kind == SubjectKind.DEPARTMENT:
        qs = qs.filter(is_line=False)
    if name_field:
        qs = qs.filter(**{name_field: subject})
    rows = qs.values("day").annotate(cost=Sum(field)).order_by("day")
    return pd.Series({r["day"]: float(r["cost"]) for r in rows}, dtype=float)


def first_computed_day() -> date | None:
    return (
        ClusterDay.objects.filter(computed_at__isnull=False)
        .order_by("day")
        .values_list("day", flat=True)
        .first()
    )


ANOMALY_SUBJECTS = (SubjectKind.DEPARTMENT, SubjectKind.NAMESPACE, SubjectKind.WORKLOAD)


def anomaly_frames(days: list[date]) -> dict[str, pd.DataFrame]:
    """Per anomaly subject kind, a row per subject and day of `days`: cost, pods, CPU unit price, the
    cost of workloads not seen on the other days (`new_cost`) and the department that owned it."""
    last = max(days)
    workloads = pd.DataFrame(
        list(
            WorkloadCostDay.objects.filter(day__in=days).values(
                "day",
                "workload_id",
                "pods",
                "cpu_cost",
                "cpu_billable_core_hours",
                "cost",
                namespace_name=F("namespace__name"),
                workload_kind=F("workload__kind"),
                workload_name=F("workload__name"),
            )
        )
    )
    owners = pd.DataFrame(
        list(
            NamespaceCostDay.objects.filter(day__in=days).values(
                "day", "department", "shared", namespace_name=F("namespace__name")
            )
        )
    )
    if workloads.empty:
        empty = pd.DataFrame(columns=["subject", "day", "cost", "pods", "price", "new_cost", "department"])
        return dict.fromkeys(ANOMALY_SUBJECTS, empty)
    for column in ("cpu_cost", "cost"):
        workloads[column] = workloads[column].astype(float)
    seen_before = set(workloads.loc[workloads["day"] != last, "workload_id"])
    is_new = (workloads["day"] == last) & ~workloads["workload_id"].isin(seen_before)
    workloads["new_cost"] = workloads["cost"].where(is_new, 0.0)
    if not owners.empty:
        owners["department"] = owners["department"].where(~owners["shared"], "")
        owner = owners.groupby(["namespace_name", "day"])["department"].first()
        workloads = workloads.join(owner, on=["namespace_name", "day"])
    workloads["department"] = workloads.get("department", pd.Series(dtype=str)).fillna("")
    workloads["workload"] = (
        workloads["namespace_name"] + "/" + workloads["workload_kind"] + "/" + workloads["workload_name"]
    )

    def per(subject_column: str) -> pd.DataFrame:
        grouped = workloads.groupby([subject_column, "day"], as_index=False).agg(
            cost=("cost", "sum"),
            pods=("pods", "sum"),
            cpu_cost=("cpu_cost", "sum"),
            hours=("cpu_billable_core_hours", "sum"),
            new_cost=("new_cost", "sum"),
            department=("department", "first"),
        )
        grouped["price"] = (grouped["cpu_cost"] / grouped["hours"]).where(grouped["hours"] > 0)
        return grouped.rename(columns={subject_column: "subject"}).drop(columns=["cpu_cost", "hours"])

    frames = {SubjectKind.NAMESPACE: per("namespace_name"), SubjectKind.WORKLOAD: per("workload")}
    departments = per("department")
    # A department's day is its total with its pool shares (what it pays), not only its workloads.
    totals = (
        DepartmentCostDay.objects.filter(day__in=days, is_line=False)
        .values("day", "name")
        .annotate(t=Sum("total"))
    )
    total_of = {(r["name"], r["day"]): float(r["t"]) for r in totals}
    departments = departments[departments["subject"] != ""]
    departments["cost"] = [
        total_of.get((s, d), c) for s, d, c in departments[["subject", "day", "cost"]].itertuples(index=False)
    ]
    departments["department"] = departments["subject"]
    frames[SubjectKind.DEPARTMENT] = departments
    return frames


def last_computed_day() -> date | None:
    """The latest day with a computed cluster-day: what budgets and forecasts are shown as of."""
    return (
        ClusterDay.objects.filter(computed_at__isnull=False)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )
