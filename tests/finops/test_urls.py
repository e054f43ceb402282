"""Every page is behind login; only the login page, the health probe and static files are not."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

# The language switch is public too: someone who reads no English must be able to switch before signing in,
# and it only sets a cookie (docs/i18n.md).
PUBLIC = {
    "/healthz",
    "/accounts/login/",
    "/admin/login/",
    "/oidc/authenticate/",
    "/oidc/callback/",
    "/i18n/setlang/",
}
# The API authenticates itself (session or token) and answers 401 in JSON rather than a redirect.
API = ("/api/v1/", "/api/schema/", "/allocation")


def _concrete_paths(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _concrete_paths(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            # Routes with converters get a plausible value; regex admin routes are skipped when odd.
            if "<" in route or "(?P" in route or "^" in route:
                continue
            yield "/" + route


@pytest.mark.django_db
def test_every_route_redirects_an_anonymous_visitor_to_login(client):
    paths = sorted(set(_concrete_paths(get_resolver())) - PUBLIC)
    assert "/" in paths and "/admin/" in paths
    for path in paths:
        response = client.get(path)
        if path.startswith(API):
            assert response.status_code == 401, path
            continue
        assert response.status_code == 302, path
        assert "/login/" in response["Location"], path


@pytest.mark.django_db
def test_login_page_is_public_and_logged_in_user_sees_dashboard(client, admin_user):
    assert client.get("/accounts/login/").status_code == 200
    client.force_login(admin_user)
    response = client.get("/")
    assert response.status_code == 200
    assert b"No clusters yet" in response.content


def test_plotly_is_served_from_the_package_not_a_cdn():
    from django.contrib.staticfiles import finders

    found = finders.find("vendor/plotly/plotly.min.js")
    assert found and found.endswith("plotly/package_data/plotly.min.js")
