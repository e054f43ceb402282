"""The monthly workload rollup holds exactly what its days hold, and pages read the same figures from it."""

from __future__ import annotations

from datetime import date

import pytest
from django.db.models import Count, Sum

from costing.compute import recompute_day
from costing.models import NamespaceCostDay, WorkloadCostDay, WorkloadCostMonth
from costing.rollups import SUMMED, fill_workload_months, refresh_workload_months, whole_months
from costing.tasks.compute import prune
from reports.queries.workloads import workload_totals
from tests.costing import scenario

DAY = scenario.DAY  # 2025-03-10, and the next day

pytestmark = pytest.mark.django_db
MARCH, APRIL = date(2025, 3, 1), date(2025, 4, 1)


@pytest.fixture
def computed(settings):
    settings.FINOPS_HOURLY_RETENTION_DAYS = 100_000
    objects = scenario.build()
    recompute_day(DAY)
    recompute_day(date(2025, 3, 11))
    return objects


def month_rows() -> dict:
    return {
        (r["workload_id"], r["department"], r["shared"]): r
        for r in WorkloadCostMonth.objects.filter(month=MARCH).values(
            "workload_id", "department", "shared", "days", *SUMMED
        )
    }


def day_sums(**filters) -> dict:
    return {
        r["workload_id"]: r
        for r in WorkloadCostDay.objects.filter(**filters)
        .values("workload_id")
        .annotate(days=Count("id"), **{f: Sum(f) for f in SUMMED})
        .order_by()
    }


def owners() -> dict:
    return {
        (n, d): (dept, shared)
        for n, d, dept, shared in NamespaceCostDay.objects.values_list(
            "namespace_id", "day", "department", "shared"
        )
    }


def test_the_month_sums_the_days_per_owner(computed):
    rows = month_rows()
    days = day_sums()
    assert {w for w, _, _ in rows} == set(days) and len(rows) == len(days)  # one owner each
    owner = owners()
    for (workload, department, shared), row in rows.items():
        expected = days[workload]
        assert row["days"] == expected["days"]
        for f in SUMMED:
            assert row[f] == pytest.approx(expected[f]), f
        namespace = WorkloadCostDay.objects.filter(workload_id=workload).values_list(
            "namespace_id", flat=True
        )[0]
        assert (department, shared) == owner[(namespace, DAY)]
    assert {"Payments", "Search"} <= {department for _, department, _ in rows}
    # Built again from scratch (the migration's fill), the same rows.
    WorkloadCostMonth.objects.all().delete()
    fill_workload_months()
    assert month_rows() == rows


def test_pages_read_the_same_figures_from_months_and_from_days(computed):
    assert whole_months(MARCH, APRIL) == (MARCH, APRIL)
    assert whole_months(date(2025, 3, 2), APRIL) is None
    for departments in (None, frozenset(["Payments"]), frozenset(["Search"])):
        from_months = workload_totals(MARCH, APRIL, departments=departments)
        from_days = workload_totals(date(2025, 3, 2), APRIL, departments=departments)
        assert from_months == from_days
        assert from_days[0], departments
    # The rows are those of the days: what the workloads paid, by owner.
    _, every = workload_totals(MARCH, APRIL)
    assert every["cost"] == sum(r["cost"] for r in day_sums().values())


def copy_to(workload, day: date, department: str) -> None:
    """The workload's and its namespace's rows of DAY once more on `day`, the namespace owned by `department`."""
    for model, filters, changes in (
        (WorkloadCostDay, {"workload": workload}, {}),
        (NamespaceCostDay, {"namespace_id": workload.namespace_id}, {"department": department}),
    ):
        row = model.objects.get(day=DAY, **filters)
        row.pk, row.day = None, day
        for name, value in changes.items():
            setattr(row, name, value)
        row.save()
    refresh_workload_months(workload.cluster_id, [day])


def test_a_namespace_that_changes_owner_within_the_month_splits_its_rows(computed):
    checkout = computed["workloads"][("checkout", "checkout")]
    copy_to(checkout, date(2025, 3, 12), "Search")
    rows = {(d, s): r["days"] for (w, d, s), r in month_rows().items() if w == checkout.pk}
    assert rows == {("Payments", False): 1, ("Search", False): 1}
    for departments in (frozenset(["Payments"]), frozenset(["Search"])):
        from_months, _ = workload_totals(MARCH, APRIL, departments=departments)
        from_days, _ = workload_totals(date(2025, 3, 2), APRIL, departments=departments)
        assert from_months == from_days
    search, _ = workload_totals(MARCH, APRIL, departments=frozenset(["Search"]))
    assert checkout.pk in {r["workload_id"] for r in search}


def test_pruning_days_prunes_and_resums_their_months(computed, settings):
    checkout = computed["workloads"][("checkout", "checkout")]
    copy_to(checkout, date(2025, 3, 12), "Payments")
    settings.FINOPS_DAILY_RETENTION_MONTHS = 1
    prune(today=date(2025, 4, 11))  # keeps 2025-03-11 on
    assert not WorkloadCostDay.objects.filter(day=DAY).exists()
    rows = month_rows()
    assert [(w, r["days"], r["cost"]) for (w, _, _), r in rows.items()] == [
        (checkout.pk, 1, day_sums()[checkout.pk]["cost"])
    ]
    prune(today=date(2025, 6, 1))
    assert not WorkloadCostMonth.objects.exists()
