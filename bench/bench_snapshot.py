"""KubernetesCollector.snapshot() of a 500-node, 10,000-pod cluster beside fetching and json-parsing the
same responses.

The test API server (tests/k8s_api) holds Deployments of several replicas, StatefulSets, DaemonSets,
CronJob pods, bare, pending and finished pods; between runs 1 % of the running pods are replaced (new
names and uids: rollouts, CronJob runs). No warm-up: every run counts, the first (cold client) too.
Each run: snapshot(), then the floor: GET the very requests that snapshot made and json.loads each
body (garbage collector paused, as snapshot pauses it). Client and server share one process and core.

    python bench/bench_snapshot.py --small    # 50 nodes / 1,000 pods
    python bench/bench_snapshot.py            # 500 nodes / 10,000 pods
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import data
from bench.common import add_size_argument, result

RUNS = 5
CHURN_PER_RUN = 0.01


def fetch_and_parse(pool, url: str, paths: list[str], headers: dict) -> tuple[float, int]:
    """Seconds to GET `paths` and json.loads each body, garbage collector paused; and the bytes read."""
    size = 0
    gc.disable()
    try:
        began = time.perf_counter()
        for path in paths:
            body = pool.request("GET", url + path, headers=headers).data
            size += len(body)
            json.loads(body)
        return time.perf_counter() - began, size
    finally:
        gc.enable()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--pods", type=int, default=10_000)
    add_size_argument(parser)
    args = parser.parse_args()
    if args.small:
        args.nodes, args.pods = 50, 1000

    import urllib3

    from costing.collectors.kubernetes import KubernetesCollector, api_client_from_kubeconfig
    from tests.costing.collectors.conftest import TOKEN, kubeconfig_for
    from tests.k8s_api import FakeKubeAPI, build_cluster

    started = time.perf_counter()
    server = build_cluster(args.nodes, args.pods, seed=0, api=FakeKubeAPI(token=TOKEN)).start()
    print(f"built and started the test API server in {time.perf_counter() - started:.1f} s (not timed)")
    client = api_client_from_kubeconfig(kubeconfig_for(server.url), None)
    collector = KubernetesCollector(client)
    pool = urllib3.PoolManager()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    rng = np.random.default_rng(5)
    figures, floors, sizes = [], [], []
    try:
        for run in range(RUNS):
            if run:
                data.churn_api(server, rng, int(args.pods * CHURN_PER_RUN))
            first = len(server.requests)
            began = time.perf_counter()
            snap = collector.snapshot(datetime.now(UTC))
            figures.append(time.perf_counter() - began)
            paths = server.requests[first:]
            floor, size = fetch_and_parse(pool, server.url, paths, headers)
            floors.append(floor)
            sizes.append(size)
            print(
                f"run {run + 1}: snapshot {figures[-1]:.3f} s, floor {floor:.3f} s; {len(paths)} requests, "
                f"{size / 1e6:.1f} MB, {len(snap.pods):,} pods bound and unfinished",
                flush=True,
            )
    finally:
        client.close()
        server.stop()
    print(
        f"cluster: {len(snap.nodes)} nodes, {server.count('Pod'):,} pods, {len(snap.namespaces)} namespaces"
    )
    result(
        f"snapshot(), median of {RUNS} runs (first included, {CHURN_PER_RUN:.0%} of pods replaced between runs)",
        statistics.median(figures),
        "GET the same requests + json.loads of each body, median of the same runs",
        statistics.median(floors),
    )


if __name__ == "__main__":
    main()
