"""The policy admin: checks with validate(), lists edited as text, the preview and confirmation, the history."""

from datetime import date
from decimal import Decimal

import pytest
from auditlog.models import LogEntry

from costing.admin import ListField
from costing.choices import ConnectionType
from costing.compute import recompute_day
from costing.models import Cluster, ClusterDay, Department, Policy
from costing.policy import dump_policy
from costing.policy.history import policy_entries
from costing.policy.store import spec_from_policy
from tests.costing import scenario
from tests.costing.scenario import DAY

pytestmark = pytest.mark.django_db
URL = "/admin/costing/policy/add/"
CONFIRM = {"_policy_confirm": "Confirm and save"}


def form(**overrides):
    data = {
        "effective_from": "2025-04-01",
        "currency": "EUR",
        "split_method": "cost_share",
        "cpu_share": "0.5",
        "price_ratio": "7.46",
        "namespace_label_key": "",
        "shared_namespaces": "kube-system",
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


def department(i, dept, namespaces, weight="", patterns=""):
    return {
        "department_rules-TOTAL_FORMS": str(i + 1),
        f"department_rules-{i}-department": str(dept.pk),
        f"department_rules-{i}-namespaces": namespaces,
        f"department_rules-{i}-patterns": patterns,
        f"department_rules-{i}-label_value": "",
        f"department_rules-{i}-weight": weight,
        f"department_rules-{i}-position": str(i),
    }


def test_the_admin_refuses_a_policy_that_validate_refuses(client, admin_user):
    client.force_login(admin_user)
    ops = Department.objects.create(name="Ops")
    # The weights method needs a department with a weight; kube-system cannot be shared and claimed.
    response = client.post(URL, form(overhead_method="weights", **department(0, ops, "kube-system")))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "overhead_method" in errors
    assert any("departments[0].namespaces" in e for e in errors["__all__"])
    assert not Policy.objects.exists()


def test_the_admin_saves_a_valid_policy_once_confirmed_warns_and_marks_days(client, admin_user):
    client.force_login(admin_user)
    cluster = Cluster.objects.create(name="c", connection_type=ConnectionType.SIMULATOR)
    ClusterDay.objects.create(cluster=cluster, day=date(2025, 4, 2), dirty=False)
    ClusterDay.objects.create(cluster=cluster, day=date(2025, 3, 31), dirty=False)
    ops = Department.objects.create(name="Ops")
    data = form(**department(0, ops, "ops, ops-jobs", weight="30", patterns="ops-*, db-[a,b]*"))

    review = client.post(URL, data)
    assert review.templates[0].name == "admin/costing/policy/confirm_change.html"
    assert not Policy.objects.exists() and not ClusterDay.objects.filter(dirty=True).exists()

    response = client.post(URL, {**data, **CONFIRM}, follow=True)
    assert response.status_code == 200
    policy = Policy.objects.get()
    rule = policy.department_rules.get()
    assert (rule.weight, rule.namespaces, rule.patterns) == (30, ["ops", "ops-jobs"], ["ops-*", "db-[a,b]*"])
    assert policy.shared_namespaces == ["kube-system"]
    texts = [str(m) for m in response.context["messages"]]
    # A weight while no pool uses weights is a warning, shown but not blocking.
    assert any("weight" in t for t in texts)
    assert list(ClusterDay.objects.filter(dirty=True).values_list("day", flat=True)) == [date(2025, 4, 2)]
    [entry] = policy_entries()
    assert (entry.action, entry.actor, entry.changes["yaml"][1]) == (
        LogEntry.Action.CREATE,
        admin_user,
        dump_policy(spec_from_policy(policy)),
    )


def test_lists_are_edited_as_text():
    field = ListField()
    assert field.clean("pay-*, checkout\nsearch  db-[a,b]") == ["pay-*", "checkout", "search", "db-[a,b]"]
    assert field.clean('["a", "b"]') == ["a", "b"]
    assert field.clean("") == []
    assert field.prepare_value(["a", "b"]) == "a, b"
    assert not field.has_changed(["a", "b"], "a,b")


@pytest.fixture
def prod(client, admin_user):
    scenario.build()
    recompute_day(DAY)
    client.force_login(admin_user)
    policy = Policy.objects.get()
    page = client.get(f"/admin/costing/policy/{policy.pk}/change/")
    # What the change form shows, as the browser would post it back.
    formsets = [inline.formset for inline in page.context["inline_admin_formsets"]]
    data = {}
    for bound in [page.context["adminform"].form, *[f for fs in formsets for f in fs.forms]]:
        for name, field in bound.fields.items():
            value = field.prepare_value(bound[name].value())
            if value is not None and value is not False:
                data[bound.add_prefix(name)] = str(value)
    for fs in formsets:
        data.update(
            {f"{fs.prefix}-{k}": str(v) for k, v in fs.management_form.initial.items() if v is not None}
        )
    return policy, data


def change_url(policy):
    return f"/admin/costing/policy/{policy.pk}/change/"


def test_the_review_page_shows_the_department_totals_before_and_after_and_the_diff(client, prod):
    policy, data = prod
    review = client.post(change_url(policy), {**data, "overhead_method": "weights", "_policy_mode": "edit"})
    preview = review.context["preview"]
    # Hand-computed in tests/costing/policy/test_preview.py; here through the admin.
    rows = {r.department: (str(r.before), str(r.after)) for r in preview.rows}
    assert rows == {"Payments": ("27.20", "28.10"), "Search": ("5.72", "4.82"), "Total": ("32.92", "32.92")}
    html = review.content.decode()
    assert "27.20" in html and "28.10" in html and "Confirm and save" in html
    assert "+  overhead: {method: weights, scope: cluster}" in html
    # The file as it will be stored: only the changed line differs, not the decimals of the columns.
    changed = [
        line for line in preview.diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert changed == [
        "-  overhead: {method: even, scope: cluster}",
        "+  overhead: {method: weights, scope: cluster}",
    ]
    assert Policy.objects.get().overhead_method == "even" and not policy_entries().filter(action=1).exists()


def test_adding_a_new_dated_policy_is_the_default_choice(client, prod):
    policy, data = prod
    review = client.post(change_url(policy), {**data, "overhead_method": "weights"})
    # Today is after the scenario's days: the new policy governs no computed day yet.
    assert (review.context["mode"], review.context["preview"].affected_days) == ("new", 0)
    assert review.context["new_from"] == max(date.today(), date(2025, 1, 2)).isoformat()
    moved = client.post(change_url(policy), {**data, "effective_from": "2025-03-10"})
    assert (moved.context["new_from"], moved.context["preview"].first_day) == ("2025-03-10", DAY)
    assert 'value="new" checked' in moved.content.decode()


def test_confirming_a_new_dated_policy_leaves_the_policy_in_force_unchanged(client, prod, admin_user):
    policy, data = prod
    changed = {**data, "overhead_method": "weights", "_policy_mode": "new", "_policy_new_from": "2025-03-10"}
    review = client.post(change_url(policy), changed)
    assert review.context["preview"].mode == "new"
    response = client.post(change_url(policy), {**changed, **CONFIRM})
    added = Policy.objects.get(effective_from=date(2025, 3, 10))
    assert response.status_code == 302 and response.url == change_url(added)
    assert (added.overhead_method, Policy.objects.get(pk=policy.pk).overhead_method) == ("weights", "even")
    assert ClusterDay.objects.get(day=DAY).dirty
    assert [(e.action, e.object_pk, e.actor) for e in policy_entries().filter(actor__isnull=False)] == [
        (LogEntry.Action.CREATE, str(added.pk), admin_user)
    ]
    # The same date again is refused on the review page.
    again = client.post(change_url(policy), changed)
    assert "a policy already starts on 2025-03-10" in again.content.decode()


def test_two_edits_make_a_history_the_admin_shows(client, prod, admin_user):
    policy, data = prod
    edit = {"_policy_mode": "edit", **CONFIRM}
    client.post(change_url(policy), {**data, "overhead_method": "weights", **edit})
    client.post(
        change_url(policy),
        {**data, "overhead_method": "weights", "shared_namespaces": "kube-system, monitoring", **edit},
    )
    edits = list(policy_entries().filter(action=LogEntry.Action.UPDATE))
    assert [e.actor for e in edits] == [admin_user, admin_user]
    assert "+  overhead: {method: weights, scope: cluster}" in edits[0].changes_text
    assert "+shared_namespaces: [kube-system, monitoring]" in edits[1].changes_text
    assert edits[1].changes["yaml"][1] == dump_policy(spec_from_policy(Policy.objects.get()))

    history = client.get(f"/admin/costing/policy/{policy.pk}/history/", follow=True)
    assert history.status_code == 200
    listed = list(history.context["cl"].result_list)
    assert {e.pk for e in listed} == set(policy_entries().values_list("pk", flat=True))
    detail = client.get(f"/admin/auditlog/logentry/{edits[1].pk}/change/").content.decode()
    assert "+shared_namespaces: [kube-system, monitoring]" in detail


def test_deleting_a_policy_is_recorded(client, admin_user):
    client.force_login(admin_user)
    ops = Department.objects.create(name="Ops")
    client.post(URL, {**form(**department(0, ops, "ops")), **CONFIRM})
    policy = Policy.objects.get()
    text = dump_policy(spec_from_policy(policy))
    client.post(f"/admin/costing/policy/{policy.pk}/delete/", {"post": "yes"})
    assert not Policy.objects.exists()
    assert policy_entries().last().changes["yaml"] == [text, None]


def test_an_edit_in_the_admin_keeps_the_pay_per_use_sheet_of_the_file(client, prod):
    policy, data = prod
    sheet = {"name": "offer", "vcpu_second": "0.00001", "gib_second": "0.000001", "min_vcpu": "0.25",
             "min_gib": "0.5", "vcpu_step": "0", "gib_step": "0", "min_seconds": "60", "second_step": "1"}  # fmt: skip
    Policy.objects.filter(pk=policy.pk).update(pay_per_use=sheet)
    client.post(change_url(policy), {**data, "overhead_method": "weights", "_policy_mode": "edit", **CONFIRM})
    stored = Policy.objects.get(pk=policy.pk)
    assert stored.overhead_method == "weights" and stored.pay_per_use == sheet
    assert spec_from_policy(stored).pay_per_use.vcpu_second == Decimal("0.00001")
