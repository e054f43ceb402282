"""Pod-hours, node-hours and pod-days become tables range-partitioned by month, on PostgreSQL only.

Each table is rebuilt as a partitioned table with the same columns, then its rows are copied over, then
every constraint and index the old table had is created again on the new parent (so whatever indexes the
models declare by then, from any earlier migration, are kept; PostgreSQL gives them to every partition,
present and future). Two changes that partitioning forces:
- the primary key is (id, <key>): a partitioned table's unique constraints must hold the partition key.
  `id` stays unique (one sequence) and Django keeps using it alone; the natural keys already held the key
  (pod, node, hour / node, hour / pod, day);
- `id` takes its values from a sequence owned by the column instead of an identity column (PostgreSQL 15
  has no identity columns on partitioned tables).
Partitions: one per month of the rows there are, the current month and the next two, and a default
partition for any other month (costing/partitions.py moves such rows into their own month).
SQLite keeps plain tables: nothing runs there. Going back rebuilds plain tables the same way.
"""

from datetime import date

from django.db import migrations

TABLES = {"costing_podhour": "hour", "costing_nodehour": "hour", "costing_podcostday": "day"}
AHEAD = 2


def _next(month):
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _bound(key, month):
    return f"'{month.isoformat()} 00:00:00+00'" if key == "hour" else f"'{month.isoformat()}'"


def _rebuild(cursor, table, key, partitioned):
    cursor.execute("SELECT count(*) FROM pg_constraint WHERE confrelid = %s::regclass", [table])
    if cursor.fetchone()[0]:
        raise RuntimeError(f"{table} is referenced by a foreign key: it cannot be rebuilt as it is")
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "ORDER BY contype DESC, conname",  # p, u before f, c
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        [table, table],
    )
    indexes = [row[0] for row in cursor.fetchall()]
    cursor.execute(
        f"SELECT date_trunc('month', min({key}) AT TIME ZONE 'UTC')::date, "
        f"date_trunc('month', max({key}) AT TIME ZONE 'UTC')::date FROM {table}"
        if key == "hour"
        else f"SELECT date_trunc('month', min({key}))::date, date_trunc('month', max({key}))::date FROM {table}"
    )
    first, last = cursor.fetchone()
    old = f"{table}__old"
    cursor.execute(f"ALTER TABLE {table} RENAME TO {old}")
    if partitioned:
        cursor.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE ({key})")
        cursor.execute("SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date")
        month = cursor.fetchone()[0]
        months = {month}
        for _ in range(AHEAD):
            month = _next(month)
            months.add(month)
        month = first
        while first is not None and month <= last:
            months.add(month)
            month = _next(month)
        for month in sorted(months):
            cursor.execute(
                f"CREATE TABLE {table}_p{month:%Y%m} PARTITION OF {table} "
                f"FOR VALUES FROM ({_bound(key, month)}) TO ({_bound(key, _next(month))})"
            )
        cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    else:
        cursor.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS)")
    cursor.execute(f"INSERT INTO {table} SELECT * FROM {old}")
    cursor.execute(f"SELECT max(id) FROM {table}")
    top = cursor.fetchone()[0]
    cursor.execute(f"DROP TABLE {old} CASCADE")  # its partitions, constraints, indexes and id sequence
    sequence = f"{table}_id_seq"
    cursor.execute(f"CREATE SEQUENCE {sequence} OWNED BY {table}.id")
    cursor.execute("SELECT setval(%s, %s, %s)", [sequence, top or 1, top is not None])
    cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
    for name, kind, definition in constraints:
        if kind == "p":
            definition = f"PRIMARY KEY (id, {key})" if partitioned else "PRIMARY KEY (id)"
        elif kind == "u" and partitioned and key not in definition:
            definition = definition.replace(")", f", {key})", 1)
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for index in indexes:
        cursor.execute(index)


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, key in TABLES.items():
            _rebuild(cursor, table, key, partitioned=True)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, key in TABLES.items():
            _rebuild(cursor, table, key, partitioned=False)


def register(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=86400, period="seconds")
    PeriodicTask.objects.update_or_create(
        name="Create monthly partitions ahead",
        defaults={"task": "costing.ensure_partitions", "interval": every, "enabled": True},
    )


def unregister(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task="costing.ensure_partitions").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("costing", "0019_fanout"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(partition, unpartition), migrations.RunPython(register, unregister)]
