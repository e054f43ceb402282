import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from costing.models import Cluster, Pod
from reports.reporting.safety import safe_text
from tests.costing import scenario
from tests.costing.scenario import DAY

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod():
    objects = scenario.build()
    call_command(
        "recompute",
        "--start",
        DAY.isoformat(),
        "--end",
        (DAY + timedelta(days=2)).isoformat(),
        stdout=io.StringIO(),
    )
    return objects


def costs(*args):
    out = io.StringIO()
    call_command("costs", "--start", "2025-03-10", "--end", "2025-03-12", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    "by", ["cluster", "node_pool", "node", "namespace", "workload", "label:team", "department"]
)
def test_every_grouping_in_json_adds_up_to_the_physical_cost(prod, by):
    rows = json.loads(costs("--by", by, "--format", "json"))
    groups, (total,) = [r for r in rows if r["row"] != "total"], [r for r in rows if r["row"] == "total"]
    assert groups
    # Two days: 32.92 + 2.40 of the control plane's second day (tests/costing/scenario.py).
    if by == "department":
        assert Decimal(total["total"]) == Decimal("35.32") == sum(Decimal(r["total"]) for r in groups)
    else:
        assert Decimal(total["physical_cost"]) == Decimal("35.32")
        assert Decimal(total["cost"]) + Decimal(total["idle"]) + Decimal(total["overhead"]) == Decimal(
            "35.32"
        )
        assert sum(Decimal(r["cost"]) for r in groups) == Decimal(total["cost"]) == Decimal("15.18")


def test_csv_and_table(prod):
    rows = list(csv.DictReader(io.StringIO(costs("--by", "namespace", "--format", "csv"))))
    assert [r["namespace"] for r in rows] == ["checkout", "kube-system", "payments", "search", ""]
    assert rows[-1]["cluster"] == "Total" and rows[-1]["cost"] == "15.18"
    table = costs("--by", "department", "--cluster", "prod")
    assert table.splitlines()[0].split()[:3] == ["row", "department", "direct"]
    assert "35.32" in table.splitlines()[-1]


def test_recompute_prints_a_line_per_day(prod):
    out = io.StringIO()
    call_command("recompute", "--start", "2025-03-10", "--end", "2025-03-12", "--cluster", "prod", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "2025-03-10: 1 cluster(s), physical cost 32.92"
    assert lines[1] == "2025-03-11: 1 cluster(s), physical cost 2.40"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "pods"], "by: 'pods' is not one of"),
        (["--by", "cluster", "--cluster", "nope"], "no cluster named 'nope'"),
        (["--by", "cluster", "--format", "xml"], "--format: 'xml' is not one of json, csv, table"),
        (["--by", "department", "--department", "Nobody"], "no costs were ever booked to 'Nobody'"),
    ],
)
def test_bad_arguments(prod, args, message):
    with pytest.raises(CommandError, match=message):
        costs(*args)


def test_bad_dates():
    with pytest.raises(CommandError, match="--start: '2025-13-01' is not a date YYYY-MM-DD"):
        call_command("costs", "--start", "2025-13-01", "--end", "2025-03-12", "--by", "cluster")
    with pytest.raises(CommandError, match="must be after --start"):
        call_command("costs", "--start", "2025-03-12", "--end", "2025-03-12", "--by", "cluster")
    with pytest.raises(CommandError, match="must be after --start"):
        call_command("recompute", "--start", "2025-03-12", "--end", "2025-03-11")


def _csv(*args) -> list[dict]:
    out = io.StringIO()
    call_command(
        "costs", "--start", "2025-03-10", "--end", "2025-03-11", *args, "--format", "csv", stdout=out
    )
    return list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))


def test_csv_escapes_formula_cells_as_the_report_exports_do():
    objects = scenario.build()
    starts = {"pay-1": "=1+2", "co-1": "+3", "ks-1": "-4", "se-1": "@SUM(A1)", "ks-2": "\tx"}
    for name, value in starts.items():
        Pod.objects.filter(name=name).update(labels={"team": value})
    call_command("recompute", "--start", "2025-03-10", "--end", "2025-03-11", stdout=io.StringIO())
    # The cluster's name is read when the rows are built, so a rename shows at once.
    Cluster.objects.filter(pk=objects["cluster"].pk).update(name="\rprod")

    rows = _csv("--by", "label:team")
    groups = {r["label"]: r["cost"] for r in rows if r["row"] == "group"}
    assert groups == {"'=1+2": "6.00", "'+3": "4.50", "'-4": "2.25", "'@SUM(A1)": "1.62", "'\tx": "0.81"}
    assert set(groups) == {safe_text(v) for v in starts.values()}
    (cluster,) = [r for r in _csv("--by", "cluster") if r["row"] == "group"]
    # Numbers stay numbers: never quoted.
    assert (cluster["cluster"], cluster["cost"], cluster["physical_cost"]) == ("'\rprod", "15.18", "32.92")
