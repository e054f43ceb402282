"""How much of a period was collected: the sampled share of the whole period, the days collected, today in
progress, and the cluster-days waiting to be recomputed.

A day with no sample at all is not sampled, whether a ClusterDay row exists for it or not; the part of
today that has not happened yet is "in progress", never missing; the days after today are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Min
from django.utils.translation import gettext, ngettext

from costing.models import ClusterDay
from reports.periods import Period

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Coverage:
    """The collection of one period over the clusters in scope."""

    period: Period
    sampled: float | None  # share of the elapsed seconds sampled, mean over the clusters; None: none elapsed
    collected_days: int  # days of the period with at least one sample in some cluster
    elapsed_days: int  # days of the period up to and including today
    in_progress_hours: int  # hours of today still to come (0 when today is outside the period)
    started: date | None  # first day any cluster in scope was sampled, when that is inside the period
    pending_days: int = 0  # days of the period with a cluster-day waiting to be recomputed
    # cluster name -> the first day it was ever sampled, for the clusters whose collection began inside
    # the period (their days before it count as not sampled)
    started_by_cluster: dict[str, date] = field(default_factory=dict)
    per_cluster: dict[int, float] = field(default_factory=dict)  # cluster id -> its sampled share

    @property
    def complete(self) -> bool:
        """Every day of the period is over and was collected."""
        return self.collected_days == self.period.days and self.in_progress_hours == 0

    @property
    def pending_note(self) -> str:
        return pending_note(self.pending_days)

    @property
    def note(self) -> str:
        """ "October 2026: 2 of 31 days collected" (of the period's whole length, not its elapsed part)."""
        return gettext("%(period)s: %(collected)d of %(days)d days collected") % {
            "period": self.period.label,
            "collected": self.collected_days,
            "days": self.period.days,
        }


def share_so_far(day: date, share: float, now: datetime) -> float:
    """A cluster-day's sampled share of the part of it that has passed: of today, only the hours so far."""
    if day != now.date():
        return share
    elapsed = (now - datetime.combine(day, time(), tzinfo=now.tzinfo or UTC)).total_seconds()
    return min(1.0, share * DAY_SECONDS / elapsed) if elapsed > 0 else 1.0


def moment(day: date, now: datetime) -> datetime:
    """The clock to count `day` by: `now` on that day; a day pinned elsewhere (a test, a report built
    for a past "today") counts as over."""
    return now if now.date() == day else datetime.combine(day, time.max, UTC)


def coverages(periods: list[Period], cluster_ids: list[int], now: datetime) -> list[Coverage]:
    """The Coverage of each period as of `now` over the clusters `cluster_ids`, in one query (two when
    some elapsed day of a cluster was not sampled: then each cluster's first sampled day is looked up)."""
    start = min(p.start for p in periods)
    end = max(p.end for p in periods)
    rows = list(
        ClusterDay.objects.filter(cluster_id__in=cluster_ids, day__gte=start, day__lt=end).values_list(
            "cluster_id", "day", "coverage", "dirty"
        )
    )
    out = [_coverage(p, cluster_ids, rows, now) for p in periods]
    if any(c.collected_days < c.elapsed_days or min(c.per_cluster.values(), default=1) < 1 for c in out):
        firsts = dict(
            ClusterDay.objects.filter(cluster_id__in=cluster_ids, coverage__gt=0)
            .values("cluster__name")
            .annotate(first=Min("day"))
            .values_list("cluster__name", "first")
        )
        out = [_with_start(c, firsts) for c in out]
    return out


def _with_start(c: Coverage, firsts: dict[str, date]) -> Coverage:
    first = min(firsts.values(), default=None)
    return replace(
        c,
        started=first if first is not None and first > c.period.start else None,
        started_by_cluster={
            name: day for name, day in sorted(firsts.items()) if c.period.start < day < c.period.end
        },
    )


def _coverage(period: Period, cluster_ids: list[int], rows, now: datetime) -> Coverage:
    today = now.date()
    until = min(period.end, today + timedelta(days=1))
    elapsed_days = max(0, (until - period.start).days)
    today_in = period.start <= today < period.end
    today_seconds = (now - datetime.combine(today, time(), tzinfo=now.tzinfo or UTC)).total_seconds()
    full_days = elapsed_days - (1 if today_in else 0)
    elapsed_seconds = full_days * DAY_SECONDS + (today_seconds if today_in else 0)
    seconds: dict[int, float] = dict.fromkeys(cluster_ids, 0.0)
    collected, pending = set(), set()
    for cluster_id, day, share, dirty in rows:
        if not period.start <= day < period.end:
            continue
        if dirty:
            pending.add(day)
        if share <= 0 or day >= until:
            continue
        # A day's share is of its 24 hours; of today only the elapsed part can have been sampled.
        seconds[cluster_id] += (
            share_so_far(day, share, now) * today_seconds if day == today else share * DAY_SECONDS
        )
        collected.add(day)
    per_cluster = {c: (s / elapsed_seconds if elapsed_seconds else 0.0) for c, s in seconds.items()}
    return Coverage(
        period=period,
        sampled=(sum(per_cluster.values()) / len(per_cluster)) if per_cluster and elapsed_seconds else None,
        collected_days=len(collected),
        elapsed_days=elapsed_days,
        in_progress_hours=int((DAY_SECONDS - today_seconds) // 3600) if today_in else 0,
        started=None,
        pending_days=len(pending),
        per_cluster=per_cluster,
    )


def pending_note(days: int) -> str:
    """What a page or an export of a period says while some of its days wait to be recomputed."""
    return ngettext(
        "%(days)d day is being recomputed after a change (policy, bill or late samples); figures may change",
        "%(days)d days are being recomputed after a change (policy, bill or late samples); figures may change",
        days,
    ) % {"days": days}


def comparable(current: Coverage, previous: Coverage) -> bool:
    """Whether a percentage change from `previous` to `current` compares like with like: every day of the
    compared span (reports.periods.compared_period) is over and was collected, so it is not less covered
    than the current period, and the current period is more than the running day's first hours."""
    return (
        previous.complete and previous.collected_days >= current.collected_days and not _only_today(current)
    )


def comparison_note(current: Coverage, previous: Coverage) -> str:
    """Why a change from `previous` has no percentage (empty when it compares like for like)."""
    if comparable(current, previous):
        return ""
    if _only_today(current):
        return gettext(
            "%(period)s is in progress (%(hours)s h to come), against the whole of %(previous)s"
        ) % {
            "period": current.period.label,
            "hours": current.in_progress_hours,
            "previous": previous.period.label,
        }
    note = previous.note
    if current.collected_days != previous.collected_days:
        note += gettext(", against %(collected)d in %(period)s") % {
            "collected": current.collected_days,
            "period": current.period.label,
        }
    return note


def _only_today(current: Coverage) -> bool:
    """The period's only elapsed day is today, still running: its hours so far against a whole day."""
    return current.elapsed_days == 1 and current.in_progress_hours > 0
