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
