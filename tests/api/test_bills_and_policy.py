"""Bill imports (list, status, upload) and the policy (read as JSON and YAML, write as a checked file)."""

from __future__ import annotations

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from costing.models import BillImport, Policy
from costing.policy import dump_policy, read_policy
from costing.policy.store import spec_for_day
from tests.api.conftest import DAY

pytestmark = pytest.mark.django_db


def test_bill_imports_list_and_status(prod, client_as):
    record = BillImport.objects.get()  # the scenario's
    body = client_as("viewer").get("/api/v1/bills/").json()
    assert body["count"] == 1 and body["results"][0]["file_name"] == "bill.csv"
    status = client_as("admin").get(f"/api/v1/bills/{record.pk}/").json()
    assert (status["id"], status["status"], status["done"]) == (record.pk, "pending", False)
    assert client_as("dept").get("/api/v1/bills/").status_code == 403
    assert client_as("viewer").get("/api/v1/bills/424242/").status_code == 404


# The header the upload checks; the rows are the import's business.
FOCUS_FILE = (
    b"BillingAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,"
    b"BillingCurrency,EffectiveCost,BilledCost\nacct,2025-03-01,2025-04-01,2025-03-10,2025-03-11,Usage,EUR,1,1\n"
)


def _upload(client, content=FOCUS_FILE, **fields):
    data = {"format": "focus", "file": SimpleUploadedFile("focus.csv", content), **fields}
    return client.post("/api/v1/bills/", data, format="multipart")


def test_only_admins_upload(client_as):
    assert _upload(client_as("viewer")).status_code == 403
    assert _upload(client_as("dept")).status_code == 403


def test_upload_stores_the_file_and_enqueues_the_import_after_commit(
    client_as, users, monkeypatch, settings, tmp_path, django_capture_on_commit_callbacks
):
    from costing.tasks.billing import import_bill

    settings.MEDIA_ROOT = tmp_path
    queued = []
    monkeypatch.setattr(import_bill, "delay", lambda *args, **kwargs: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client_as("admin"))
    assert response.status_code == 202, response.content
    record = BillImport.objects.get(pk=response.json()["id"])
    assert (record.file_name, record.format, record.uploaded_by) == ("focus.csv", "focus", users["admin"])
    assert queued == [(record.pk,)]
    stored = list((tmp_path / "bills").iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == FOCUS_FILE


def test_upload_with_a_wrong_header_is_refused_at_once(client_as, monkeypatch, settings, tmp_path):
    from costing.tasks.billing import import_bill

    settings.MEDIA_ROOT = tmp_path
    queued = []
    monkeypatch.setattr(import_bill, "delay", lambda *args, **kwargs: queued.append(args))
    response = _upload(client_as("admin"), b"BillingAccountId,BilledCost,ChargeCategory\nacct,1,Usage\n")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "file": [
            "focus.csv, line 1, column BillingPeriodStart: missing mandatory FOCUS columns: BillingPeriodStart, "
            "BillingPeriodEnd, ChargePeriodStart, ChargePeriodEnd, BillingCurrency, EffectiveCost"
        ]
    }
    assert not BillImport.objects.exists() and queued == []
    assert list((tmp_path / "bills").iterdir()) == []  # nothing kept


def test_upload_bad_fields_are_400(client_as):
    response = _upload(client_as("admin"), format="csv")
    assert response.status_code == 400 and "format" in response.json()["errors"]
    no_file = client_as("admin").post("/api/v1/bills/", {"format": "focus"}, format="multipart")
    assert no_file.status_code == 400 and "file" in no_file.json()["errors"]


def test_policy_read_as_json_and_yaml(prod, client_as):
    client = client_as("viewer")
    body = client.get("/api/v1/policy/?date=2025-03-10").json()
    assert body["effective_from"] == "2025-01-01" and body["stored"] is True
    assert [d["name"] for d in body["spec"]["departments"]] == ["Payments", "Search"]
    assert body["spec"]["departments"][0]["weight"] == "75"
    assert body["yaml"] == dump_policy(spec_for_day(DAY))
    text = client.get("/api/v1/policy/?date=2025-03-10&format=yaml")
    assert text["Content-Type"].startswith("application/yaml")
    assert read_policy(text.content.decode()).spec == spec_for_day(DAY)
    assert client.get("/api/v1/policy/?date=2024-12-31").json()["stored"] is False
    assert client.get("/api/v1/policy/?date=someday").status_code == 400
    assert client_as("dept").get("/api/v1/policy/").status_code == 403


def test_policy_write_checked_like_the_file(prod, client_as):
    admin = client_as("admin")
    text = dump_policy(spec_for_day(DAY)).replace("effective_from: 2025-01-01", "effective_from: 2025-03-01")
    created = admin.put("/api/v1/policy/", text, content_type="application/yaml")
    assert created.status_code == 201, created.content
    assert created.json()["effective_from"] == "2025-03-01" and created.json()["replaced"] is False
    assert Policy.objects.filter(effective_from="2025-03-01").exists()
    again = admin.post("/api/v1/policy/", {"yaml": text}, format="json")
    assert again.status_code == 200 and again.json()["replaced"] is True

    bad = text.replace("weight: 75", "weight: -75")
    refused = admin.put("/api/v1/policy/", bad, content_type="application/yaml")
    assert refused.status_code == 400
    body = refused.json()
    (error,) = body["lines"]
    assert (
        error["field"] == "departments[0].weight"
        and error["line"]
        == bad.splitlines().index(next(line for line in bad.splitlines() if "weight: -75" in line)) + 1
    )
    assert body["errors"]["departments[0].weight"][0].startswith(f"line {error['line']}:")

    broken = admin.put("/api/v1/policy/", "effective_from: [", content_type="application/yaml")
    assert broken.status_code == 400 and broken.json()["lines"][0]["line"] == 1
    assert admin.post("/api/v1/policy/", {"yml": text}, format="json").status_code == 400
    assert (
        client_as("viewer").put("/api/v1/policy/", text, content_type="application/yaml").status_code == 403
    )
    assert Policy.objects.count() == 2


def test_schema_and_docs(users, client_as, client):
    schema = client_as("viewer").get("/api/schema/?format=json").json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/costs/", "/api/v1/allocation", "/api/v1/policy/", "/api/v1/tokens/"} <= set(
        schema["paths"]
    )
    assert "apiToken" in schema["components"]["securitySchemes"]
    as_yaml = yaml.safe_load(client_as("viewer").get("/api/schema/").content)
    assert as_yaml["paths"].keys() == schema["paths"].keys()
    client.force_login(users["viewer"])
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode().lower()
    assert not any(host in html for host in ("cdn", "unpkg", "jsdelivr", "googleapis"))
    assert "/static/drf_spectacular_sidecar/" in html  # Swagger UI from the installed package


def test_policy_over_one_mib_is_refused_as_yaml_or_json(prod, client_as):
    admin = client_as("admin")
    text = dump_policy(spec_for_day(DAY)).replace("effective_from: 2025-01-01", "effective_from: 2025-03-01")
    text += "#" + "x" * (1024 * 1024 - len(text.encode()))
    assert len(text.encode()) == 1024 * 1024 + 1
    message = "the file is over 1 MiB (1,048,576 bytes), the most a policy file may be"

    as_yaml = admin.put("/api/v1/policy/", text, content_type="application/yaml")
    assert as_yaml.status_code == 400 and as_yaml.json()["errors"]["yaml"] == [f"line 1: {message}"]
    as_json = admin.post("/api/v1/policy/", {"yaml": text}, format="json")
    assert as_json.status_code == 400 and as_json.json()["errors"]["yaml"] == [f"line 1: {message}"]
    assert not Policy.objects.filter(effective_from="2025-03-01").exists()
    # One byte less is a policy like any other.
    assert admin.put("/api/v1/policy/", text[:-1], content_type="application/yaml").status_code == 201
