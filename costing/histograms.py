"""Usage histograms of container-hours: fixed exponential buckets (as Kubernetes' VPA) that add up.

A container-hour keeps, per resource, how many seconds its usage spent in each bucket, as a sparse
JSON object {"bucket index": seconds} (written by costing/recording.py). Buckets are the same for every row, so the histogram of any
set of hours (a container over 14 days, all replicas of a workload) is the key-wise sum of theirs,
and a percentile of that sum is a percentile of the seconds observed, to within one bucket.

Bucket i covers [start(i), start(i + 1)) with start(i) = first * (ratio**i - 1) / (ratio - 1):
the first bucket is `first` wide and each next one 5% wider, so a value is known to within 5%
(or to within the first bucket's width near zero). The last bucket also holds everything above it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = [
    "CPU",
    "MEMORY",
    "Buckets",
    "merged",
    "parsed",
]


class Buckets:
    """One resource's bucket layout: index of a value, start and end of a bucket."""

    def __init__(self, first: float, ratio: float, largest: float):
        self.first = float(first)
        self.ratio = float(ratio)
        self._log_ratio = math.log(ratio)
        self.count = math.ceil(math.log(1 + largest * (ratio - 1) / first) / self._log_ratio)
        self.starts = self.first * (self.ratio ** np.arange(self.count + 1) - 1) / (self.ratio - 1)

    def index(self, values) -> np.ndarray:
        """The bucket of each value (negative values: bucket 0; beyond the last: the last)."""
        v = np.maximum(np.asarray(values, dtype=np.float64), 0.0)
        i = np.floor(np.log1p(v * (self.ratio - 1) / self.first) / self._log_ratio).astype(np.int64)
        # The floor of a logarithm can land one off at a bucket's exact edge: settle it on the edges.
        i = np.clip(i, 0, self.count - 1)
        i -= (v < self.starts[i]).astype(np.int64)
        i += (v >= self.starts[np.minimum(i + 1, self.count)]).astype(np.int64) * (i + 1 < self.count)
        return np.clip(i, 0, self.count - 1)

    def start(self, index) -> np.ndarray:
        return self.starts[np.asarray(index, dtype=np.int64)]

    def end(self, index) -> np.ndarray:
        return self.starts[np.asarray(index, dtype=np.int64) + 1]


# VPA's layout: CPU from 10 millicores, memory from 10 MB, each bucket 5% wider than the one before.
CPU = Buckets(first=0.01, ratio=1.05, largest=1000.0)  # cores
MEMORY = Buckets(first=1e7, ratio=1.05, largest=1e12)  # bytes


def parsed(value) -> dict[int, int]:
    """A stored histogram (JSON text or the dict a JSONField gives) as {bucket: seconds}."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    return {int(k): int(v) for k, v in value.items()}


def merged(histograms: Iterable[Mapping]) -> dict[int, int]:
    """The key-wise sum of several histograms."""
    out: dict[int, int] = {}
    for h in histograms:
        for k, v in parsed(h).items():
            out[k] = out.get(k, 0) + v
    return out
