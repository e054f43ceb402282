"""Folding the live path's staged minutes into their hours: PodMinute -> PodHour, ContainerMinute ->
ContainerHour, NodeMinute -> NodeHour.

The minute's live sample (`record_snapshot(..., staged=True)`, what `take_sample` does) appends each
sample's share of its hours to the minute tables by COPY instead of rewriting the hour rows every
minute. A fold adds the staged rows of the hours asked for to the hour rows with the same additions as
the direct path (sums; the larger peak; histograms merged key-wise; a pod's `last_seen` widened to its
latest staged sample) and deletes them, in one transaction, so that a fold killed half-way leaves the
minutes staged and a fold run twice or concurrently counts each minute once:

- PostgreSQL: one statement per table, `WITH moved AS (DELETE ... RETURNING ...) INSERT ... SELECT ... FROM
  moved GROUP BY ... ON CONFLICT DO UPDATE`: the rows deleted are exactly the rows added, and a
  concurrent fold waits on their row locks, then finds them gone.
- SQLite: INSERT ... SELECT, UPDATE and DELETE with the same condition in one transaction (SQLite's one
  writer keeps anything from being staged between them).

Who folds: the beat task `costing.fold_minutes` (every 5 minutes: the hours that have closed), and,
before reading hours that may still be open, the computation of a cluster-day, retention, re-imports
(`replace`), and the pages and queries that read hour rows (`fold_for_read`).
"""

# Every table and column name in the SQL below comes from the models' metadata (costing.bulk_write), never
# from input; values go as parameters.
# ruff: noqa: S608
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from costing import bulk_write as bulk
from costing.models import (
    Cluster,
    ContainerHour,
    ContainerMinute,
    NodeHour,
    NodeMinute,
    Pod,
    PodHour,
    PodMinute,
)

__all__ = ["fold_closed_hours", "fold_for_read", "fold_minutes", "has_staged"]

_POD_SUMS = [
    "samples", "samples_without_metrics",
    "cpu_request_core_hours", "cpu_usage_core_hours", "cpu_billable_core_hours",
    "mem_request_gib_hours", "mem_usage_gib_hours", "mem_billable_gib_hours",
    "gpu_request_hours", "gpu_usage_hours", "gpu_billable_hours",
]  # fmt: skip
_CONTAINER_SUMS = [
    "samples", "samples_without_metrics", "seconds",
    "cpu_request_core_hours", "cpu_usage_core_hours", "cpu_billable_core_hours", "cpu_limit_core_hours",
    "mem_request_gib_hours", "mem_usage_gib_hours", "mem_billable_gib_hours", "mem_limit_gib_hours",
]  # fmt: skip
_CONTAINER_PEAKS = ["cpu_usage_max_cores", "mem_usage_max_bytes"]
_NODE_SUMS = ["samples", "cpu_capacity_core_hours", "mem_capacity_gib_hours", "gpu_capacity_hours"]
_STAGED = (PodMinute, ContainerMinute, NodeMinute)
_FOLD_LOCK = 20_0033  # with the cluster id: the advisory lock of a cluster's fold (PostgreSQL)


def has_staged(cluster_ids: Iterable[int] | None = None, *, before: datetime | None = None) -> bool:
    """Whether any minute of these clusters (all when None) is staged, in hours before `before` if given."""
    where, params = _condition(cluster_ids, before)
    with connection.cursor() as cursor:
        for model in _STAGED:
            cursor.execute(f"SELECT 1 FROM {bulk.table(model)} WHERE {where} LIMIT 1", params)
            if cursor.fetchone():
                return True
    return False


def fold_minutes(
    cluster_ids: Iterable[int] | None = None, *, before: datetime | None = None
) -> dict[str, int]:
    """Fold the staged minutes of these clusters (all when None) of the hours that start before `before`
    (every hour when None) into their hour rows, and delete them, in one transaction.

    Returns the staged rows folded and the hour rows written, per table. Safe to run twice or at once.
    """
    ids = None if cluster_ids is None else sorted({int(i) for i in cluster_ids})
    out = {"pod_minutes": 0, "pod_hours": 0, "container_minutes": 0, "container_hours": 0}
    out |= {"node_minutes": 0, "node_hours": 0}
    if ids == [] or not has_staged(ids, before=before):
        return out
    with transaction.atomic():
        if _postgres():
            # One fold of a cluster at a time, clusters locked in ascending order: two folds deleting the same
            # minutes could otherwise lock them in different orders.
            if ids is None:
                ids = _staged_clusters(before)
            for cluster_id in ids:
                _run("SELECT pg_advisory_xact_lock(%s::int, %s::int)", [_FOLD_LOCK, cluster_id])
        where, params = _condition(ids, before)
        out["pod_minutes"], out["pod_hours"] = _fold_pods(where, params)
        out["container_minutes"], out["container_hours"] = _fold_containers(where, params)
        out["node_minutes"], out["node_hours"] = _fold_nodes(where, params)
    return out


def _staged_clusters(before: datetime | None) -> list[int]:
    where, params = _condition(None, before)
    cluster = bulk.column(PodMinute, "cluster_id")
    union = " UNION ".join(f"SELECT {cluster} FROM {bulk.table(m)} WHERE {where}" for m in _STAGED)
    return sorted(row[0] for row in _run(union, params * len(_STAGED)))


def fold_closed_hours(*, now: datetime | None = None) -> dict[str, int]:
    """Fold every cluster's staged minutes of the hours that have ended (what beat runs every 5 minutes)."""
    now = (now or timezone.now()).astimezone(UTC)
    return fold_minutes(None, before=now.replace(minute=0, second=0, microsecond=0))


def fold_for_read(
    cluster: int | str | Iterable[int] | None = None, *, before: datetime | None = None
) -> None:
    """Before reading hour rows that may still be open: fold the staged minutes of a cluster (id or name),
    of clusters (ids) or of all (None), of the hours before `before` if given. Three indexed probes when
    nothing is staged."""
    if isinstance(cluster, str):
        ids = list(Cluster.objects.filter(name=cluster).values_list("pk", flat=True))
    elif isinstance(cluster, int):
        ids = [cluster]
    else:
        ids = cluster
    fold_minutes(ids, before=before)


# --- SQL ----------------------------------------------------------------------------------------------


def _condition(cluster_ids: Iterable[int] | None, before: datetime | None) -> tuple[str, list]:
    """The WHERE of the staged rows asked for (the same column names in the three tables)."""
    parts, params = ["1 = 1"], []
    if cluster_ids is not None:
        ids = sorted({int(i) for i in cluster_ids})
        if not ids:
            return "1 = 0", []
        parts.append(f"{bulk.column(PodMinute, 'cluster_id')} IN ({', '.join(['%s'] * len(ids))})")
        params.extend(ids)
    if before is not None:
        parts.append(f"{bulk.column(PodMinute, 'hour')} < %s")
        params.append(bulk.stamps([int(before.timestamp())])[0])
    return " AND ".join(parts), params


def _cols(model, fields: Iterable[str]) -> list[str]:
    return [bulk.column(model, f) for f in fields]


def _run(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _fold_pods(where: str, params: list) -> tuple[int, int]:
    keys = _cols(PodHour, ["cluster_id", "pod_id", "node_id", "hour"])
    sums = _cols(PodHour, _POD_SUMS)
    stage, hours, pods = bulk.table(PodMinute), bulk.table(PodHour), bulk.table(Pod)
    slot, pod_id = bulk.column(PodMinute, "slot"), bulk.column(PodMinute, "pod_id")
    pk, last = bulk.column(Pod, "id"), bulk.column(Pod, "last_seen")
    insert = (
        f"INSERT INTO {hours} ({', '.join(keys + sums)}) "
        f"SELECT {', '.join(keys)}, {', '.join(f'SUM({c})' for c in sums)} FROM {{source}} WHERE 1 = 1 "
        f"GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys[1:])} "
        f"ON CONFLICT ({', '.join(keys[1:])}) DO UPDATE SET {', '.join(bulk.added(PodHour, _POD_SUMS))}"
    )
    if _postgres():
        sql = (
            f"WITH moved AS (DELETE FROM {stage} WHERE {where} RETURNING *), "
            f"folded AS ({insert.format(source='moved')} RETURNING 1), "
            f"seen AS (UPDATE {pods} SET {last} = m.last FROM (SELECT {pod_id}, MAX({slot}) AS last FROM moved "
            f"GROUP BY {pod_id}) m WHERE {pods}.{pk} = m.{pod_id} AND {pods}.{last} < m.last RETURNING 1) "
            "SELECT (SELECT COUNT(*) FROM moved), (SELECT COUNT(*) FROM folded)"
        )
        return tuple(_run(sql, params)[0])
    moved = _run(f"SELECT COUNT(*) FROM {stage} WHERE {where}", params)[0][0]
    folded = _run(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {stage} WHERE {where} GROUP BY {', '.join(keys)})", params
    )[0][0]
    _run(insert.format(source=f"(SELECT * FROM {stage} WHERE {where})"), params)
    latest = f"(SELECT MAX(s.{slot}) FROM {stage} s WHERE s.{pod_id} = {pods}.{pk} AND {where})"
    _run(
        f"UPDATE {pods} SET {last} = {latest} WHERE {pk} IN (SELECT {pod_id} FROM {stage} WHERE {where}) "
        f"AND {last} < {latest}",
        params + params + params,
    )
    _run(f"DELETE FROM {stage} WHERE {where}", params)
    return moved, folded


def _fold_nodes(where: str, params: list) -> tuple[int, int]:
    keys = _cols(NodeHour, ["cluster_id", "node_id", "hour"])
    sums = _cols(NodeHour, _NODE_SUMS)
    stage, hours = bulk.table(NodeMinute), bulk.table(NodeHour)
    insert = (
        f"INSERT INTO {hours} ({', '.join(keys + sums)}) "
        f"SELECT {', '.join(keys)}, {', '.join(f'SUM({c})' for c in sums)} FROM {{source}} WHERE 1 = 1 "
        f"GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys[1:])} "
        f"ON CONFLICT ({', '.join(keys[1:])}) DO UPDATE SET {', '.join(bulk.added(NodeHour, _NODE_SUMS))}"
    )
    if _postgres():
        sql = (
            f"WITH moved AS (DELETE FROM {stage} WHERE {where} RETURNING *), "
            f"folded AS ({insert.format(source='moved')} RETURNING 1) "
            "SELECT (SELECT COUNT(*) FROM moved), (SELECT COUNT(*) FROM folded)"
        )
        return tuple(_run(sql, params)[0])
    moved = _run(f"SELECT COUNT(*) FROM {stage} WHERE {where}", params)[0][0]
    folded = _run(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {stage} WHERE {where} GROUP BY {', '.join(keys)})", params
    )[0][0]
    _run(insert.format(source=f"(SELECT * FROM {stage} WHERE {where})"), params)
    _run(f"DELETE FROM {stage} WHERE {where}", params)
    return moved, folded


def _fold_containers(where: str, params: list) -> tuple[int, int]:
    from costing.recording import _larger, _merged_json  # the direct path's SET clauses

    group = _cols(ContainerHour, ["pod_id", "node_id", "container", "hour"])
    cluster = bulk.column(ContainerHour, "cluster_id")
    init = bulk.column(ContainerHour, "init")
    sums = _cols(ContainerHour, _CONTAINER_SUMS)
    peaks = _cols(ContainerHour, _CONTAINER_PEAKS)
    cpu_h, mem_h = _cols(ContainerHour, ["cpu_histogram", "mem_histogram"])
    cpu_b, mem_b = _cols(ContainerMinute, ["cpu_bucket", "mem_bucket"])
    seconds = bulk.column(ContainerMinute, "seconds")
    stage, hours = bulk.table(ContainerMinute), bulk.table(ContainerHour)
    pg = _postgres()
    any_init = f"BOOL_OR({init})" if pg else f"MAX({init})"
    agg = "JSONB_OBJECT_AGG(b::text, s)" if pg else "JSON_GROUP_OBJECT(CAST(b AS TEXT), s)"
    empty = "'{}'::jsonb" if pg else "'{}'"
    g = ", ".join(group)

    def histogram(bucket: str) -> str:
        return (
            f"SELECT {g}, {agg} AS h FROM (SELECT {g}, {bucket} AS b, SUM({seconds}) AS s FROM moved "
            f"WHERE {bucket} IS NOT NULL GROUP BY {g}, {bucket} ORDER BY {g}, {bucket}) x GROUP BY {g}"
        )

    on = " AND ".join(f"t.{c} = {{a}}.{c}" for c in group)
    columns = [cluster, *group, init, *sums, *peaks, cpu_h, mem_h]
    select = (
        f"SELECT t.{cluster}, {', '.join(f't.{c}' for c in group)}, t.{init}, "
        f"{', '.join(f't.{c}' for c in sums + peaks)}, COALESCE(cpu.h, {empty}), COALESCE(mem.h, {empty}) "
        f"FROM sums t LEFT JOIN cpu ON {on.format(a='cpu')} LEFT JOIN mem ON {on.format(a='mem')} "
        f"WHERE 1 = 1 ORDER BY {', '.join(f't.{c}' for c in group)}"
    )
    t = bulk.table(ContainerHour)
    update = bulk.added(ContainerHour, _CONTAINER_SUMS)
    update += [_larger(t, c) for c in peaks] + [_merged_json(t, c) for c in (cpu_h, mem_h)]
    ctes = (
        f"cpu AS ({histogram(cpu_b)}), mem AS ({histogram(mem_b)}), "
        f"sums AS (SELECT {cluster}, {g}, {any_init} AS {init}, "
        f"{', '.join(f'SUM({c}) AS {c}' for c in sums)}, {', '.join(f'MAX({c}) AS {c}' for c in peaks)} "
        f"FROM moved GROUP BY {cluster}, {g})"
    )
    insert = (
        f"INSERT INTO {hours} ({', '.join(columns)}) {select} "
        f"ON CONFLICT ({g}) DO UPDATE SET {', '.join(update)}"
    )
    if pg:
        sql = (
            f"WITH moved AS (DELETE FROM {stage} WHERE {where} RETURNING *), {ctes}, "
            f"folded AS ({insert} RETURNING 1) "
            "SELECT (SELECT COUNT(*) FROM moved), (SELECT COUNT(*) FROM folded)"
        )
        return tuple(_run(sql, params)[0])
    moved = _run(f"SELECT COUNT(*) FROM {stage} WHERE {where}", params)[0][0]
    # SQLite: the CTEs read the staged rows through `moved`, a view of the same condition.
    sql = f"WITH moved AS (SELECT * FROM {stage} WHERE {where}), {ctes} {insert}"
    before = _run(f"SELECT COUNT(*) FROM (SELECT 1 FROM {stage} WHERE {where} GROUP BY {g})", params)[0][0]
    _run(sql, params)
    _run(f"DELETE FROM {stage} WHERE {where}", params)
    return moved, before
