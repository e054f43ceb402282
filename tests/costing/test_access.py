"""The three roles, and the filters every page, export and API call goes through."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Group

from costing import access
from costing.choices import ConnectionType, Role
from costing.models import Cluster, Department, Namespace, NamespaceCostDay


@pytest.fixture
def users(django_user_model):
    def make(name, *roles, superuser=False):
        user = django_user_model.objects.create_user(name, password="pw-" + name, is_superuser=superuser)
        for role in roles:
            user.groups.add(Group.objects.get(name=role))
        return django_user_model.objects.get(pk=user.pk)  # fresh: no cached groups

    return make


@pytest.mark.django_db
def test_role_groups_exist_after_migrate_and_admins_hold_costing_permissions():
    names = set(Group.objects.values_list("name", flat=True))
    assert {r.value for r in Role} <= names
    perms = set(Group.objects.get(name=Role.ADMIN).permissions.values_list("codename", flat=True))
    assert {"change_policy", "add_cluster", "view_billimport"} <= perms


@pytest.mark.django_db
def test_roles(users):
    root = users("root", superuser=True)
    admin = users("ada", Role.ADMIN)
    viewer = users("vic", Role.VIEWER)
    dept = users("dee", Role.DEPARTMENT_VIEWER)
    nobody = users("nob")
    payments = Department.objects.create(name="Payments")
    Department.objects.create(name="Search")
    payments.viewers.add(dept)
    dept = type(dept).objects.get(pk=dept.pk)

    assert [access.is_admin(u) for u in (root, admin, viewer, dept, nobody)] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert access.granted_departments(viewer) is None
    assert access.granted_departments(dept) == {"Payments"}
    assert access.granted_departments(nobody) == frozenset()
    assert access.has_any_role(dept) and not access.has_any_role(nobody)
    assert access.may_see_department(dept, "Payments") and not access.may_see_department(dept, "Search")


@pytest.mark.django_db
def test_namespace_rows_are_filtered_by_the_owner_of_that_day(users):
    dept = users("dee", Role.DEPARTMENT_VIEWER)
    Department.objects.create(name="Payments").viewers.add(dept)
    dept = type(dept).objects.get(pk=dept.pk)
    cluster = Cluster.objects.create(name="c", connection_type=ConnectionType.SIMULATOR)
    seen = date(2026, 10, 1)
    ns = Namespace.objects.create(
        cluster=cluster, name="pay", first_seen="2026-10-01T00:00Z", last_seen="2026-10-03T00:00Z"
    )
    other = Namespace.objects.create(
        cluster=cluster, name="search", first_seen="2026-10-01T00:00Z", last_seen="2026-10-03T00:00Z"
    )
    # "pay" belonged to Payments on the 1st and moved to Search on the 2nd (a policy change).
    NamespaceCostDay.objects.create(cluster=cluster, day=seen, namespace=ns, department="Payments")
    NamespaceCostDay.objects.create(cluster=cluster, day=date(2026, 10, 2), namespace=ns, department="Search")
    NamespaceCostDay.objects.create(cluster=cluster, day=seen, namespace=other, department="Search")

    visible = access.restrict_by_namespace_owner(NamespaceCostDay.objects.all(), dept)
    assert list(visible.values_list("namespace__name", "day")) == [("pay", seen)]
    assert access.restrict_by_department(NamespaceCostDay.objects.all(), dept).count() == 1


@pytest.mark.django_db
def test_django_admin_is_for_finops_admins_only(client, users):
    for user, expected in ((users("ada", Role.ADMIN), 200), (users("vic", Role.VIEWER), 302)):
        user.is_staff = True  # even staff status does not open the admin without the role
        user.save()
        client.force_login(user)
        assert client.get("/admin/").status_code == expected, user.username


@pytest.mark.django_db
def test_namespace_visibility_and_report_department(users):
    from django.core.exceptions import PermissionDenied

    dept = users("dee", Role.DEPARTMENT_VIEWER)
    viewer = users("vic", Role.VIEWER)
    Department.objects.create(name="Payments").viewers.add(dept)
    dept = type(dept).objects.get(pk=dept.pk)
    cluster = Cluster.objects.create(name="c", connection_type=ConnectionType.SIMULATOR)
    ns = Namespace.objects.create(
        cluster=cluster, name="pay", first_seen="2026-10-01T00:00Z", last_seen="2026-10-03T00:00Z"
    )
    first, second, third = date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)
    NamespaceCostDay.objects.create(cluster=cluster, day=first, namespace=ns, department="Payments")
    NamespaceCostDay.objects.create(cluster=cluster, day=second, namespace=ns, department="Search")

    assert access.namespace_visibility(dept, ns.pk, first, second) == access.WHOLE
    assert access.namespace_visibility(dept, ns.pk, first, third) == access.PARTLY
    assert access.namespace_visibility(dept, ns.pk, second, third) == access.NOTHING
    assert access.namespace_visibility(dept, ns.pk, third, date(2026, 10, 4)) == access.NOTHING  # no days
    assert access.namespace_visibility(viewer, ns.pk, second, third) == access.WHOLE

    assert access.report_department(dept, "") == "Payments"  # their one department
    assert access.report_department(viewer, "") == "" and access.report_department(None, "Search") == "Search"
    with pytest.raises(PermissionDenied, match="'Search' is not one of your departments"):
        access.report_department(dept, "Search")
    Department.objects.create(name="Search").viewers.add(dept)
    dept = type(dept).objects.get(pk=dept.pk)
    with pytest.raises(PermissionDenied, match="name one of your departments: Payments, Search"):
        access.report_department(dept, None)
    with pytest.raises(access.DepartmentChoice):
        access.cost_scope(dept, "namespace", None)
    assert access.cost_scope(dept, "department", None) == (None, {"Payments", "Search"})


def test_opportunities_of_a_department_are_its_workloads_never_a_node_pool():
    import pandas as pd

    rows = pd.DataFrame(
        {
            "lever": ["packing", "pay_per_use", "cronhpa", "rightsize"],
            "department": ["", "Payments", "Search", "Payments"],
            "shared": [True, False, False, True],  # the last: a shared namespace the department also names
        }
    )
    assert access.owned_opportunities(rows, None) is None
    assert list(access.owned_opportunities(rows, frozenset(["Payments"]))) == [False, True, False, False]
