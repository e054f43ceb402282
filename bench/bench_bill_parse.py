"""The FOCUS bill reader, as the importer reads (decimals=False: exact amount texts, no Decimal per value),
on a generated 1,000,000-line file beside pandas.read_csv of the same file; CPU seconds of both printed.

Each side once, in a process of its own (each peak RSS is its own); the file is written for this run.

    python bench/bench_bill_parse.py --small     # 20,000 lines
    python bench/bench_bill_parse.py             # 1,000,000 lines
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import add_size_argument, peak_rss_mb, result
from bench.make_focus import write


def run_reader(path: Path, chunk_size: int) -> dict:
    from costing.billing import BillReader

    started, cpu = time.perf_counter(), time.process_time()
    # As the importer reads: amounts as exact text, coefficients and places (no Decimal per value).
    reader = BillReader(path, "focus", chunk_size=chunk_size, decimals=False)
    rows = sum(len(chunk) for chunk in reader)
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "cpu": time.process_time() - cpu, "peak_rss_mb": peak_rss_mb()}


def run_floor(path: Path, chunk_size: int) -> dict:
    import pandas as pd

    started, cpu = time.perf_counter(), time.process_time()
    rows = 0
    for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_size):
        rows += len(chunk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"rows": rows, "seconds": seconds, "cpu": cpu, "peak_rss_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--file", type=Path, help="a FOCUS file to read (default: generated for this run)")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--only", choices=["reader", "floor"], help=argparse.SUPPRESS)
    add_size_argument(parser)
    args = parser.parse_args()
    if args.only:
        run = run_reader if args.only == "reader" else run_floor
        print(json.dumps(run(args.file, args.chunk_size)))
        return
    if args.small:
        args.lines = 20_000
    with tempfile.TemporaryDirectory() as tmp:
        if args.file is None:
            args.file = write(Path(tmp) / "focus.csv", args.lines)
        results = {}
        for only in ("floor", "reader"):
            command = [
                sys.executable,
                __file__,
                "--file",
                str(args.file),
                "--chunk-size",
                str(args.chunk_size),
            ]
            output = subprocess.run([*command, "--only", only], check=True, capture_output=True, text=True)
            results[only] = json.loads(output.stdout)
        size_mb = args.file.stat().st_size / 2**20
    for name, run in results.items():
        print(
            f"{name:7s} {run['rows']:>9,d} lines  {run['seconds']:6.2f} s  {run['rows'] / run['seconds']:>9,.0f} "
            f"lines/s  CPU {run['cpu']:6.2f} s  peak RSS {run['peak_rss_mb']:6.0f} MB   ({size_mb:.0f} MB file)"
        )
    reader, floor = results["reader"], results["floor"]
    print(f"CPU ratio {reader['cpu'] / floor['cpu']:.2f}; load average {os.getloadavg()[0]:.1f}")
    result(
        f"BillReader over {reader['rows']:,} FOCUS lines (peak {reader['peak_rss_mb']:.0f} MB)",
        reader["seconds"],
        f"pandas.read_csv of the same file, all columns as text (peak {floor['peak_rss_mb']:.0f} MB)",
        floor["seconds"],
    )


if __name__ == "__main__":
    main()
