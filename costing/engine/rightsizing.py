"""Right-sizing: container request recommendations from usage histograms, priced and back-tested.

Pure functions over DataFrames (docs/rightsizing.md). In: container-hours (one row per container of a
pod, node and hour, with the node-hour's unit prices) and the cluster's sampled seconds per hour. Out:
one row per container of a workload with its current and recommended requests, the monthly cost of
each at the prices its pods paid, and the back-test of the recommendation.

- CPU: the policy's percentile (P95) of the seconds of usage in the look-back window, times a
  headroom. The percentile comes from summed histograms: the upper edge of the bucket that holds it,
  at most the highest usage seen (so it is never below the true percentile, and at most one bucket,
  5%, above it).
- Memory: the peak working set seen in the window times a headroom; never below the peak.
- Both at least a minimum and rounded up to a step (millicores, MiB).
- Cost: billable = max(usage, request) per sample (COST_MODEL 2) times the node-hour's unit price.
  With the recommended request r, an hour whose peak is at most r bills r for every second; an hour
  that went above r bills its usage plus, per histogram bucket below r, (r - bucket's middle) for the
  seconds spent there (the middle clipped to the hour's peak): the approximation of per-sample max.
- Back-test: the recommendation computed on the look-back window that ends `backtest_days` before
  the end, checked against those last days: the share of the seconds in which CPU usage was above the
  recommended request (from the histograms: a bucket wholly above counts whole, the bucket holding
  the request counts for the part above it, taking usage as spread evenly over the bucket up to the
  hour's peak), and whether the memory peak went above the recommended request, or reached the limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from costing import histograms
from costing.engine._validate import EngineInputError, require_columns

__all__ = [
    "COVERAGE_COLUMNS",
    "HOURS_PER_MONTH",
    "HOUR_COLUMNS",
    "KEY_COLUMNS",
    "RESULT_COLUMNS",
    "RightsizingPolicy",
    "recommend",
]

GIB = 2**30
MIB = 2**20
HOURS_PER_MONTH = 730  # 365 * 24 / 12: the month of cloud price lists
SECONDS_PER_HOUR = 3600

KEY_COLUMNS = ["cluster", "namespace", "workload_kind", "workload_name", "container"]
HOUR_COLUMNS = [
    *KEY_COLUMNS,
    "init",
    "hour",
    "seconds",
    "cpu_request_core_hours",
    "cpu_usage_core_hours",
    "cpu_billable_core_hours",
    "cpu_usage_max_cores",
    "cpu_histogram",
    "mem_request_gib_hours",
    "mem_limit_gib_hours",
    "mem_usage_gib_hours",
    "mem_billable_gib_hours",
    "mem_usage_max_bytes",
    "cpu_price",
    "mem_price",
]
COVERAGE_COLUMNS = ["cluster", "hour", "sampled_seconds"]
RESULT_COLUMNS = [
    *KEY_COLUMNS,
    "days",
    "cpu_request_cores",
    "cpu_percentile_cores",
    "cpu_usage_max_cores",
    "cpu_recommended_cores",
    "mem_request_bytes",
    "mem_limit_bytes",
    "mem_peak_bytes",
    "mem_recommended_bytes",
    "monthly_cost_now",
    "monthly_cost_recommended",
    "monthly_saving",
    "status",
    "cpu_over_request_share",
    "backtest_cpu_over_share",
    "backtest_mem_over",
    "backtest_mem_over_limit",
    "reason",
]

# Statuses: what a recommendation means for the team that owns the container.
OVER_REQUESTED = "over-requested"  # the recommendation asks less: a saving
UNDER_REQUESTED = "under-requested"  # it asks more: a risk to fix, not a saving
RIGHT_SIZED = "right-sized"
NO_RECOMMENDATION = "no recommendation"


@dataclass(frozen=True)
class RightsizingPolicy:
    """How recommendations are made; the defaults are documented in docs/rightsizing.md."""

    cpu_percentile: float = 95.0
    cpu_headroom: float = 1.15
    mem_headroom: float = 1.15
    lookback_days: int = 14
    min_days: int = 7
    min_coverage: float = 0.8
    backtest_days: int = 7
    min_cpu_cores: float = 0.010
    min_mem_bytes: int = 16 * MIB
    cpu_step_cores: float = 0.005
    mem_step_bytes: int = MIB

    def __post_init__(self):
        checks = [
            (0 < self.cpu_percentile <= 100, "cpu_percentile must be in (0, 100]"),
            (self.cpu_headroom >= 1, "cpu_headroom must be at least 1"),
            (self.mem_headroom >= 1, "mem_headroom must be at least 1 (memory is never below the peak)"),
            (self.lookback_days >= 1, "lookback_days must be at least 1"),
            (0 <= self.min_days <= self.lookback_days, "min_days must be between 0 and lookback_days"),
            (0 <= self.min_coverage <= 1, "min_coverage must be between 0 and 1"),
            (self.backtest_days >= 1, "backtest_days must be at least 1"),
            (self.min_cpu_cores >= 0 and self.min_mem_bytes >= 0, "minimums must not be negative"),
            (self.cpu_step_cores > 0 and self.mem_step_bytes > 0, "rounding steps must be positive"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"right-sizing policy: {message}")


def recommend(
    hours: pd.DataFrame,
    coverage: pd.DataFrame,
    *,
    start: datetime,
    end: datetime,
    policy: RightsizingPolicy | None = None,
    namespace_policies: Mapping[str, RightsizingPolicy] | None = None,
) -> pd.DataFrame:
    """One row per container (RESULT_COLUMNS) from its hours in [start, end), best saving first.

    The recommendation uses the last `lookback_days` before `end` (not before `start`); the back-test
    the same length of window ending `backtest_days` before `end`, checked on those last days. Init
    containers, and containers not seen in the look-back window, are left out. `coverage` gives the
    cluster's sampled seconds per hour (an hour it lacks was not sampled). Unpriced hours (price NaN)
    cost nothing in both figures. `namespace_policies`: the policy of each namespace that has its own
    (the others use `policy`); the containers of each policy are recommended apart, then ranked together.

    The hours are first folded into container-days (container_days), which recommend_days reads: the
    same figures as the day rows stored at compute time give (costing.recommendations).
    """
    policy = policy or RightsizingPolicy()
    start, end = _utc(start), _utc(end)
    policies = [policy, *(namespace_policies or {}).values()]
    first = min(_windows(start, end, p)["train"][0] for p in policies)
    days = container_days(hours, first, end, offset=_epoch(end) % 86400)
    return recommend_days(
        days, coverage, start=start, end=end, policy=policy, namespace_policies=namespace_policies
    )


def recommend_days(
    days: ContainerDays,
    coverage: pd.DataFrame,
    *,
    start: datetime,
    end: datetime,
    policy: RightsizingPolicy | None = None,
    namespace_policies: Mapping[str, RightsizingPolicy] | None = None,
) -> pd.DataFrame:
    """recommend() from container-days (whose `period` counts days from `end`'s time of day)."""
    policy = policy or RightsizingPolicy()
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise EngineInputError(f"recommend: end {end.isoformat()} is not after start {start.isoformat()}")
    if not namespace_policies:
        return _recommend(days, coverage, start, end, policy)
    policies = list(dict.fromkeys([policy, *namespace_policies.values()]))
    code = {p: i for i, p in enumerate(policies)}
    names = days.rows["namespace"].astype(str)
    chosen = names.map(lambda ns: code[namespace_policies.get(ns, policy)]).to_numpy(int)
    parts = [
        _recommend(days.take(chosen == i), coverage, start, end, each)
        for i, each in enumerate(policies)
        if i == 0 or (chosen == i).any()
    ]
    return _ranked(pd.concat([p for p in parts if not p.empty] or parts[:1], ignore_index=True))


def _ranked(out: pd.DataFrame) -> pd.DataFrame:
    out = out.sort_values(
        ["monthly_saving", *KEY_COLUMNS], ascending=[False, *[True] * len(KEY_COLUMNS)], na_position="last"
    )
    return out[RESULT_COLUMNS].reset_index(drop=True)


def _windows(
    start: datetime, end: datetime, policy: RightsizingPolicy
) -> dict[str, tuple[datetime, datetime]]:
    test_start = end - timedelta(days=policy.backtest_days)
    return {
        "now": (max(start, end - timedelta(days=policy.lookback_days)), end),
        "train": (max(start, test_start - timedelta(days=policy.lookback_days)), test_start),
        "test": (test_start, end),
    }


def _recommend(
    days: ContainerDays, coverage: pd.DataFrame, start: datetime, end: datetime, policy: RightsizingPolicy
) -> pd.DataFrame:
    windows = _windows(start, end, policy)
    rows = days.rows
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS})
    group, keys = _groups(rows)
    n = len(keys)
    cov = _coverage_frame(coverage)
    offset = _epoch(end) % 86400
    period = rows["period"].to_numpy()
    at = {
        name: (period >= (_epoch(a) - offset) // 86400) & (period < (_epoch(b) - offset) // 86400)
        for name, (a, b) in windows.items()
    }
    metric = days.metric_seconds()

    now = _window(days, group, n, metric, at["now"], windows["now"], cov, policy)
    train = _window(days, group, n, metric, at["train"], windows["train"], cov, policy)
    out = keys.copy()
    out["days"] = now["days"]
    out = out.join(_current_requests(rows, group, n, at["now"]))
    out["cpu_percentile_cores"] = now["cpu_percentile"]
    out["cpu_usage_max_cores"] = now["cpu_max"]
    out["cpu_recommended_cores"] = now["cpu_rec"]
    out["mem_peak_bytes"] = now["mem_peak"]
    out["mem_recommended_bytes"] = now["mem_rec"]
    out["reason"] = now["reason"]

    cost_now, cost_rec = _costs(days, group, n, at["now"], now["cpu_rec"], now["mem_rec"])
    window_hours = (windows["now"][1] - windows["now"][0]).total_seconds() / SECONDS_PER_HOUR
    scale = HOURS_PER_MONTH / window_hours
    has_rec = now["reason"].isna().to_numpy()
    out["monthly_cost_now"] = cost_now * scale
    out["monthly_cost_recommended"] = np.where(has_rec, cost_rec * scale, np.nan)
    out["monthly_saving"] = out["monthly_cost_now"] - out["monthly_cost_recommended"]
    out["cpu_over_request_share"] = _over_share(
        days, group, n, metric, at["now"], out["cpu_request_cores"].to_numpy(dtype=float)
    )

    test_share = _over_share(days, group, n, metric, at["test"], train["cpu_rec"].to_numpy())
    test_peak = _group_max(rows["mem_top_bytes"].to_numpy(dtype=float), group, n, at["test"])
    test_limit = _group_max(rows["mem_limit_bytes"].to_numpy(dtype=float), group, n, at["test"])
    backtested = train["reason"].isna().to_numpy() & ~np.isnan(test_share)
    out["backtest_cpu_over_share"] = np.where(backtested, test_share, np.nan)
    out["backtest_mem_over"] = pd.array(
        np.where(backtested, test_peak > train["mem_rec"].to_numpy(), False), dtype="boolean"
    )
    out.loc[~backtested, "backtest_mem_over"] = pd.NA
    limit_hit = (test_limit > 0) & (test_peak >= test_limit)
    out["backtest_mem_over_limit"] = pd.array(
        np.where(np.isnan(test_peak), False, limit_hit), dtype="boolean"
    )
    out.loc[np.isnan(test_peak), "backtest_mem_over_limit"] = pd.NA
    out["status"] = _status(out)
    # A container gone before the look-back window (a finished Job) is nothing to right-size.
    out = out.loc[np.bincount(group[at["now"]], minlength=n) > 0]
    return _ranked(out)


# --- input ------------------------------------------------------------------------------------------------


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise EngineInputError("recommend: start and end must be timezone-aware")
    return t.astimezone(UTC)


def _epoch(t: datetime) -> int:
    return int(t.timestamp())


def _prepare(hours: pd.DataFrame, lo: datetime, hi: datetime) -> pd.DataFrame:
    require_columns(hours, HOUR_COLUMNS, name="container hours")
    stamps = pd.to_datetime(hours["hour"], utc=True)
    epochs = stamps.dt.tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64)
    # One selection (one copy of millions of rows): no init container, inside [lo, hi).
    keep = ~hours["init"].astype(bool).to_numpy() & (epochs >= _epoch(lo)) & (epochs < _epoch(hi))
    positions = np.flatnonzero(keep)
    frame = hours.iloc[positions].reset_index(drop=True)
    frame["hour"] = epochs[positions]
    numbers = [c for c in HOUR_COLUMNS if c not in (*KEY_COLUMNS, "init", "hour", "cpu_histogram")]
    for column in numbers:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
        values = frame[column].to_numpy()
        bad = (np.isnan(values) & (column not in ("cpu_price", "mem_price"))) | (values < 0)
        if bad.any():
            row = int(positions[np.flatnonzero(bad)[0]])
            raise EngineInputError(
                f"container hours: row {row}, column {column}: {hours[column].iloc[row]!r}"
            )
    hours_of = frame["seconds"].to_numpy() / SECONDS_PER_HOUR
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["mem_limit_bytes"] = np.where(hours_of > 0, frame["mem_limit_gib_hours"] / hours_of * GIB, 0.0)
    return frame


def _groups(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """A code per row for its container (KEY_COLUMNS), and the keys of each code."""
    codes = np.zeros(len(frame), dtype=np.int64)
    size = 1  # codes are below this
    for column in KEY_COLUMNS:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            # The reader's names come as categories (one per pod, not one string per row): their codes.
            column_codes, uniques = values.cat.codes.to_numpy(dtype=np.int64), values.cat.categories
        else:
            column_codes, uniques = pd.factorize(values.astype(str))
        if size * (len(uniques) + 1) >= 2**62:
            # Re-coded only when the combined number would overflow: one factorize of integers.
            codes, kept = pd.factorize(codes)
            size = len(kept)
        codes = codes * (len(uniques) + 1) + column_codes
        size *= len(uniques) + 1
    codes, _ = pd.factorize(codes)  # in order of first appearance
    first = np.unique(codes, return_index=True)[1]
    keys = frame[KEY_COLUMNS].iloc[first].astype(str).reset_index(drop=True)
    return codes.astype(np.int64), keys


def _coverage_frame(coverage: pd.DataFrame) -> pd.DataFrame:
    require_columns(coverage, COVERAGE_COLUMNS, name="coverage")
    out = pd.DataFrame(
        {
            "cluster": coverage["cluster"].astype(str).to_numpy(),
            "hour": pd.to_datetime(coverage["hour"], utc=True)
            .dt.tz_localize(None)
            .to_numpy()
            .astype("datetime64[s]")
            .astype(np.int64),
            "sampled_seconds": pd.to_numeric(coverage["sampled_seconds"]).to_numpy(dtype=np.float64),
        }
    )
    return out


# The bytes of a histogram's JSON text of whole numbers, {"16": 60, "17": 1200}, that the fast parser reads.
_PLAIN_JSON = np.zeros(256, dtype=bool)
_PLAIN_JSON[np.frombuffer(b'0123456789{}":, \n', dtype=np.uint8)] = True


def _parse_plain(texts: list) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(row, key, value) of every entry of histograms given as JSON text with whole-number keys and values,
    parsed with numpy over the bytes of all texts at once; None when a text is anything else (a dict, a
    fraction, an exponent), for the general parser. A text of None is an empty histogram."""
    kinds = set(map(type, texts))
    if not kinds <= {str, type(None)}:
        return None
    if type(None) in kinds:
        texts = [t or "{}" for t in texts]
    blob = np.frombuffer("\n".join(texts).encode(), dtype=np.uint8)
    if not _PLAIN_JSON[blob].all():
        return None
    digit = (blob >= 48) & (blob <= 57)
    starts = np.flatnonzero(digit & ~np.concatenate(([False], digit[:-1])))
    ends = np.flatnonzero(digit & ~np.concatenate((digit[1:], [False]))) + 1
    lengths = ends - starts
    longest = int(lengths.max()) if len(lengths) else 0
    if longest > 15:
        return None  # beyond float64's exact integers
    # Digit by digit over all numbers at once: a histogram's numbers have a few digits each.
    numbers = np.zeros(len(starts))
    for place in range(longest):
        live = lengths > place
        digits = blob[np.minimum(starts + place, len(blob) - 1)].astype(np.float64) - 48
        numbers = np.where(live, numbers * 10 + digits, numbers)
    # A number's row: the line breaks (one between two texts) before it.
    rows = np.searchsorted(np.flatnonzero(blob == 10), starts)
    if len(numbers) % 2 or (len(numbers) and (rows[0::2] != rows[1::2]).any()):
        return None  # not key: value pairs
    return rows[0::2].astype(np.int64), numbers[0::2].astype(np.int64), numbers[1::2]


_BARE_KEY = re.compile(r"([{,])\s*(\d+)\s*:")


class _Long:
    """A histogram column in long form: one entry per (row, bucket) with its seconds."""

    def __init__(self, frame: pd.DataFrame, column: str, buckets: histograms.Buckets):
        values = frame[column].tolist()
        plain = _parse_plain(values)
        if plain is not None:
            self.row, keys, self.seconds = plain
        else:
            self.row, keys, self.seconds = _parse_general(values)
        self.bucket = np.clip(keys, 0, buckets.count - 1)
        self.start = buckets.start(self.bucket)
        self.end = buckets.end(self.bucket)
        # Seconds with metrics per row: those a histogram holds.
        self.row_seconds = np.bincount(self.row, weights=self.seconds, minlength=len(frame))


def _parse_general(values: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, key, value) of histograms given as dicts or any JSON text."""
    texts = [i for i, v in enumerate(values) if not isinstance(v, dict)]
    if texts:
        # One parse of one JSON array: json.loads per row costs more in call overhead than in parsing. The
        # reader's compact form {35:1200} gets its keys quoted back first.
        array = "[" + ",".join(values[i] or "{}" for i in texts) + "]"
        try:
            parsed = json.loads(array)
        except ValueError:
            parsed = json.loads(_BARE_KEY.sub(r'\1"\2":', array))
        for i, d in zip(texts, parsed, strict=True):
            values[i] = d
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    keys = np.array([k for d in values for k in d], dtype=object).astype(np.int64)
    row = np.repeat(np.arange(len(values), dtype=np.int64), lengths)
    seconds = np.array([v for d in values for v in d.values()], dtype=np.float64)
    return row, keys, seconds


# --- container-days -------------------------------------------------------------------------------------------

# A container-day's values besides its key (DAY_COLUMNS): what the engine needs of its hours.
DAY_VALUES = [
    "cpu_peak_cores",  # the highest CPU usage of its hours with metrics (NaN: none)
    "mem_peak_bytes",  # the highest working set of its hours with metrics (NaN: none)
    "mem_top_bytes",  # the highest working set of all its hours
    "mem_limit_bytes",  # the highest memory limit per replica of its hours (0: none)
    "last_hour",  # its last hour (epoch seconds), and that hour's seconds, requests and limit
    "last_seconds",
    "last_cpu_request_core_hours",
    "last_mem_request_gib_hours",
    "last_mem_limit_gib_hours",
    "cpu_cost",  # the CPU and the memory it billed, at its node-hours' unit prices
    "mem_cost",
    "mem_price_hours",  # its hours weighted by their memory unit price: sum of hours x price per GiB-hour
]
# `day`: its UTC day (days since 1970-01-01). `period`: the day it counts in for the windows, which end at
# `end`: the same as `day` when `end` is midnight UTC (a UTC day is split in two when it is not).
DAY_COLUMNS = [*KEY_COLUMNS, "day", "period", *DAY_VALUES]
STEP_ARRAYS = ("step_x", "cost_a", "cost_b", "over_a", "over_b")


@dataclass
class ContainerDays:
    """One row per container (KEY_COLUMNS) and day: all the engine needs of that day's container-hours.

    Exact for every figure: sums and peaks are scalars, the CPU histogram is merged, and what depends on a
    request r not known yet is kept as *steps*, each figure being the sum over the steps with x <= r of
    (a + b * r):
    - cost: the CPU cost the day would have billed with request r: max(usage, r) per second at each hour's
      unit price (steps at each hour's peak, from where the hour bills r for every second, and at the
      middles of its histogram buckets below the peak, from where a bucket's seconds bill r over usage);
    - over: the seconds in which CPU usage was above r (steps at the edges of the buckets, usage taken as
      spread evenly between a bucket's start and the lower of its end and the hour's peak).
    The step at x = -inf is the value at r = 0. Steps of a row with the same x are merged.
    """

    rows: pd.DataFrame  # DAY_COLUMNS
    hist_row: np.ndarray  # the CPU histogram entries (row, bucket, seconds)
    hist_bucket: np.ndarray
    hist_seconds: np.ndarray
    step_row: np.ndarray  # the steps (row, x, cost_a, cost_b, over_a, over_b), sorted by row then x
    step_x: np.ndarray
    cost_a: np.ndarray
    cost_b: np.ndarray
    over_a: np.ndarray
    over_b: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, keep: np.ndarray) -> ContainerDays:
        """The rows where `keep` (a boolean per row), renumbered."""
        new = np.cumsum(keep) - 1
        hist, step = keep[self.hist_row], keep[self.step_row]
        return ContainerDays(
            self.rows.loc[keep].reset_index(drop=True),
            new[self.hist_row[hist]], self.hist_bucket[hist], self.hist_seconds[hist],
            new[self.step_row[step]], *(getattr(self, a)[step] for a in STEP_ARRAYS),
        )  # fmt: skip

    @classmethod
    def concat(cls, parts: list[ContainerDays]) -> ContainerDays:
        parts = [p for p in parts if len(p)] or parts[:1] or [cls.empty()]
        shifts = np.cumsum([0, *(len(p) for p in parts[:-1])])
        rows = pd.concat([p.rows for p in parts], ignore_index=True)
        for column in KEY_COLUMNS:  # names as categories again (concat of different categories: text)
            if not isinstance(rows[column].dtype, pd.CategoricalDtype):
                rows[column] = rows[column].astype(str).astype("category")
        return cls(
            rows,
            np.concatenate([p.hist_row + s for p, s in zip(parts, shifts, strict=True)]),
            np.concatenate([p.hist_bucket for p in parts]),
            np.concatenate([p.hist_seconds for p in parts]),
            np.concatenate([p.step_row + s for p, s in zip(parts, shifts, strict=True)]),
            *(np.concatenate([getattr(p, a) for p in parts]) for a in STEP_ARRAYS),
        )

    @classmethod
    def empty(cls) -> ContainerDays:
        ints, floats = np.zeros(0, dtype=np.int64), np.zeros(0)
        rows = pd.DataFrame({c: pd.Series(dtype=object if c in KEY_COLUMNS else float) for c in DAY_COLUMNS})
        return cls(rows, ints, ints, floats, ints, floats, floats, floats, floats, floats)

    def metric_seconds(self) -> np.ndarray:
        """Per row, the seconds with usage metrics (those its histogram holds)."""
        return np.bincount(self.hist_row, weights=self.hist_seconds, minlength=len(self))

    def pack(self) -> tuple[list[bytes], list[bytes]]:
        """Per row, its histogram entries as the bytes of float64 (bucket, seconds) pairs and its steps as
        those of float64 (x, cost_a, cost_b, over_a, over_b) rows, in order (unpacked by `unpacked`)."""
        hist = self._slices(self.hist_row, np.column_stack([self.hist_bucket, self.hist_seconds]))
        step = self._slices(self.step_row, np.column_stack([getattr(self, a) for a in STEP_ARRAYS]))
        return hist, step

    def _slices(self, owner: np.ndarray, cells: np.ndarray) -> list[bytes]:
        order = np.argsort(owner, kind="stable")
        data = np.ascontiguousarray(cells[order], dtype="<f8").tobytes()
        width = cells.shape[1] * 8
        edges = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(self)))]) * width
        return [data[edges[i] : edges[i + 1]] for i in range(len(self))]

    @classmethod
    def unpacked(cls, rows: pd.DataFrame, hist: list[bytes], steps: list[bytes]) -> ContainerDays:
        """The container-days of `rows` (DAY_COLUMNS) with the bytes `pack` made of each row's entries."""
        hist_row, hist_cells = _unpack(hist, 2)
        step_row, step_cells = _unpack(steps, 5)
        return cls(
            rows.reset_index(drop=True),
            hist_row, hist_cells[:, 0].astype(np.int64), hist_cells[:, 1],
            step_row, *(step_cells[:, i] for i in range(5)),
        )  # fmt: skip


def _unpack(blobs: list[bytes], width: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // (8 * width)
    cells = np.frombuffer(b"".join(blobs), dtype="<f8").reshape(-1, width)
    return np.repeat(np.arange(len(blobs), dtype=np.int64), sizes), cells


def container_days(hours: pd.DataFrame, start: datetime, end: datetime, *, offset: int = 0) -> ContainerDays:
    """The container-days (ContainerDays) of the hours of [start, end) (HOUR_COLUMNS), init containers left
    out; `offset`: the seconds after midnight UTC at which the windows' days begin (the `period`)."""
    frame = _prepare(hours, _utc(start), _utc(end))
    if frame.empty:
        return ContainerDays.empty()
    if len(frame) <= _CHUNK_ROWS:
        return _container_days(frame, offset)
    # Day by day (a row never spans two UTC days): the steps of millions of hours at once would take GBs.
    day = frame["hour"].to_numpy() // 86400
    order = np.argsort(day, kind="stable")
    edges = np.flatnonzero(np.diff(day[order])) + 1
    return ContainerDays.concat(
        [_container_days(frame.iloc[part].reset_index(drop=True), offset) for part in np.split(order, edges)]
    )


_CHUNK_ROWS = 300_000


def _container_days(frame: pd.DataFrame, offset: int) -> ContainerDays:
    group, keys = _groups(frame)
    hour = frame["hour"].to_numpy()
    day = hour // 86400
    period = (hour - offset) // 86400
    # A row per (container, day, period): a UTC day is split where a window's day begins.
    row, first = _codes(group * 2 * (int(day.max() - day.min()) + 2) + (day - day.min()) * 2 + (day - period))
    n = len(first)
    cpu = _Long(frame, "cpu_histogram", histograms.CPU)
    metric = cpu.row_seconds > 0
    t = frame["seconds"].to_numpy() / SECONDS_PER_HOUR
    cpu_price = np.nan_to_num(frame["cpu_price"].to_numpy())
    mem_price = np.nan_to_num(frame["mem_price"].to_numpy())

    out = keys.iloc[group[first]].reset_index(drop=True)
    out["day"] = day[first]
    out["period"] = period[first]
    everywhere = np.ones(len(frame), dtype=bool)
    out["cpu_peak_cores"] = _group_max(frame["cpu_usage_max_cores"].to_numpy(), row, n, metric)
    out["mem_peak_bytes"] = _group_max(frame["mem_usage_max_bytes"].to_numpy(), row, n, metric)
    out["mem_top_bytes"] = _group_max(frame["mem_usage_max_bytes"].to_numpy(), row, n, everywhere)
    out["mem_limit_bytes"] = _group_max(frame["mem_limit_bytes"].to_numpy(), row, n, everywhere)
    last = _group_max(hour.astype(np.float64), row, n, everywhere)
    out["last_hour"] = last.astype(np.int64)
    in_last = hour == last[row]
    for name, column in (
        ("last_seconds", "seconds"),
        ("last_cpu_request_core_hours", "cpu_request_core_hours"),
        ("last_mem_request_gib_hours", "mem_request_gib_hours"),
        ("last_mem_limit_gib_hours", "mem_limit_gib_hours"),
    ):
        out[name] = np.bincount(row[in_last], weights=frame[column].to_numpy()[in_last], minlength=n)
    out["cpu_cost"] = np.bincount(
        row, weights=frame["cpu_billable_core_hours"].to_numpy() * cpu_price, minlength=n
    )
    out["mem_cost"] = np.bincount(
        row, weights=frame["mem_billable_gib_hours"].to_numpy() * mem_price, minlength=n
    )
    out["mem_price_hours"] = np.bincount(row, weights=t * mem_price, minlength=n)

    hist = _merged(row[cpu.row] * histograms.CPU.count + cpu.bucket, [cpu.seconds])
    steps = _steps(frame, row, cpu, t, cpu_price)
    return ContainerDays(
        out[DAY_COLUMNS],
        hist[0] // histograms.CPU.count, hist[0] % histograms.CPU.count, hist[1][0],
        steps[0], *steps[1:],
    )  # fmt: skip


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A code per value (in order of first appearance) and the position of each code's first value."""
    codes, _ = pd.factorize(values)
    return codes.astype(np.int64), np.unique(codes, return_index=True)[1]


def _merged(keys: np.ndarray, values: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The distinct keys, sorted, with each of `values` summed per key."""
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else keys
    return keys[starts], [np.add.reduceat(v[order], starts) if len(keys) else v[:0] for v in values]


def _steps(frame: pd.DataFrame, row: np.ndarray, cpu: _Long, t: np.ndarray, price: np.ndarray) -> tuple:
    """(row, x, cost_a, cost_b, over_a, over_b) of the container-day rows, merged per (row, x), sorted."""
    usage = frame["cpu_usage_core_hours"].to_numpy()
    peak = frame["cpu_usage_max_cores"].to_numpy()
    no_metrics = np.maximum(t - cpu.row_seconds / SECONDS_PER_HOUR, 0)  # seconds without metrics bill r
    e = cpu.row  # each histogram entry's hour row
    # Cost of an hour with request r: r >= peak: r x hours; else usage + r x hours without metrics + for each
    # bucket whose (clipped) middle m is below r, (r - m) x its hours; times the CPU price.
    m = np.maximum(np.minimum((cpu.start + cpu.end) / 2, peak[e]), cpu.start)
    below = m < peak[e]
    w = np.where(below, price[e] * cpu.seconds / SECONDS_PER_HOUR, 0.0)
    w_m = np.bincount(e, weights=w * m, minlength=len(frame))
    w_sum = np.bincount(e, weights=w, minlength=len(frame))
    # Seconds above r: a bucket wholly above r counts whole, the one holding r its part above r.
    lo, hi, s = cpu.start, np.minimum(cpu.end, peak[e]), cpu.seconds
    wide = hi > lo
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(wide, s / (hi - lo), 0.0)
    inf = np.full(len(frame), -np.inf)
    zero_h, zero_e = np.zeros(len(frame)), np.zeros(len(e))
    parts = [
        # The hour at r = 0, and from its peak on.
        (row, inf, price * usage, price * no_metrics, zero_h, zero_h),
        (row, peak, w_m - price * usage, price * (t - no_metrics) - w_sum, zero_h, zero_h),
        # Each bucket with its middle below the peak, from that middle.
        (row[e[below]], m[below], -(w * m)[below], w[below], zero_e[below], zero_e[below]),
        # Each bucket's seconds at r = 0; from its start they fall linearly to 0 at its (clipped) end.
        (row[e], np.full(len(e), -np.inf), zero_e, zero_e, s, zero_e),
        (row[e], lo, zero_e, zero_e, np.where(wide, slope * hi - s, -s), -slope),
        (row[e[wide]], hi[wide], zero_e[wide], zero_e[wide], -(slope * hi)[wide], slope[wide]),
    ]
    owner = np.concatenate([p[0] for p in parts])
    x = np.concatenate([p[1] for p in parts])
    values = [np.concatenate([p[i] for p in parts]) for i in range(2, 6)]
    # One step per (row, x): sort by row, then x.
    order = np.lexsort((x, owner))
    owner, x = owner[order], x[order]
    values = [v[order] for v in values]
    if len(x):
        new = np.concatenate(([True], (owner[1:] != owner[:-1]) | (x[1:] != x[:-1])))
        starts = np.flatnonzero(new)
        owner, x = owner[starts], x[starts]
        values = [np.add.reduceat(v, starts) for v in values]
        # Steps that add nothing (an unpriced hour's cost, terms that cancel) are not kept.
        live = np.logical_or.reduce([v != 0 for v in values])
        owner, x, values = owner[live], x[live], [v[live] for v in values]
    return (owner, x, *values)


# --- per window ---------------------------------------------------------------------------------------------


def _window(
    days: ContainerDays,
    group: np.ndarray,
    n: int,
    metric: np.ndarray,
    mask: np.ndarray,
    window: tuple[datetime, datetime],
    coverage: pd.DataFrame,
    policy: RightsizingPolicy,
) -> pd.DataFrame:
    """Per group: days with metrics, percentile, peaks, recommendation or the reason there is none."""
    rows = days.rows
    lo, hi = _epoch(window[0]), _epoch(window[1])
    out = pd.DataFrame(index=range(n))
    metric_rows = mask & (metric > 0)
    day = rows["day"].to_numpy(dtype=np.int64)
    pairs = np.unique(group[metric_rows] * 1_000_000 + day[metric_rows])
    out["days"] = np.bincount(pairs // 1_000_000, minlength=n)
    out["cpu_max"] = _group_max(rows["cpu_peak_cores"].to_numpy(dtype=float), group, n, metric_rows)
    out["mem_peak"] = _group_max(rows["mem_peak_bytes"].to_numpy(dtype=float), group, n, metric_rows)
    out["cpu_percentile"] = np.minimum(
        _percentile(days, group, n, mask, policy.cpu_percentile), out["cpu_max"]
    )
    cpu_rec = _round_up(
        np.maximum(out["cpu_percentile"] * policy.cpu_headroom, policy.min_cpu_cores), policy.cpu_step_cores
    )
    mem_rec = _round_up(
        np.maximum(out["mem_peak"] * policy.mem_headroom, policy.min_mem_bytes), policy.mem_step_bytes
    )
    out["cpu_rec"] = np.round(cpu_rec, 6)
    out["mem_rec"] = mem_rec

    seconds = max(hi - lo, 1)
    in_window = (coverage["hour"] >= lo) & (coverage["hour"] < hi)
    sampled = coverage.loc[in_window].groupby("cluster")["sampled_seconds"].sum()
    first_row = pd.Series(np.arange(len(rows))).groupby(group).first().reindex(range(n)).to_numpy()
    cluster_cov = rows["cluster"].to_numpy()[first_row].astype(str)
    share = np.minimum(sampled.reindex(cluster_cov).fillna(0).to_numpy() / seconds, 1.0)

    reasons = np.full(n, None, dtype=object)
    days_seen = out["days"].to_numpy()
    for i in np.flatnonzero((days_seen < max(policy.min_days, 1)) | (share < policy.min_coverage)):
        if days_seen[i] == 0:
            reasons[i] = "no usage metrics in the look-back window"
        elif days_seen[i] < policy.min_days:
            reasons[i] = (
                f"only {days_seen[i]} day(s) of usage in the look-back window (needs {policy.min_days})"
            )
        else:
            reasons[i] = (
                f"collector coverage {share[i]:.0%} in the look-back window (needs {policy.min_coverage:.0%})"
            )
    out["reason"] = reasons
    none = out["reason"].notna().to_numpy()
    out.loc[none, ["cpu_rec", "mem_rec"]] = np.nan
    return out


def _percentile(days: ContainerDays, group: np.ndarray, n: int, mask: np.ndarray, q: float) -> np.ndarray:
    """Per group, the upper edge of the bucket that holds the q-th percentile of the seconds (NaN: none)."""
    keep = mask[days.hist_row]
    cells = (
        pd.DataFrame(
            {"g": group[days.hist_row[keep]], "b": days.hist_bucket[keep], "s": days.hist_seconds[keep]}
        )
        .groupby(["g", "b"], sort=True)["s"]
        .sum()
        .reset_index()
    )
    out = np.full(n, np.nan)
    if cells.empty:
        return out
    cells["cum"] = cells.groupby("g")["s"].cumsum()
    total = cells.groupby("g")["s"].transform("sum")
    # Integer seconds: reach q% of the total, with a tolerance for the float product.
    reached = cells.loc[cells["cum"] >= total * (q / 100) - 1e-9].groupby("g")["b"].first()
    out[reached.index.to_numpy()] = histograms.CPU.end(reached.to_numpy())
    return out


def _group_max(values: np.ndarray, group: np.ndarray, n: int, mask: np.ndarray) -> np.ndarray:
    """Per group, the highest of its `values` where `mask` (NaN values ignored; none: NaN)."""
    keep = mask & ~np.isnan(values)
    out = np.full(n, -np.inf)
    np.maximum.at(out, group[keep], values[keep])
    out[np.isinf(out)] = np.nan
    return out


def _round_up(values, step: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    # A value already on a step (0.29 cores by 5m) stays there despite the float quotient 57.99999...
    return np.ceil(np.round(v / step, 9)) * step


def _current_requests(rows: pd.DataFrame, group: np.ndarray, n: int, mask: np.ndarray) -> pd.DataFrame:
    """Per group: requests and memory limit per replica in the last hour it was seen (a mean of its pods)."""
    out = pd.DataFrame(
        index=range(n), columns=["cpu_request_cores", "mem_request_bytes", "mem_limit_bytes"], dtype=float
    )
    if not mask.any():
        return out
    last_hour = rows["last_hour"].to_numpy(dtype=float)
    latest = _group_max(last_hour, group, n, mask)
    chosen = np.flatnonzero(mask & (last_hour == latest[group]))  # one row: a day per group holds it
    g = group[chosen]
    replica_hours = rows["last_seconds"].to_numpy(dtype=float)[chosen] / SECONDS_PER_HOUR
    values = {
        "cpu_request_cores": (rows["last_cpu_request_core_hours"], 1, 6),
        "mem_request_bytes": (rows["last_mem_request_gib_hours"], GIB, 0),
        "mem_limit_bytes": (rows["last_mem_limit_gib_hours"], GIB, 0),
    }
    for name, (column, unit, places) in values.items():
        out.loc[g, name] = np.round(column.to_numpy(dtype=float)[chosen] / replica_hours * unit, places)
    return out


def _step_sums(
    days: ContainerDays, group: np.ndarray, n: int, mask: np.ndarray, r: np.ndarray, a: str, b: str
) -> np.ndarray:
    """Per group, the sum over the steps of its rows in `mask` with x <= its r of (a + b x r)."""
    g = group[days.step_row]
    r_step = r[g]
    keep = mask[days.step_row] & (days.step_x <= r_step)
    values = getattr(days, a)[keep] + getattr(days, b)[keep] * r_step[keep]
    return np.bincount(g[keep], weights=values, minlength=n)


def _costs(
    days: ContainerDays,
    group: np.ndarray,
    n: int,
    mask: np.ndarray,
    cpu_rec: pd.Series,
    mem_rec: pd.Series,
) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the window's cost today and with the recommended requests, at each hour's unit prices."""
    rows = days.rows
    cost = rows["cpu_cost"].to_numpy(dtype=float) + rows["mem_cost"].to_numpy(dtype=float)
    now = np.bincount(group[mask], weights=cost[mask], minlength=n)
    cpu = _step_sums(days, group, n, mask, np.nan_to_num(cpu_rec.to_numpy(dtype=float)), "cost_a", "cost_b")
    # Memory is never recommended below the window's peak, so each of its hours bills the request whole:
    # r / GiB x the hours weighted by price. (A day whose top is above r, only possible without a
    # recommendation, whose figure is not shown, keeps what it billed.)
    r_mem = np.nan_to_num(mem_rec.to_numpy(dtype=float))[group]
    whole = r_mem >= rows["mem_top_bytes"].to_numpy(dtype=float)
    mem = np.where(
        whole,
        r_mem / GIB * rows["mem_price_hours"].to_numpy(dtype=float),
        rows["mem_cost"].to_numpy(dtype=float),
    )
    recommended = cpu + np.bincount(group[mask], weights=mem[mask], minlength=n)
    # The steps' terms cancel to within float rounding: both to 1e-9 of the currency, so that a request
    # that changes nothing saves exactly nothing.
    return np.round(now, 9), np.round(recommended, 9)


def _over_share(
    days: ContainerDays, group: np.ndarray, n: int, metric: np.ndarray, mask: np.ndarray, request: np.ndarray
) -> np.ndarray:
    """Per group, the share of its seconds with metrics in which CPU usage was above `request` (NaN: none)."""
    total = np.bincount(group[mask], weights=metric[mask], minlength=n)
    over = _step_sums(days, group, n, mask, np.nan_to_num(request), "over_a", "over_b")
    # The steps' terms cancel above a bucket to within float rounding: to the millisecond, in [0, total].
    over = np.clip(np.round(over, 3), 0, total)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, over / total, np.nan)
    return np.where(np.isnan(request), np.nan, share)


def _status(out: pd.DataFrame) -> np.ndarray:
    none = out["reason"].notna().to_numpy()
    more = (out["cpu_recommended_cores"] > out["cpu_request_cores"]) | (
        out["mem_recommended_bytes"] > out["mem_request_bytes"]
    )
    less = out["monthly_saving"] > 0
    return np.select(
        [none, more.to_numpy(), less.to_numpy()],
        [NO_RECOMMENDATION, UNDER_REQUESTED, OVER_REQUESTED],
        RIGHT_SIZED,
    )
