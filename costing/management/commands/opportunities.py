"""Print the capacity levers' savings list from the data of [--start, --end) (docs/optimise.md)."""

from __future__ import annotations

from decimal import Decimal

from django.core.management.base import BaseCommand

from costing.management.cli import add_window_options, check_cluster, check_format, parse_period, write_rows
from costing.opportunities import COLUMNS, as_data, figures_text, opportunities


def _cell(column: str, value):
    """A cell of the table and the CSV: the figures as text, amounts as numbers to the cent."""
    if column == "figures":
        return figures_text(value)
    if column in ("monthly_saving", "counted_saving"):
        return Decimal(f"{value:.2f}")  # a number: written as is, never quoted as text
    return value


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        add_window_options(parser)

    def handle(self, *args, start, end, cluster=None, format="table", **options):
        check_format(format)
        first, stop = parse_period(start, end)
        check_cluster(cluster)
        result = opportunities(first, stop, cluster=cluster)
        rows = as_data(result.savings)
        if format != "json":
            # The lever's own figures as one text cell; amounts to the cent (numbers stay numbers in CSV).
            rows = [{c: _cell(c, row[c]) for c in COLUMNS} for row in rows]
        # Names come from clusters, pools and workloads: the CSV is written as the report exports write it.
        write_rows(self.stdout, COLUMNS, rows, format)
        if format == "table":
            self.stdout.write(f"total (each money counted once): {result.total:.2f} a month")
