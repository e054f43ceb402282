"""The exchange-rates API: dated rates read by admins and viewers, written by FinOps admins, checked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from costing.models import ExchangeRate

pytestmark = pytest.mark.django_db
URL = "/api/v1/exchange-rates/"


def test_an_admin_adds_a_dated_rate_and_a_viewer_reads_it(client_as):
    created = client_as("admin").post(
        URL,
        {"from_currency": "usd", "to_currency": "EUR", "rate": "0.92", "valid_from": "2026-01-01"},
        format="json",
    )
    assert created.status_code == 201, created.content
    rate = ExchangeRate.objects.get()
    assert (rate.from_currency, rate.to_currency, rate.rate, rate.valid_from) == (
        "USD",
        "EUR",
        Decimal("0.92"),
        date(2026, 1, 1),
    )
    ExchangeRate.objects.create(
        from_currency="CNY", to_currency="EUR", rate=Decimal("0.13"), valid_from=date(2026, 1, 1)
    )

    body = client_as("viewer").get(URL, {"from_currency": "usd"}).json()
    assert body["count"] == 1
    assert body["results"][0] | {"created_at": None} == {
        "id": rate.pk,
        "from_currency": "USD",
        "to_currency": "EUR",
        "rate": "0.920000000000",
        "valid_from": "2026-01-01",
        "note": "",
        "created_at": None,
    }
    changed = client_as("admin").patch(f"{URL}{rate.pk}/", {"rate": "0.93"}, format="json")
    assert changed.status_code == 200 and ExchangeRate.objects.get(pk=rate.pk).rate == Decimal("0.93")


def test_only_admins_write_and_department_viewers_see_nothing(client_as):
    rate = ExchangeRate.objects.create(
        from_currency="USD", to_currency="EUR", rate=Decimal("0.9"), valid_from=date(2026, 1, 1)
    )
    data = {"from_currency": "USD", "to_currency": "EUR", "rate": "0.8", "valid_from": "2026-02-01"}
    assert client_as("viewer").post(URL, data, format="json").status_code == 403
    assert client_as("viewer").delete(f"{URL}{rate.pk}/").status_code == 403
    assert client_as("dept").get(URL).status_code == 403
    assert client_as("anonymous").get(URL).status_code in (401, 403)
    assert client_as("admin").delete(f"{URL}{rate.pk}/").status_code == 204
    assert not ExchangeRate.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"from_currency": "US"}, "from_currency"),
        ({"to_currency": "USD"}, "to_currency"),  # the same currency twice
        ({"rate": "0"}, "rate"),
        ({"rate": "-1"}, "rate"),
        ({"valid_from": "January"}, "valid_from"),
    ],
)
def test_a_bad_rate_is_refused_with_its_field(client_as, change, field):
    data = {"from_currency": "USD", "to_currency": "EUR", "rate": "0.9", "valid_from": "2026-01-01", **change}
    response = client_as("admin").post(URL, data, format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.content
    assert not ExchangeRate.objects.exists()


def test_a_second_rate_of_the_same_pair_and_day_is_refused(client_as):
    data = {"from_currency": "USD", "to_currency": "EUR", "rate": "0.9", "valid_from": "2026-01-01"}
    assert client_as("admin").post(URL, data, format="json").status_code == 201
    again = client_as("admin").post(URL, {**data, "rate": "0.8"}, format="json")
    assert again.status_code == 400 and ExchangeRate.objects.count() == 1
