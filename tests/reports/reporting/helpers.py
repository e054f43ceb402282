"""Shared by the report tests: the hand-computed scenario on a chosen day, users by role, sheets as rows."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.utils import timezone
from openpyxl import load_workbook

from costing.choices import Role
from costing.compute import recompute_day
from costing.models import Department
from tests.costing import scenario

D = Decimal
# The scenario's figures (tests/costing/scenario.py): day one 32.92 = workloads 15.18 + idle 14.14 +
# overhead 3.60; day two only the second half of the control plane, 2.40 of overhead, on its own line.
TWO_DAYS = {"physical": D("35.32"), "workload": D("15.18"), "idle": D("14.14"), "overhead": D("6.00")}
DEPARTMENTS = {"Payments": D("27.20"), "Search": D("5.72"), "Overhead": D("2.40")}


def build_scenario(day: date) -> dict:
    """The scenario's cluster-day on `day` and the day after, computed and apportioned."""
    objects = scenario.build(datetime.combine(day, datetime.min.time(), UTC))
    recompute_day(day)
    recompute_day(day + timedelta(days=1))
    return objects


def doubled_second_cluster(day: date) -> dict:
    """A second cluster, dev, with the scenario's cluster-day on `day` (computed) but n1 billed 48.00 for it
    instead of 24.00: n1's prices double, and with them its pods (payments 12.00, checkout 9.00,
    kube-system 4.50) and idle (22.50); n2 and n3 as prod's. Workloads 12 + 9 + 4.50 + 1.62 + 0.81 = 27.93,
    idle 22.50 + 1.89 + 1.00 = 25.39, overhead 3.60: physical 56.92. Payments: direct 21.00 + (shared 5.31
    + idle 25.39) x 21.00 / 22.62 + overhead 1.80 = 51.30; Search: 1.62 + 30.70 x 1.62 / 22.62 + 1.80 = 5.62.
    A policy from the 1st of `day`'s month names dev's bill tag."""
    from dataclasses import replace

    from costing.models import BillLine
    from costing.policy import ClusterRules, TagRule

    policy = replace(
        scenario.POLICY,
        effective_from=day.replace(day=1),
        clusters=[*scenario.POLICY.clusters, ClusterRules("dev", [TagRule("kubernetes.io/cluster/dev")])],
    )
    objects = scenario.build(datetime.combine(day, datetime.min.time(), UTC), name="dev", policy=policy)
    BillLine.objects.filter(pk=objects["lines"]["n1"].pk).update(
        effective_cost=Decimal("48.00"), billed_cost=Decimal("48.00")
    )
    recompute_day(day)
    return objects


def recent_day() -> date:
    """The 10th of last month: inside the two years of history whenever the suite runs."""
    first = timezone.now().date().replace(day=1)
    return (first - timedelta(days=1)).replace(day=10)


def month_key(day: date) -> str:
    return f"{day:%Y-%m}"


def make_user(django_user_model, name, *roles, departments=(), superuser=False):
    user = django_user_model.objects.create_user(name, password="pw-" + name, is_superuser=superuser)
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    for department in departments:
        Department.objects.get_or_create(name=department)[0].viewers.add(user)
    return django_user_model.objects.get(pk=user.pk)


def department_viewer(django_user_model, name="dee", departments=("Search",)):
    return make_user(django_user_model, name, Role.DEPARTMENT_VIEWER, departments=departments)


def sheet_rows(ws) -> tuple[list[dict], dict | None]:
    """A table sheet as (rows, totals row) keyed by header; the totals row is the bold last row."""
    values = list(ws.iter_rows(values_only=True))
    header = values[0]
    rows = [dict(zip(header, v, strict=True)) for v in values[1:]]
    last = ws.max_row
    if rows and ws.cell(row=last, column=1).font.bold:
        return rows[:-1], rows[-1]
    return rows, None


def summary_of(ws) -> dict:
    return dict(ws.iter_rows(min_row=2, values_only=True))


def workbook(content: bytes):
    return load_workbook(io.BytesIO(content))


def cents(value) -> Decimal:
    """A number read back from a workbook, as money."""
    return Decimal(str(value)).quantize(Decimal("0.01"))
