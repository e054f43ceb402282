"""One snapshot of a 500-node, 10,000-pod cluster from the test API server, recorded into PostgreSQL."""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _django_db import setup_bench_database

NODES, PODS, SLOTS, TARGET_S = 500, 10_000, 5, 2.0
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def main() -> None:
    setup_bench_database()
    from django.db import connection

    from costing.choices import ConnectionType, SampleSource
    from costing.collectors.kubernetes import KubernetesCollector, api_client_from_kubeconfig
    from costing.models import Cluster, PodHour
    from costing.recording import record_snapshot
    from tests.costing.collectors.conftest import TOKEN, kubeconfig_for
    from tests.k8s_api import FakeKubeAPI, build_cluster

    server = build_cluster(NODES, PODS, seed=0, api=FakeKubeAPI(token=TOKEN)).start()
    client = api_client_from_kubeconfig(kubeconfig_for(server.url), None)
    collector = KubernetesCollector(client)
    cluster = Cluster.objects.create(name="bench", connection_type=ConnectionType.KUBECONFIG)
    rows = []
    try:
        for i in range(SLOTS + 1):  # slot 0 inserts the inventory; the others are the steady state
            slot = START + timedelta(minutes=i)
            t0 = time.perf_counter()
            snap = collector.snapshot(datetime.now(UTC))
            t1 = time.perf_counter()
            result = record_snapshot(cluster, snap, slot=slot, interval=60, source=SampleSource.COLLECTOR)
            t2 = time.perf_counter()
            assert result.slots == 1
            rows.append((t1 - t0, t2 - t1, len(snap.pods)))
    finally:
        client.close()
        server.stop()
    first, steady = rows[0], rows[1:]
    snap_s = statistics.median(r[0] for r in steady)
    record_s = statistics.median(r[1] for r in steady)
    print(f"PostgreSQL {connection.pg_version // 10000}; cluster: {NODES} nodes, {first[2]:,} running pods")
    print(
        f"first slot (inventory inserted): snapshot {first[0]:.3f} s + record {first[1]:.3f} s = {sum(first[:2]):.3f} s"
    )
    print(
        f"steady slot (median of {SLOTS}):  snapshot {snap_s:.3f} s + record {record_s:.3f} s = "
        f"{snap_s + record_s:.3f} s   (target <= {TARGET_S:g} s on one core)"
    )
    samples = sum(PodHour.objects.values_list("samples", flat=True))
    print(f"pod samples stored as {PodHour.objects.count():,} pod-hour rows ({samples:,} samples)")
    print("PASS" if snap_s + record_s <= TARGET_S else "FAIL: over target")


if __name__ == "__main__":
    main()
