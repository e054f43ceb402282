"""Users of every role, API clients signed in as them, and the hand-computed scenario with its results stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from costing.choices import Role
from costing.compute import recompute_day
from costing.models import Department
from tests.costing import scenario
from tests.module_rows import rows_of_the_module

DAY = scenario.DAY
NEXT = DAY + timedelta(days=1)
# "Now" for the API tests: ten days after the scenario, so the two-year history bound and the
# hourly retention hold whatever the date the suite runs on.
NOW = datetime(2025, 3, 20, 12, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen_now(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def build_prod() -> dict:
    objects = scenario.build()
    recompute_day(DAY)
    recompute_day(NEXT)  # the second half of the control-plane line: 2.40 of overhead, no pods
    return objects


@pytest.fixture
def prod(db):
    return build_prod()


@pytest.fixture(scope="module")
def prod_of_module(django_db_setup, django_db_blocker):
    """The scenario built and computed once for a module whose tests read it (each test's writes rolled back):
    such a module defines `prod` as this (test_allocation.py). Built at the tests' frozen now."""
    with rows_of_the_module(django_db_blocker):
        with pytest.MonkeyPatch.context() as frozen:
            frozen.setattr(timezone, "now", lambda: NOW)
            objects = build_prod()
        yield objects


@pytest.fixture
def users(db, django_user_model):
    def make(name, *roles, superuser=False, departments=()):
        user = django_user_model.objects.create_user(
            name, is_superuser=superuser
        )  # no password: no slow hashing
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        for dept in departments:
            Department.objects.get_or_create(name=dept)[0].viewers.add(user)
        return django_user_model.objects.get(pk=user.pk)

    return {
        "admin": make("ada", Role.ADMIN),
        "viewer": make("vic", Role.VIEWER),
        "dept": make("dee", Role.DEPARTMENT_VIEWER, departments=["Payments"]),
        "nobody": make("nob"),
    }


@pytest.fixture
def client_as(users):
    def make(role):
        client = APIClient()
        if role != "anonymous":
            client.force_login(users[role])
        return client

    return make
