"""CronHPA suggestions: for Deployments and StatefulSets with a daily cycle, the minimum replicas per time
window (weekdays and weekends apart) that keep the observed P95 usage per replica under its request."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from costing.engine.levers.frames import WORKLOAD_KEY, monthly

__all__ = ["PROFILE_COLUMNS", "RESULT_COLUMNS", "CronHPAPolicy", "suggest"]

KINDS = ("Deployment", "StatefulSet")
WEEKDAYS, WEEKENDS = "weekdays", "weekends"
CRON_DAYS = {WEEKDAYS: "1-5", WEEKENDS: "0,6"}
EPS = 1e-9
PROFILE_COLUMNS = [
    *WORKLOAD_KEY,
    "day_type",
    "hour_of_day",
    "days",
    "replicas",
    "cpu_p95",
    "mem_p95",
    "needed",
]
RESULT_COLUMNS = [
    *WORKLOAD_KEY, "cpu_request_cores", "mem_request_gib", "replicas_mean", "replicas_suggested_mean",
    "monthly_cost", "monthly_saving", "schedule", "schedule_text", "cycle", "reason",
]  # fmt: skip


@dataclass(frozen=True)
class CronHPAPolicy:
    """When a workload has a daily cycle, and how its minimum replicas are chosen (docs/optimise.md)."""

    quantile: float = 0.95  # of the workload's usage at an hour of day, over the days of its day type
    min_days: int = 3  # days of a day type needed to see its cycle
    min_amplitude: float = 0.3  # (highest - lowest hourly mean usage) / highest
    min_fit: float = 0.6  # share of the hourly usage's variance that the hour of day explains
    min_replicas: int = 1

    def __post_init__(self):
        if not (0 < self.quantile <= 1 and self.min_days >= 1 and self.min_replicas >= 1):
            raise ValueError("CronHPA policy: quantile in (0, 1], min_days and min_replicas at least 1")


def _hours(pods: pd.DataFrame) -> pd.DataFrame:
    rows = pods.loc[pods["workload_kind"].isin(KINDS)]
    out = rows.groupby([*WORKLOAD_KEY, "hour"], sort=False)[
        ["present", "cpu_usage", "mem_usage", "cpu_request", "mem_request", "cost"]
    ].sum()
    out = out.reset_index().rename(columns={"present": "replicas"})
    out["day"] = out["hour"].dt.normalize()
    out["hour_of_day"] = out["hour"].dt.hour
    out["day_type"] = np.where(out["hour"].dt.day_of_week >= 5, WEEKENDS, WEEKDAYS)
    return out


def _requests(hours: pd.DataFrame) -> pd.DataFrame:
    sums = hours.groupby(WORKLOAD_KEY, sort=False)[["replicas", "cpu_request", "mem_request", "cost"]].sum()
    sums["cpu_request_cores"] = sums["cpu_request"] / sums["replicas"]
    sums["mem_request_gib"] = sums["mem_request"] / sums["replicas"]
    return sums[["cpu_request_cores", "mem_request_gib"]].reset_index()


def _profile(hours: pd.DataFrame, requests: pd.DataFrame, policy: CronHPAPolicy) -> pd.DataFrame:
    keys = [*WORKLOAD_KEY, "day_type", "hour_of_day"]
    group = hours.groupby(keys, sort=True)
    out = group.agg(days=("day", "nunique"), replicas=("replicas", "mean"), cpu_mean=("cpu_usage", "mean"))
    used = group[["cpu_usage", "mem_usage"]].quantile(policy.quantile)
    out["cpu_p95"], out["mem_p95"] = used["cpu_usage"], used["mem_usage"]
    out = out.reset_index().merge(requests, on=WORKLOAD_KEY, how="left")
    by_cpu = np.where(
        out["cpu_request_cores"] > EPS, np.ceil(out["cpu_p95"] / out["cpu_request_cores"] - 1e-6), 0
    )
    by_mem = np.where(
        out["mem_request_gib"] > EPS, np.ceil(out["mem_p95"] / out["mem_request_gib"] - 1e-6), 0
    )
    out["needed"] = np.maximum(np.maximum(by_cpu, by_mem), policy.min_replicas).astype(int)
    return out


def _cycles(hours: pd.DataFrame, profile: pd.DataFrame, policy: CronHPAPolicy) -> pd.DataFrame:
    """Per workload and day type: days seen, amplitude of the hourly mean CPU usage, and the share of the
    hourly usage's variance the hour of day explains (1 - residual / total sum of squares)."""
    keys = [*WORKLOAD_KEY, "day_type"]
    means = profile[[*keys, "hour_of_day", "cpu_mean"]]
    rows = hours.merge(means, on=[*keys, "hour_of_day"], how="left")
    rows["overall"] = rows.groupby(keys, sort=False)["cpu_usage"].transform("mean")
    rows["total"] = (rows["cpu_usage"] - rows["overall"]) ** 2
    rows["residual"] = (rows["cpu_usage"] - rows["cpu_mean"]) ** 2
    out = rows.groupby(keys, sort=True).agg(
        days=("day", "nunique"), total=("total", "sum"), residual=("residual", "sum")
    )
    shape = profile.groupby(keys, sort=True)["cpu_mean"].agg(["max", "min"])
    out["amplitude"] = ((shape["max"] - shape["min"]) / shape["max"].where(shape["max"] > EPS)).fillna(0.0)
    out["fit"] = (1 - out["residual"] / out["total"].where(out["total"] > EPS)).fillna(0.0)
    out["reason"] = [
        _cycle_reason(days, amplitude, fit, policy)
        for days, amplitude, fit in zip(out["days"], out["amplitude"], out["fit"], strict=True)
    ]
    return out.reset_index()


def _cycle_reason(days: int, amplitude: float, fit: float, policy: CronHPAPolicy) -> str:
    if days < policy.min_days:
        return f"{days} day(s) of data, {policy.min_days} needed"
    if amplitude < policy.min_amplitude:
        return f"usage varies by {amplitude:.0%} over the day, less than {policy.min_amplitude:.0%}"
    if fit < policy.min_fit:
        return f"the daily pattern does not repeat: the hour of day explains {fit:.0%} of the usage, {policy.min_fit:.0%} needed"
    return ""


def _windows(profile: pd.DataFrame) -> list[dict]:
    """Consecutive hours of a day type with the same minimum, as CronHPA rules (one cron line each)."""
    rules = []
    for day_type, rows in profile.groupby("day_type", sort=False):
        rows = rows.sort_values("hour_of_day")
        start, current = None, None
        for hour, needed in zip(rows["hour_of_day"], rows["needed"], strict=True):
            if needed != current:
                if current is not None:
                    rules.append(_rule(day_type, start, int(hour), current))
                start, current = int(hour), int(needed)
        rules.append(_rule(day_type, start, 24, current))
    return rules


def _rule(day_type: str, start: int, end: int, replicas: int) -> dict:
    return {
        "days": day_type,
        "from": f"{start:02d}:00",
        "to": f"{end:02d}:00",
        "min_replicas": int(replicas),
        "schedule": f"0 {start} * * {CRON_DAYS[day_type]}",
    }


def _text(rules: list[dict]) -> str:
    parts: dict[str, list[str]] = {}
    for rule in rules:
        parts.setdefault(rule["days"], []).append(f"{rule['from']}-{rule['to']} min {rule['min_replicas']}")
    return "; ".join(f"{days}: {', '.join(items)}" for days, items in parts.items())


def suggest(
    pods: pd.DataFrame, window_hours: float, policy: CronHPAPolicy | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per Deployment/StatefulSet, its profile by day type and hour of day) from prepared pods.

    A day type (weekdays, weekends) has a stable cycle when it has `min_days` days, its hourly mean usage
    varies by `min_amplitude` and the hour of day explains `min_fit` of its variance. There, the minimum at
    an hour of day is the fewest replicas that keep the P95 usage (CPU and memory) per replica under the
    request; the saving is what the replicas above it cost, hour by hour, less what raising replicas to it
    would cost. A workload without a cycle on any day type, or whose schedule saves nothing, has a reason.
    """
    policy = policy or CronHPAPolicy()
    hours = _hours(pods)
    if hours.empty:
        empty = {c: pd.Series(dtype=object) for c in RESULT_COLUMNS}
        return pd.DataFrame(empty), pd.DataFrame({c: pd.Series(dtype=object) for c in PROFILE_COLUMNS})
    requests = _requests(hours)
    profile = _profile(hours, requests, policy)
    cycles = _cycles(hours, profile, policy)
    stable = cycles.loc[cycles["reason"] == "", [*WORKLOAD_KEY, "day_type"]]
    keys = [*WORKLOAD_KEY, "day_type", "hour_of_day"]
    rows = hours.merge(profile[[*keys, "needed"]], on=keys, how="left")
    rows = rows.merge(stable.assign(cycle=True), on=[*WORKLOAD_KEY, "day_type"], how="left")
    rows["cycle"] = rows["cycle"].fillna(False).astype(bool)
    per_replica = rows["cost"] / rows["replicas"].where(rows["replicas"] > EPS)
    suggested = np.where(rows["cycle"], rows["needed"], rows["replicas"])
    rows["saving"] = ((rows["replicas"] - suggested) * per_replica.fillna(0.0)).to_numpy()
    rows["suggested"] = suggested
    sums = rows.groupby(WORKLOAD_KEY, sort=True).agg(
        replicas_mean=("replicas", "mean"),
        replicas_suggested_mean=("suggested", "mean"),
        cost=("cost", "sum"),
        saving=("saving", "sum"),
        cycle=("cycle", "max"),
    )
    out = sums.reset_index().merge(requests, on=WORKLOAD_KEY, how="left")
    out["monthly_cost"] = monthly(out["cost"], window_hours)
    out["monthly_saving"] = monthly(out["saving"], window_hours)
    reasons = cycles.groupby(WORKLOAD_KEY, sort=True).apply(
        lambda g: "; ".join(f"{t}: {r}" for t, r in zip(g["day_type"], g["reason"], strict=True) if r),
        include_groups=False,
    )
    out = out.merge(reasons.rename("why").reset_index(), on=WORKLOAD_KEY, how="left")
    schedules = _schedules(profile, stable)
    out = out.merge(schedules, on=WORKLOAD_KEY, how="left")
    no_saving = out["cycle"] & (out["monthly_saving"] <= 0.005)
    out["reason"] = np.where(
        ~out["cycle"],
        "no stable daily cycle (" + out["why"].fillna("") + ")",
        np.where(no_saving, "a daily cycle, but its replicas are already at the minimum it needs", ""),
    )
    keep = out["cycle"] & ~no_saving
    out["schedule"] = [s if k else [] for s, k in zip(out["schedule"], keep, strict=True)]
    out["schedule_text"] = [_text(s) for s in out["schedule"]]
    out["monthly_saving"] = np.where(keep, out["monthly_saving"], 0.0)
    return out[RESULT_COLUMNS], profile[PROFILE_COLUMNS]


def _schedules(profile: pd.DataFrame, stable: pd.DataFrame) -> pd.DataFrame:
    chosen = profile.merge(stable, on=[*WORKLOAD_KEY, "day_type"], how="inner")
    if chosen.empty:
        return pd.DataFrame(
            {**{k: pd.Series(dtype=object) for k in WORKLOAD_KEY}, "schedule": pd.Series(dtype=object)}
        )
    rules = chosen.groupby(WORKLOAD_KEY, sort=True).apply(_windows, include_groups=False)
    return rules.rename("schedule").reset_index()
