"""The bulk writer against the database it runs on (SQLite, or PostgreSQL with DATABASE_URL): what is stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from costing import bulk_write as bulk
from costing.choices import ConnectionType, LineKind, SampleSource, SampleStatus
from costing.models import (
    BillImport,
    BillLine,
    Cluster,
    CoverageHour,
    Namespace,
    Node,
    NodeCostHour,
    NodePool,
    SampleSlot,
)

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
AWKWARD = 'quote " backslash \\ tab \t newline \n return \r end'


@pytest.fixture
def cluster():
    return Cluster.objects.create(name="c1", connection_type=ConnectionType.KUBECONFIG)


@pytest.fixture
def node(cluster):
    pool = NodePool.objects.create(cluster=cluster, name="pool")
    return Node.objects.create(cluster=cluster, name="n1", node_pool=pool, first_seen=T0, last_seen=T0)


@pytest.fixture
def bill_import():
    return BillImport.objects.create(file_name="f.csv", format="focus")


def epoch(t: datetime) -> int:
    return int(t.timestamp())


def test_columns_of_money_floats_nulls_and_timestamps_are_stored_exactly(cluster, node):
    hours = pd.date_range(T0, periods=3, freq="h", tz="UTC")
    n = bulk.insert_columns(
        NodeCostHour,
        {
            "cluster_id": cluster.pk,
            "node_id": np.full(3, node.pk, dtype=np.int64),
            "hour": list(hours),
            "cost": np.array([1, -150_000_000, 123_456_712_345_678], dtype=np.int64),
            "cpu_cost_pool": np.array([1, 2, 3], dtype=np.int64),
            "mem_cost_pool": np.zeros(3, dtype=np.int64),
            "cpu_price": np.array([0.1, np.nan, 1 / 3]),
            "mem_price": [np.nan, 2.5e-12, 1e20],
            "cpu_idle": np.zeros(3, dtype=np.int64),
            "mem_idle": np.zeros(3, dtype=np.int64),
            "estimated": np.array([True, False, True]),
            "sampled": [False, True, True],
        },
        money=("cost", "cpu_cost_pool", "mem_cost_pool", "cpu_idle", "mem_idle"),
    )
    assert n == 3
    rows = list(
        NodeCostHour.objects.order_by("hour").values_list(
            "hour", "cost", "cpu_cost_pool", "cpu_price", "mem_price", "estimated", "sampled"
        )
    )
    assert rows == [
        (T0, Decimal("0.00000001"), Decimal("0.00000001"), 0.1, None, True, False),
        (T0 + timedelta(hours=1), Decimal("-1.50000000"), Decimal("0.00000002"), None, 2.5e-12, False, True),
        (
            T0 + timedelta(hours=2),
            Decimal("1234567.12345678"),
            Decimal("0.00000003"),
            1 / 3,
            1e20,
            True,
            True,
        ),
    ]


def test_nothing_to_insert_writes_nothing(cluster, node):
    assert bulk.insert_columns(NodeCostHour, {"cluster_id": cluster.pk, "node_id": [], "hour": []}) == 0
    assert not NodeCostHour.objects.exists()


def test_columns_of_different_lengths_are_refused(cluster, node):
    with pytest.raises(ValueError, match="different lengths"):
        bulk.insert_columns(NodeCostHour, {"node_id": [node.pk], "hour": [T0, T0]})


def line_columns(bill_import, rows: int, **overrides) -> dict[str, object]:
    columns = {
        "bill_import_id": bill_import.pk,
        "source_row": np.arange(2, rows + 2),
        "billing_account_id": ["acct"] * rows,
        "billing_period_start": pd.Series(pd.Timestamp("2026-03-01", tz="UTC"), index=range(rows)),
        "billing_period_end": pd.Series(pd.Timestamp("2026-04-01", tz="UTC"), index=range(rows)),
        "charge_period_start": pd.Series(pd.Timestamp("2026-03-02 10:00", tz="UTC"), index=range(rows)),
        "charge_period_end": pd.Series(pd.Timestamp("2026-03-02 11:00", tz="UTC"), index=range(rows)),
        "charge_category": ["Usage"] * rows,
        "resource_name": ["vm"] * rows,
        "tags": np.array([{} for _ in range(rows)], dtype=object),
        "currency": "EUR",
        "effective_cost": np.array([Decimal("1.5")] * rows, dtype=object),
        "billed_cost": np.array([Decimal("1.5")] * rows, dtype=object),
        "list_cost": np.array([None] * rows, dtype=object),
        "cluster_id": np.array([None] * rows, dtype=object),
    }
    columns.update(overrides)
    return columns


def test_text_and_json_with_quotes_backslashes_tabs_and_newlines_round_trip(bill_import):
    tags = {AWKWARD: AWKWARD, "nested": {"list": [1, "\\n", None]}}
    bulk.insert_columns(
        BillLine,
        line_columns(
            bill_import,
            2,
            resource_name=np.array([AWKWARD, "plain"], dtype=object),
            tags=np.array([tags, {"é": "ü"}], dtype=object),
        ),
    )
    stored = list(BillLine.objects.order_by("source_row").values_list("resource_name", "tags"))
    assert stored == [(AWKWARD, tags), ("plain", {"é": "ü"})]


def test_missing_values_are_null_where_the_column_allows_and_the_default_where_not(bill_import, cluster):
    bulk.insert_columns(
        BillLine,
        line_columns(
            bill_import,
            3,
            resource_name=np.array([None, "x", np.nan], dtype=object),
            tags=np.array([None, {"a": "b"}, None], dtype=object),
            list_cost=np.array([None, Decimal("0.000000000001"), None], dtype=object),
            cluster_id=np.array([np.nan, float(cluster.pk), None], dtype=object),
        ),
    )
    stored = list(
        BillLine.objects.order_by("source_row").values_list(
            "resource_name", "tags", "list_cost", "cluster_id"
        )
    )
    assert stored == [
        ("", {}, None, None),
        ("x", {"a": "b"}, Decimal("0.000000000001"), cluster.pk),
        ("", {}, None, None),
    ]


def test_timestamps_are_stored_as_the_utc_instant(bill_import):
    paris = pd.Series(pd.to_datetime(["2026-03-02 11:30:00.250000"]).tz_localize("Europe/Paris"))
    naive = pd.Series(pd.to_datetime(["2026-03-02 10:30:00"]))
    bulk.insert_columns(
        BillLine,
        line_columns(bill_import, 2, charge_period_start=pd.concat([paris, naive.dt.tz_localize("UTC")])),
    )
    bulk.insert_columns(
        BillLine, line_columns(bill_import, 1, source_row=np.array([9]), charge_period_start=naive)
    )
    stored = list(BillLine.objects.order_by("source_row").values_list("charge_period_start", flat=True))
    assert stored == [
        datetime(2026, 3, 2, 10, 30, 0, 250000, tzinfo=UTC),
        datetime(2026, 3, 2, 10, 30, tzinfo=UTC),
        datetime(2026, 3, 2, 10, 30, tzinfo=UTC),
    ]


def test_an_inserter_takes_chunk_after_chunk(bill_import):
    with bulk.Inserter(BillLine, list(line_columns(bill_import, 1)), threaded=True) as inserter:
        assert inserter.write(line_columns(bill_import, 3)) == 3
        assert inserter.write(line_columns(bill_import, 2, source_row=np.array([10, 11]))) == 2
    assert sorted(BillLine.objects.values_list("source_row", flat=True)) == [2, 3, 4, 10, 11]
    assert BillLine.objects.filter(effective_cost=Decimal("1.5"), currency="EUR").count() == 5
    # Fields not given take the model's defaults, as bulk_create gives them.
    assert set(BillLine.objects.values_list("charge_class", "kind")) == {("", LineKind.OUTSIDE)}


def coverage_rows(cluster, hours: int, seconds: int) -> list[tuple]:
    stamps = bulk.stamps(epoch(T0) + 3600 * np.arange(hours))
    return [(cluster.pk, h, seconds, 0) for h in stamps]


@pytest.mark.parametrize("hours", [3, bulk.COPY_MIN_ROWS + 1], ids=["values", "staged"])
def test_upsert_adds_to_the_stored_values(cluster, hours):
    fields = ["cluster_id", "hour", "sampled_seconds", "gap_seconds"]
    update = bulk.added(CoverageHour, ["sampled_seconds"])
    for seconds in (60, 30):
        bulk.upsert(
            CoverageHour,
            fields,
            coverage_rows(cluster, hours, seconds),
            conflict=["cluster_id", "hour"],
            update=update,
        )
    assert CoverageHour.objects.count() == hours
    assert set(CoverageHour.objects.values_list("sampled_seconds", "gap_seconds")) == {(90, 0)}
    assert CoverageHour.objects.order_by("hour").last().hour == T0 + timedelta(hours=hours - 1)


@pytest.mark.parametrize("slots", [3, bulk.COPY_MIN_ROWS + 1], ids=["values", "staged"])
def test_upsert_do_nothing_returns_only_the_rows_it_inserted(cluster, slots):
    fields = ["cluster_id", "slot", "interval", "status", "source", "reason", "nodes", "pods"]
    fields += ["pods_without_metrics", "recorded_at"]

    def rows(first: int, n: int) -> list[tuple]:
        stamps = bulk.stamps(epoch(T0) + 60 * np.arange(first, first + n))
        return [
            (cluster.pk, s, 60, SampleStatus.OK, SampleSource.SIMULATOR, "", 1, 2, 0, stamps[0])
            for s in stamps
        ]

    first = bulk.upsert(
        SampleSlot, fields, rows(0, slots), conflict=["cluster_id", "slot"], returning=["slot"]
    )
    again = bulk.upsert(
        SampleSlot, fields, rows(1, slots), conflict=["cluster_id", "slot"], returning=["slot", "interval"]
    )
    assert len(first) == slots
    (new,) = again  # only the one slot after the first batch was new
    stored_last = SampleSlot.objects.order_by("slot").last()
    assert stored_last.slot == T0 + timedelta(minutes=slots)
    assert new[1] == 60
    assert str(new[0]).startswith(str(T0 + timedelta(minutes=slots)).replace("+00:00", "")[:19])
    assert SampleSlot.objects.count() == slots + 1


@pytest.mark.parametrize("count", [2, bulk.COPY_MIN_ROWS], ids=["values", "staged"])
def test_upsert_keeps_the_newer_row_and_widens_the_span(cluster, count):
    fields = ["cluster_id", "name", "labels", "first_seen", "last_seen"]
    update = bulk.if_newer(Namespace, ["labels"], "last_seen") + bulk.widened(Namespace)
    t1, t2, t3 = bulk.stamps([epoch(T0), epoch(T0) + 3600, epoch(T0) + 7200])
    names = [f"ns-{i}" for i in range(count)]

    def upsert(labels: str, first: str, last: str) -> dict:
        rows = [(cluster.pk, name, labels, first, last) for name in names]
        return dict(
            bulk.upsert(
                Namespace,
                fields,
                rows,
                conflict=["cluster_id", "name"],
                update=update,
                returning=["name", "id"],
            )
        )

    ids = upsert('{"v": "middle"}', t2, t2)
    assert (
        upsert(
            '{"v": "'
            + AWKWARD.replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\t", "\\t")
            .replace("\r", "\\r")
            + '"}',
            t3,
            t3,
        )
        == ids
    )
    assert upsert('{"v": "old"}', t1, t1) == ids  # older: labels stay, the span grows back
    stored = list(Namespace.objects.values_list("labels", "first_seen", "last_seen"))
    assert stored == [({"v": AWKWARD}, T0, T0 + timedelta(hours=2))] * count
    assert Namespace.objects.count() == count


def test_clauses_name_the_models_own_table_and_columns():
    (clause,) = bulk.added(CoverageHour, ["sampled_seconds"])
    table = CoverageHour._meta.db_table
    assert f'"{table}"."sampled_seconds"' in clause
    assert bulk.column(Node, "node_pool") == bulk.column(Node, "node_pool_id") == '"node_pool_id"'


def test_stamps_read_back_as_the_same_instant(cluster):
    (text,) = bulk.stamps([epoch(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))])
    bulk.upsert(
        CoverageHour,
        ["cluster_id", "hour", "sampled_seconds", "gap_seconds"],
        [(cluster.pk, text, 1, 0)],
        conflict=["cluster_id", "hour"],
    )
    assert CoverageHour.objects.get().hour == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert date(2026, 12, 31) == CoverageHour.objects.get().hour.date()
