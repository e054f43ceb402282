"""costing.policy.preview on the hand-computed scenario (tests/costing/scenario.py), checked against `costs`.

Day 2025-03-10 of cluster prod: Payments direct 10.50, Search direct 1.62, shared 3.06, idle 14.14, overhead
3.60. Shared and idle are divided in proportion to direct cost (10.50 : 1.62), so both departments carry
(3.06 + 14.14) / 12.12 of their direct cost on top; what the overhead method changes is the overhead:
  even (stored):  Payments 10.50 * 17.20/12.12 + 10.50 + 1.80 = 27.20   Search 1.62 * ... + 1.62 + 1.80 = 5.72
  weights 75/25:  Payments 25.40099 + 2.70 = 28.10                      Search 3.91901 + 0.90 = 4.82
"""

import io
import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command

from costing.compute import recompute_day
from costing.models import ClusterDay, DepartmentCostDay, Policy
from costing.policy import PoolSpec, dump_policy
from costing.policy.preview import EDIT, NEW, preview_change
from costing.policy.store import InvalidPolicy, save_spec, spec_for_day
from tests.costing import scenario
from tests.costing.scenario import DAY

pytestmark = pytest.mark.django_db

WEIGHTED = replace(
    scenario.POLICY, pools={**scenario.POLICY.pools, "overhead": PoolSpec("weights", "cluster")}
)


@pytest.fixture
def prod():
    objects = scenario.build()
    recompute_day(DAY)
    return objects


def department_costs(first: date, last: date) -> dict[str, Decimal]:
    out = io.StringIO()
    end = (last + timedelta(days=1)).isoformat()
    call_command(
        "costs",
        "--start",
        first.isoformat(),
        "--end",
        end,
        "--by",
        "department",
        "--format",
        "json",
        stdout=out,
    )
    return {row["department"]: Decimal(row["total"]) for row in json.loads(out.getvalue())}


def figures(preview, side: str) -> dict[str, Decimal]:
    return {row.department: getattr(row, side) for row in preview.rows}


def stored_state():
    return (
        list(Policy.objects.values_list("pk", "effective_from", "overhead_method")),
        list(ClusterDay.objects.order_by("cluster_id", "day").values_list("day", "dirty", "dirty_version")),
        sorted(DepartmentCostDay.objects.values_list("name", "total")),
        LogEntry.objects.count(),
    )


def test_editing_the_policy_in_force_previews_the_figures_costs_shows_after_saving(prod):
    before_state = stored_state()
    preview = preview_change(WEIGHTED)

    assert (preview.mode, preview.effective_from, preview.replaces) == (
        EDIT,
        date(2025, 1, 1),
        date(2025, 1, 1),
    )
    assert (preview.first_day, preview.last_day, preview.affected_days, preview.previewed_days) == (
        DAY,
        DAY,
        1,
        1,
    )
    hand = {"Payments": Decimal("27.20"), "Search": Decimal("5.72"), "Total": Decimal("32.92")}
    assert figures(preview, "before") == hand == department_costs(DAY, DAY)
    assert figures(preview, "after") == {
        "Payments": Decimal("28.10"),
        "Search": Decimal("4.82"),
        "Total": Decimal("32.92"),
    }
    assert [row.change for row in preview.rows] == [Decimal("0.90"), Decimal("-0.90"), Decimal("0.00")]
    assert (
        "-  overhead: {method: even, scope: cluster}\n+  overhead: {method: weights, scope: cluster}"
        in preview.diff
    )
    # Nothing stored: no policy change, no mark, no figure, no history entry.
    assert stored_state() == before_state

    save_spec(WEIGHTED)
    recompute_day(DAY)
    assert department_costs(DAY, DAY) == figures(preview, "after")


def test_a_new_dated_policy_previews_only_the_days_from_its_date(prod):
    same_day = preview_change(replace(WEIGHTED, effective_from=DAY))
    assert (same_day.mode, same_day.replaces, same_day.affected_days) == (NEW, date(2025, 1, 1), 1)
    assert figures(same_day, "after")["Payments"] == Decimal("28.10")
    assert "-effective_from: 2025-01-01\n+effective_from: 2025-03-10" in same_day.diff

    later = preview_change(replace(WEIGHTED, effective_from=DAY + timedelta(days=1)))
    assert (later.mode, later.affected_days, later.first_day, later.rows) == (NEW, 0, None, [])
    assert list(Policy.objects.values_list("effective_from", flat=True)) == [date(2025, 1, 1)]


def test_a_policy_of_the_same_date_is_an_edit_and_a_later_policy_bounds_the_days(prod):
    save_spec(replace(scenario.POLICY, effective_from=DAY))  # governs 2025-03-10 from now on
    edit_first = preview_change(WEIGHTED)  # the 2025-01-01 policy no longer governs a computed day
    assert (edit_first.mode, edit_first.affected_days) == (EDIT, 0)
    edit_second = preview_change(replace(WEIGHTED, effective_from=DAY))
    assert (edit_second.mode, edit_second.replaces, edit_second.affected_days) == (EDIT, DAY, 1)


def test_long_changes_preview_the_latest_days(prod):
    recompute_day(DAY + timedelta(days=1))  # the control plane's second day: 2.40 of overhead, no pod
    preview = preview_change(WEIGHTED, max_days=1)
    assert (preview.affected_days, preview.previewed_days, preview.truncated) == (2, 1, True)
    assert preview.first_day == preview.last_day == DAY + timedelta(days=1)
    # No pod that day: with `even` there is no department to share the overhead among, so it stays its own
    # line; with weights 75/25 it is 1.80 and 0.60. A row on one side only is 0.00 on the other.
    stored = department_costs(DAY + timedelta(days=1), DAY + timedelta(days=1))
    assert stored == {"Overhead": Decimal("2.40"), "Total": Decimal("2.40")}
    assert figures(preview, "before") == {**stored, "Payments": Decimal("0.00"), "Search": Decimal("0.00")}
    assert figures(preview, "after") == {
        "Payments": Decimal("1.80"),
        "Search": Decimal("0.60"),
        "Overhead": Decimal("0.00"),
        "Total": Decimal("2.40"),
    }


def test_an_invalid_policy_is_refused_and_nothing_is_stored(prod):
    before_state = stored_state()
    with pytest.raises(InvalidPolicy, match=r"pools\.overhead\.method"):
        preview_change(replace(WEIGHTED, departments=[replace(d, weight=None) for d in WEIGHTED.departments]))
    assert stored_state() == before_state
    assert spec_for_day(DAY) == scenario.POLICY


def test_load_policy_dry_run_prints_the_preview_and_user_names_the_author(prod, tmp_path, django_user_model):
    path = tmp_path / "policy.yaml"
    path.write_text(dump_policy(WEIGHTED), encoding="utf-8")
    before_state = stored_state()
    out = io.StringIO()
    call_command("load_policy", str(path), "--dry-run", stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "It replaces the policy from 2025-01-01." in text
    lines = [line.split() for line in text.splitlines() if line.startswith("  ")]
    assert ["Payments", "27.20", "28.10", "+0.90"] in lines and ["Search", "5.72", "4.82", "-0.90"] in lines
    assert "+  overhead: {method: weights, scope: cluster}" in text
    assert stored_state() == before_state

    carol = django_user_model.objects.create_user("carol")
    call_command("load_policy", str(path), "--user", "carol", stdout=io.StringIO(), stderr=io.StringIO())
    assert LogEntry.objects.order_by("pk").last().actor == carol
    with pytest.raises(CommandError, match="--user: no user named 'nobody'"):
        call_command("load_policy", str(path), "--user", "nobody")
