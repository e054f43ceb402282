"""The demo policy and bill, loaded once, the bill attributed to the demo cluster."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from costing.choices import ConnectionType
from costing.demo.bill import CLUSTER_TAG_KEY, demo_price_sheet
from costing.demo.setup import demo_bill_window, ensure_demo_policy, load_demo_bill
from costing.demo.simulator import DemoCluster
from costing.models import BillImport, BillLine, Cluster, Policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.FINOPS_CURRENCY = "EUR"
    return Cluster.objects.create(name="demo", connection_type=ConnectionType.SIMULATOR)


def test_the_demo_policy_is_loaded_once(demo):
    policy = ensure_demo_policy()
    assert ensure_demo_policy() == policy and Policy.objects.count() == 1
    rule = policy.tag_rules.get()
    assert (rule.cluster_name, rule.key, rule.value) == (
        "demo",
        CLUSTER_TAG_KEY,
        DemoCluster("demo", 42).cluster_id,
    )
    sheet = demo_price_sheet()
    default = policy.fallback_prices.get(instance_type="")
    assert (default.cpu_core_hour, default.mem_gib_hour) == (sheet["cpu_core_hour"], sheet["memory_gib_hour"])
    assert sorted(policy.department_rules.values_list("department__name", flat=True)) == [
        "Data Platform",
        "Payments",
        "Search",
        "Storefront",
    ]


def test_the_demo_bill_is_imported_once_and_lands_on_the_demo_cluster(demo, tmp_path):
    ensure_demo_policy()
    record = load_demo_bill(demo, date(2026, 9, 1), date(2026, 9, 2))

    assert record.status == "succeeded", record.error
    assert (tmp_path / "demo" / record.file_name).exists()
    by_kind = {k: BillLine.objects.filter(kind=k).count() for k in ("node", "overhead", "outside")}
    # No node seen yet: node lines carry the cluster tag and wait, as overhead, for reattribute.
    assert by_kind["node"] == 0 and by_kind["overhead"] > 24 and by_kind["outside"] == 1  # the data lake
    assert set(BillLine.objects.exclude(kind="outside").values_list("cluster__name", flat=True)) == {"demo"}
    assert record.effective_total == sum(
        BillLine.objects.values_list("effective_cost", flat=True), Decimal(0)
    )

    assert load_demo_bill(demo, date(2026, 9, 1), date(2026, 9, 2)) is None
    assert BillImport.objects.count() == 1


def test_the_window_is_last_month_and_this_one_until_today():
    assert demo_bill_window(date(2026, 11, 27)) == (date(2026, 10, 1), date(2026, 11, 27))
    assert demo_bill_window(date(2026, 1, 1)) == (date(2025, 12, 1), date(2026, 1, 1))


def test_setup_demo_bill_covers_the_days_asked_for(demo):
    from django.utils import timezone

    from costing.demo.setup import setup_demo_bill

    message = setup_demo_bill(demo, days=1)
    today = timezone.now().date()
    record = BillImport.objects.get()
    assert record.status == "succeeded" and record.file_name.endswith(f"{today:%Y%m%d}.csv")
    assert message.endswith(f"{record.rows} lines imported (#{record.pk})")
    assert setup_demo_bill(demo, days=1).endswith("already imported")
