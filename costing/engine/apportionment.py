"""Who pays: one day's namespace, shared, idle and overhead costs divided among departments (COST_MODEL 6)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from costing.engine._validate import EngineInputError, require_columns, require_finite, require_unique

POOLS = ("shared", "idle", "overhead")
METHODS = ("proportional", "even", "weights", "separate")
IDLE_METHODS = (*METHODS, "per_resource")
SCOPES = ("cluster", "global")
# The line a pool stays on when it is `separate` or nobody can take it.
LINES = {"shared": "Shared", "idle": "Idle", "overhead": "Overhead"}
UNALLOCATED = "Unallocated"
AMOUNTS = ["direct", "shared", "idle", "overhead"]
REL_TOL = 1e-9

EXPLAIN_COLUMNS = [
    "cluster",
    "pool",
    "department",
    "method",
    "applied",
    "scope",
    "basis",
    "resource",
    "via",
    "pool_amount",
    "fraction",
    "amount",
]


class ApportionmentMismatch(AssertionError):
    """Department totals and lines do not add up to a cluster's cost: a bug, never a property of the data."""


@dataclass(frozen=True)
class ApportionInputs:
    """One UTC day of all clusters.

    namespaces: cluster, namespace, department, shared (bool), cpu_cost, mem_cost, cost; one row per
        (cluster, namespace). The department is resolved by the caller ("Unallocated" when no rule
        claims the namespace) and ignored for shared namespaces.
    idle: cluster, cpu_idle, mem_idle (several rows per cluster are added up).
    overhead: cluster, cost (several rows per cluster are added up).
    """

    namespaces: pd.DataFrame
    idle: pd.DataFrame
    overhead: pd.DataFrame


@dataclass(frozen=True)
class ApportionRules:
    """How the policy divides each common pool.

    shared, idle, overhead: the method of each pool, one of METHODS (idle also "per_resource").
    shared_scope, overhead_scope: "cluster" or "global"; idle is always divided within its cluster.
    weights: percentage per department for the "weights" method (normalised, need not add to 100).
    departments: every department of the policy, in display order.
    """

    shared: str = "proportional"
    idle: str = "proportional"
    overhead: str = "proportional"
    shared_scope: str = "cluster"
    overhead_scope: str = "cluster"
    weights: Mapping[str, float] = field(default_factory=dict)
    departments: Sequence[str] = ()

    def method(self, pool: str) -> str:
        return getattr(self, pool)

    def scope(self, pool: str) -> str:
        return "cluster" if pool == "idle" else getattr(self, f"{pool}_scope")

    def validate(self) -> None:
        for pool in POOLS:
            allowed = IDLE_METHODS if pool == "idle" else METHODS
            if self.method(pool) not in allowed:
                raise EngineInputError(
                    f"rules.{pool}: {self.method(pool)!r} is not one of {', '.join(allowed)}"
                )
        for pool in ("shared", "overhead"):
            if self.scope(pool) not in SCOPES:
                raise EngineInputError(
                    f"rules.{pool}_scope: {self.scope(pool)!r} is not one of {', '.join(SCOPES)}"
                )
        for name in [*self.departments, *self.weights]:
            if name in LINES.values():
                raise EngineInputError(
                    f"rules.departments: {name!r} is reserved for the line of a common pool"
                )
        if len(set(self.departments)) != len(self.departments):
            raise EngineInputError("rules.departments: a department is listed twice")
        for name, weight in self.weights.items():
            if self.departments and name not in self.departments:
                raise EngineInputError(f"rules.weights[{name!r}]: not a department of the policy")
            if not (np.isfinite(weight) and weight >= 0):
                raise EngineInputError(f"rules.weights[{name!r}]: {weight!r} is not a number >= 0")


@dataclass(frozen=True)
class Apportionment:
    """The result of apportion().

    lines: one row per (cluster, department) plus the pool lines ("Shared", "Idle", "Overhead");
        columns cluster, department, kind ("department" or "line"), direct, shared, idle, overhead,
        total. `cluster` is always the cluster the cost arose in, also for global-scope pools, so the
        rows of a cluster add up to that cluster's cost and the sum over clusters is the global view.
    explain: one row per (cluster, pool, recipient) with the columns of EXPLAIN_COLUMNS: the method
        configured and the one applied (after fallbacks), the scope, the weight basis, the resource
        ("all", "cpu", "memory"), via ("shared" for the shared namespaces' idle passed on), the
        amount divided, the recipient's fraction of it and its amount.
    """

    lines: pd.DataFrame
    explain: pd.DataFrame


def apportion(
    day_inputs: ApportionInputs,
    rules: ApportionRules,
    *,
    pool_order: Sequence[str] = POOLS,
) -> Apportionment:
    """Divide one day's common pools among departments and return the lines and their explanation.

    Every weight comes from the namespaces' costs before any pool is divided, so the pools do not
    depend on each other; `pool_order` only exists so tests can show that.
    """
    rules.validate()
    if sorted(pool_order) != sorted(POOLS):
        raise EngineInputError(f"pool_order: {list(pool_order)!r} is not an ordering of {', '.join(POOLS)}")
    ns, idle, overhead = _checked(day_inputs)

    clusters = sorted(set(ns["cluster"]) | set(idle["cluster"]) | set(overhead["cluster"]))
    own = ns.loc[~ns["shared"]]
    extra = sorted(set(own["department"]) - set(rules.departments) - set(rules.weights))
    departments = [*rules.departments, *[d for d in rules.weights if d not in rules.departments], *extra]
    recipients = [*departments, *LINES.values()]

    def by_cluster(frame: pd.DataFrame, column: str, *, columns: str | None = None) -> pd.DataFrame:
        keys = ["cluster"] if columns is None else ["cluster", columns]
        summed = frame.groupby(keys, sort=False)[column].sum()
        wide = summed.unstack(fill_value=0.0) if columns else summed.to_frame(column)
        return wide.reindex(index=clusters, fill_value=0.0).fillna(0.0).astype(float)

    direct = by_cluster(own, "cost", columns="department").reindex(columns=departments, fill_value=0.0)
    shared_ns = ns.loc[ns["shared"]]
    pools = {
        "shared": by_cluster(shared_ns, "cost")["cost"],
        "idle_cpu": by_cluster(idle, "cpu_idle")["cpu_idle"],
        "idle_mem": by_cluster(idle, "mem_idle")["mem_idle"],
        "overhead": by_cluster(overhead, "cost")["cost"],
    }
    ctx = _Context(clusters, departments, recipients, direct, rules)

    columns: dict[str, pd.DataFrame] = {}
    explain: list[pd.DataFrame] = []
    for pool in pool_order:
        if pool == "idle" and rules.idle == "per_resource":
            matrix, notes = _per_resource_idle(ctx, own, shared_ns, pools)
        elif pool == "idle":
            matrix, notes = ctx.divide("idle", pools["idle_cpu"] + pools["idle_mem"])
        else:
            matrix, notes = ctx.divide(pool, pools[pool])
        columns[pool] = matrix
        explain.extend(notes)

    lines = _lines(ctx, direct, columns, ns)
    _check(lines, ns, pools, clusters)
    explain_frame = (
        pd.concat(explain, ignore_index=True) if explain else pd.DataFrame(columns=EXPLAIN_COLUMNS)
    )
    explain_frame = explain_frame.sort_values(
        ["cluster", "pool", "via", "resource", "department"], kind="stable"
    )
    return Apportionment(lines=lines, explain=explain_frame.reset_index(drop=True)[EXPLAIN_COLUMNS])


def _checked(day_inputs: ApportionInputs) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ns = day_inputs.namespaces
    require_columns(
        ns,
        ["cluster", "namespace", "department", "shared", "cpu_cost", "mem_cost", "cost"],
        name="namespaces",
    )
    require_columns(day_inputs.idle, ["cluster", "cpu_idle", "mem_idle"], name="idle")
    require_columns(day_inputs.overhead, ["cluster", "cost"], name="overhead")
    require_finite(ns, ["cpu_cost", "mem_cost", "cost"], name="namespaces")
    require_finite(day_inputs.idle, ["cpu_idle", "mem_idle"], name="idle")
    require_finite(day_inputs.overhead, ["cost"], name="overhead")
    require_unique(ns, ["cluster", "namespace"], name="namespaces")
    ns = ns.assign(shared=ns["shared"].astype(bool))
    unnamed = (~ns["shared"] & ns["department"].isna()).to_numpy()
    if unnamed.any():
        row = ns.index[int(unnamed.argmax())]
        raise EngineInputError(f"namespaces: row {row!r}, column department: empty (use {UNALLOCATED!r})")
    reserved = (~ns["shared"] & ns["department"].isin(list(LINES.values()))).to_numpy()
    if reserved.any():
        row = ns.index[int(reserved.argmax())]
        raise EngineInputError(
            f"namespaces: row {row!r}, column department: {ns['department'].iloc[int(reserved.argmax())]!r} "
            "is reserved for the line of a common pool"
        )
    return ns, day_inputs.idle, day_inputs.overhead


def _normalised(basis: pd.DataFrame) -> pd.DataFrame:
    """Each row divided by its sum; a row summing to 0 stays all 0 (nobody to take it)."""
    sums = basis.sum(axis=1)
    return basis.div(sums.where(sums > 0), axis=0).fillna(0.0)


class _Context:
    """What every pool's division needs: the clusters, the recipients and the direct costs before division."""

    def __init__(self, clusters, departments, recipients, direct: pd.DataFrame, rules: ApportionRules):
        self.clusters = clusters
        self.departments = departments
        self.recipients = recipients
        self.direct = direct
        self.rules = rules

    def scoped(self, basis: pd.DataFrame, scope: str) -> pd.DataFrame:
        """The basis per cluster (scope cluster) or the global basis repeated for every cluster."""
        if scope == "cluster":
            return basis
        total = basis.sum(axis=0)
        return pd.DataFrame([total.to_numpy()] * len(self.clusters), index=basis.index, columns=basis.columns)

    def fractions(self, method: str, scope: str) -> tuple[pd.DataFrame, pd.Series]:
        """Fraction of a pool per (cluster, department) and the method applied per cluster.

        Rows add up to 1, or to 0 where nobody can take the pool.
        """
        direct = self.scoped(self.direct, scope).clip(lower=0.0)
        even = _normalised((direct > 0).astype(float))
        applied = pd.Series(method, index=self.direct.index, dtype=object)
        if method == "separate":
            return even * 0.0, applied
        if method == "even":
            result = even
        else:
            if method == "proportional":
                basis = direct
            else:
                weights = pd.Series(self.rules.weights, dtype=float).reindex(self.departments, fill_value=0.0)
                basis = pd.DataFrame(
                    [weights.to_numpy()] * len(self.clusters), index=direct.index, columns=direct.columns
                )
            result = _normalised(basis)
            fallback = result.sum(axis=1) == 0
            result.loc[fallback] = even.loc[fallback]
            applied[fallback] = f"even (fallback: no {_BASIS[method]})"
        applied[result.sum(axis=1) == 0] = "no taker"
        return result, applied

    def divide(self, pool: str, amounts: pd.Series) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
        """Divide `amounts` (per cluster) by the pool's method; what nobody takes stays on the pool's line."""
        method, scope = self.rules.method(pool), self.rules.scope(pool)
        fractions, applied = self.fractions(method, scope)
        matrix = self.spread(amounts, fractions, LINES[pool])
        notes = self.explain(
            pool, method, applied, scope, _BASIS[method], "all", "", amounts, fractions, LINES[pool]
        )
        return matrix, [notes]

    def spread(self, amounts: pd.Series, fractions: pd.DataFrame, line: str) -> pd.DataFrame:
        """amounts * fractions per recipient, with what no department takes on `line`."""
        matrix = fractions.mul(amounts, axis=0).reindex(columns=self.recipients, fill_value=0.0)
        nobody = fractions.sum(axis=1) == 0
        matrix[line] = matrix[line] + amounts.where(nobody, 0.0)
        return matrix

    def explain(
        self, pool, method, applied, scope, basis, resource, via, amounts, fractions, line
    ) -> pd.DataFrame:
        long = fractions.rename_axis(index="cluster", columns="department").stack().rename("fraction")
        long = long[long != 0].reset_index()
        long["department"] = long["department"].replace(_SHARED_NAMESPACES, "(shared namespaces)")
        nobody = applied.index[fractions.sum(axis=1) == 0]
        taken = pd.DataFrame({"cluster": nobody, "department": line, "fraction": 1.0})
        long = pd.concat([long, taken], ignore_index=True) if len(taken) else long
        long["pool_amount"] = amounts.reindex(long["cluster"]).to_numpy()
        long["amount"] = long["pool_amount"] * long["fraction"]
        long["applied"] = applied.reindex(long["cluster"]).to_numpy()
        return long.assign(pool=pool, method=method, scope=scope, basis=basis, resource=resource, via=via)[
            EXPLAIN_COLUMNS
        ]


# Internal recipient of per_resource idle, named for the explanation; no department can be called so.
_SHARED_NAMESPACES = "\x00shared namespaces"
_BASIS = {
    "proportional": "direct cost",
    "even": "departments with direct cost",
    "weights": "policy weights",
    "separate": "not divided",
    "per_resource": "",
}


def _per_resource_idle(
    ctx: _Context, own: pd.DataFrame, shared_ns: pd.DataFrame, pools: dict[str, pd.Series]
):
    """Idle CPU by CPU cost and idle memory by memory cost over all namespaces, shared ones included.

    The shared namespaces' part of idle follows their shared cost: it is divided by the shared
    pool's method and scope, and shows in the idle column of whoever takes it.
    """
    matrix = pd.DataFrame(0.0, index=ctx.clusters, columns=ctx.recipients)
    even, _ = ctx.fractions("even", "cluster")
    notes = []
    passed_on = pd.Series(0.0, index=ctx.clusters)
    for resource, cost_col, pool_key in (("cpu", "cpu_cost", "idle_cpu"), ("memory", "mem_cost", "idle_mem")):
        basis = (
            own.groupby(["cluster", "department"])[cost_col]
            .sum()
            .unstack(fill_value=0.0)
            .reindex(index=ctx.clusters, columns=ctx.departments, fill_value=0.0)
            .fillna(0.0)
        )
        basis[_SHARED_NAMESPACES] = (
            shared_ns.groupby("cluster")[cost_col].sum().reindex(ctx.clusters, fill_value=0.0)
        )
        fractions = _normalised(basis.clip(lower=0.0))
        applied = pd.Series("per_resource", index=ctx.clusters, dtype=object)
        fallback = fractions.sum(axis=1) == 0
        fractions.loc[fallback, ctx.departments] = even.loc[fallback].to_numpy()
        applied[fallback] = "even (fallback: no allocation)"
        taken = fractions.sum(axis=1) > 0
        applied[~taken] = "no taker"
        amounts = pools[pool_key]
        matrix[ctx.departments] += fractions[ctx.departments].mul(amounts, axis=0)
        matrix[LINES["idle"]] += amounts.where(~taken, 0.0)
        passed_on = passed_on + amounts * fractions[_SHARED_NAMESPACES]
        notes.append(
            ctx.explain(
                "idle",
                "per_resource",
                applied,
                "cluster",
                f"{resource} cost",
                resource,
                "",
                amounts,
                fractions,
                "Idle",
            )
        )
    # The shared namespaces' idle goes where their cost goes (their line when shared is separate).
    method, scope = ctx.rules.shared, ctx.rules.shared_scope
    fractions, applied = ctx.fractions(method, scope)
    matrix = matrix + ctx.spread(passed_on, fractions, LINES["shared"])
    notes.append(
        ctx.explain(
            "idle", method, applied, scope, _BASIS[method], "all", "shared", passed_on, fractions, "Shared"
        )
    )
    return matrix, notes


def _lines(
    ctx: _Context, direct: pd.DataFrame, columns: dict[str, pd.DataFrame], ns: pd.DataFrame
) -> pd.DataFrame:
    wide = {"direct": direct.reindex(columns=ctx.recipients, fill_value=0.0)}
    for pool in POOLS:
        wide[pool] = columns[pool].reindex(index=ctx.clusters, columns=ctx.recipients, fill_value=0.0)
    long = pd.concat(
        {
            name: frame.rename_axis(index="cluster", columns="department").stack()
            for name, frame in wide.items()
        },
        axis=1,
    ).reset_index()
    long["total"] = long["direct"] + long["shared"] + long["idle"] + long["overhead"]
    long["kind"] = np.where(long["department"].isin(list(LINES.values())), "line", "department")
    has_namespace = pd.MultiIndex.from_frame(long[["cluster", "department"]]).isin(
        pd.MultiIndex.from_frame(ns.loc[~ns["shared"], ["cluster", "department"]])
    )
    keep = has_namespace | (long[AMOUNTS] != 0).any(axis=1).to_numpy()
    order = {name: i for i, name in enumerate(ctx.recipients)}
    long = long.loc[keep].assign(_order=lambda f: f["department"].map(order))
    long = long.sort_values(["cluster", "_order"], kind="stable").drop(columns="_order")
    return long[["cluster", "department", "kind", *AMOUNTS, "total"]].reset_index(drop=True)


def _check(lines: pd.DataFrame, ns: pd.DataFrame, pools: dict[str, pd.Series], clusters: list[str]) -> None:
    expected = (
        ns.groupby("cluster")["cost"].sum().reindex(clusters, fill_value=0.0)
        + pools["idle_cpu"]
        + pools["idle_mem"]
        + pools["overhead"]
    )
    got = lines.groupby("cluster")["total"].sum().reindex(clusters, fill_value=0.0)
    scale = np.maximum(np.abs(expected.to_numpy()), 1e-3)
    off = np.abs(got.to_numpy() - expected.to_numpy()) > REL_TOL * scale
    if off.any():
        cluster = clusters[int(off.argmax())]
        raise ApportionmentMismatch(
            f"cluster {cluster}: departments and lines add up to {got[cluster]!r}, "
            f"its cost is {expected[cluster]!r}"
        )
