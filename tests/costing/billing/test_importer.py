"""import_bill: whole files into BillLine in one transaction, totals exact, bad files leave no line behind."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from costing.billing.importer import import_bill
from costing.choices import ConnectionType, RunStatus
from costing.models import BillImport, BillLine, Cluster, Node, NodePool, Policy, TagRule
from tests.costing.billing.conftest import DATA, FOCUS_SAMPLE, focus_row
from tests.costing.billing.test_errors import CASES, GOOD

pytestmark = pytest.mark.django_db
NULLS = ("", "NULL")


def _sample_sums() -> dict:
    """The FOCUS sample's figures, read with csv and Decimal only."""
    with open(FOCUS_SAMPLE, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))

    def total(column):
        return sum((Decimal(r[column]) for r in rows if r[column] not in NULLS), Decimal(0))

    return {
        "rows": len(rows),
        "effective": total("EffectiveCost"),
        "billed": total("BilledCost"),
        "list": total("ListCost"),
        "accounts": sorted({r["BillingAccountId"] for r in rows}),
        "start": min(datetime.fromisoformat(r["BillingPeriodStart"]) for r in rows).replace(tzinfo=UTC),
        "end": max(datetime.fromisoformat(r["BillingPeriodEnd"]) for r in rows).replace(tzinfo=UTC),
    }


def _stored(field: str, **filters) -> Decimal:
    # Summed in Python: SQLite would sum the column as floats.
    return sum(BillLine.objects.filter(**filters).values_list(field, flat=True), Decimal(0))


def test_the_focus_sample_imports_with_its_exact_totals():
    expected = _sample_sums()
    record = import_bill(FOCUS_SAMPLE, "focus", expected_currency="USD", chunk_size=300)

    assert record.status == RunStatus.SUCCEEDED, record.error
    assert record.rows == expected["rows"] == BillLine.objects.count() == 1000
    assert record.effective_total == expected["effective"] == _stored("effective_cost")
    assert record.billed_total == expected["billed"] == _stored("billed_cost")
    assert record.list_total == expected["list"] == _stored("list_cost")
    assert record.currency == "USD"
    assert record.billing_account_ids == expected["accounts"]
    assert (record.period_start, record.period_end) == (expected["start"], expected["end"])
    assert len(record.sha256) == 64 and record.progress == 1.0 and record.finished_at is not None
    # No tag rule, no node: everything is outside Kubernetes.
    assert record.kind_totals == {
        "outside": {"lines": 1000, "effective": str(expected["effective"]), "billed": str(expected["billed"])}
    }


@pytest.mark.parametrize(
    ("name", "encoding", "amount_column", "currency"),
    [
        ("cbc_zh_utf8_bom.csv", "utf-8-sig", "应付金额(¥)", "CNY"),
        ("cbc_zh_gbk.csv", "gbk", "应付金额(￥)", "CNY"),
        ("cbc_en.csv", "utf-8", "Amount Due ($)", "USD"),
    ],
)
def test_cbc_bills_import_with_their_exact_totals(name, encoding, amount_column, currency):
    with open(DATA / name, encoding=encoding, newline="") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    total = sum((Decimal(r[amount_column]) for r in rows), Decimal(0))

    record = import_bill(DATA / name, "cbc", expected_currency=currency)

    assert record.status == RunStatus.SUCCEEDED, record.error
    assert record.rows == len(rows) == BillLine.objects.count()
    assert record.effective_total == record.billed_total == total == _stored("effective_cost")
    assert record.currency == currency


def test_cbc_lines_are_attributed_by_tag_and_node():
    prod = Cluster.objects.create(name="prod", connection_type=ConnectionType.KUBECONFIG)
    pool = NodePool.objects.create(cluster=prod, name="general")
    seen = datetime(2026, 10, 1, tzinfo=UTC)
    node = Node.objects.create(
        cluster=prod,
        node_pool=pool,
        name="cce-prod-node-1",
        instance_id="0b3d6a52-7a5e-4c39-9e55-2d7a1b3c4f01",
        first_seen=seen,
        last_seen=seen,
    )
    policy = Policy.objects.create(effective_from=datetime(2026, 1, 1).date())
    TagRule.objects.create(policy=policy, cluster_name="prod", key="CCE-Cluster-ID", value="c0ffee01")

    record = import_bill(DATA / "cbc_zh_utf8_bom.csv", "cbc", expected_currency="CNY")

    # Node 1's hour; node 2 (unknown), the disk, the CCE fee and the EIP carry the cluster tag: overhead;
    # the OBS bucket and the CTS fee have no tag: outside.
    assert record.kind_totals["node"] == {"lines": 1, "effective": "1.0000", "billed": "1.0000"}
    assert Decimal(record.kind_totals["overhead"]["effective"]) == Decimal("2") + Decimal(
        "0.72"
    ) + 255 - Decimal("12.5")
    assert Decimal(record.kind_totals["outside"]["effective"]) == Decimal("0.099") + Decimal("3.3333")
    line = BillLine.objects.get(kind="node")
    assert (line.cluster_id, line.node_id, line.resource_name) == (prod.pk, node.pk, "cce-prod-node-1")
    assert BillLine.objects.filter(kind="overhead", cluster=prod).count() == 4


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_broken_file_leaves_the_lines_as_they_were(case, write_focus):
    import_bill(FOCUS_SAMPLE, "focus", expected_currency="USD")
    before = list(BillLine.objects.order_by("pk").values_list("pk", "effective_cost"))
    index, change, line, column, words = CASES[case]
    rows = [dict(row) for row in GOOD]
    rows[index].update(change)

    # chunk_size=2: the chunk before a bad row on line 4 or 5 is written before the error, then rolled back.
    record = import_bill(write_focus(rows), "focus", expected_currency="USD", chunk_size=2)

    assert record.status == RunStatus.FAILED
    assert f"bill.csv, line {line}, column {column}: " in record.error and words in record.error
    assert list(BillLine.objects.order_by("pk").values_list("pk", "effective_cost")) == before
    assert record.rows == 0 and record.effective_total == 0
    assert BillImport.objects.get(pk=record.pk).status == RunStatus.FAILED


def test_a_failure_after_written_chunks_is_rolled_back(write_focus):
    rows = [
        focus_row(
            ChargePeriodStart=f"2026-09-02 {h:02d}:00:00", ChargePeriodEnd=f"2026-09-02 {h + 1:02d}:00:00"
        )
        for h in range(9)
    ]
    rows[8]["EffectiveCost"] = "lots"
    record = import_bill(write_focus(rows), "focus", expected_currency="USD", chunk_size=2)
    assert record.status == RunStatus.FAILED
    assert "line 10, column EffectiveCost: not a number: 'lots'" in record.error
    assert BillLine.objects.count() == 0


def test_a_missing_file_is_a_failed_import(tmp_path):
    record = import_bill(tmp_path / "nowhere.csv", "focus")
    assert record.status == RunStatus.FAILED and "nowhere.csv: cannot open: No such file" in record.error


def test_a_value_longer_than_its_column_is_refused_at_its_line(write_focus):
    rows = [focus_row(), focus_row(ResourceId="i-" + "x" * 1200)]
    record = import_bill(write_focus(rows), "focus", expected_currency="USD")
    assert record.status == RunStatus.FAILED
    assert "line 3, column ResourceId: 1202 characters" in record.error
    assert BillLine.objects.count() == 0


def test_reimporting_the_same_period_replaces_it():
    first = import_bill(FOCUS_SAMPLE, "focus", expected_currency="USD")
    second = import_bill(FOCUS_SAMPLE, "focus", expected_currency="USD")

    expected = _sample_sums()
    assert BillLine.objects.count() == 1000
    assert _stored("effective_cost") == expected["effective"]  # not doubled
    assert set(BillLine.objects.values_list("bill_import_id", flat=True)) == {second.pk}
    assert second.replaced_lines == 1000
    assert BillImport.objects.get(pk=first.pk).replaced_by_id == second.pk


def test_only_the_same_account_and_period_is_replaced(write_focus, tmp_path):
    september = [focus_row(EffectiveCost="1"), focus_row(EffectiveCost="2")]
    october = [
        focus_row(
            EffectiveCost="10",
            BillingPeriodStart="2026-10-01 00:00:00",
            BillingPeriodEnd="2026-11-01 00:00:00",
            ChargePeriodStart="2026-10-02 00:00:00",
            ChargePeriodEnd="2026-10-02 01:00:00",
        )
    ]
    other_account = [focus_row(EffectiveCost="100", BillingAccountId="acct-2")]
    import_bill(write_focus(september + october, name="a.csv"), "focus", expected_currency="USD")
    import_bill(write_focus(other_account, name="b.csv"), "focus", expected_currency="USD")

    corrected = [focus_row(EffectiveCost="5")]  # September of acct-1 again, one line now
    record = import_bill(write_focus(corrected, name="c.csv"), "focus", expected_currency="USD")

    assert record.replaced_lines == 2
    assert sorted(BillLine.objects.values_list("effective_cost", flat=True)) == [5, 10, 100]


def test_a_bill_in_another_currency_is_refused():
    import_bill(DATA / "cbc_en.csv", "cbc", expected_currency="USD")
    record = import_bill(FOCUS_SAMPLE, "focus", expected_currency="EUR")
    assert record.status == RunStatus.FAILED
    assert "currency 'USD' is not the organisation's currency 'EUR'" in record.error
    assert BillLine.objects.count() == 4


def test_a_configured_exchange_rate_converts_the_bill(settings):
    settings.FINOPS_CURRENCY = "EUR"
    settings.FINOPS_EXCHANGE_RATES = {("USD", "EUR"): Decimal("0.5"), ("CNY", "USD"): Decimal("0.14")}
    expected = _sample_sums()

    record = import_bill(FOCUS_SAMPLE, "focus")

    assert record.status == RunStatus.SUCCEEDED, record.error
    assert record.currency == "EUR"
    assert record.effective_total == expected["effective"] / 2 == _stored("effective_cost")
    assert set(BillLine.objects.values_list("currency", flat=True)) == {"EUR"}
    assert "USD:EUR=0.5" in record.notes


def test_progress_is_reported_per_chunk(write_focus):
    rows = [focus_row() for _ in range(10)]
    seen = []
    record = import_bill(
        write_focus(rows),
        "focus",
        expected_currency="USD",
        chunk_size=3,
        progress=lambda f, n: seen.append((f, n)),
    )
    assert record.status == RunStatus.SUCCEEDED
    assert [n for _, n in seen] == [3, 6, 9, 10, 10]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and all(0 < f < 1 for f in fractions[:-1])
    assert record.progress == 1.0


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_watcher_sees_the_progress_during_the_import(write_focus):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite: progress is saved with the outcome (a second writer would wait for the import)")
    import psycopg

    params = connection.get_connection_params()
    watched = []

    def watch(fraction, rows):
        with psycopg.connect(**params) as other:
            value = other.execute("SELECT progress, status FROM costing_billimport").fetchone()
            lines = other.execute("SELECT count(*) FROM costing_billline").fetchone()[0]
        watched.append((fraction, value, lines))

    record = import_bill(write_focus([focus_row() for _ in range(6)]), "focus", expected_currency="USD",
                         chunk_size=2, progress=watch)  # fmt: skip

    assert record.status == RunStatus.SUCCEEDED
    during = watched[:-1]
    assert [value for _, value, _ in during] == [(fraction, "running") for fraction, _, _ in during]
    assert all(lines == 0 for _, _, lines in during)  # the lines themselves wait for the commit


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_imports_of_one_period_wait_for_each_other(write_focus):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time anyway")
    import threading

    import psycopg

    from costing.billing.importer import period_lock_key

    path = write_focus([focus_row(), focus_row()])
    key = period_lock_key("acct-1", datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
    outcome = {}

    def run():
        try:
            outcome["record"] = import_bill(path, "focus", expected_currency="USD")
        finally:
            connection.close()

    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute(
            "SELECT pg_advisory_lock(%s)", [key]
        )  # as if another import of September were finishing
        worker = threading.Thread(target=run)
        worker.start()
        worker.join(timeout=0.5)
        assert worker.is_alive()  # read and written, waiting to replace the period
        assert other.execute("SELECT status FROM costing_billimport").fetchone() == ("running",)
        other.execute("SELECT pg_advisory_unlock(%s)", [key])
    worker.join(timeout=10)
    assert outcome["record"].status == RunStatus.SUCCEEDED and BillLine.objects.count() == 2
