"""Print the costs of the days [--start, --end) grouped --by cluster, node, namespace, department, label, ..."""

from __future__ import annotations

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from costing.management.cli import add_format_option, check_format, parse_period, write_rows
from reports.queries.common import QueryError
from reports.queries.costs import GROUPINGS, cost_rows


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD (UTC)")
        parser.add_argument("--end", required=True, help="day after the last, YYYY-MM-DD (exclusive)")
        parser.add_argument("--by", required=True, help=f"one of {', '.join(GROUPINGS)}")
        parser.add_argument("--cluster", help="only this cluster")
        parser.add_argument("--department", help="only this department's namespaces (or its row)")
        add_format_option(parser)

    def handle(self, *args, start, end, by, cluster=None, department=None, format="table", **options):
        check_format(format)
        first, stop = parse_period(start, end)
        try:
            rows = cost_rows(first, stop, by, cluster=cluster, department=department)
        except QueryError as exc:
            raise CommandError(str(exc)) from exc
        columns = list(dict.fromkeys(key for row in rows for key in row))
        # Names come from clusters, pods and policies: the CSV is written as the report exports write it.
        write_rows(
            self.stdout,
            columns,
            rows,
            format,
            cell=_text,
            json_default=lambda v: str(v) if isinstance(v, Decimal) else v,
        )
