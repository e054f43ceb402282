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
    """
    policy = policy or RightsizingPolicy()
    if not namespace_policies:
        return _recommend(hours, coverage, start, end, policy)
    require_columns(hours, HOUR_COLUMNS, name="container hours")
    policies = list(dict.fromkeys([policy, *namespace_policies.values()]))
    code = {p: i for i, p in enumerate(policies)}
    chosen = (
        hours["namespace"].astype(str).map(lambda ns: code[namespace_policies.get(ns, policy)]).to_numpy(int)
    )
    parts = [
        _recommend(hours.loc[chosen == i], coverage, start, end, each)
        for i, each in enumerate(policies)
        if i == 0 or (chosen == i).any()
    ]
    return _ranked(pd.concat([p for p in parts if not p.empty] or parts[:1], ignore_index=True))


def _ranked(out: pd.DataFrame) -> pd.DataFrame:
    out = out.sort_values(
        ["monthly_saving", *KEY_COLUMNS], ascending=[False, *[True] * len(KEY_COLUMNS)], na_position="last"
    )
    return out[RESULT_COLUMNS].reset_index(drop=True)


def _recommend(
    hours: pd.DataFrame, coverage: pd.DataFrame, start: datetime, end: datetime, policy: RightsizingPolicy
) -> pd.DataFrame:
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise EngineInputError(f"recommend: end {end.isoformat()} is not after start {start.isoformat()}")
    test_start = end - timedelta(days=policy.backtest_days)
    windows = {
        "now": (max(start, end - timedelta(days=policy.lookback_days)), end),
        "train": (max(start, test_start - timedelta(days=policy.lookback_days)), test_start),
        "test": (test_start, end),
    }
    frame = _prepare(hours, min(w[0] for w in windows.values()), end)
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RESULT_COLUMNS})
    group, keys = _groups(frame)
    n = len(keys)
    cpu = _Long(frame, "cpu_histogram", histograms.CPU)
    cov = _coverage_frame(coverage)
    at = {
        name: (frame["hour"].to_numpy() >= _epoch(a)) & (frame["hour"].to_numpy() < _epoch(b))
        for name, (a, b) in windows.items()
    }

    now = _window(frame, group, n, cpu, at["now"], windows["now"], cov, policy)
    train = _window(frame, group, n, cpu, at["train"], windows["train"], cov, policy)
    out = keys.copy()
    out["days"] = now["days"]
    current = _current_requests(frame, group, n, at["now"])
    out = out.join(current)
    out["cpu_percentile_cores"] = now["cpu_percentile"]
    out["cpu_usage_max_cores"] = now["cpu_max"]
    out["cpu_recommended_cores"] = now["cpu_rec"]
    out["mem_peak_bytes"] = now["mem_peak"]
    out["mem_recommended_bytes"] = now["mem_rec"]
    out["reason"] = now["reason"]

    cost_now, cost_rec = _costs(frame, group, n, cpu, at["now"], now["cpu_rec"], now["mem_rec"])
    window_hours = (windows["now"][1] - windows["now"][0]).total_seconds() / SECONDS_PER_HOUR
    scale = HOURS_PER_MONTH / window_hours
    has_rec = now["reason"].isna().to_numpy()
    out["monthly_cost_now"] = cost_now * scale
    out["monthly_cost_recommended"] = np.where(has_rec, cost_rec * scale, np.nan)
    out["monthly_saving"] = out["monthly_cost_now"] - out["monthly_cost_recommended"]
    out["cpu_over_request_share"] = _over_share(
        frame, group, n, cpu, at["now"], out["cpu_request_cores"].to_numpy()
    )

    test_share = _over_share(frame, group, n, cpu, at["test"], train["cpu_rec"].to_numpy())
    test_peak = _group_max(frame["mem_usage_max_bytes"].to_numpy(), group, n, at["test"])
    test_limit = _group_max(frame["mem_limit_bytes"].to_numpy(), group, n, at["test"])
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
        self.buckets = buckets
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


# --- per window ---------------------------------------------------------------------------------------------


def _window(
    frame: pd.DataFrame,
    group: np.ndarray,
    n: int,
    cpu: _Long,
    mask: np.ndarray,
    window: tuple[datetime, datetime],
    coverage: pd.DataFrame,
    policy: RightsizingPolicy,
) -> pd.DataFrame:
    """Per group: days with metrics, percentile, peaks, recommendation or the reason there is none."""
    lo, hi = _epoch(window[0]), _epoch(window[1])
    out = pd.DataFrame(index=range(n))
    metric_rows = mask & (cpu.row_seconds > 0)
    day = frame["hour"].to_numpy() // 86400
    pairs = np.unique(group[metric_rows] * 1_000_000 + day[metric_rows])
    out["days"] = np.bincount(pairs // 1_000_000, minlength=n)
    out["cpu_max"] = _group_max(frame["cpu_usage_max_cores"].to_numpy(), group, n, metric_rows)
    out["mem_peak"] = _group_max(frame["mem_usage_max_bytes"].to_numpy(), group, n, metric_rows)
    out["cpu_percentile"] = np.minimum(
        _percentile(cpu, group, n, mask, policy.cpu_percentile), out["cpu_max"]
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
    first_row = pd.Series(np.arange(len(frame))).groupby(group).first().reindex(range(n)).to_numpy()
    cluster_cov = frame["cluster"].to_numpy()[first_row].astype(str)
    share = np.minimum(sampled.reindex(cluster_cov).fillna(0).to_numpy() / seconds, 1.0)

    reasons = np.full(n, None, dtype=object)
    days = out["days"].to_numpy()
    for i in np.flatnonzero((days < max(policy.min_days, 1)) | (share < policy.min_coverage)):
        if days[i] == 0:
            reasons[i] = "no usage metrics in the look-back window"
        elif days[i] < policy.min_days:
            reasons[i] = f"only {days[i]} day(s) of usage in the look-back window (needs {policy.min_days})"
        else:
            reasons[i] = (
                f"collector coverage {share[i]:.0%} in the look-back window (needs {policy.min_coverage:.0%})"
            )
    out["reason"] = reasons
    none = out["reason"].notna().to_numpy()
    out.loc[none, ["cpu_rec", "mem_rec"]] = np.nan
    return out


def _percentile(cpu: _Long, group: np.ndarray, n: int, mask: np.ndarray, q: float) -> np.ndarray:
    """Per group, the upper edge of the bucket that holds the q-th percentile of the seconds (NaN: none)."""
    keep = mask[cpu.row]
    cells = (
        pd.DataFrame({"g": group[cpu.row[keep]], "b": cpu.bucket[keep], "s": cpu.seconds[keep]})
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
    out[reached.index.to_numpy()] = cpu.buckets.end(reached.to_numpy())
    return out


def _group_max(values: np.ndarray, group: np.ndarray, n: int, mask: np.ndarray) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, group[mask], values[mask])
    out[np.isinf(out)] = np.nan
    return out


def _round_up(values, step: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    # A value already on a step (0.29 cores by 5m) stays there despite the float quotient 57.99999...
    return np.ceil(np.round(v / step, 9)) * step


def _current_requests(frame: pd.DataFrame, group: np.ndarray, n: int, mask: np.ndarray) -> pd.DataFrame:
    """Per group: requests and memory limit per replica in the last hour it was seen (a mean of its pods)."""
    rows = frame.loc[mask].assign(g=group[mask])
    out = pd.DataFrame(
        index=range(n), columns=["cpu_request_cores", "mem_request_bytes", "mem_limit_bytes"], dtype=float
    )
    if rows.empty:
        return out
    last = rows["hour"] == rows.groupby("g")["hour"].transform("max")
    sums = (
        rows.loc[last]
        .groupby("g")[["seconds", "cpu_request_core_hours", "mem_request_gib_hours", "mem_limit_gib_hours"]]
        .sum()
    )
    replica_hours = sums["seconds"] / SECONDS_PER_HOUR
    out.loc[sums.index, "cpu_request_cores"] = (sums["cpu_request_core_hours"] / replica_hours).round(6)
    out.loc[sums.index, "mem_request_bytes"] = (sums["mem_request_gib_hours"] / replica_hours * GIB).round(0)
    out.loc[sums.index, "mem_limit_bytes"] = (sums["mem_limit_gib_hours"] / replica_hours * GIB).round(0)
    return out


def _billable_with(
    frame: pd.DataFrame, long: _Long, request_per_row: np.ndarray, usage_hours: np.ndarray, max_column: str
) -> np.ndarray:
    """Resource-hours each row would bill with `request_per_row`: max(usage, request) per second."""
    t = frame["seconds"].to_numpy() / SECONDS_PER_HOUR
    peak = frame[max_column].to_numpy()
    r = request_per_row
    # Seconds without metrics are billed the request, as the recorder does.
    no_metrics = np.maximum(t - long.row_seconds / SECONDS_PER_HOUR, 0)
    middle = np.minimum((long.start + long.end) / 2, peak[long.row])
    below = np.maximum(r[long.row] - np.maximum(middle, long.start), 0) * long.seconds / SECONDS_PER_HOUR
    topped = np.bincount(long.row, weights=below, minlength=len(frame))
    return np.where(r >= peak, r * t, usage_hours + topped + r * no_metrics)


def _costs(
    frame: pd.DataFrame,
    group: np.ndarray,
    n: int,
    cpu: _Long,
    mask: np.ndarray,
    cpu_rec: pd.Series,
    mem_rec: pd.Series,
) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the window's cost today and with the recommended requests, at each row's unit prices."""
    cpu_price = np.nan_to_num(frame["cpu_price"].to_numpy())
    mem_price = np.nan_to_num(frame["mem_price"].to_numpy())
    now = (
        frame["cpu_billable_core_hours"].to_numpy() * cpu_price
        + frame["mem_billable_gib_hours"].to_numpy() * mem_price
    )
    r_cpu = np.nan_to_num(cpu_rec.to_numpy()[group])
    r_mem = np.nan_to_num(mem_rec.to_numpy()[group])
    cpu_hours = _billable_with(
        frame, cpu, r_cpu, frame["cpu_usage_core_hours"].to_numpy(), "cpu_usage_max_cores"
    )
    # Memory is never recommended below the window's peak, so each of its hours bills the request whole:
    # the memory histogram is not needed (it is kept for the usage charts).
    t = frame["seconds"].to_numpy() / SECONDS_PER_HOUR
    mem_peak = frame["mem_usage_max_bytes"].to_numpy()
    mem_gib_hours = np.where(r_mem >= mem_peak, r_mem / GIB * t, frame["mem_billable_gib_hours"].to_numpy())
    recommended = cpu_hours * cpu_price + mem_gib_hours * mem_price
    return (
        np.bincount(group[mask], weights=now[mask], minlength=n),
        np.bincount(group[mask], weights=recommended[mask], minlength=n),
    )


def _over_share(
    frame: pd.DataFrame, group: np.ndarray, n: int, cpu: _Long, mask: np.ndarray, request: np.ndarray
) -> np.ndarray:
    """Per group, the share of its seconds with metrics in which CPU usage was above `request` (NaN: none)."""
    keep = mask[cpu.row]
    row = cpu.row[keep]
    r = request[group[row]]
    lo = cpu.start[keep]
    hi = np.minimum(cpu.end[keep], frame["cpu_usage_max_cores"].to_numpy()[row])
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(hi > lo, (hi - r) / (hi - lo), (lo > r).astype(float))
    above = np.clip(np.nan_to_num(part), 0, 1) * cpu.seconds[keep]
    total = np.bincount(group[row], weights=cpu.seconds[keep], minlength=n)
    over = np.bincount(group[row], weights=np.where(np.isnan(r), 0, above), minlength=n)
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
