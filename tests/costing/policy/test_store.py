import io
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from costing.choices import ConnectionType
from costing.models import Cluster, ClusterDay, Department, DepartmentRule, Policy
from costing.policy import DepartmentSpec, PolicySpec, PoolSpec, dump_policy, load_policy
from costing.policy.store import (
    DEFAULT_SPEC,
    InvalidPolicy,
    policy_for_day,
    save_spec,
    spec_for_day,
    spec_from_policy,
)

pytestmark = pytest.mark.django_db
EXAMPLE = Path(__file__).resolve().parents[3] / "costing" / "policy" / "example.yaml"


def spec(day, **kwargs):
    return PolicySpec(effective_from=day, departments=[DepartmentSpec("Ops", namespaces=["ops"])], **kwargs)


def test_example_round_trips_through_the_database():
    original = load_policy(EXAMPLE.read_text())
    policy = save_spec(original)
    assert spec_from_policy(policy) == original
    assert dump_policy(spec_from_policy(Policy.objects.get())) == dump_policy(original)
    # The file's order is kept (pattern ties go to the department listed first).
    assert [r.department.name for r in policy.department_rules.all()] == [
        "Payments",
        "Search",
        "Data Platform",
        "Storefront",
    ]


def test_load_then_dump_commands_round_trip(tmp_path):
    out = io.StringIO()
    call_command("load_policy", str(EXAMPLE), stdout=out, stderr=io.StringIO())
    assert "policy from 2025-01-01 stored (4 departments)" in out.getvalue()
    dumped = io.StringIO()
    call_command("dump_policy", "--date", "2025-06-01", stdout=dumped)
    assert load_policy(dumped.getvalue()) == load_policy(EXAMPLE.read_text())
    # Loading the dump again changes nothing and dumps the same text.
    path = tmp_path / "again.yaml"
    path.write_text(dumped.getvalue())
    call_command("load_policy", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    again = io.StringIO()
    call_command("dump_policy", "--date", "2025-06-01", stdout=again)
    assert again.getvalue() == dumped.getvalue()
    assert Policy.objects.count() == 1 and Department.objects.count() == 4


def test_a_bad_file_is_refused_whole_with_line_and_field(tmp_path):
    text = EXAMPLE.read_text().replace("weight: 20", "weight: 140").replace("scope: global", "scope: planet")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    lines = text.splitlines()
    weight_line = next(i for i, line in enumerate(lines, 1) if "weight: 140" in line)
    scope_line = next(i for i, line in enumerate(lines, 1) if "scope: planet" in line)
    with pytest.raises(CommandError) as info:
        call_command("load_policy", str(path), stdout=io.StringIO())
    message = str(info.value)
    assert f"line {weight_line}, field departments[1].weight: must be a number between 0 and 100" in message
    assert f"line {scope_line}, field pools.overhead.scope" in message
    assert Policy.objects.count() == 0 and Department.objects.count() == 0


def test_dry_run_and_warnings(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("effective_from: 2025-02-01\ndepartments:\n  - name: Idle-ish\n")
    err, out = io.StringIO(), io.StringIO()
    call_command("load_policy", str(path), "--dry-run", stdout=out, stderr=err)
    assert "dry run, nothing stored" in out.getvalue()
    assert "line 3, field departments[0]" in err.getvalue() and "is never charged" in err.getvalue()
    assert not Policy.objects.exists()
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("load_policy", str(tmp_path / "missing.yaml"))
    with pytest.raises(CommandError, match="no policy is in force on 2025-01-01"):
        call_command("dump_policy", "--date", "2025-01-01")


def test_policy_for_day_and_the_default():
    assert spec_for_day(date(2025, 1, 1)) == DEFAULT_SPEC
    assert DEFAULT_SPEC.split.method == "cost_share" and DEFAULT_SPEC.split.cpu_share == Decimal("0.5")
    assert all(p == PoolSpec("proportional", "cluster") for p in DEFAULT_SPEC.pools.values())
    assert DEFAULT_SPEC.departments == []
    save_spec(spec(date(2025, 1, 1)))
    save_spec(spec(date(2025, 3, 1)))
    assert policy_for_day(date(2024, 12, 31)) is None
    assert policy_for_day(date(2025, 2, 28)).effective_from == date(2025, 1, 1)
    assert policy_for_day(date(2025, 3, 1)).effective_from == date(2025, 3, 1)
    assert spec_for_day(date(2026, 1, 1)).effective_from == date(2025, 3, 1)


def test_replacing_keeps_the_row_and_marks_only_the_days_it_governs():
    cluster = Cluster.objects.create(name="c", connection_type=ConnectionType.SIMULATOR)
    for d in (date(2025, 1, 31), date(2025, 2, 1), date(2025, 2, 28), date(2025, 3, 1)):
        ClusterDay.objects.create(cluster=cluster, day=d, dirty=False)
    save_spec(spec(date(2025, 3, 1)))
    first = save_spec(spec(date(2025, 2, 1)))
    ClusterDay.objects.update(dirty=False)
    replaced = save_spec(spec(date(2025, 2, 1), shared_namespaces=["kube-system"]))
    assert replaced.pk == first.pk and Policy.objects.count() == 2
    assert DepartmentRule.objects.filter(policy=replaced).count() == 1
    assert set(ClusterDay.objects.filter(dirty=True).values_list("day", flat=True)) == {
        date(2025, 2, 1),
        date(2025, 2, 28),
    }


def test_invalid_specs_store_nothing():
    with pytest.raises(InvalidPolicy, match=re.escape("pools.idle.scope")):
        save_spec(spec(date(2025, 1, 1), pools={"idle": PoolSpec("proportional", "global")}))
    with pytest.raises(
        InvalidPolicy, match=re.escape("departments[0].weight: has more than 4 decimal places")
    ):
        save_spec(
            PolicySpec(
                effective_from=date(2025, 1, 1),
                departments=[DepartmentSpec("A", ["a"], weight=Decimal("1.00001"))],
            )
        )
    assert not Policy.objects.exists() and not Department.objects.exists()


def test_load_policy_refuses_a_file_over_one_mib_and_stores_nothing(tmp_path):
    path = tmp_path / "big.yaml"
    text = EXAMPLE.read_text() + "#"
    path.write_text(text + "x" * (1024 * 1024 + 1 - len(text.encode())))
    assert path.stat().st_size == 1024 * 1024 + 1
    with pytest.raises(CommandError) as caught:
        call_command("load_policy", str(path))
    assert str(caught.value).endswith(
        "big.yaml, line 1: the file is over 1 MiB (1,048,576 bytes), the most a policy file may be"
    )
    assert not Policy.objects.exists()


@pytest.mark.django_db
def test_the_idle_gpu_rule_is_stored_and_read_back_and_absent_stays_absent():
    plain = PolicySpec(effective_from=date(2025, 6, 1))
    assert "gpu_idle" not in spec_from_policy(save_spec(plain)).pools
    with_rule = replace(
        plain, effective_from=date(2025, 7, 1), pools={**plain.pools, "gpu_idle": PoolSpec("even")}
    )
    assert spec_from_policy(save_spec(with_rule)).pools["gpu_idle"] == PoolSpec("even", "cluster")
