from datetime import date

import pytest

from costing.choices import ConnectionType
from costing.models import Cluster, ClusterDay, Department, Policy

pytestmark = pytest.mark.django_db
URL = "/admin/costing/policy/add/"


def form(**overrides):
    data = {
        "effective_from": "2025-04-01",
        "currency": "EUR",
        "split_method": "cost_share",
        "cpu_share": "0.5",
        "price_ratio": "7.46",
        "namespace_label_key": "",
        "shared_namespaces": '["kube-system"]',
        "shared_method": "proportional",
        "shared_scope": "cluster",
        "idle_method": "proportional",
        "overhead_method": "proportional",
        "overhead_scope": "cluster",
        "comment": "",
    }
    for prefix in ("department_rules", "tag_rules", "fallback_prices"):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data.update(overrides)
    return data


def department(i, dept, namespaces, weight=""):
    return {
        "department_rules-TOTAL_FORMS": str(i + 1),
        f"department_rules-{i}-department": str(dept.pk),
        f"department_rules-{i}-namespaces": namespaces,
        f"department_rules-{i}-patterns": "[]",
        f"department_rules-{i}-label_value": "",
        f"department_rules-{i}-weight": weight,
        f"department_rules-{i}-position": str(i),
    }


def test_the_admin_refuses_a_policy_that_validate_refuses(client, admin_user):
    client.force_login(admin_user)
    ops = Department.objects.create(name="Ops")
    # The weights method needs a department with a weight; kube-system cannot be shared and claimed.
    response = client.post(URL, form(overhead_method="weights", **department(0, ops, '["kube-system"]')))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "overhead_method" in errors
    assert any("departments[0].namespaces" in e for e in errors["__all__"])
    assert not Policy.objects.exists()


def test_the_admin_saves_a_valid_policy_warns_and_marks_days(client, admin_user):
    client.force_login(admin_user)
    cluster = Cluster.objects.create(name="c", connection_type=ConnectionType.SIMULATOR)
    ClusterDay.objects.create(cluster=cluster, day=date(2025, 4, 2), dirty=False)
    ClusterDay.objects.create(cluster=cluster, day=date(2025, 3, 31), dirty=False)
    ops = Department.objects.create(name="Ops")
    response = client.post(URL, form(**department(0, ops, '["ops"]', weight="30")), follow=True)
    assert response.status_code == 200
    policy = Policy.objects.get()
    assert policy.department_rules.get().weight == 30
    texts = [str(m) for m in response.context["messages"]]
    # A weight while no pool uses weights is a warning, shown but not blocking.
    assert any("weight" in t for t in texts)
    assert list(ClusterDay.objects.filter(dirty=True).values_list("day", flat=True)) == [date(2025, 4, 2)]
