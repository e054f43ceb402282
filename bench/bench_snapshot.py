"""Times KubernetesCollector.snapshot() on a 10,000-pod cluster beside the bare fetch-and-parse floor."""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import urllib3

from costing.collectors.kubernetes import KubernetesCollector, api_client_from_kubeconfig
from tests.costing.collectors.conftest import TOKEN, kubeconfig_for
from tests.k8s_api import FakeKubeAPI, build_cluster

NODES, PODS, RUNS, TARGET_S = 500, 10_000, 5, 2.0


def median_time(action, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    started = time.perf_counter()
    server = build_cluster(NODES, PODS, seed=0, api=FakeKubeAPI(token=TOKEN)).start()
    print(f"built and started the test API server in {time.perf_counter() - started:.1f} s")
    client = api_client_from_kubeconfig(kubeconfig_for(server.url), None)
    collector = KubernetesCollector(client)
    try:
        first = len(server.requests)
        snap = collector.snapshot(datetime.now(UTC))  # warm-up; also records the requests one snapshot makes
        paths = server.requests[first:]
        took = median_time(lambda: collector.snapshot(datetime.now(UTC)))

        pool = urllib3.PoolManager()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        sizes = []

        def fetch_and_load() -> None:
            sizes.clear()
            for path in paths:
                body = pool.request("GET", server.url + path, headers=headers).data
                sizes.append(len(body))
                json.loads(body)

        def fetch_and_load_gc_paused() -> None:
            gc.disable()
            try:
                fetch_and_load()
            finally:
                gc.enable()

        def fetch_only() -> None:
            for path in paths:
                pool.request("GET", server.url + path, headers=headers).data  # noqa: B018

        floor = median_time(fetch_and_load_gc_paused)
        floor_gc = median_time(fetch_and_load)
        transfer = median_time(fetch_only)
    finally:
        client.close()
        server.stop()

    print(
        f"cluster: {len(snap.nodes)} nodes, {server.count('Pod')} pods of which {len(snap.pods)} bound and "
        f"unfinished, {len(snap.namespaces)} namespaces"
    )
    print(f"one snapshot: {len(paths)} list requests, {sum(sizes) / 1e6:.1f} MB of JSON")
    rows = [
        ("snapshot()", took, f"target: well under {TARGET_S:g} s"),
        ("floor: fetch the same bytes + json.loads", floor, "garbage collector paused, as snapshot does"),
        ("same floor, garbage collector left on", floor_gc, ""),
        ("fetch only, no parsing", transfer, ""),
        ("snapshot's own work beyond the floor", took - floor, f"{(took / floor - 1) * 100:.0f}% over"),
    ]
    print(f"median of {RUNS} runs (client and test server share one process, so one core):")
    for label, seconds, note in rows:
        print(f"  {label:<42} {seconds:6.3f} s" + (f"   ({note})" if note else ""))
    print("PASS" if took < TARGET_S else "FAIL: over target")


if __name__ == "__main__":
    main()
