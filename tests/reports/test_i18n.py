"""The Chinese interface on the hand-computed scenario: the browser's language picks it, the nav's switch
changes it, amounts and dates are written the Chinese way, and CSV downloads keep machine-readable numbers
under Chinese headers (docs/i18n.md)."""

# ruff: noqa: F811  (pytest fixtures imported from views_fixtures are redefined as arguments)
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.utils import formats, translation

from reports.models import ClosedPeriod
from reports.templatetags.finops import money, pct, plain_money
from tests.reports.views_fixtures import clients, fixed_today, make_user, prod  # noqa: F401

pytestmark = pytest.mark.django_db
P = "period=2025-03-10"  # the scenario's day, a Monday
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"}


def test_the_browser_language_picks_chinese_and_english_stays_the_default(clients, prod):
    chinese = clients["payments"].get(f"/?{P}", **ZH).content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert "<h1>总览" in chinese and "闲置成本" in chinese and "公共开销" in chinese
    # What Payments pays on the 10th: direct 10.50 + shared 2.65 + idle 12.25 + overhead 1.80.
    assert "€27.20" in chinese and "27.20 EUR" not in chinese
    assert "2025-03-10 (星期一)" in chinese  # the period's label, with the weekday in Chinese
    english = clients["payments"].get(f"/?{P}").content.decode()
    assert '<html lang="en">' in english and "<h1>Overview" in english and "27.20 EUR" in english


def test_the_nav_switch_sets_the_language_for_the_next_pages(clients, prod):
    client = clients["viewer"]
    page = client.get(f"/departments/?{P}").content.decode()
    assert (
        'action="/i18n/setlang/"' in page
        and '<option value="zh-hans" lang="zh-hans">简体中文</option>' in page
    )
    answer = client.post("/i18n/setlang/", {"language": "zh-hans", "next": f"/departments/?{P}"})
    assert answer.status_code == 302 and answer["Location"] == f"/departments/?{P}"
    page = client.get(f"/departments/?{P}").content.decode()
    assert "<h1>部门</h1>" in page and "谁来支付：€32.92" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "<h1>Departments</h1>" in client.get(f"/departments/?{P}").content.decode()


def test_a_csv_download_in_chinese_has_chinese_headers_and_plain_numbers(clients, prod):
    response = clients["admin"].get(f"/departments/?{P}&_export=csv", **ZH)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:6] == ["部门", "直接成本", "共享", "闲置成本", "公共开销", "合计（EUR）"]
    totals = {r[0]: r[5] for r in rows[1:]}
    assert totals["Payments"] == "27.20" and totals["Search"] == "5.72"  # no € and no separators


def test_amounts_and_shares_are_written_for_the_language():
    amount = Decimal("1234567.125")
    with translation.override("zh-hans"):
        assert money(amount) == "€1,234,567.13"
        assert money(Decimal("-3")) == "−€3.00"
        assert plain_money(amount) == "1,234,567.13"
        assert pct(0.1234) == "12.3%"
        assert formats.date_format(date(2026, 10, 5)) == "2026年10月5日"
        assert formats.date_format(date(2026, 10, 5), "SHORT_DATE_FORMAT") == "2026-10-05"
    with translation.override("en"):
        assert money(amount) == "1,234,567.13 EUR"
        assert pct(0.1234) == "12.3 %"
        assert formats.date_format(date(2026, 10, 5)) == "2026-10-05"


def test_a_currency_without_a_chinese_symbol_keeps_its_code(settings):
    settings.FINOPS_CURRENCY = "CHF"
    with translation.override("zh-hans"):
        assert money(Decimal("1500")) == "1,500.00 CHF"
    settings.FINOPS_CURRENCY = "CNY"
    with translation.override("zh-hans"):
        assert money(Decimal("1500")) == "¥1,500.00"


def test_the_admin_names_its_apps_and_models_in_chinese(clients):
    """The models' and apps' verbose names are translated; English keeps the names Django showed before."""
    chinese = clients["admin"].get("/admin/", **ZH).content.decode()
    assert (
        '<a href="/admin/costing/" class="section" title="在应用程序 成本核算 中的模型">成本核算</a>'
        in chinese
    )
    assert '<a href="/admin/costing/cluster/">集群</a>' in chinese
    assert '<a href="/admin/costing/exchangerate/">汇率</a>' in chinese
    assert '<a href="/admin/costing/ssoidentity/">单点登录身份</a>' in chinese
    english = clients["admin"].get("/admin/").content.decode()
    assert (
        '<a href="/admin/costing/" class="section" title="Models in the Costing application">Costing</a>'
        in english
    )
    assert '<a href="/admin/costing/cluster/">Clusters</a>' in english
    assert '<a href="/admin/costing/exchangerate/">Exchange rates</a>' in english
    with translation.override("zh-hans"):
        assert str(ClosedPeriod._meta.verbose_name_plural) == "已关闭的周期"
