"""Exchange rates: the dated rate in force on a line's charge day, the environment's as fallback."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from costing.billing.importer import import_bill
from costing.billing.rates import Rate, RateTable, rates_into
from costing.choices import RunStatus
from costing.models import BillLine, ExchangeRate
from tests.costing.billing.conftest import focus_row

JANUARY, FEBRUARY = Decimal("0.90"), Decimal("0.80")


def test_the_rate_in_force_is_the_latest_on_or_before_the_day():
    table = RateTable(
        "eur", {"usd": [(date(2026, 2, 1), FEBRUARY), (date(2026, 1, 1), JANUARY)]}, {"USD": Decimal("0.5")}
    )
    assert table.rate("USD", date(2026, 1, 1)) == Rate("USD", "EUR", JANUARY, date(2026, 1, 1))
    assert table.rate("USD", date(2026, 1, 31)).rate == JANUARY
    assert table.rate("USD", date(2026, 2, 1)).rate == FEBRUARY
    assert table.rate("USD", date(2027, 6, 1)).rate == FEBRUARY
    fallback = table.rate("USD", date(2025, 12, 31))  # before any dated rate: the environment's
    assert (
        fallback == Rate("USD", "EUR", Decimal("0.5"))
        and str(fallback) == "USD:EUR=0.5 (FINOPS_EXCHANGE_RATES)"
    )
    assert table.rate("CNY", date(2026, 1, 1)) is None


@pytest.mark.django_db
def test_rates_into_reads_the_database_and_the_environment(settings):
    settings.FINOPS_EXCHANGE_RATES = {("CNY", "EUR"): Decimal("0.13"), ("CNY", "USD"): Decimal("0.14")}
    ExchangeRate.objects.create(
        from_currency="USD", to_currency="EUR", rate=JANUARY, valid_from=date(2026, 1, 1)
    )
    ExchangeRate.objects.create(
        from_currency="EUR", to_currency="USD", rate=Decimal("1.1"), valid_from=date(2026, 1, 1)
    )
    table = rates_into("eur")
    assert table.dated == {"USD": [(date(2026, 1, 1), JANUARY)]}
    assert table.fallback == {"CNY": Decimal("0.13")}


def _bill(write_focus):
    rows = [
        focus_row(
            BillingCurrency="USD",
            EffectiveCost="10",
            BilledCost="12",
            ListCost="NULL",
            BillingPeriodStart="2026-01-01 00:00:00",
            BillingPeriodEnd="2026-02-01 00:00:00",
            ChargePeriodStart="2026-01-15 00:00:00",
            ChargePeriodEnd="2026-01-15 01:00:00",
        ),
        focus_row(
            BillingCurrency="USD",
            EffectiveCost="20",
            BilledCost="20",
            ListCost="NULL",
            BillingPeriodStart="2026-02-01 00:00:00",
            BillingPeriodEnd="2026-03-01 00:00:00",
            ChargePeriodStart="2026-02-03 00:00:00",
            ChargePeriodEnd="2026-02-03 01:00:00",
        ),
    ]
    return write_focus(rows, name="usd.csv")


@pytest.mark.django_db
def test_each_line_is_converted_at_the_rate_of_its_month(write_focus, settings):
    settings.FINOPS_EXCHANGE_RATES = {("USD", "EUR"): Decimal("0.5")}  # a fallback, not used here
    ExchangeRate.objects.create(
        from_currency="USD", to_currency="EUR", rate=JANUARY, valid_from=date(2026, 1, 1)
    )
    ExchangeRate.objects.create(
        from_currency="USD", to_currency="EUR", rate=FEBRUARY, valid_from=date(2026, 2, 1)
    )

    record = import_bill(_bill(write_focus), "focus", expected_currency="EUR")

    assert record.status == RunStatus.SUCCEEDED, record.error
    assert record.currency == "EUR"
    assert record.effective_total == Decimal("25")  # 10 x 0.90 + 20 x 0.80
    assert record.billed_total == Decimal("26.8")  # 12 x 0.90 + 20 x 0.80
    assert sorted(BillLine.objects.values_list("effective_cost", flat=True)) == [Decimal("9"), Decimal("16")]
    assert "at USD:EUR=0.9 from 2026-01-01, USD:EUR=0.8 from 2026-02-01." in record.notes


@pytest.mark.django_db
def test_a_day_before_every_dated_rate_uses_the_environment(write_focus, settings):
    settings.FINOPS_EXCHANGE_RATES = {("USD", "EUR"): Decimal("0.5")}
    ExchangeRate.objects.create(
        from_currency="USD", to_currency="EUR", rate=FEBRUARY, valid_from=date(2026, 2, 1)
    )

    record = import_bill(_bill(write_focus), "focus", expected_currency="EUR")

    assert record.status == RunStatus.SUCCEEDED, record.error
    assert record.effective_total == Decimal("21")  # 10 x 0.5 + 20 x 0.80


@pytest.mark.django_db
def test_a_line_without_a_rate_in_force_says_how_to_add_one(write_focus, settings):
    settings.FINOPS_EXCHANGE_RATES = {}
    ExchangeRate.objects.create(
        from_currency="USD", to_currency="EUR", rate=FEBRUARY, valid_from=date(2026, 2, 1)
    )

    record = import_bill(_bill(write_focus), "focus", expected_currency="EUR")

    assert record.status == RunStatus.FAILED and BillLine.objects.count() == 0
    assert record.error == (
        "usd.csv, line 2, column BillingCurrency: currency 'USD' is not the organisation's currency 'EUR', "
        "and no exchange rate into it is in force on 2026-01-15: add a rate USD to EUR valid from 2026-01-15 "
        "or earlier: in the admin (Exchange rates), with POST /api/v1/exchange-rates/, or as "
        "FINOPS_EXCHANGE_RATES=USD:EUR=RATE (undated, used when no dated rate applies); then upload the bill "
        "again"
    )


@pytest.mark.django_db
def test_the_admin_adds_a_rate_and_refuses_one_currency_twice(admin_client):
    url = "/admin/costing/exchangerate/add/"
    data = {
        "from_currency": "USD",
        "to_currency": "EUR",
        "rate": "0.92",
        "valid_from": "2026-01-01",
        "note": "",
    }
    assert admin_client.post(url, data).status_code == 302
    same = admin_client.post(url, {**data, "to_currency": "USD", "valid_from": "2026-02-01"})
    assert same.status_code == 200 and "two different currencies" in same.content.decode()
    assert list(ExchangeRate.objects.values_list("from_currency", "to_currency", "rate")) == [
        ("USD", "EUR", Decimal("0.92"))
    ]
    assert admin_client.get("/admin/costing/exchangerate/").status_code == 200
