"""costing/opportunities.py: the levers read from the database (tests/costing/optimise_scenario.py), and the
demo cluster showing every lever."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from costing.choices import ConnectionType
from costing.models import Cluster
from costing.opportunities import as_data, node_hours, opportunities, pod_hours
from tests.costing import optimise_scenario as lab

pytestmark = pytest.mark.django_db
NEXT = date(2026, 3, 3)


@pytest.fixture
def cluster():
    return lab.build()


def test_the_frames_read_from_the_database(cluster):
    nodes = node_hours(lab.START, datetime(2026, 3, 3, tzinfo=UTC))
    assert len(nodes) == 4 * 24 and set(nodes["pool"]) == {"general", "batch"}
    assert nodes.loc[nodes["node"] == "b1", "cost"].sum() == pytest.approx(0.16 * 24)
    pods = pod_hours(lab.START, datetime(2026, 3, 3, tzinfo=UTC))
    assert len(pods) == 7 * 24 + 1 and (pods["present"] == 1.0).all()  # 60 samples of 60 s: the whole hour
    assert set(pods["workload_name"]) == {"web", "agent", "report"}


def test_the_savings_list_of_the_lab(cluster):
    result = opportunities(lab.DAY, NEXT)
    rows = {(r["lever"], r["subject"]): r for r in as_data(result.savings)}
    packing = rows[("packing", "general")]
    assert packing["monthly_saving"] == round(lab.PACKING, 2) and packing["counted_saving"] == round(
        lab.PACKING, 2
    )
    assert packing["figures"]["surplus_nodes"] == 1 and packing["figures"]["needed_peak"] == 2
    assert rows[("oversubscription", "general")]["monthly_saving"] == round(lab.GENERAL_UNUSED, 2)
    report = rows[("pay_per_use", "jobs/report")]
    assert report["monthly_saving"] == round(lab.REPORT_NOW - lab.REPORT_PPU, 2)
    # Its idle is the batch pool's, of which oversubscription already counts 0.21 a month.
    assert report["counted_saving"] == round(lab.REPORT_NOW - lab.REPORT_PPU - lab.BATCH_UNUSED, 2)
    assert report["overlaps"] == "rightsize, cronhpa, packing, oversubscription"
    assert result.sheet.name == "test offer"
    assert result.total == pytest.approx(sum(r["counted_saving"] for r in as_data(result.savings)), abs=0.05)


def test_a_department_sees_its_own_workloads_only(cluster):
    search = opportunities(lab.DAY, NEXT, departments=frozenset(["Search"]))
    assert [(r["lever"], r["subject"]) for r in as_data(search.savings)] == [("pay_per_use", "jobs/report")]
    assert not search.whole
    payments = opportunities(lab.DAY, NEXT, departments=frozenset(["Payments"]))
    assert {r["subject"] for r in as_data(payments.savings)} == {"shop/web"}
    assert set(payments.pay_per_use["workload_name"]) == {"web"}


@pytest.fixture
def demo(settings, tmp_path):
    from costing.compute import recompute_period
    from costing.demo.backfill import backfill_demo
    from costing.demo.setup import ensure_demo_policy, load_demo_bill

    settings.VAR_DIR = tmp_path
    cluster = Cluster.objects.create(name="demo", connection_type=ConnectionType.SIMULATOR, simulator_seed=42)
    ensure_demo_policy()
    backfill_demo(cluster, 7, now=datetime(2026, 3, 9, tzinfo=UTC))  # Monday 2 to Sunday 8 March
    load_demo_bill(cluster, date(2026, 3, 2), date(2026, 3, 9))
    recompute_period(date(2026, 3, 2), date(2026, 3, 9), "demo")
    return cluster


def test_the_demo_cluster_shows_every_lever(demo):
    result = opportunities(date(2026, 3, 2), date(2026, 3, 9))
    counted = result.savings.groupby("lever")["counted_saving"].sum()
    assert set(counted.index) == {"rightsize", "packing", "oversubscription", "cronhpa", "pay_per_use"}
    assert (counted > 1.0).all()  # every lever saves more than one euro a month
    cron = result.cronhpa.set_index("workload_name")
    assert cron.loc["storefront-web", "schedule_text"].startswith("weekdays: 00:00-")
    assert cron.loc["kafka", "reason"].startswith("no stable daily cycle")


def test_a_window_without_data_has_no_opportunity(cluster):
    assert opportunities(lab.DAY, NEXT, cluster="nope").savings.empty
    later = opportunities(date(2026, 4, 1), date(2026, 4, 2))
    assert later.savings.empty and later.total == 0
