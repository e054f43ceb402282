"""Times the FOCUS bill reader on a generated 1,000,000-line file beside pandas.read_csv alone (the floor)."""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_reader(path: Path, chunk_size: int) -> dict:
    from costing.billing import BillReader

    started = time.perf_counter()
    reader = BillReader(path, "focus", chunk_size=chunk_size)
    rows = sum(len(chunk) for chunk in reader)
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "peak_rss_mb": _peak_rss_mb()}


def run_floor(path: Path, chunk_size: int) -> dict:
    import pandas as pd

    started = time.perf_counter()
    rows = 0
    for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_size):
        rows += len(chunk)
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_rss_mb": _peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=Path("/tmp/billbench/focus_1m.csv"))
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--only", choices=["reader", "floor"])
    args = parser.parse_args()
    if args.only:
        run = run_reader if args.only == "reader" else run_floor
        print(json.dumps(run(args.file, args.chunk_size)))
        return
    if not args.file.exists():
        from bench.make_focus import write

        args.file.parent.mkdir(parents=True, exist_ok=True)
        write(args.file, args.lines)
    results = {}
    for only in ("floor", "reader"):  # separate processes: each peak RSS is its own
        command = [sys.executable, __file__, "--file", str(args.file), "--chunk-size", str(args.chunk_size)]
        output = subprocess.run([*command, "--only", only], check=True, capture_output=True, text=True)
        results[only] = json.loads(output.stdout)
    size_mb = args.file.stat().st_size / 2**20
    for name, result in results.items():
        rate = result["rows"] / result["seconds"]
        print(
            f"{name:7s} {result['rows']:>9,d} lines  {result['seconds']:6.2f} s  {rate:>9,.0f} lines/s  "
            f"peak RSS {result['peak_rss_mb']:6.0f} MB   ({size_mb:.0f} MB file)"
        )
    reader = results["reader"]
    ok = reader["rows"] / reader["seconds"] >= 50_000 and reader["peak_rss_mb"] < 500
    print("target (>= 50,000 lines/s, < 500 MB):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
