"""Monthly range partitions of the largest tables on PostgreSQL: pod-hours, node-hours and pod-days.

Migration 0017_partitions turns the three tables into tables partitioned by month on their time column
(a partition `<table>_pYYYYMM` per month, and `<table>_default` for rows of a month that has none yet, so
an insert never fails). Here: creating the partitions ahead of time (beat, daily: this month and the next
MONTHS_AHEAD, and a partition for every month found in a default partition, whose rows move into it), and
dropping whole months for retention. SQLite keeps plain tables: every function here does nothing there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.utils import timezone

from costing.models import NodeHour, PodCostDay, PodHour

# The partitioned models and the column each is partitioned on.
PARTITIONED = {PodHour: "hour", NodeHour: "hour", PodCostDay: "day"}
MONTHS_AHEAD = 2


def enabled() -> bool:
    return connection.vendor == "postgresql"


def month_start(value: date | datetime) -> date:
    return date(value.year, value.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(model, month: date) -> str:
    return f"{model._meta.db_table}_p{month:%Y%m}"


def default_name(model) -> str:
    return f"{model._meta.db_table}_default"


def _bound(model, month: date):
    # The key's own type: midnight UTC for a timestamp column, the date for a date column.
    from psycopg import sql

    value = datetime(month.year, month.month, 1, tzinfo=UTC) if PARTITIONED[model] == "hour" else month
    return sql.Literal(value)


def _sql(template: str, **names):
    """A statement with its table and column names quoted (they come from the models, never from input)."""
    from psycopg import sql

    return sql.SQL(template).format(
        **{k: v if isinstance(v, sql.Composable) else sql.Identifier(v) for k, v in names.items()}
    )


def months(model) -> list[date]:
    """The months that have a partition of their own, oldest first."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
        names = [name for (name,) in cursor.fetchall()]
    prefix = f"{table}_p"
    return sorted(
        date(int(n[-6:-2]), int(n[-2:]), 1)
        for n in names
        if n.startswith(prefix) and n[len(prefix) :].isdigit()
    )


def create_partition(model, month: date) -> bool:
    """Create the month's partition (rows of that month waiting in the default partition move into it).
    Returns whether it was created."""
    if month in months(model):
        return False
    table, key = model._meta.db_table, PARTITIONED[model]
    names = {
        "table": table,
        "default": default_name(model),
        "partition": partition_name(model, month),
        "key": key,
        "lower": _bound(model, month),
        "upper": _bound(model, next_month(month)),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # Writers of the default partition wait for the move (it is empty but for backfills).
        cursor.execute(_sql("LOCK TABLE {default} IN EXCLUSIVE MODE", **names))
        cursor.execute(_sql("CREATE TEMPORARY TABLE _moving (LIKE {table}) ON COMMIT DROP", **names))
        cursor.execute(
            _sql(
                "WITH moved AS (DELETE FROM {default} WHERE {key} >= {lower} AND {key} < {upper} RETURNING *)"
                " INSERT INTO _moving SELECT * FROM moved",
                **names,
            )
        )
        cursor.execute(
            _sql(
                "CREATE TABLE {partition} PARTITION OF {table} FOR VALUES FROM ({lower}) TO ({upper})",
                **names,
            )
        )
        cursor.execute(_sql("INSERT INTO {table} SELECT * FROM _moving", **names))
        cursor.execute("DROP TABLE _moving")
    return True


def ensure_partitions(today: date | None = None, ahead: int = MONTHS_AHEAD) -> list[str]:
    """This month's partition and the next `ahead` months', and one for every month that has rows in a
    default partition. Returns the partitions created."""
    if not enabled():
        return []
    month = month_start(today or timezone.now().date())
    wanted = [month]
    for _ in range(ahead):
        wanted.append(next_month(wanted[-1]))
    created = []
    for model, key in PARTITIONED.items():
        of_month = (
            "SELECT DISTINCT date_trunc('month', {key} AT TIME ZONE 'UTC')::date FROM {default}"
            if key == "hour"
            else "SELECT DISTINCT date_trunc('month', {key})::date FROM {default}"
        )
        with connection.cursor() as cursor:
            cursor.execute(_sql(of_month, key=key, default=default_name(model)))
            waiting = [row[0] for row in cursor.fetchall()]
        for m in sorted(set(wanted) | set(waiting)):
            if create_partition(model, m):
                created.append(partition_name(model, m))
    return created


def drop_partitions_before(model, limit: date | datetime) -> int:
    """Drop the monthly partitions whose every row is before `limit` (a month ending on or before it).
    Returns the rows they held. Rows of a month only partly before the limit are left to the caller."""
    if not enabled():
        return 0
    limit_day = limit.astimezone(UTC).date() if isinstance(limit, datetime) else limit
    dropped = 0
    for month in months(model):
        if next_month(month) > limit_day:
            break
        name = partition_name(model, month)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_sql("SELECT count(*) FROM {name}", name=name))
            dropped += cursor.fetchone()[0]
            # A partition with foreign-key checks still deferred in this transaction cannot be dropped: run
            # them now, then defer again (Django's constraints are all INITIALLY DEFERRED).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(_sql("DROP TABLE {name}", name=name))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return dropped
