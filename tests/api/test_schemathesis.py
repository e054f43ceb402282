"""Property-based run of the live OpenAPI schema (schemathesis, in-process WSGI): no answer may be a 5xx.

Needs schemathesis 4.x (requirements-dev.txt); skipped with a reason where it is not installed.
schemathesis' own pytest plugin (`schemathesis.pytest.from_fixture`) does not run under pytest 9, so
each operation's cases are drawn from `APIOperation.as_strategy` inside one test, with Hypothesis.
"""

from __future__ import annotations

import importlib.util

import pytest

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed (requirements-dev.txt: schemathesis==4.32.5)"
)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402

from api.models import ApiToken  # noqa: E402
from tests.costing import scenario  # noqa: E402

MAX_EXAMPLES = 15  # per operation and mode (valid and invalid input): bounded, so the suite stays fast


@pytest.fixture
def admin_token(db, django_user_model):
    """A FinOps admin's token (admins reach every operation, writes included), with costs to read."""
    from django.contrib.auth.models import Group

    from costing.choices import Role
    from costing.compute import recompute_day

    scenario.build()
    recompute_day(scenario.DAY)
    user = django_user_model.objects.create_user("fuzz")
    user.groups.add(Group.objects.get(name=Role.ADMIN))
    return ApiToken.issue(user, "schemathesis")


@pytest.fixture
def wsgi_app():
    """The project's WSGI application, kept on the test's database connection (as Django's test client
    does: the end of a request must not close the connection that holds the test's transaction)."""
    from django.core import signals
    from django.db import close_old_connections

    from finops.wsgi import application

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_no_server_errors(admin_token, wsgi_app, settings_fixture_media):
    row, token = admin_token
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app, headers=auth)
    upload_ready = importlib.util.find_spec("costing.tasks.billing") is not None
    seen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "POST" and operation.path == "/api/v1/bills/" and not upload_ready:
            continue  # 503 until the bills helper's import task is merged: not a fault of the API
        seen.append(f"{operation.method.upper()} {operation.path}")
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case):
                response = case.call(headers=auth)
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}: "
                    f"{response.status_code} {response.text[:300]}"
                )
                # DELETE /tokens/{id} may have hit the token in use: keep it, to keep testing as admin.
                ApiToken.objects.filter(pk=row.pk).update(revoked_at=None)

            check()
    assert "GET /api/v1/costs/" in seen and "GET /api/v1/allocation" in seen


@pytest.fixture
def settings_fixture_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # uploads of generated bills land in the test's folder
