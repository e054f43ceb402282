"""costing/roles.py: set_roles gives exactly the roles and departments asked, and leaves other groups alone."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from costing import access
from costing.choices import Role
from costing.models import Department
from costing.roles import set_roles

pytestmark = pytest.mark.django_db


def names(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_set_roles_replaces_role_groups_and_department_grants(django_user_model):
    user = django_user_model.objects.create_user("ann")
    payments, search = (Department.objects.create(name=n) for n in ("Payments", "Search"))
    user.groups.add(Group.objects.create(name="on-call"), Group.objects.get(name=Role.ADMIN))
    assert access.is_admin(user)  # caches the groups on the instance

    set_roles(user, [], [payments, search])
    assert names(user) == {"on-call", Role.DEPARTMENT_VIEWER}
    assert access.granted_departments(user) == {"Payments", "Search"}  # the cache was dropped

    set_roles(user, [Role.VIEWER], [search])
    assert names(user) == {"on-call", Role.VIEWER, Role.DEPARTMENT_VIEWER}
    assert set(user.departments.values_list("name", flat=True)) == {"Search"}

    set_roles(user, [])
    assert names(user) == {"on-call"}
    assert not user.departments.exists() and not access.has_any_role(user)


def test_set_roles_refuses_a_name_that_is_not_a_role(django_user_model):
    user = django_user_model.objects.create_user("ben")
    with pytest.raises(ValueError, match="not a role: root"):
        set_roles(user, ["root"])
    assert names(user) == set()
