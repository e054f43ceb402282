"""POST /api/v1/policy/preview/ (api/policy_preview.py) on the hand-computed scenario; nothing is stored."""

import io
import json
from decimal import Decimal

from auditlog.models import LogEntry
from django.core.management import call_command

from costing.compute import recompute_day
from costing.models import Policy
from costing.policy import dump_policy
from costing.policy.store import spec_for_day

from .conftest import DAY

URL = "/api/v1/policy/preview/"


def weighted_text() -> str:
    return dump_policy(spec_for_day(DAY)).replace("overhead: {method: even", "overhead: {method: weights")


def department_costs() -> dict[str, str]:
    out = io.StringIO()
    call_command(
        "costs",
        "--start",
        "2025-03-10",
        "--end",
        "2025-03-12",
        "--by",
        "department",
        "--format",
        "json",
        stdout=out,
    )
    return {row["department"]: row["total"] for row in json.loads(out.getvalue())}


def test_the_preview_gives_before_and_after_as_costs_shows_them(prod, client_as):
    admin = client_as("admin")
    entries = LogEntry.objects.count()
    stored = department_costs()
    body = admin.post(URL, weighted_text(), content_type="application/yaml").json()
    assert (body["mode"], body["effective_from"], body["replaces"]) == ("edit", "2025-01-01", "2025-01-01")
    assert body["days"] == {"first": "2025-03-10", "last": "2025-03-11", "affected": 2, "previewed": 2}
    rows = {r["department"]: (r["before"], r["after"], r["change"]) for r in body["departments"]}
    # Both days: 2025-03-10 as in tests/costing/policy/test_preview.py; 2025-03-11 has 2.40 of overhead and no
    # pod, which `even` leaves on its own line and weights 75/25 divide as 1.80 and 0.60.
    assert rows == {
        "Payments": ("27.20", "29.90", "2.70"),
        "Search": ("5.72", "5.42", "-0.30"),
        "Overhead": ("2.40", "0.00", "-2.40"),
        "Total": ("35.32", "35.32", "0.00"),
    }
    assert {k: v[0] for k, v in rows.items()} == stored
    assert "+  overhead: {method: weights, scope: cluster}" in body["diff"]
    assert Policy.objects.get().overhead_method == "even" and LogEntry.objects.count() == entries

    admin.put("/api/v1/policy/", weighted_text(), content_type="application/yaml")
    recompute_day(DAY)
    recompute_day(DAY.replace(day=11))
    after = {k: v[1] for k, v in rows.items() if Decimal(v[1]) or k == "Total"}
    assert department_costs() == after


def test_a_new_date_previews_a_new_policy_and_edit_moves_one(prod, client_as):
    admin = client_as("admin")
    text = weighted_text().replace("effective_from: 2025-01-01", "effective_from: 2025-03-11")
    new = admin.post(URL, {"yaml": text}, format="json").json()
    assert (new["mode"], new["replaces"], new["days"]["affected"]) == ("new", "2025-01-01", 1)
    moved = admin.post(f"{URL}?edit=2025-01-01", {"yaml": text}, format="json").json()
    # Moving the policy to 2025-03-11 leaves 2025-03-10 without a policy: both days change.
    assert (moved["mode"], moved["days"]["affected"]) == ("edit", 2)
    assert "-effective_from: 2025-01-01\n+effective_from: 2025-03-11" in moved["diff"]
    assert admin.post(f"{URL}?edit=2024-01-01", {"yaml": text}, format="json").status_code == 400
    assert list(Policy.objects.values_list("effective_from", flat=True)) == [DAY.replace(month=1, day=1)]


def test_bad_files_and_other_roles_are_refused(prod, client_as):
    bad = weighted_text().replace("weight: 75", "weight: 175")
    refused = client_as("admin").post(URL, bad, content_type="application/yaml")
    assert refused.status_code == 400
    assert any(line["field"] == "departments[0].weight" for line in refused.json()["lines"])
    for role in ("viewer", "dept", "nobody"):
        assert client_as(role).post(URL, weighted_text(), content_type="application/yaml").status_code == 403
    assert (
        client_as("anonymous").post(URL, weighted_text(), content_type="application/yaml").status_code == 401
    )


def test_a_file_over_one_mib_is_refused_before_parsing_as_by_the_policy_api(prod, client_as):
    # The preview reads its body with the policy API's own parser: at most 1 MiB + 1 byte, then refused.
    admin = client_as("admin")
    text = dump_policy(spec_for_day(DAY))
    text += "#" + "x" * (1024 * 1024 - len(text.encode()))
    assert len(text.encode()) == 1024 * 1024 + 1
    message = "the file is over 1 MiB (1,048,576 bytes), the most a policy file may be"
    answer = admin.post("/api/v1/policy/preview/", text, content_type="application/yaml")
    assert answer.status_code == 400 and answer.json()["errors"]["yaml"] == [f"line 1: {message}"]
    as_json = admin.post("/api/v1/policy/preview/", {"yaml": text}, format="json")
    assert as_json.status_code == 400 and as_json.json()["lines"][0]["message"] == message
