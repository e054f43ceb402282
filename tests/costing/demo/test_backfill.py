"""Demo backfill: what the recorder stored equals the simulator's samples summed independently; no double count."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from costing.choices import ConnectionType
from costing.demo.backfill import backfill_demo
from costing.demo.simulator import DemoCluster
from costing.models import Cluster, ContainerHour, CoverageHour, NodeHour, PodHour, SampleSlot

GIB = 2**30
START = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 3, tzinfo=UTC)  # midnight: today has no slot before now


@pytest.fixture
def demo(db):
    return Cluster.objects.create(name="demo", connection_type=ConnectionType.SIMULATOR, simulator_seed=42)


def expected_pod_hours() -> pd.DataFrame:
    _, pods = DemoCluster("demo", 42).frames(START, NOW, 60)
    usage_cpu = np.where(pods["has_metrics"], pods["cpu_usage_cores"], 0.0)
    usage_mem = np.where(pods["has_metrics"], pods["memory_usage_bytes"], 0.0)
    frame = pd.DataFrame(
        {
            "uid": pods["pod_uid"],
            "hour": pods["timestamp"].dt.floor("h"),
            "samples": 1,
            "cpu_billable": np.maximum(usage_cpu, pods["cpu_request_cores"]) / 60,
            "cpu_usage": usage_cpu / 60,
            "mem_request": pods["memory_request_bytes"] / GIB / 60,
            "mem_billable": np.maximum(usage_mem, pods["memory_request_bytes"]) / GIB / 60,
        }
    )
    return frame.groupby(["uid", "hour"]).sum().sort_index()


def stored_pod_hours() -> pd.DataFrame:
    rows = PodHour.objects.values_list(
        "pod__uid",
        "hour",
        "samples",
        "cpu_billable_core_hours",
        "cpu_usage_core_hours",
        "mem_request_gib_hours",
        "mem_billable_gib_hours",
    )
    frame = pd.DataFrame(
        list(rows),
        columns=["uid", "hour", "samples", "cpu_billable", "cpu_usage", "mem_request", "mem_billable"],
    )
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    return frame.groupby(["uid", "hour"]).sum().sort_index()


def test_two_days_of_backfill_equal_the_simulator_summed_independently(demo):
    result = backfill_demo(demo, 2, now=NOW)
    assert result.slots == 2 * 1440 and result.duplicate_slots == 0
    expected, stored = expected_pod_hours(), stored_pod_hours()
    assert list(stored.index) == list(expected.index)
    assert (stored["samples"].to_numpy() == expected["samples"].to_numpy()).all()
    for column in ("cpu_billable", "cpu_usage", "mem_request", "mem_billable"):
        np.testing.assert_allclose(stored[column].to_numpy(), expected[column].to_numpy(), rtol=1e-9)

    nodes, _ = DemoCluster("demo", 42).frames(START, NOW, 60)
    capacity = sum(NodeHour.objects.values_list("cpu_capacity_core_hours", flat=True))
    assert capacity == pytest.approx(nodes["cpu_capacity_cores"].sum() / 60)
    assert sorted(set(CoverageHour.objects.values_list("sampled_seconds", flat=True))) == [3600]
    assert CoverageHour.objects.count() == 48

    # The simulator's containers are stored too, and add up to their pods.
    _, _, containers = DemoCluster("demo", 42).frames(START, NOW, 60, containers=True)
    stored_usage = sum(ContainerHour.objects.values_list("cpu_usage_core_hours", flat=True))
    assert stored_usage == pytest.approx(containers["cpu_usage_cores"].sum() / 60)
    assert stored_usage == pytest.approx(expected["cpu_usage"].sum())
    assert ContainerHour.objects.filter(container="istio-proxy").exists()


def test_a_second_backfill_adds_nothing(demo):
    backfill_demo(demo, 2, now=NOW)
    before = stored_pod_hours()
    lines = []
    again = backfill_demo(demo, 2, now=NOW, write=lines.append)
    assert again.slots == 0
    assert lines == ["2026-03-01: already recorded", "2026-03-02: already recorded"]
    # a day the live task already half sampled is completed, not doubled
    SampleSlot.objects.filter(slot__gte=datetime(2026, 3, 2, 12, tzinfo=UTC)).delete()
    PodHour.objects.filter(hour__gte=datetime(2026, 3, 2, 12, tzinfo=UTC)).delete()
    NodeHour.objects.filter(hour__gte=datetime(2026, 3, 2, 12, tzinfo=UTC)).delete()
    CoverageHour.objects.filter(hour__gte=datetime(2026, 3, 2, 12, tzinfo=UTC)).delete()
    refill = backfill_demo(demo, 2, now=NOW)
    assert (refill.slots, refill.duplicate_slots) == (720, 720)
    pd.testing.assert_frame_equal(stored_pod_hours(), before)


def test_setup_demo_loads_history_once(db):
    out = io.StringIO()
    call_command("setup_demo", "--history-days", "1", stdout=out)
    slots = SampleSlot.objects.count()
    assert slots >= 1440
    out = io.StringIO()
    call_command("setup_demo", "--history-days", "1", stdout=out)
    assert "already recorded" in out.getvalue()
    assert SampleSlot.objects.count() - slots <= 2  # only slots that came due in between
    assert SampleSlot.objects.values("slot").distinct().count() == SampleSlot.objects.count()


def test_backfill_demo_command_refuses_a_real_cluster(db):
    Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="not a simulator cluster"):
        call_command("backfill_demo", "--cluster", "prod", "--days", "1")
    with pytest.raises(CommandError, match="no cluster named"):
        call_command("backfill_demo", "--cluster", "nope")
