"""The policy file's right-sizing section: defaults for old files, located errors, namespace overrides."""

from __future__ import annotations

import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from costing.policy import (
    PolicyFileError,
    PolicySpec,
    RightsizingOverride,
    RightsizingSpec,
    dump_policy,
    load_policy,
    validate,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "costing" / "policy" / "example.yaml"
D = Decimal
OLD = "effective_from: 2025-03-01\ncurrency: EUR\n"


def test_a_file_without_the_section_loads_unchanged_with_the_defaults():
    spec = load_policy(OLD)
    assert spec == PolicySpec(effective_from=date(2025, 3, 1))
    assert spec.rightsizing == RightsizingSpec()
    assert spec.rightsizing.settings_for("anything") == {
        "cpu_percentile": 95, "cpu_headroom": D("1.15"), "mem_headroom": D("1.15"),
        "lookback_days": 14, "min_days": 7, "min_coverage": D("0.8"),
    }  # fmt: skip
    assert load_policy(dump_policy(spec)) == spec


def test_the_example_overrides_and_their_round_trip():
    spec = load_policy(EXAMPLE.read_text())
    rs = spec.rightsizing
    assert rs.overrides[0] == RightsizingOverride(
        namespaces=["payments", "checkout"], cpu_percentile=D(99), cpu_headroom=D("1.3")
    )
    assert rs.settings_for("checkout")["cpu_percentile"] == 99
    assert rs.settings_for("checkout")["mem_headroom"] == D("1.15")  # not overridden: the policy's
    assert rs.settings_for("spark-etl")["lookback_days"] == 28
    assert rs.settings_for("search")["lookback_days"] == 14
    assert validate(spec) == []
    text = dump_policy(spec)
    assert load_policy(text) == spec and dump_policy(load_policy(text)) == text
    assert RightsizingSpec.from_json(rs.as_json()) == rs
    assert RightsizingSpec.from_json({}) == RightsizingSpec()


def test_a_name_beats_a_pattern_and_the_more_specific_pattern_wins():
    rs = RightsizingSpec(
        overrides=[
            RightsizingOverride(namespaces=["pay-*"], cpu_headroom=D(2)),
            RightsizingOverride(namespaces=["pay-api-*"], cpu_headroom=D(3)),
            RightsizingOverride(namespaces=["pay-api-v2"], cpu_headroom=D(4)),
        ]
    )
    assert rs.override_index("pay-web") == 0
    assert rs.override_index("pay-api-v1") == 1
    assert rs.override_index("pay-api-v2") == 2
    assert rs.override_index("shop") is None


def test_errors_name_line_and_field():
    text = OLD + textwrap.dedent(
        """\
        rightsizing:
          cpu_percentile: 0
          mem_headroom: 0.9
          lookback_days: 7.5
          overrides:
            - namespaces: [payments]
              min_days: 20
            - namespaces: ["payments", "Bad_Name"]
              cpu_headroom: 1.2
            - cpu_headroom: 1.3
        """
    )
    with pytest.raises(PolicyFileError) as caught:
        load_policy(text, source="policy.yaml")
    got = {(e.line, e.field): e.message for e in caught.value.errors}
    assert got == {
        (4, "rightsizing.cpu_percentile"): "must be a number above 0 and at most 100, not 0",
        (5, "rightsizing.mem_headroom"): (
            "must be a number from 1 to 10 (memory is never advised below its peak), not 0.9"
        ),
        (6, "rightsizing.lookback_days"): "must be a whole number of days from 1 to 60, not 7.5",
        (9, "rightsizing.overrides[0].min_days"): (
            "min_days 20 is more than lookback_days 7.5 (with the policy's own setting)"
        ),
        (10, "rightsizing.overrides[1].namespaces[0]"): "'payments' is already listed at "
        "rightsizing.overrides[0].namespaces[0]",
        (
            10,
            "rightsizing.overrides[1].namespaces[1]",
        ): "'Bad_Name' is not a namespace name or a glob pattern",
        (12, "rightsizing.overrides[2].namespaces"): "is required",
    }


def test_min_days_must_fit_in_an_overridden_look_back():
    spec = PolicySpec(
        effective_from=date(2025, 3, 1),
        rightsizing=RightsizingSpec(overrides=[RightsizingOverride(namespaces=["x"], lookback_days=D(5))]),
    )
    assert [(i.field, i.message) for i in validate(spec)] == [
        (
            "rightsizing.overrides[0].lookback_days",
            "min_days 7 is more than lookback_days 5 (with the policy's own setting)",
        )
    ]
