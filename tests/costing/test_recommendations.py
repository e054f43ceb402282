"""Reading right-sizing input from the database: names kept as text, prices joined, unpriced hours NaN."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from costing.choices import ConnectionType, SampleSource
from costing.models import Cluster, Node, NodeCostHour
from costing.recommendations import container_hours, coverage_hours
from costing.recording import record_samples

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
GIB = 2**30


def test_container_hours_keep_names_and_join_the_node_hour_prices(db):
    cluster = Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)
    times = [T0, T0 + timedelta(hours=1)]
    nodes = pd.DataFrame(
        {
            "timestamp": times,
            "node": "n1",
            "node_pool": "p",
            "cpu_capacity_cores": 4.0,
            "memory_capacity_bytes": GIB,
        }
    )
    rows = [
        {"timestamp": t, "namespace": "shop", "pod": "web-1", "node": "n1", "owner_kind": "StatefulSet",
         "owner_name": "db", "container": name, "init": init, "cpu_request_cores": 0.5, "cpu_usage_cores": 0.25,
         "memory_request_bytes": GIB, "memory_usage_bytes": GIB / 2}
        for t in times
        for name, init in (("0123", False), ("setup", True))
    ]  # fmt: skip
    record_samples(cluster, nodes, pd.DataFrame(rows), interval=60, source=SampleSource.IMPORT)
    NodeCostHour.objects.create(
        cluster=cluster, node=Node.objects.get(), hour=T0, cpu_price=0.04, mem_price=0.005
    )

    hours = container_hours(T0, T0 + timedelta(hours=2)).sort_values(["hour", "container"])
    assert list(hours["container"]) == [
        "0123",
        "setup",
        "0123",
        "setup",
    ]  # a name CSV could take for a number
    assert list(hours["init"]) == [False, True, False, True]
    assert set(hours["workload_kind"]) == {"StatefulSet"} and set(hours["workload_name"]) == {"db"}
    assert hours["cpu_price"].iloc[0] == 0.04 and hours["cpu_price"].iloc[2:].isna().all()
    # JSON text, or on PostgreSQL its compact form without quotes and spaces (the engine reads both).
    assert hours["cpu_histogram"].iloc[0] in ('{"16": 60}', '{"16":60}', "{16:60}")
    assert hours["cpu_usage_core_hours"].iloc[0] == pytest.approx(0.25 / 60)
    assert list(coverage_hours(T0, T0 + timedelta(hours=2))["sampled_seconds"]) == [60, 60]
    assert container_hours(T0, T0 + timedelta(hours=2), cluster="other").empty


def test_kubectl_patch_in_kubernetes_units():
    from costing.recommendations import kubectl_patch

    snippet = kubectl_patch("shop", "Deployment", "web", [("app", 0.25, 384 * 2**20)])
    assert snippet["command"] == (
        "kubectl -n shop patch deployment web --type=strategic -p "
        """'{"spec":{"template":{"spec":{"containers":[{"name":"app","resources":"""
        """{"requests":{"cpu":"250m","memory":"384Mi"}}}]}}}}'"""
    )
    assert '            cpu: "250m"\n            memory: "384Mi"\n' in snippet["yaml"]
    cron = kubectl_patch("shop", "CronJob", "nightly", [("job", 1.5, 1000)])
    assert '"jobTemplate"' in cron["command"] and '"cpu":"1500m","memory":"1000"' in cron["command"]
    assert kubectl_patch("shop", "Job", "once", [("job", 1, 1)]) is None
