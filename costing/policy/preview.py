"""What a policy change would do, before it is saved: the department totals of the days it governs,
as stored now and as the engine computes them under the changed policy. Nothing is stored.

The "after" figures are the days recomputed (costing.compute.recompute_day) inside a savepoint that is
rolled back, then read with the query the `costs` command uses: they are exactly what `costs --by
department` shows once the change is saved and its days recomputed (with the inputs of today).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from costing.models import ClusterDay, Policy
from costing.policy.history import policy_text, yaml_diff
from costing.policy.spec import PolicySpec
from costing.policy.store import policy_for_day, save_spec

# Each day previewed is computed in the request; a change that governs more days previews the latest ones.
PREVIEW_MAX_DAYS = 62

EDIT = "edit"
NEW = "new"


@dataclass(frozen=True)
class DepartmentChange:
    """One department (or pool line) over the previewed days: its total before and after, to the cent."""

    department: str
    row: str  # "department", "line" (Shared, Idle, Overhead shown on their own) or "total"
    before: Decimal
    after: Decimal

    @property
    def change(self) -> Decimal:
        return self.after - self.before


@dataclass
class Preview:
    """A policy change and its effect on the days it governs."""

    mode: str  # EDIT: the stored policy `replaces` is changed; NEW: a policy is added from effective_from
    effective_from: date
    replaces: date | None  # the date of the policy edited (EDIT), or of the one in force before (NEW)
    first_day: date | None  # the days previewed: [first_day, last_day], every computed day among them
    last_day: date | None
    affected_days: int  # computed days the change governs
    previewed_days: int
    diff: str  # of the policy file: the edited policy (or the one in force) before, as stored after
    rows: list[DepartmentChange] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return self.previewed_days < self.affected_days

    @property
    def totals(self) -> DepartmentChange | None:
        return next((r for r in self.rows if r.row == "total"), None)


def affected_range(effective_from: date, policy: Policy | None) -> tuple[date, date | None]:
    """[first, end) of the days a change governs: a changed policy's days (old and new dates), or a new
    policy's days until the next policy; end None: open."""
    old = policy.effective_from if policy is not None else effective_from
    others = Policy.objects.exclude(pk=policy.pk) if policy is not None else Policy.objects.all()
    end = (
        others.filter(effective_from__gt=max(old, effective_from))
        .order_by("effective_from")
        .values_list("effective_from", flat=True)
        .first()
    )
    return min(old, effective_from), end


def _department_totals(first: date, last: date) -> dict[tuple[str, str], Decimal]:
    from reports.queries.costs import cost_rows

    rows = cost_rows(first, last + timedelta(days=1), "department")
    return {(r["row"], r["department"]): r["total"] for r in rows}


def preview_change(
    spec: PolicySpec, *, policy: Policy | None = None, max_days: int = PREVIEW_MAX_DAYS
) -> Preview:
    """Preview storing `spec`: as an edit of `policy` (mode EDIT), or as a new policy from
    spec.effective_from (mode NEW; an existing policy of that date makes it an EDIT of that one).

    Raises InvalidPolicy like save_spec. Takes the locks a recompute takes, for as long as it runs.
    """
    from costing.compute import recompute_day

    if policy is None:
        policy = Policy.objects.filter(effective_from=spec.effective_from).first()
    mode = EDIT if policy is not None else NEW
    first, end = affected_range(spec.effective_from, policy)
    days_qs = ClusterDay.objects.filter(day__gte=first)
    if end is not None:
        days_qs = days_qs.filter(day__lt=end)
    days = sorted(set(days_qs.values_list("day", flat=True)))
    previewed = days[-max_days:] if max_days else []
    before_policy = policy if policy is not None else policy_for_day(spec.effective_from)
    preview = Preview(
        mode=mode,
        effective_from=spec.effective_from,
        replaces=before_policy.effective_from if before_policy is not None else None,
        first_day=previewed[0] if previewed else None,
        last_day=previewed[-1] if previewed else None,
        affected_days=len(days),
        previewed_days=len(previewed),
        diff="",
    )
    with transaction.atomic():
        before_text = policy_text(before_policy)
        saved = save_spec(
            spec, policy=policy
        )  # validates first: raises InvalidPolicy before anything is read
        # The file as it will be stored (the columns' decimals, as the history will record it).
        preview.diff = yaml_diff(before_text, policy_text(saved))
        if previewed:
            before = _department_totals(previewed[0], previewed[-1])
            for day in previewed:
                recompute_day(day)
            after = _department_totals(previewed[0], previewed[-1])
            keys = sorted(
                set(before) | set(after), key=lambda k: ({"department": 0, "line": 1}.get(k[0], 2), k[1])
            )
            zero = Decimal("0.00")
            preview.rows = [
                DepartmentChange(k[1], k[0], before.get(k, zero), after.get(k, zero)) for k in keys
            ]
        transaction.set_rollback(True)
    return preview
