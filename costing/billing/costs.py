"""Hourly bill costs of a cluster for the engine, and the bill lines behind one node-hour for explanations."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Context, Decimal, localcontext

import pandas as pd

from costing.billing.attribution import NODE
from costing.billing.spreading import HOUR_NS, split_cost
from costing.models import BillLine

HOURLY_COLUMNS = ("hour", "node_id", "kind", "effective_cost", "billed_cost")
EXPLAIN_COLUMNS = (
    "line_id",
    "bill_import_id",
    "file_name",
    "source_row",
    "resource_id",
    "service_name",
    "charge_period_start",
    "charge_period_end",
    "effective_cost",
    "billed_cost",
    "effective_share",
    "billed_share",
)
_EXACT = Context(prec=200)
_LINE_FIELDS = ("charge_period_start", "charge_period_end", "effective_cost", "billed_cost")
_EXPLAIN_FIELDS = (
    "pk", "bill_import_id", "bill_import__file_name", "source_row", "resource_id", "service_name", *_LINE_FIELDS
)  # fmt: skip


def bill_costs_by_hour(cluster_id: int, start: datetime, end: datetime) -> pd.DataFrame:
    """The cluster's bill cost per UTC hour in [start, end) (whole hours): node lines per node-hour,
    overhead lines per cluster-hour (node_id None).

    Columns hour (UTC Timestamp), node_id (int or None), kind ("node" or "overhead"), effective_cost and
    billed_cost (Decimal, exact). Each line is spread over the hours of its charge period with
    spreading.split_cost (in proportion to the time in each hour, shares exact to 10**-9, adding up to the
    line's cost), and only the shares of the hours inside [start, end) are kept: a line half inside the
    window gives half its cost. Cost outside Kubernetes has no cluster and never appears here.
    """
    lines = BillLine.objects.filter(
        cluster_id=cluster_id, charge_period_end__gte=start, charge_period_start__lt=end
    ).values_list("node_id", "kind", *_LINE_FIELDS)
    first, stop = _ns(start), _ns(end)
    totals: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    with localcontext(_EXACT):
        for node_id, kind, line_start, line_end, effective, billed in lines.iterator(chunk_size=20_000):
            key_node = node_id if kind == NODE else None
            for hour, effective_share, billed_share in _shares(line_start, line_end, effective, billed):
                if first <= hour < stop:
                    entry = totals[(hour, key_node, kind)]
                    entry[0] += effective_share
                    entry[1] += billed_share
    if not totals:
        return pd.DataFrame({name: pd.Series([], dtype=object) for name in HOURLY_COLUMNS}).astype(
            {"hour": "datetime64[ns, UTC]"}
        )
    keys = sorted(totals, key=lambda k: (k[0], k[2], -1 if k[1] is None else k[1]))
    return pd.DataFrame(
        {
            "hour": pd.to_datetime([k[0] for k in keys], unit="ns", utc=True),
            "node_id": pd.Series([k[1] for k in keys], dtype=object),
            "kind": pd.Series([k[2] for k in keys], dtype=object),
            "effective_cost": pd.Series([totals[k][0] for k in keys], dtype=object),
            "billed_cost": pd.Series([totals[k][1] for k in keys], dtype=object),
        }
    )


def lines_for_node_hour(node_id: int, hour: datetime) -> pd.DataFrame:
    """The node lines that make the node's cost in the hour starting at `hour`, and each one's share of it.

    One row per line (columns EXPLAIN_COLUMNS): the line's whole effective and billed cost and charge
    period, and effective_share / billed_share, the part of them spread into this hour. The shares add up
    to the node-hour's cost in bill_costs_by_hour.
    """
    hour = hour.replace(minute=0, second=0, microsecond=0)
    lines = (
        BillLine.objects.filter(
            node_id=node_id,
            kind=NODE,
            charge_period_end__gte=hour,
            charge_period_start__lt=hour + timedelta(hours=1),
        )
        .order_by("bill_import_id", "source_row")
        .values_list(*_EXPLAIN_FIELDS)
    )
    rows = []
    target = _ns(hour)
    with localcontext(_EXACT):
        for (
            pk,
            import_id,
            file_name,
            source_row,
            resource_id,
            service,
            start,
            end,
            effective,
            billed,
        ) in lines:
            for share_hour, effective_share, billed_share in _shares(start, end, effective, billed):
                if share_hour == target:
                    rows.append(
                        (pk, import_id, file_name, source_row, resource_id, service, start, end,
                         effective, billed, effective_share, billed_share)
                    )  # fmt: skip
    return pd.DataFrame(rows, columns=list(EXPLAIN_COLUMNS))


def _shares(start: datetime, end: datetime, effective: Decimal, billed: Decimal):
    """(hour in ns, effective share, billed share) for each hour the charge period overlaps."""
    a, b = _ns(start), _ns(end)
    if b - a <= HOUR_NS and (a // HOUR_NS == (max(b, a + 1) - 1) // HOUR_NS):
        return [(a - a % HOUR_NS, effective, billed)]  # inside one hour: the whole line
    billed_shares = dict(split_cost(billed, a, b))
    return [(hour, share, billed_shares[hour]) for hour, share in split_cost(effective, a, b)]


def _ns(moment: datetime) -> int:
    return pd.Timestamp(moment).as_unit("ns").value
