"""The Optimise page: every capacity lever of the period ranked by monthly saving, with its evidence
(docs/optimise.md). One query (reports.queries.optimise.period_opportunities) for the page, API and report."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from costing.engine.levers import LEVERS, OVERLAPS
from costing.engine.levers.capacity import ALL_POOLS
from costing.opportunities import as_data, figures_text
from reports import charts, tables, views_common
from reports.queries.optimise import period_opportunities
from reports.views_common import BadRequest, base_context, page

EVIDENCE = 6  # charts per lever: the pools and workloads with the largest savings
LEVER_NAMES = {
    "rightsize": _("Right-size requests"),
    "packing": _("Remove surplus nodes"),
    "oversubscription": _("Oversubscribe to batch work"),
    "cronhpa": _("CronHPA schedule"),
    "pay_per_use": _("Move to pay-per-use"),
}


class SavingTable(tables.Table):
    per_page = 50
    lever = tables.Column(_("Lever"))
    subject = tables.Column(_("Subject"))
    cluster = tables.Column(_("Cluster"))
    monthly_saving = tables.MoneyColumn(_("Monthly saving ({currency})"), strong=True)
    counted_saving = tables.MoneyColumn(_("Counted in the total ({currency})"))
    overlaps = tables.Column(_("Overlaps with"), empty_values=())
    figures_text = tables.Column(_("Figures"), orderable=False)

    def render_lever(self, value):
        return LEVER_NAMES.get(value, value)


class PackingTable(tables.Table):
    pool = tables.Column(_("Node pool"))
    cluster = tables.Column(_("Cluster"))
    node_shape = tables.Column(_("Node (cores / GiB)"), orderable=False)
    nodes_max = tables.QuantityColumn(_("Nodes now (most)"), places=1)
    needed_peak = tables.CountColumn(_("Needed, today's requests"))
    needed_peak_rec = tables.CountColumn(_("Needed, advised requests"))
    monthly_saving_today = tables.MoneyColumn(_("Saving, today's requests ({currency})"))
    monthly_saving = tables.MoneyColumn(_("Saving, advised requests ({currency})"), strong=True)
    peak = tables.Column(_("Peak hours of day (UTC)"), orderable=False)


class CapacityTable(tables.Table):
    pool = tables.Column(_("Node pool"))
    cluster = tables.Column(_("Cluster"))
    allocatable_cores = tables.QuantityColumn(_("Allocatable (cores)"), places=2)
    requested_cores = tables.QuantityColumn(_("Requested (cores)"), places=2)
    used_cores_p95 = tables.QuantityColumn(_("Used P95 (cores)"), places=2)
    unused_cores_mean = tables.QuantityColumn(_("Requested, unused (cores)"), places=2)
    unused_gib_mean = tables.QuantityColumn(_("Requested, unused (GiB)"), places=2)
    batch_core_hours = tables.QuantityColumn(_("Batch core-hours it could absorb"), places=0)
    monthly_value = tables.MoneyColumn(_("Monthly value ({currency})"), strong=True)


class CronTable(tables.Table):
    per_page = 50
    workload = tables.Column(_("Workload"))
    cluster = tables.Column(_("Cluster"))
    replicas_mean = tables.QuantityColumn(_("Replicas now (mean)"), places=2)
    replicas_suggested_mean = tables.QuantityColumn(_("Replicas with the schedule (mean)"), places=2)
    monthly_saving = tables.MoneyColumn(_("Monthly saving ({currency})"), strong=True)
    schedule_text = tables.Column(_("Minimum replicas (UTC)"), orderable=False, empty_values=())
    reason = tables.Column(_("Why no schedule"), empty_values=())


class PayPerUseTable(tables.Table):
    per_page = 50
    workload = tables.Column(_("Workload"))
    cluster = tables.Column(_("Cluster"))
    monthly_direct = tables.MoneyColumn(_("Direct ({currency})"))
    monthly_idle = tables.MoneyColumn(_("Idle share ({currency})"))
    monthly_cost_now = tables.MoneyColumn(_("Now ({currency})"))
    monthly_cost_ppu = tables.MoneyColumn(_("Pay-per-use ({currency})"))
    monthly_saving = tables.MoneyColumn(_("Monthly saving ({currency})"), strong=True)


def _namespace(request) -> str | None:
    namespace = request.GET.get("namespace", "").strip() or None
    if namespace is not None and len(namespace) > 253:
        raise BadRequest("namespace: a namespace name has at most 253 characters")
    return namespace


def _rows(frame, columns: list[str]) -> list[dict]:
    out = []
    for record in frame.to_dict("records"):
        row = {c: record.get(c) for c in columns}
        if "workload_name" in record:
            row["workload"] = f"{record['namespace']}/{record['workload_kind']}/{record['workload_name']}"
        out.append(row)
    return out


def _packing_rows(frame) -> list[dict]:
    rows = _rows(frame, ["cluster", "pool", "nodes_max", "needed_peak", "needed_peak_rec",
                         "monthly_saving_today", "monthly_saving", "node_cores", "node_gib", "peak_hours_of_day"])  # fmt: skip
    for row in rows:
        row["node_shape"] = f"{row['node_cores']:g} / {row['node_gib']:g}"
        row["peak"] = ", ".join(f"{h:02d}" for h in row["peak_hours_of_day"] or [])
    return rows


def _packing_charts(levers) -> list[dict]:
    pools = levers.packing_pools.sort_values("monthly_saving", ascending=False).head(EVIDENCE)
    out = []
    for cluster, pool in zip(pools["cluster"], pools["pool"], strict=True):
        hours = levers.packing_hours
        rows = hours.loc[(hours["cluster"] == cluster) & (hours["pool"] == pool)].sort_values("hour")
        series = {
            str(_("Nodes")): rows["nodes"].tolist(),
            str(_("Needed, today's requests")): rows["needed"].tolist(),
            str(_("Needed, advised requests")): rows["needed_rec"].tolist(),
        }
        x = [t.isoformat() for t in rows["hour"]]
        out.append(
            {
                "title": f"{cluster}/{pool}",
                "json": charts.lines(x, series, y_title=str(_("nodes")), step=True),
            }
        )
    return out


def _capacity_charts(levers) -> list[dict]:
    """Each cluster over all its pools, then the pools worth most."""
    wholes = levers.capacity_clusters.assign(hours="cluster")
    pools = (
        levers.capacity_pools.sort_values("monthly_value", ascending=False)
        .head(EVIDENCE)
        .assign(hours="pool")
    )
    frames = {"cluster": levers.capacity_cluster_hours, "pool": levers.capacity_hours}
    out = []
    for cluster, pool, which in zip(
        [*wholes["cluster"], *pools["cluster"]],
        [*wholes["pool"], *pools["pool"]],
        [*wholes["hours"], *pools["hours"]],
        strict=True,
    ):
        hours = frames[which]
        rows = hours.loc[(hours["cluster"] == cluster) & (hours["pool"] == pool)].sort_values("hour_of_day")
        series = {
            str(_("Allocatable")): rows["allocatable_cores"].tolist(),
            str(_("Requested")): rows["requested_cores"].tolist(),
            str(_("Requested, advised")): rows["requested_cores_rec"].tolist(),
            str(_("Used (P95)")): rows["used_cores_p95"].tolist(),
        }
        x = rows["hour_of_day"].tolist()
        json = charts.lines(x, series, y_title=str(_("cores")), x_title=str(_("hour of day (UTC)")))
        title = f"{cluster}/{pool}" if pool != ALL_POOLS else f"{cluster} ({_('all pools')})"
        out.append({"title": title, "json": json})
    return out


def _capacity_rows(levers) -> list[dict]:
    columns = ["cluster", "pool", "allocatable_cores", "requested_cores", "used_cores_p95", "unused_cores_mean",
               "unused_gib_mean", "batch_core_hours", "monthly_value"]  # fmt: skip
    rows = _rows(levers.capacity_clusters, columns) + _rows(levers.capacity_pools, columns)
    for row in rows:
        if row["pool"] == ALL_POOLS:
            row["pool"] = _("all pools")
    return rows


def _cron_charts(levers, cron) -> list[dict]:
    best = cron.loc[cron["monthly_saving"] > 0].sort_values("monthly_saving", ascending=False).head(EVIDENCE)
    profile = levers.cronhpa_profile
    out = []
    for record in best.to_dict("records"):
        rows = profile.loc[
            (profile["cluster"] == record["cluster"])
            & (profile["namespace"] == record["namespace"])
            & (profile["workload_kind"] == record["workload_kind"])
            & (profile["workload_name"] == record["workload_name"])
            & (profile["day_type"] == "weekdays")
        ].sort_values("hour_of_day")
        series = {str(_("Replicas now (weekdays)")): rows["replicas"].tolist(),
                  str(_("Minimum with the schedule")): rows["needed"].tolist()}  # fmt: skip
        json = charts.lines(rows["hour_of_day"].tolist(), series, y_title=str(_("replicas")),
                            x_title=str(_("hour of day (UTC)")), step=True)  # fmt: skip
        out.append({"title": f"{record['namespace']}/{record['workload_name']}", "json": json})
    return out


def _numbered(stem: str, items: list[dict]) -> list[dict]:
    return [{**item, "id": f"{stem}-{n}"} for n, item in enumerate(items, 1)]


@page()
def optimise(request, state):
    """The savings list of the period (the picker's cluster, or every cluster), each money counted once."""
    result = period_opportunities(
        state.period,
        views_common.today(),
        cluster=state.cluster,
        departments=state.departments,
        namespace=_namespace(request),
    )
    levers = result.levers
    savings = as_data(result.savings, ["cluster", "lever", "subject", "monthly_saving", "counted_saving",
                                       "overlaps", "figures"])  # fmt: skip
    for row in savings:
        row["figures_text"] = figures_text(row["figures"])
    total = round(result.total, 2)
    cron = result.cronhpa
    ppu = result.pay_per_use
    ppu = ppu.loc[ppu["monthly_cost_ppu"].notna()].sort_values("monthly_saving", ascending=False)
    top = savings[:15]
    context = base_context(
        request,
        state,
        page="optimise",
        result=result,
        total=total,
        rows=savings,
        whole=result.whole,
        by_lever=result.totals("lever"),
        by_cluster=result.totals("cluster"),
        order=[{"lever": LEVER_NAMES[lever], "overlaps": [LEVER_NAMES[o] for o in OVERLAPS[lever]]} for lever in LEVERS],
        chart=charts.bars([f"{LEVER_NAMES[r['lever']]}: {r['subject']}" for r in top],
                          [r["counted_saving"] for r in top], currency=settings.FINOPS_CURRENCY)
        if top else None,
        packing_charts=_numbered("packing", _packing_charts(levers) if result.whole else []),
        capacity_charts=_numbered("capacity", _capacity_charts(levers) if result.whole else []),
        cron_charts=_numbered("cron", _cron_charts(levers, cron)),
    )  # fmt: skip
    named = {
        "savings": SavingTable(
            savings, state=state, caption=_("Savings, best first"),
            totals=[{"subject": _("Total, each money counted once"), "counted_saving": total}],
        ),
        "cronhpa": CronTable(
            _rows(cron, ["cluster", "replicas_mean", "replicas_suggested_mean", "monthly_saving", "schedule_text",
                         "reason"]),
            state=state, caption=_("CronHPA schedules"),
        ),
        "pay_per_use": PayPerUseTable(
            _rows(ppu, ["cluster", "monthly_direct", "monthly_idle", "monthly_cost_now", "monthly_cost_ppu",
                        "monthly_saving"]),
            state=state, caption=_("Pay-per-use what-if"),
        ),
    }  # fmt: skip
    if result.whole:
        named["packing"] = PackingTable(
            _packing_rows(levers.packing_pools), state=state, caption=_("Node packing")
        )
        named["capacity"] = CapacityTable(
            _capacity_rows(levers), state=state, caption=_("Reclaimable capacity")
        )
    return tables.render_page(request, "reports/optimise.html", context, "optimise", **named)
