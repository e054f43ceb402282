"""Who gets in: sessions, per-user tokens (hash stored, shown once, revocable), and the roles."""

from __future__ import annotations

import hashlib

import pytest
from rest_framework.test import APIClient

from api.models import ApiToken

pytestmark = pytest.mark.django_db
COSTS = "/api/v1/costs/?by=cluster&start=2025-03-10&end=2025-03-11"


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.parametrize(
    "url",
    [
        COSTS,
        "/api/v1/clusters/",
        "/api/v1/policy/",
        "/api/schema/?format=json",
        "/allocation?window=today",
        "/api/v1/tokens/",
    ],
)
def test_anonymous_calls_get_401_json_not_a_login_redirect(client_as, url):
    response = client_as("anonymous").get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body.get("detail") or body.get("message")


@pytest.mark.parametrize(
    ("role", "expected"),
    [("admin", 200), ("viewer", 200), ("dept", 200), ("nobody", 403)],
)
def test_roles_on_costs(prod, client_as, role, expected):
    response = client_as(role).get(COSTS)
    assert response.status_code == expected
    if expected == 403:
        assert "role" in response.json()["detail"]


def test_token_created_once_stored_as_hash_used_then_revoked(users, prod):
    client = APIClient()
    client.force_login(users["viewer"])
    created = client.post("/api/v1/tokens/", {"name": "grafana"}, format="json")
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("fin_") and len(token) > 40
    row = ApiToken.objects.get(pk=created.json()["id"])
    # Only the sha256 of the token is kept; the token itself is nowhere in the row.
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.name, row.hint, row.key_hash} and row.hint == token[:8]

    listed = client.get("/api/v1/tokens/").json()
    assert listed["count"] == 1 and "token" not in listed["results"][0]
    assert "token" not in client.get(f"/api/v1/tokens/{row.pk}/").json()

    assert bearer(token).get(COSTS).status_code == 200
    assert APIClient().get(COSTS, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    row.refresh_from_db()
    assert row.last_used_at is not None

    assert client.delete(f"/api/v1/tokens/{row.pk}/").status_code == 204
    refused = bearer(token).get(COSTS)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    row.refresh_from_db()
    assert not row.active


def test_a_wrong_or_malformed_token_is_401(users, prod):
    ApiToken.issue(users["admin"], "real")
    assert bearer("fin_not-a-token").get(COSTS).status_code == 401
    assert APIClient().get(COSTS, HTTP_AUTHORIZATION="Bearer two words").status_code == 401
    assert APIClient().get(COSTS, HTTP_AUTHORIZATION="Bearer").status_code == 401


def test_a_token_acts_with_its_users_role(users, prod):
    _, nobody_token = ApiToken.issue(users["nobody"], "x")
    _, dept_token = ApiToken.issue(users["dept"], "x")
    assert bearer(nobody_token).get(COSTS).status_code == 403
    rows = bearer(dept_token).get("/api/v1/costs/?by=namespace&start=2025-03-10&end=2025-03-11").json()
    assert {r["namespace"] for r in rows["results"]} == {"payments", "checkout"}


def test_a_token_of_an_inactive_user_is_refused(users, prod):
    _, token = ApiToken.issue(users["viewer"], "x")
    users["viewer"].is_active = False
    users["viewer"].save()
    assert bearer(token).get(COSTS).status_code == 401


def test_users_see_and_revoke_only_their_own_tokens(users, client_as):
    theirs, _ = ApiToken.issue(users["admin"], "admin's")
    client = client_as("viewer")
    assert client.get("/api/v1/tokens/").json()["count"] == 0
    assert client.get(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    assert client.delete(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.active


def test_token_name_is_required(client_as):
    response = client_as("nobody").post("/api/v1/tokens/", {}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["errors"]


def test_session_writes_need_the_csrf_token(users):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(users["viewer"])
    response = client.post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_tokens_page_lists_creates_once_and_revokes(users, client):
    client.force_login(users["nobody"])  # any signed-in user may hold tokens; they carry no role of their own
    page = client.get("/api/tokens/")
    assert page.status_code == 200 and b"No tokens yet" in page.content

    created = client.post("/api/tokens/", {"action": "create", "name": "bot"})
    assert created.status_code == 200
    row = ApiToken.objects.get(user=users["nobody"])
    token = created.context["created"]
    assert token.encode() in created.content
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    again = client.get("/api/tokens/")
    assert token.encode() not in again.content and row.hint.encode() in again.content

    assert client.post("/api/tokens/", {"action": "create", "name": ""}).status_code == 400
    revoked = client.post("/api/tokens/", {"action": "revoke", "id": row.pk}, follow=True)
    assert b"revoked" in revoked.content
    row.refresh_from_db()
    assert not row.active
    assert client.post("/api/tokens/", {"action": "revoke", "id": "999999999999999999999"}).status_code == 404


def test_tokens_table_sorts_and_downloads_without_the_token(users, client):
    client.force_login(users["viewer"])
    first = client.post("/api/tokens/", {"action": "create", "name": "zeta"}).context["created"]
    client.post("/api/tokens/", {"action": "create", "name": "alpha"})
    page = client.get("/api/tokens/?tokens-sort=name")
    assert page.content.index(b">alpha<") < page.content.index(b">zeta<")
    page = client.get("/api/tokens/?tokens-sort=-name")
    assert page.content.index(b">zeta<") < page.content.index(b">alpha<")
    csv_text = client.get("/api/tokens/?_export=csv").content.decode("utf-8-sig")
    rows = [line.split(",") for line in csv_text.strip().splitlines()]
    assert rows[0] == ["Name", "Starts with", "Created (UTC)", "Last used (UTC)", "State"]
    assert {r[0] for r in rows[1:]} == {"zeta", "alpha"} and {r[3] for r in rows[1:]} == {"never"}
    assert first not in csv_text and first[:8] in csv_text


def test_tokens_page_needs_a_sign_in(client):
    response = client.get("/api/tokens/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
