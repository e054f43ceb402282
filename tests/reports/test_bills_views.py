"""The bills page: import history, cost outside Kubernetes, upload by FinOps admins only, status polling."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from costing.billing.importer import import_bill
from costing.choices import Role
from costing.models import BillImport, BillLine
from finops.celery import app
from tests.costing.billing.conftest import FOCUS_SAMPLE, focus_row, focus_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.FINOPS_CURRENCY = "USD"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # The Celery app read its configuration at start: tell it too, and put it back afterwards.
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


def _user(django_user_model, name, group=None):
    user = django_user_model.objects.create_user(name, password="correct horse battery")
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def _upload(rows=None, name="september.csv") -> SimpleUploadedFile:
    text = focus_text(rows or [focus_row(EffectiveCost="1.25"), focus_row(EffectiveCost="2.50")])
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("bills"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = client.get(reverse("bill_status", args=[1]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_admin_upload_is_stored_and_imported(
    client, admin_user, settings, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("bills"), {"format": "focus", "account": "", "file": _upload()})

    assert response.status_code == 302 and len(callbacks) == 1
    record = BillImport.objects.get()
    assert record.status == "succeeded", record.error
    assert (record.file_name, record.rows, record.effective_total) == ("september.csv", 2, Decimal("3.75"))
    assert record.uploaded_by == admin_user
    stored = settings.MEDIA_ROOT / "bills"
    assert record.stored_path.startswith(str(stored)) and len(list(stored.iterdir())) == 1
    assert BillLine.objects.filter(bill_import=record).count() == 2

    status = client.get(reverse("bill_status", args=[record.pk])).json()
    assert status == {
        "id": record.pk,
        "status": "succeeded",
        "progress": 1.0,
        "rows": 2,
        "error": "",
        "done": True,
    }
    page = client.get(reverse("bills")).content.decode()
    assert "september.csv" in page and "3.75" in page and admin_user.username in page


def test_a_finops_admin_may_upload_and_a_failed_import_shows_its_error(
    client, django_user_model, django_capture_on_commit_callbacks
):
    client.force_login(_user(django_user_model, "fin", Role.ADMIN))
    bad = _upload([focus_row(), focus_row(EffectiveCost="12,5")], name="bad.csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("bills"), {"format": "focus", "file": bad})

    assert response.status_code == 302
    record = BillImport.objects.get()
    assert record.status == "failed" and BillLine.objects.count() == 0
    page = client.get(reverse("bills")).content.decode()
    assert "line 3, column EffectiveCost: not a number: &#x27;12,5&#x27;" in page
    assert client.get(reverse("bill_status", args=[record.pk])).json()["done"] is True


def test_a_failed_upload_names_the_file_as_uploaded_and_gives_every_error(
    client, admin_user, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    rows = [focus_row(EffectiveCost="12,5"), focus_row(), focus_row(BillingCurrency="EUR", BilledCost="")]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("bills"), {"format": "focus", "file": _upload(rows, name="Sept bill (final).csv")}
        )

    record = BillImport.objects.get()
    assert "-Sept_bill_final_.csv" in record.stored_path  # stored under a name of our own...
    assert record.error.splitlines() == [  # ... but named as the user knows it
        "Sept bill (final).csv: 3 errors",
        "  line 2, column EffectiveCost: not a number: '12,5'",
        "  line 4, column BilledCost: missing value (FOCUS does not allow null here)",
        "  line 4, column BillingCurrency: currency 'EUR' is not the organisation's currency 'USD', and no "
        "exchange rate into it is in force on 2026-09-02: add a rate EUR to USD valid from 2026-09-02 or "
        "earlier: in the admin (Exchange rates), with POST /api/v1/exchange-rates/, or as "
        "FINOPS_EXCHANGE_RATES=EUR:USD=RATE (undated, used when no dated rate applies); then upload the bill "
        "again",
    ]
    page = client.get(reverse("bills")).content.decode()
    assert "Sept bill (final).csv: 3 errors<br>  line 2, column EffectiveCost" in page


def test_a_wrong_header_is_refused_at_upload_before_anything_is_queued(client, admin_user, settings):
    client.force_login(admin_user)
    upload = SimpleUploadedFile("cbc.csv", b"Resource ID,Amount Due\ni-1,3\n", content_type="text/csv")

    response = client.post(reverse("bills"), {"format": "cbc", "file": upload})

    assert response.status_code == 400
    assert (
        "cbc.csv, line 1, column 账期: missing CBC column(s): 账期 / Billing Cycle; "
        "使用开始时间 / Usage Start Time / Start Time; 使用结束时间 / Usage End Time / End Time; "
        "账号ID / 帐号ID / Account ID"
    ) in response.context["upload_errors"]
    assert not BillImport.objects.exists()
    assert list((settings.MEDIA_ROOT / "bills").iterdir()) == []


def test_a_viewer_sees_the_page_but_may_not_upload(client, django_user_model):
    client.force_login(_user(django_user_model, "viewer", Role.VIEWER))
    page = client.get(reverse("bills"))
    assert page.status_code == 200 and b"Import a bill" not in page.content
    response = client.post(reverse("bills"), {"format": "focus", "file": _upload()})
    assert response.status_code == 403
    assert not BillImport.objects.exists()


def test_a_department_viewer_does_not_see_the_bills(client, django_user_model):
    client.force_login(_user(django_user_model, "dept", Role.DEPARTMENT_VIEWER))
    assert client.get(reverse("bills")).status_code == 403
    assert client.post(reverse("bills"), {"format": "focus", "file": _upload()}).status_code == 403


def test_an_oversized_file_is_refused_with_a_message(client, admin_user, settings):
    settings.FINOPS_BILL_UPLOAD_MAX_BYTES = 100
    client.force_login(admin_user)
    upload = _upload([focus_row() for _ in range(5)])
    assert upload.size > 100

    response = client.post(reverse("bills"), {"format": "focus", "file": upload})

    assert response.status_code == 400
    assert "larger than the limit of 100" in response.content.decode()
    assert not BillImport.objects.exists()
    assert not (settings.MEDIA_ROOT / "bills").exists()


def test_the_cost_outside_kubernetes_by_service_and_tags(client, admin_user):
    assert import_bill(FOCUS_SAMPLE, "focus").status == "succeeded"
    client.force_login(admin_user)

    response = client.get(reverse("bills"), {"month": "2024-09"})

    assert response.status_code == 200
    rows = response.context["outside"]
    september = BillLine.objects.filter(
        kind="outside", charge_period_start__year=2024, charge_period_start__month=9
    )
    assert sum(r["lines"] for r in rows) == september.count() > 0
    expected = sum(september.values_list("effective_cost", flat=True), Decimal(0))
    assert abs(sum(Decimal(r["effective"]) for r in rows) - expected) < Decimal("1e-9")
    assert all("service_name" in r and isinstance(r["tags"], dict) for r in rows)
    assert "Cost outside Kubernetes, September 2024" in response.content.decode()
