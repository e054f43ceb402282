"""The recommendations command over recorded container-hours and stored node-hour prices."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from costing.choices import ConnectionType, SampleSource
from costing.models import Cluster, Node, NodeCostHour
from costing.recording import record_samples

MIB, GIB = 2**20, 2**30
START = datetime(2026, 3, 1, tzinfo=UTC)
DAYS = 21


@pytest.fixture
def recorded(db):
    """21 days of hourly samples of one pod: an app (flat 0.25 cores, 200 MiB, asking 1 core and 1 GiB)
    and a sidecar with only 5 days of metrics; every node-hour priced 0.04 per core-hour, 0.005 per GiB-hour."""
    cluster = Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)
    times = [START + timedelta(hours=h) for h in range(DAYS * 24)]
    nodes = pd.DataFrame(
        {"timestamp": times, "node": "n1", "node_pool": "pool-a", "cpu_capacity_cores": 4.0,
         "memory_capacity_bytes": 16 * GIB}
    )  # fmt: skip
    rows = []
    for t in times:
        late = t >= START + timedelta(days=DAYS - 5)
        for name, cpu_req, cpu, mem_req, mem in (
            ("app", 1.0, 0.25, GIB, 200 * MIB),
            ("istio-proxy", 0.1, 0.02 if late else None, 128 * MIB, 40 * MIB if late else None),
        ):
            rows.append(
                {"timestamp": t, "namespace": "shop", "pod": "web-1", "node": "n1", "owner_kind": "Deployment",
                 "owner_name": "web", "container": name, "cpu_request_cores": cpu_req, "cpu_usage_cores": cpu or 0.0,
                 "memory_request_bytes": mem_req, "memory_usage_bytes": mem or 0.0, "has_metrics": cpu is not None}
            )  # fmt: skip
    record_samples(cluster, nodes, pd.DataFrame(rows), interval=3600, source=SampleSource.IMPORT)
    node = Node.objects.get()
    NodeCostHour.objects.bulk_create(
        NodeCostHour(cluster=cluster, node=node, hour=t, cpu_price=0.04, mem_price=0.005) for t in times
    )
    return cluster


def run(*args) -> str:
    out = io.StringIO()
    call_command("recommendations", *args, stdout=out)
    return out.getvalue()


def test_json_rows_with_hand_computed_recommendation_saving_and_backtest(recorded):
    rows = json.loads(run("--start", "2026-03-01", "--end", "2026-03-22", "--format", "json"))
    app, proxy = rows
    assert app == {
        "cluster": "prod", "namespace": "shop", "workload_kind": "Deployment", "workload_name": "web",
        "container": "app", "cpu_request_cores": 1.0,
        # P95 of a flat 0.25 is 0.25; x 1.15 = 0.2875 -> 0.290. Memory 200 MiB x 1.15 = 230 MiB.
        "cpu_recommended_cores": 0.29, "mem_request_bytes": GIB, "mem_recommended_bytes": 230 * MIB,
        # 730 hours of 1 x 0.04 + 1 x 0.005 = 32.85; of 0.29 x 0.04 + 230/1024 x 0.005 = 9.29.
        "monthly_cost_now": 32.85, "monthly_cost_recommended": 9.29, "monthly_saving": 23.56,
        "status": "over-requested", "backtest_cpu_over_share": 0.0, "backtest_mem_over": False, "reason": None,
    }  # fmt: skip
    assert proxy["reason"] == "only 5 day(s) of usage in the look-back window (needs 7)"
    assert proxy["cpu_recommended_cores"] is None and proxy["status"] == "no recommendation"
    # The sidecar pays its request today (0.1 core, 128 MiB): 730 x (0.004 + 0.000625) = 3.38.
    assert proxy["monthly_cost_now"] == 3.38


def test_csv_and_table_formats_and_policy_options(recorded):
    text = run(
        "--start",
        "2026-03-01",
        "--end",
        "2026-03-22",
        "--format",
        "csv",
        "--cluster",
        "prod",
        "--min-days",
        "5",
    )
    records = list(csv.DictReader(io.StringIO(text)))
    assert [r["container"] for r in records] == ["app", "istio-proxy"]
    assert (
        records[1]["reason"] == "" and records[1]["cpu_recommended_cores"] == "0.025"
    )  # 0.02 x 1.15 = 0.023
    assert records[0]["backtest_mem_over"] == "false"
    table = run("--start", "2026-03-01", "--end", "2026-03-22", "--cpu-headroom", "1.5").splitlines()
    assert table[0].split()[:3] == ["cluster", "namespace", "workload_kind"]
    assert "0.375" in table[1]  # 0.25 x 1.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-03-22", "--end", "2026-03-01"], "must be after --start"),
        (["--start", "March", "--end", "2026-03-22"], "--start: 'March' is not a date"),
        (["--start", "2026-03-01", "--end", "2026-03-22", "--cluster", "nope"], "no cluster named 'nope'"),
        (
            ["--start", "2026-03-01", "--end", "2026-03-22", "--mem-headroom", "0.8"],
            "mem_headroom must be at least 1",
        ),
        (["--start", "2026-03-01", "--end", "2026-03-22", "--format", "xml"], "--format: 'xml'"),
    ],
)
def test_bad_options_are_named(recorded, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_a_period_without_data_prints_only_the_header(recorded):
    text = run("--start", "2025-01-01", "--end", "2025-01-22", "--format", "csv")
    assert text.splitlines() == [",".join(["cluster", "namespace", "workload_kind", "workload_name", "container",
        "cpu_request_cores", "cpu_recommended_cores", "mem_request_bytes", "mem_recommended_bytes",
        "monthly_cost_now", "monthly_cost_recommended", "monthly_saving", "status", "backtest_cpu_over_share",
        "backtest_mem_over", "reason"])]  # fmt: skip
    assert json.loads(run("--start", "2025-01-01", "--end", "2025-01-22", "--format", "json")) == []


def test_the_policy_in_force_gives_a_namespace_its_settings_and_options_override_them(recorded):
    from datetime import date
    from decimal import Decimal

    from costing.models import ClusterDay
    from costing.policy import PolicySpec, RightsizingOverride, RightsizingSpec
    from costing.policy.store import save_spec

    save_spec(PolicySpec(effective_from=date(2026, 1, 1)))
    assert ClusterDay.objects.update(dirty=False) == DAYS
    own = RightsizingOverride(
        namespaces=["sh*"], cpu_headroom=Decimal("1.5"), mem_headroom=Decimal("1.5"), min_days=Decimal(5)
    )
    save_spec(PolicySpec(effective_from=date(2026, 1, 1), rightsizing=RightsizingSpec(overrides=[own])))
    # A change of the right-sizing settings alone changes no cost: no day is marked for recomputing.
    assert not ClusterDay.objects.filter(dirty=True).exists()
    app, proxy = json.loads(run("--start", "2026-03-01", "--end", "2026-03-22", "--format", "json"))
    # 0.25 x 1.5 = 0.375 cores, 200 MiB x 1.5 = 300 MiB; the sidecar's 5 days are now enough:
    # 0.02 x 1.5 = 0.030 cores, 40 MiB x 1.5 = 60 MiB.
    assert (app["cpu_recommended_cores"], app["mem_recommended_bytes"]) == (0.375, 300 * MIB)
    assert (proxy["cpu_recommended_cores"], proxy["mem_recommended_bytes"]) == (0.03, 60 * MIB)
    assert proxy["reason"] is None
    # An option given replaces the setting for every namespace, the overridden ones included.
    app, proxy = json.loads(
        run("--start", "2026-03-01", "--end", "2026-03-22", "--format", "json", "--cpu-headroom", "1.15")
    )
    assert (app["cpu_recommended_cores"], app["mem_recommended_bytes"]) == (0.29, 300 * MIB)
