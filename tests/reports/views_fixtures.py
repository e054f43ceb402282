"""Fixtures of the page tests: the hand-computed scenario, computed, and one signed-in client per role."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client, override_settings

from costing.choices import Role
from costing.compute import recompute_day
from costing.models import Department
from tests.costing import scenario
from tests.module_rows import rows_of_the_module

DAY = scenario.DAY  # 2025-03-10
NEXT = DAY + timedelta(days=1)
TODAY = date(2025, 3, 20)  # pages check periods against "today": fixed, so the scenario stays in history


@pytest.fixture
def fixed_today(monkeypatch, settings):
    monkeypatch.setattr("reports.views_common.today", lambda: TODAY)
    settings.FINOPS_HOURLY_RETENTION_DAYS = 100_000  # the scenario's node-hours are kept
    settings.FINOPS_CURRENCY = "EUR"


@pytest.fixture
def prod(fixed_today):
    """scenario.build() computed for its day and the next (which has only 2.40 of overhead)."""
    return build_prod()


def build_prod() -> dict:
    objects = scenario.build()
    recompute_day(DAY)
    recompute_day(NEXT)
    return objects


@pytest.fixture(scope="module")
def prod_of_module(django_db_setup, django_db_blocker):
    """prod built once for a module whose tests read it (each test's writes rolled back): such a module defines
    `prod(prod_of_module, fixed_today)` as this. Built with fixed_today's settings."""
    with rows_of_the_module(django_db_blocker):
        with override_settings(FINOPS_HOURLY_RETENTION_DAYS=100_000, FINOPS_CURRENCY="EUR"):
            objects = build_prod()
        yield objects


@pytest.fixture
def make_user(django_user_model):
    def make(name, *roles, departments=(), superuser=False):
        user = django_user_model.objects.create_user(name, password="pw-" + name + "-long enough")
        user.is_superuser = superuser
        user.save()
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        for department in departments:
            Department.objects.get_or_create(name=department)[0].viewers.add(user)
        return user

    return make


@pytest.fixture
def clients(prod, make_user):
    """A signed-in Client per role: admin, viewer, payments (department viewer of Payments), nobody."""
    users = {
        "admin": make_user("ada", Role.ADMIN),
        "viewer": make_user("vic", Role.VIEWER),
        "payments": make_user("pam", Role.DEPARTMENT_VIEWER, departments=["Payments"]),
        "nobody": make_user("nob"),
    }
    out = {}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        out[role] = client
    out["anonymous"] = Client()
    return out
