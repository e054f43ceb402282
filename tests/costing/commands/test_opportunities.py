"""The opportunities command on the hand-built lab cluster (tests/costing/optimise_scenario.py)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.costing import optimise_scenario as lab

pytestmark = pytest.mark.django_db
DAYS = ["--start", "2026-03-02", "--end", "2026-03-03"]


def run(*options) -> str:
    out = io.StringIO()
    call_command("opportunities", *DAYS, *options, stdout=out)
    return out.getvalue()


def test_json_csv_and_table(db):
    lab.build()
    rows = json.loads(run("--format", "json"))
    assert list(rows[0]) == [
        "cluster",
        "lever",
        "subject",
        "monthly_saving",
        "counted_saving",
        "overlaps",
        "figures",
    ]
    # web would cost less on pay-per-use than its share of the half-empty general pool: first.
    assert [(r["lever"], r["subject"]) for r in rows[:2]] == [
        ("pay_per_use", "shop/web"),
        ("packing", "general"),
    ]
    packing = rows[1]
    assert packing["cluster"] == "lab" and packing["monthly_saving"] == 730.0
    assert packing["figures"]["peak_hours_of_day"] == list(range(24))
    assert [r["monthly_saving"] for r in rows] == sorted((r["monthly_saving"] for r in rows), reverse=True)
    assert {r["lever"] for r in rows} == {"packing", "oversubscription", "pay_per_use"}

    table = list(csv.reader(io.StringIO(run("--format", "csv", "--cluster", "lab"))))
    assert table[0] == [
        "cluster",
        "lever",
        "subject",
        "monthly_saving",
        "counted_saving",
        "overlaps",
        "figures",
    ]
    assert table[2][:5] == ["lab", "packing", "general", "730.00", "730.00"]
    assert "surplus_nodes=1" in table[2][6]

    text = run()
    assert text.splitlines()[0].split()[:4] == ["cluster", "lever", "subject", "monthly_saving"]
    assert "total (each money counted once):" in text.splitlines()[-1]


def test_bad_options_are_refused(db):
    with pytest.raises(CommandError, match="--format: 'xml' is not one of"):
        run("--format", "xml")
    with pytest.raises(CommandError, match="--cluster: no cluster named 'nope'"):
        run("--cluster", "nope")
    with pytest.raises(CommandError, match="must be after --start"):
        call_command("opportunities", "--start", "2026-03-03", "--end", "2026-03-02")
