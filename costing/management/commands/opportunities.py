"""Print the capacity levers' savings list from the data of [--start, --end) (docs/optimise.md)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from costing.management.commands.costs import FORMATS, _day
from costing.models import Cluster
from costing.opportunities import COLUMNS, as_data, figures_text, opportunities
from reports.reporting.csv import writer as csv_writer
from reports.reporting.safety import safe_text


def _text(column: str, value) -> str:
    if column == "figures":
        return figures_text(value)
    if column in ("monthly_saving", "counted_saving"):
        return f"{value:.2f}"
    return "" if value is None else str(value)


def _cell(column: str, value) -> str:
    text = _text(column, value)
    return text if column in ("monthly_saving", "counted_saving") else safe_text(text)  # numbers stay numbers


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="first day of data, YYYY-MM-DD (UTC)")
        parser.add_argument("--end", required=True, help="day after the last, YYYY-MM-DD (exclusive)")
        parser.add_argument("--cluster", help="only this cluster")
        parser.add_argument("--format", default="table", help=f"one of {', '.join(FORMATS)} (default table)")

    def handle(self, *args, start, end, cluster=None, format="table", **options):
        if format not in FORMATS:
            raise CommandError(f"--format: {format!r} is not one of {', '.join(FORMATS)}")
        first, stop = _day("--start", start), _day("--end", end)
        if stop <= first:
            raise CommandError(f"--end {stop} must be after --start {first} (the end is exclusive)")
        if cluster and not Cluster.objects.filter(name=cluster).exists():
            raise CommandError(f"--cluster: no cluster named {cluster!r}")
        result = opportunities(first, stop, cluster=cluster)
        rows = as_data(result.savings)
        if format == "json":
            self.stdout.write(json.dumps(rows, indent=2))
        elif format == "csv":
            # Names come from clusters, pools and workloads: written as the report exports write them.
            writer = csv_writer(self.stdout)
            writer.writerow(COLUMNS)
            for row in rows:
                writer.writerow([_cell(c, row[c]) for c in COLUMNS])
        else:
            table = [[_text(c, row[c]) for c in COLUMNS] for row in rows]
            widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(COLUMNS)]
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
            for r in table:
                self.stdout.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
            self.stdout.write(f"total (each money counted once): {result.total:.2f} a month")
