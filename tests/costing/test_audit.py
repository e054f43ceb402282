"""costing.audit: sign-ins, role changes, period closes and exports recorded (who, when, what), read by admins."""

from datetime import UTC, date, datetime

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.contenttypes.models import ContentType

from costing import audit
from costing.choices import Role, RunStatus
from costing.models import Department
from costing.roles import set_roles
from reports.models import ClosedPeriod, ExportRun, ScheduledExport

pytestmark = pytest.mark.django_db
LOG = "/admin/auditlog/logentry/"
PASSWORD = "a long enough passphrase"


def entries_of(obj):
    return list(LogEntry.objects.get_for_object(obj).order_by("timestamp", "pk"))


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)


def test_a_sign_in_and_failed_sign_ins_are_recorded_without_the_password(client, alice):
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    client.logout()
    client.post("/accounts/login/", {"username": "alice", "password": "wrong horse"})
    client.post("/accounts/login/", {"username": "mallory", "password": "guess"})

    signed_in, failed = LogEntry.objects.filter(
        action=LogEntry.Action.ACCESS, object_pk=str(alice.pk)
    ).order_by("pk")
    assert (signed_in.actor, signed_in.remote_addr, signed_in.additional_data) == (
        alice,
        "127.0.0.1",
        {"event": "signed in", "method": "password"},
    )
    assert (failed.actor, failed.object_repr, failed.additional_data) == (
        None,
        "alice",
        {"event": "sign-in failed"},
    )
    unknown = LogEntry.objects.get(object_pk="")
    assert (unknown.object_repr, unknown.changes_text) == ("mallory", "sign-in failed")
    # The last sign-in time changes on each sign-in; it is not a change worth an entry.
    assert [e.action for e in entries_of(alice)] == [LogEntry.Action.CREATE, *[LogEntry.Action.ACCESS] * 2]
    every_field = " ".join(str(v) for e in LogEntry.objects.values() for v in e.values())
    assert "wrong horse" not in every_field and "guess" not in every_field and PASSWORD not in every_field


def test_role_changes_are_recorded_with_who_made_them(client, alice, admin_user):
    payments = Department.objects.create(name="Payments")
    set_roles(alice, [], [payments])  # as a single sign-on does: no request, no actor
    [groups, viewer_of] = [e for e in entries_of(alice) if e.action == LogEntry.Action.UPDATE]
    assert groups.changes["groups"] == {
        "type": "m2m",
        "operation": "add",
        "objects": [Role.DEPARTMENT_VIEWER],
    }
    assert viewer_of.changes["viewers"] == {"type": "m2m", "operation": "add", "objects": ["Payments"]}
    assert groups.actor is None

    # An admin takes the grant back in the admin: the entry names the admin.
    client.force_login(admin_user)
    response = client.post(f"/admin/costing/department/{payments.pk}/change/", {"name": "Payments"})
    assert response.status_code == 302
    [removed] = [e for e in entries_of(payments) if e.action == LogEntry.Action.UPDATE]
    assert (
        removed.actor,
        removed.changes["viewers"]["operation"],
        removed.changes["viewers"]["objects"],
    ) == (
        admin_user,
        "delete",
        ["alice"],
    )


def test_period_closes_and_exports_are_recorded(alice):
    closing = ClosedPeriod.objects.create(
        key="2025-03",
        start=date(2025, 3, 1),
        end=date(2025, 4, 1),
        closed_by=alice,
        closed_at=datetime(2025, 4, 2, tzinfo=UTC),
    )
    closing.reopened_by, closing.reopened_at, closing.reopen_reason = (
        alice,
        datetime(2025, 4, 3, tzinfo=UTC),
        "late bill",
    )
    closing.save()
    closed, reopened = entries_of(closing)
    assert closed.action == LogEntry.Action.CREATE and closed.changes["closed_by"] == ["None", str(alice.pk)]
    assert reopened.changes["reopen_reason"] == ["", "late bill"]

    run = ExportRun.objects.create(requested_by=alice, period_key="2025-03")
    run.status, run.progress, run.file_name = RunStatus.SUCCEEDED, 1.0, "costs-2025-03.xlsx"
    run.save()
    created, finished = entries_of(run)
    assert created.changes["period_key"] == ["None", "2025-03"]
    # Progress is not audited; the outcome is.
    assert set(finished.changes) == {"status", "file_name"}


def test_every_audited_model_is_registered_and_a_new_one_takes_one_line(monkeypatch):
    assert all(auditlog.contains(apps.get_model(label)) for label in audit.AUDITED)
    assert not auditlog.contains(ScheduledExport)
    monkeypatch.setitem(audit.AUDITED, "reports.ScheduledExport", {})
    audit.register_audited_models()
    try:
        schedule = ScheduledExport.objects.create(name="monthly", recipients="cfo@example.com")
        assert [e.action for e in entries_of(schedule)] == [LogEntry.Action.CREATE]
    finally:
        auditlog.unregister(ScheduledExport)


def test_admins_read_the_trail_filtered_and_cannot_change_it(client, alice, django_user_model):
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    admin = django_user_model.objects.create_user("ada", is_staff=True)
    admin.groups.add(Group.objects.get(name=Role.ADMIN))
    client.force_login(admin)
    listed = client.get(LOG, {"event": "sign-in failed"})
    assert listed.status_code == 200
    assert [e.object_repr for e in listed.context["cl"].result_list] == ["alice"]
    kinds = client.get(LOG, {"content_type__id__exact": str(ContentType.objects.get_for_model(alice).pk)})
    assert {e.content_type.model for e in kinds.context["cl"].result_list} == {"user"}
    # force_login signs ada in too.
    accesses = client.get(LOG, {"action__exact": "3"}).context["cl"].result_list
    assert [(e.object_repr, e.additional_data["event"]) for e in accesses] == [
        ("ada", "signed in"),
        ("alice", "sign-in failed"),
    ]
    entry = LogEntry.objects.get(object_repr="alice", action=LogEntry.Action.ACCESS)
    page = client.get(f"{LOG}{entry.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(f"{LOG}{entry.pk}/change/", {}).status_code == 403
    assert client.get(f"{LOG}{entry.pk}/delete/").status_code == 403
    assert client.get(f"{LOG}add/").status_code == 403

    viewer = django_user_model.objects.create_user("vic", is_staff=True)
    viewer.groups.add(Group.objects.get(name=Role.VIEWER))
    client.force_login(viewer)
    assert client.get(LOG).status_code == 302  # the admin is for FinOps admins only


def test_a_single_sign_on_is_recorded_as_such(alice):
    alice.backend = "costing.sso.OIDCBackend"  # what django.contrib.auth.login sets
    entry = audit.record_sign_in(None, request=None, user=alice)
    assert (entry.additional_data, entry.remote_addr) == (
        {"event": "signed in", "method": "single sign-on"},
        None,
    )


def test_the_actor_is_the_user_the_view_authenticated(alice, rf):
    # An API token is checked by the view, after the middleware ran: the actor is read when the entry is.
    def view(request):
        request.user = alice
        Department.objects.create(name="Search")
        return None

    request = rf.post("/api/v1/anything")
    request.user = AnonymousUser()
    audit.AuditMiddleware(view)(request)
    [created] = entries_of(Department.objects.get(name="Search"))
    assert (created.actor, created.remote_addr) == (alice, "127.0.0.1")
