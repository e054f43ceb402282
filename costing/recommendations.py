"""Right-sizing recommendations from the database: container-hours and prices read, the engine run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Func, TextField, Value
from django.db.models.functions import Cast

from costing import access
from costing import bulk_write as bulk
from costing.compute import day_bounds, day_runs, read_frame
from costing.engine.rightsizing import (
    COVERAGE_COLUMNS,
    DAY_VALUES,
    HOUR_COLUMNS,
    KEY_COLUMNS,
    OVER_REQUESTED,
    UNDER_REQUESTED,
    ContainerDays,
    RightsizingPolicy,
    container_days,
    recommend_days,
)
from costing.folding import fold_for_read
from costing.models import (
    Cluster,
    ClusterDay,
    ContainerDay,
    ContainerHour,
    CoverageHour,
    NamespaceCostDay,
    NodeCostHour,
    Pod,
    Workload,
)
from costing.policy.spec import RIGHTSIZING_DAYS, RightsizingSpec
from costing.policy.store import spec_for_day

__all__ = [
    "COLUMNS",
    "SUMS",
    "RightsizingSettings",
    "as_data",
    "container_hours",
    "coverage_hours",
    "cpu_quantity",
    "kubectl_patch",
    "memory_quantity",
    "read_container_days",
    "recommendations",
    "recommendations_at",
    "rightsizing_settings",
    "savings_sums",
    "store_container_days",
    "with_owners",
]

# The rows of the command, the API and the report sheet (docs/rightsizing.md).
COLUMNS = [
    "cluster", "namespace", "workload_kind", "workload_name", "container",
    "cpu_request_cores", "cpu_recommended_cores", "mem_request_bytes", "mem_recommended_bytes",
    "monthly_cost_now", "monthly_cost_recommended", "monthly_saving", "status",
    "backtest_cpu_over_share", "backtest_mem_over", "reason",
]  # fmt: skip
MONEY = {"monthly_cost_now", "monthly_cost_recommended", "monthly_saving"}
BYTES = {"mem_request_bytes", "mem_recommended_bytes"}
SUMS = ("namespace", "department", "cluster")

_HOUR_FIELDS = [
    "pod_id", "node_id", "hour", "container", "init", "seconds",
    "cpu_request_core_hours", "cpu_usage_core_hours", "cpu_billable_core_hours", "cpu_usage_max_cores",
    "cpu_histogram", "mem_request_gib_hours", "mem_limit_gib_hours", "mem_usage_gib_hours",
    "mem_billable_gib_hours", "mem_usage_max_bytes",
]  # fmt: skip
_POD_NAMES = {
    "id": "pod_id",
    "cluster__name": "cluster",
    "namespace__name": "namespace",
    "workload__kind": "workload_kind",
    "workload__name": "workload_name",
}


def container_hours(
    start: datetime, end: datetime, cluster: str | None = None, *, cluster_id: int | None = None
) -> pd.DataFrame:
    """The container-hours of [start, end) (HOUR_COLUMNS) with the unit prices of their node-hour.

    A node-hour not yet priced (costs not computed) has NaN prices: it costs nothing in either figure.
    The rows are read without joins and their histograms as text, by COPY on PostgreSQL (millions of
    rows: the ORM's per-row work would be most of the time); names come from the pods, read once each,
    and prices from the node-hours, joined by position (a merge of millions of rows costs seconds).
    """
    fold_for_read(cluster_id if cluster_id is not None else cluster, before=end)
    scope = {"hour__gte": start, "hour__lt": end}
    if cluster:
        scope["cluster__name"] = cluster
    if cluster_id is not None:
        scope["cluster_id"] = cluster_id
    text = Cast("cpu_histogram", TextField())
    if connection.vendor == "postgresql":
        # {"35": 1200, "36": 600} sent as {35:1200,36:600}: a third of the bytes, and no quotes for the CSV to
        # double and undouble; the engine reads either. translate(), not regexp_replace: the regular
        # expression cost PostgreSQL more CPU than the rest of the read.
        text = Func(text, Value('" '), Value(""), function="translate", output_field=TextField())
    queryset = (
        ContainerHour.objects.filter(**scope)
        .annotate(cpu_histogram_text=text)
        .values_list(*("cpu_histogram_text" if f == "cpu_histogram" else f for f in _HOUR_FIELDS))
    )
    # The histogram as its JSON text (the engine parses it), the container's name as text.
    rows = read_frame(queryset, _HOUR_FIELDS, text=("container", "cpu_histogram", "init"))
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in HOUR_COLUMNS})
    # Names as categories: a code per row, each name once (the engine groups by the codes).
    rows["container"] = pd.Categorical(rows["container"].astype(str))
    init = rows["init"]
    # COPY writes booleans as t/f; the cursor of another database gives booleans (or 0/1).
    rows["init"] = (
        init.astype(bool) if pd.api.types.is_bool_dtype(init) else init.astype(str).isin(["t", "True", "1"])
    )
    rows["hour"] = _timestamps(rows["hour"])
    pods = pd.DataFrame.from_records(
        Pod.objects.filter(id__in=rows["pod_id"].unique().tolist()).values(*_POD_NAMES)
        if len(rows) < 30_000
        else Pod.objects.filter(**_cluster_scope(cluster, cluster_id)).values(*_POD_NAMES),
        columns=list(_POD_NAMES),
    ).rename(columns=_POD_NAMES)
    at = pd.Index(pods["pod_id"]).get_indexer(rows["pod_id"])  # every row's pod exists (a foreign key)
    for column in pods.columns.drop("pod_id"):
        codes, names = pd.factorize(pods[column].astype(str))
        rows[column] = pd.Categorical.from_codes(codes[at], categories=names)
    prices = read_frame(
        NodeCostHour.objects.filter(**scope).values_list("node_id", "hour", "cpu_price", "mem_price"),
        ["node_id", "hour", "cpu_price", "mem_price"],
    )
    prices["hour"] = _timestamps(prices["hour"])
    at = pd.Index(_node_hour(prices)).get_indexer(_node_hour(rows))  # -1: not priced
    for column in ("cpu_price", "mem_price"):
        values = np.append(pd.to_numeric(prices[column]).to_numpy(dtype=float), np.nan)
        rows[column] = values[at]
    return rows[HOUR_COLUMNS]


def _timestamps(values: pd.Series) -> pd.Series:
    """Timestamps (text from COPY, or datetimes) as UTC datetimes, each distinct value parsed once: a read
    holds millions of rows of a few hundred hours."""
    codes, uniques = pd.factorize(values)
    parsed = pd.to_datetime(pd.Index(uniques), utc=True, format="ISO8601").tz_localize(None).to_numpy()
    return pd.Series(parsed[codes], index=values.index).dt.tz_localize("UTC")


def _node_hour(frame: pd.DataFrame) -> np.ndarray:
    """One integer per (node, hour)."""
    hours = frame["hour"].dt.tz_localize(None).to_numpy().astype("datetime64[h]").astype(np.int64)
    return frame["node_id"].to_numpy(dtype=np.int64) * 10_000_000 + hours


def _cluster_scope(name: str | None, cluster_id: int | None = None) -> dict:
    if cluster_id is not None:
        return {"cluster_id": cluster_id}
    return {"cluster__in": Cluster.objects.filter(name=name)} if name else {}


# --- container-days: what right-sizing reads of a computed day ----------------------------------------------

_DAY_FIELDS = ["cluster_id", "day", "workload_id", "container", *DAY_VALUES, "histogram", "steps"]


def store_container_days(cluster_id: int, day: date) -> int:
    """Replace the ContainerDay rows of a cluster-day with those of its container-hours, priced at its
    node-hours: call it where the day's NodeCostHour rows were just written, in the same transaction.
    Marks the ClusterDay (`container_days`). Returns the number of rows."""
    start, end = day_bounds(day)
    ContainerDay.objects.filter(cluster_id=cluster_id, day=day).delete()
    days = container_days(container_hours(start, end, cluster_id=cluster_id), start, end)
    ClusterDay.objects.filter(cluster_id=cluster_id, day=day).update(container_days=True)
    if not len(days):
        return 0
    rows = days.rows
    workloads = {
        (namespace, kind, name): pk
        for pk, namespace, kind, name in Workload.objects.filter(cluster_id=cluster_id).values_list(
            "pk", "namespace__name", "kind", "name"
        )
    }
    keys = zip(*(rows[c].astype(str) for c in ("namespace", "workload_kind", "workload_name")), strict=True)
    histogram, steps = days.pack()
    columns = {
        "cluster_id": cluster_id,
        "day": day,
        "workload_id": [workloads[tuple(k)] for k in keys],
        "container": rows["container"].astype(str).tolist(),
        **{c: rows[c].to_numpy(dtype=float) for c in DAY_VALUES if c != "last_hour"},
        "last_hour": pd.to_datetime(rows["last_hour"].to_numpy(dtype=np.int64), unit="s", utc=True),
        "histogram": histogram,
        "steps": steps,
    }
    return bulk.insert_columns(ContainerDay, columns)


def read_container_days(start: datetime, end: datetime, cluster: str | None = None) -> ContainerDays:
    """The container-days of [start, end) (whole UTC days): the stored rows of every cluster-day computed
    with them and not dirty since, the others (not computed yet, changed since, or computed before
    container-days were stored) folded from their container-hours, as the engine does."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    clusters = dict(
        Cluster.objects.filter(**({"name": cluster} if cluster else {})).values_list("pk", "name")
    )
    stored = set(
        ClusterDay.objects.filter(
            cluster_id__in=clusters, day__gte=first, day__lt=last, container_days=True, dirty=False
        ).values_list("cluster_id", "day")
    )
    parts = [_stored_days(stored, first, last)] if stored else []
    every = [first + timedelta(days=i) for i in range((last - first).days)]
    for cluster_id in clusters:
        missing = [d for d in every if (cluster_id, d) not in stored]
        for a, b in day_runs(missing):
            lo, hi = day_bounds(a)[0], day_bounds(b)[1]
            hours = container_hours(lo, hi, cluster_id=cluster_id)
            if len(hours):
                parts.append(container_days(hours, lo, hi))
    return ContainerDays.concat(parts)


def _stored_days(stored: set, first: date, last: date) -> ContainerDays:
    """The ContainerDay rows of the `stored` cluster-days, names from their workloads."""
    cluster_ids = sorted({c for c, _ in stored})
    with connection.cursor() as cursor:
        query = ContainerDay.objects.filter(cluster_id__in=cluster_ids, day__gte=first, day__lt=last)
        sql, params = query.values_list(*_DAY_FIELDS).query.sql_with_params()
        cursor.execute(sql, params)
        records = cursor.fetchall()
    if not records:
        return ContainerDays.empty()
    columns = list(zip(*records, strict=True))
    rows = pd.DataFrame({name: columns[i] for i, name in enumerate(_DAY_FIELDS[:-2])})
    rows["day"] = pd.to_datetime(rows["day"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    keep = [(c, d) in stored for c, d in zip(rows["cluster_id"], columns[1], strict=True)]
    rows["last_hour"] = (
        pd.to_datetime(rows["last_hour"], utc=True).dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    ).astype(np.int64)
    for column in DAY_VALUES:
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(np.float64)
    rows["period"] = rows["day"]
    names = pd.DataFrame.from_records(
        Workload.objects.filter(cluster_id__in=cluster_ids).values_list(
            "pk", "cluster__name", "namespace__name", "kind", "name"
        ),
        columns=["workload_id", "cluster", "namespace", "workload_kind", "workload_name"],
    )
    at = pd.Index(names["workload_id"]).get_indexer(rows["workload_id"])
    for column in ("cluster", "namespace", "workload_kind", "workload_name"):
        codes, uniques = pd.factorize(names[column].astype(str))
        rows[column] = pd.Categorical.from_codes(codes[at], categories=uniques)
    rows["container"] = pd.Categorical(rows["container"].astype(str))
    days = ContainerDays.unpacked(
        rows[[*KEY_COLUMNS, "day", "period", *DAY_VALUES]],
        [bytes(b) for b in columns[-2]],
        [bytes(b) for b in columns[-1]],
    )
    return days.take(np.asarray(keep, dtype=bool))


def coverage_hours(start: datetime, end: datetime, cluster: str | None = None) -> pd.DataFrame:
    """Sampled seconds per cluster-hour of [start, end) (COVERAGE_COLUMNS)."""
    scope = {"hour__gte": start, "hour__lt": end}
    if cluster:
        scope["cluster__name"] = cluster
    frame = pd.DataFrame.from_records(
        CoverageHour.objects.filter(**scope).values("cluster__name", "hour", "sampled_seconds"),
        columns=["cluster__name", "hour", "sampled_seconds"],
    ).rename(columns={"cluster__name": "cluster"})
    frame["hour"] = pd.to_datetime(frame["hour"], utc=True)
    return frame[COVERAGE_COLUMNS]


class RightsizingSettings:
    """The right-sizing policies in force: the policy file's `rightsizing` section (the policy in force on the
    day the advice is for), each override a policy of its own, and the command's options over all of them.

    Raises ValueError (naming the setting) when a combination is not a valid RightsizingPolicy.
    """

    def __init__(self, spec: RightsizingSpec | None = None, options: Mapping[str, object] | None = None):
        self.spec = spec if spec is not None else RightsizingSpec()
        self.options = {k: v for k, v in (options or {}).items() if v is not None}
        self.default = self._policy(self.spec.settings())
        self.overrides = [self._policy(self.spec.settings(o)) for o in self.spec.overrides]

    def _policy(self, settings: Mapping[str, Decimal]) -> RightsizingPolicy:
        values = {
            name: int(value) if name in RIGHTSIZING_DAYS else float(value) for name, value in settings.items()
        }
        return RightsizingPolicy(**{**values, **self.options})

    def for_namespace(self, namespace: str) -> RightsizingPolicy:
        index = self.spec.override_index(namespace)
        return self.default if index is None else self.overrides[index]

    def namespace_policies(self, namespaces) -> dict[str, RightsizingPolicy]:
        """The policy of each of `namespaces` that has one other than the default."""
        out = {ns: self.for_namespace(ns) for ns in namespaces}
        return {ns: p for ns, p in out.items() if p != self.default}

    @property
    def days_read(self) -> int:
        """The days of data the longest look-back and its back-test need."""
        return max(p.lookback_days + p.backtest_days for p in [self.default, *self.overrides])


def rightsizing_settings(day: date, options: Mapping[str, object] | None = None) -> RightsizingSettings:
    """The settings of the policy in force on `day` (the day the advice is for), `options` over them."""
    return RightsizingSettings(spec_for_day(day).rightsizing, options)


def recommendations(
    start: datetime,
    end: datetime,
    *,
    cluster: str | None = None,
    policy: RightsizingPolicy | None = None,
    settings: RightsizingSettings | None = None,
) -> pd.DataFrame:
    """One row per container (costing.engine.rightsizing.RESULT_COLUMNS) from the data of [start, end).

    `policy`: one policy for every container; else `settings` (default: those of the policy in force on
    the day of `end`), each namespace with the policy its settings give it.
    """
    if policy is not None:
        settings = None
    elif settings is None:
        settings = rightsizing_settings(end.astimezone(UTC).date())
    days = policy.backtest_days + policy.lookback_days if policy is not None else settings.days_read
    # Only the days the look-back and the back-test windows can use are read: the container-days stored
    # with the computed days (whole UTC days), or else the hours folded into days as the engine does.
    first = max(start, end - timedelta(days=days))
    if _midnight(first) and _midnight(end):
        found = read_container_days(first, end, cluster)
    else:
        found = container_days(
            container_hours(first, end, cluster), first, end, offset=int(end.timestamp()) % 86400
        )
    return recommend_days(
        found,
        coverage_hours(first, end, cluster),
        start=start,
        end=end,
        policy=policy if policy is not None else settings.default,
        namespace_policies=None
        if settings is None
        else settings.namespace_policies(found.rows["namespace"].astype(str).unique()),
    )


def _midnight(t: datetime) -> bool:
    return int(t.timestamp()) % 86400 == 0


def recommendations_at(
    day: date,
    *,
    cluster: str | None = None,
    departments=None,
    namespace: str | None = None,
    settings: RightsizingSettings | None = None,
) -> pd.DataFrame:
    """The recommendations for the start of `day` (UTC) from the days the windows need, with owners
    (with_owners), limited to the namespaces owned by `departments` (None: all; costing.access rules).
    `settings`: default, those of the policy in force on `day`."""
    settings = settings or rightsizing_settings(day)
    end = datetime(day.year, day.month, day.day, tzinfo=UTC)
    start = end - timedelta(days=settings.days_read)
    frame = with_owners(recommendations(start, end, cluster=cluster, settings=settings), day)
    keep = access.owned_rows(frame, departments)
    if keep is not None:
        frame = frame.loc[keep.to_numpy()]
    if namespace:
        frame = frame.loc[frame["namespace"] == namespace]
    return frame.reset_index(drop=True)


def with_owners(frame: pd.DataFrame, day: date) -> pd.DataFrame:
    """`frame` with each container's workload_id, and its namespace's department and shared flag on the
    last stored day before `day` (NamespaceCostDay: what the costs were computed with; none: empty, and
    shared, so that no department viewer reads a namespace no department was found to own)."""
    out = frame.copy()
    owners = pd.DataFrame.from_records(
        NamespaceCostDay.objects.filter(day__lt=day, day__gte=day - timedelta(days=62))
        .order_by("namespace_id", "-day")
        .values("cluster__name", "namespace__name", "department", "shared"),
        columns=["cluster__name", "namespace__name", "department", "shared"],
    ).rename(columns={"cluster__name": "cluster", "namespace__name": "namespace"})
    owners = owners.drop_duplicates(["cluster", "namespace"])
    workloads = pd.DataFrame.from_records(
        Workload.objects.filter(cluster__name__in=out["cluster"].unique().tolist()).values(
            "pk", "cluster__name", "namespace__name", "kind", "name"
        ),
        columns=["pk", "cluster__name", "namespace__name", "kind", "name"],
    ).rename(
        columns={
            "pk": "workload_id",
            "cluster__name": "cluster",
            "namespace__name": "namespace",
            "kind": "workload_kind",
            "name": "workload_name",
        }
    )
    out = out.merge(owners, on=["cluster", "namespace"], how="left")
    out = out.merge(workloads, on=["cluster", "namespace", "workload_kind", "workload_name"], how="left")
    out["department"] = out["department"].fillna("")
    out["shared"] = out["shared"].fillna(True).astype(bool)
    out["workload_id"] = out["workload_id"].astype("Int64")
    return out


def savings_sums(frame: pd.DataFrame, by: str) -> list[dict]:
    """Per `by` (namespace, department or cluster): the monthly saving of its over-requested containers
    and their count, and the count and monthly extra cost of its under-requested ones (a risk, never
    netted against the saving); largest saving first."""
    if by not in SUMS:
        raise ValueError(f"by: {by!r} is not one of {', '.join(SUMS)}")
    keys = ["cluster", "namespace"] if by == "namespace" else [by]
    over = frame["status"] == OVER_REQUESTED
    under = frame["status"] == UNDER_REQUESTED
    parts = pd.DataFrame(
        {
            **{k: frame[k] for k in keys},
            "saving": np.where(over, frame["monthly_saving"].fillna(0), 0.0),
            "over": over.astype(int),
            "risk_cost": np.where(under, -frame["monthly_saving"].fillna(0), 0.0),
            "under": under.astype(int),
        }
    )
    if parts.empty:
        return []
    sums = parts.groupby(keys, sort=False).sum().reset_index()
    sums = sums.sort_values(["saving", *keys], ascending=[False, *[True] * len(keys)])
    return [
        {**{k: row[k] for k in keys}, "saving": round(float(row["saving"]), 2), "over": int(row["over"]),
         "risk_cost": round(float(row["risk_cost"]), 2), "under": int(row["under"])}
        for row in sums.to_dict("records")
    ]  # fmt: skip


def _value(column: str, value):
    """A cell as plain JSON data: money to the cent, bytes whole, None if missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if column in ("backtest_mem_over", "shared"):
        return bool(value)
    if column in MONEY:
        return round(float(value), 2)
    if column in BYTES or column == "workload_id":
        return int(value)
    if column.endswith("_cores"):
        return round(float(value), 6)  # a request of 187.5 millicores is shown as it is
    if column.endswith("_share"):
        return round(float(value), 4)
    return value


def as_data(frame: pd.DataFrame, columns: list[str] = COLUMNS) -> list[dict]:
    """The rows as plain JSON data (the command's, the API's)."""
    return [{c: _value(c, record[c]) for c in columns} for record in frame.to_dict("records")]


# Where a workload kind keeps its pod template; a kind without one (a bare Pod, a Job) cannot be patched.
_TEMPLATE_PATHS = {
    "Deployment": ("deployment", ["spec", "template", "spec"]),
    "StatefulSet": ("statefulset", ["spec", "template", "spec"]),
    "DaemonSet": ("daemonset", ["spec", "template", "spec"]),
    "ReplicaSet": ("replicaset", ["spec", "template", "spec"]),
    "CronJob": ("cronjob", ["spec", "jobTemplate", "spec", "template", "spec"]),
}


def cpu_quantity(cores: float) -> str:
    """Cores in Kubernetes units: whole millicores, 0.25 -> "250m" (rounded up: never below the advice)."""
    return f"{int(np.ceil(round(cores * 1000, 6)))}m"


def memory_quantity(size: float) -> str:
    """Bytes in Kubernetes units: whole MiB as "384Mi", else whole bytes."""
    size = int(np.ceil(size))
    return f"{size // 2**20}Mi" if size % 2**20 == 0 else str(size)


def kubectl_patch(
    namespace: str, kind: str, name: str, containers: list[tuple[str, float, float]]
) -> dict | None:
    """The `kubectl patch` command and the YAML fragment that set the containers' requests, each given as
    (container, cpu cores, memory bytes); None for a kind with no pod template to patch. A strategic merge
    patch merges containers by name, so the other fields of each container are left as they are."""
    if kind not in _TEMPLATE_PATHS or not containers:
        return None
    resource, path = _TEMPLATE_PATHS[kind]
    listed = [
        {"name": c, "resources": {"requests": {"cpu": cpu_quantity(cpu), "memory": memory_quantity(mem)}}}
        for c, cpu, mem in containers
    ]
    patch: dict = {"containers": listed}
    for key in reversed(path):
        patch = {key: patch}
    body = json.dumps(patch, separators=(",", ":"))
    command = f"kubectl -n {namespace} patch {resource} {name} --type=strategic -p '{body}'"
    indent = "  " * (len(path) - 1)
    lines = [f"{'  ' * i}{key}:" for i, key in enumerate(path)]
    lines.append(f"{indent}  containers:")
    for entry in listed:
        requests = entry["resources"]["requests"]
        lines += [
            f"{indent}  - name: {entry['name']}",
            f"{indent}    resources:",
            f"{indent}      requests:",
            f'{indent}        cpu: "{requests["cpu"]}"',
            f'{indent}        memory: "{requests["memory"]}"',
        ]
    return {"command": command, "yaml": "\n".join(lines) + "\n"}
