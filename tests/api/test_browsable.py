"""The browsable API (DRF's HTML renderer) renders every kind of answer, from the installed package's files."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(prod_of_module, db):
    """The scenario built once for this module's tests, which only read it (tests/api/conftest.py)."""
    return prod_of_module


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/costs/?by=namespace&start=2025-03-10&end=2025-03-11",
        "/api/v1/policy/",
        "/api/v1/clusters/",
        "/api/v1/allocation?window=today",
        "/api/v1/tokens/",
    ],
)
def test_html_answers_without_a_cdn(prod, client_as, url):
    response = client_as("admin").get(url, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode().lower()
    assert "/static/rest_framework/" in html
    assert not any(host in html for host in ("cdn", "unpkg", "jsdelivr", "googleapis"))
