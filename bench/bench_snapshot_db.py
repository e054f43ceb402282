"""Snapshots of a 500-node, 10,000-pod cluster from the test API server, recorded into PostgreSQL, beside
fetching and json-parsing the same responses.

Minute after minute (slots of 60 s), 1 % of the running pods replaced between slots (new pods to
insert, gone ones to close: rollouts and CronJob runs). No warm-up: the first slot, which inserts the
whole inventory, counts like the others. Each slot: snapshot() + record_snapshot(), then the floor:
GET the very requests that snapshot made and json.loads each body (garbage collector paused).

    python bench/bench_snapshot_db.py --small     # 50 nodes / 1,000 pods, 3 slots
    python bench/bench_snapshot_db.py             # 500 nodes / 10,000 pods, 6 slots
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import data
from bench.bench_snapshot import CHURN_PER_RUN, fetch_and_parse
from bench.common import CpuClock, add_size_argument, bench_database, result

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--slots", type=int, default=6)
    parser.add_argument(
        "--direct", action="store_true", help="the hour rows upserted every minute (the path before staging)"
    )
    add_size_argument(parser)
    args = parser.parse_args()
    if args.small:
        args.nodes, args.pods, args.slots = 50, 1000, 3

    with bench_database("snapshot_db"):
        import urllib3
        from django.db import connection

        from costing.choices import ConnectionType, SampleSource
        from costing.collectors.kubernetes import KubernetesCollector, api_client_from_kubeconfig
        from costing.folding import fold_minutes
        from costing.models import Cluster, Pod, PodHour
        from costing.recording import record_snapshot
        from tests.costing.collectors.conftest import TOKEN, kubeconfig_for
        from tests.k8s_api import FakeKubeAPI, build_cluster

        server = build_cluster(args.nodes, args.pods, seed=0, api=FakeKubeAPI(token=TOKEN)).start()
        client = api_client_from_kubeconfig(kubeconfig_for(server.url), None)
        collector = KubernetesCollector(client)
        cluster = Cluster.objects.create(name="bench", connection_type=ConnectionType.KUBECONFIG)
        pool = urllib3.PoolManager()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        rng = np.random.default_rng(5)
        rows = []
        try:
            for i in range(args.slots):
                if i:
                    data.churn_api(server, rng, int(args.pods * CHURN_PER_RUN))
                first = len(server.requests)
                clock = CpuClock()
                t0 = time.perf_counter()
                snap = collector.snapshot(datetime.now(UTC))
                t1 = time.perf_counter()
                snapshot_cpu = clock.seconds()[0]
                recorded = record_snapshot(
                    cluster,
                    snap,
                    slot=START + timedelta(minutes=i),
                    interval=60,
                    source=SampleSource.COLLECTOR,
                    staged=not args.direct,
                )
                t2 = time.perf_counter()
                cpu = clock.seconds()
                assert recorded.slots == 1
                floor_clock = CpuClock()
                floor, size = fetch_and_parse(pool, server.url, server.requests[first:], headers)
                floor_cpu = floor_clock.seconds()[0]
                rows.append((t1 - t0, t2 - t1, floor, sum(cpu), floor_cpu))
                print(
                    f"slot {i + 1}: snapshot {t1 - t0:.3f} s + record {t2 - t1:.3f} s; floor {floor:.3f} s "
                    f"({size / 1e6:.1f} MB, {len(snap.pods):,} pods); one-core CPU {cpu[0]:.3f} s (snapshot "
                    f"{snapshot_cpu:.3f} s) + PostgreSQL {cpu[1]:.3f} s (floor {floor_cpu:.3f} s; the test API server's own CPU, "
                    "a thread of this process, counts in both)",
                    flush=True,
                )
        finally:
            client.close()
            server.stop()
        clock, t0 = CpuClock(), time.perf_counter()
        folded = fold_minutes([cluster.pk])
        fold_cpu = sum(clock.seconds())
        print(
            f"fold of the {args.slots} staged slots into their hours: {time.perf_counter() - t0:.3f} s, one-core "
            f"CPU {fold_cpu:.3f} s ({folded['pod_minutes']:,} pod minutes -> {folded['pod_hours']:,} pod-hours; "
            f"{folded['container_minutes']:,} container minutes): "
            f"{fold_cpu / args.slots:.3f} s per slot folded"
        )
        samples = sum(PodHour.objects.values_list("samples", flat=True))
        print(
            f"PostgreSQL {connection.pg_version // 10000}; {Pod.objects.count():,} pods recorded, "
            f"{PodHour.objects.count():,} pod-hour rows ({samples:,} samples)"
        )
        print(
            f"medians: snapshot {statistics.median(r[0] for r in rows):.3f} s, "
            f"record {statistics.median(r[1] for r in rows):.3f} s, "
            f"one-core CPU (process + PostgreSQL) {statistics.median(r[3] for r in rows):.3f} s, "
            f"floor's CPU {statistics.median(r[4] for r in rows):.3f} s: CPU ratio "
            f"{statistics.median(r[3] for r in rows) / statistics.median(r[4] for r in rows):.2f}"
        )
        result(
            f"snapshot() + record_snapshot(), median of {args.slots} slots (the first, inventory, included)",
            statistics.median(r[0] + r[1] for r in rows),
            "GET the same requests + json.loads of each body, median of the same slots",
            statistics.median(r[2] for r in rows),
        )


if __name__ == "__main__":
    main()
