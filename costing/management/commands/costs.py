"""Print the costs of the days [--start, --end) grouped --by cluster, node, namespace, department, label, ..."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from reports.queries.common import QueryError
from reports.queries.costs import GROUPINGS, cost_rows
from reports.reporting.csv import writer as csv_writer
from reports.reporting.safety import safe_text

FORMATS = ("json", "csv", "table")


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{option}: {text!r} is not a date YYYY-MM-DD") from exc


def _text(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def _csv_cell(value) -> str:
    return safe_text(value) if isinstance(value, str) else _text(value)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD (UTC)")
        parser.add_argument("--end", required=True, help="day after the last, YYYY-MM-DD (exclusive)")
        parser.add_argument("--by", required=True, help=f"one of {', '.join(GROUPINGS)}")
        parser.add_argument("--cluster", help="only this cluster")
        parser.add_argument("--department", help="only this department's namespaces (or its row)")
        parser.add_argument("--format", default="table", help=f"one of {', '.join(FORMATS)} (default table)")

    def handle(self, *args, start, end, by, cluster=None, department=None, format="table", **options):
        if format not in FORMATS:
            raise CommandError(f"--format: {format!r} is not one of {', '.join(FORMATS)}")
        first, stop = _day("--start", start), _day("--end", end)
        if stop <= first:
            raise CommandError(f"--end {stop} must be after --start {first} (the end is exclusive)")
        try:
            rows = cost_rows(first, stop, by, cluster=cluster, department=department)
        except QueryError as exc:
            raise CommandError(str(exc)) from exc
        columns = list(dict.fromkeys(key for row in rows for key in row))
        if format == "json":
            self.stdout.write(
                json.dumps(rows, default=lambda v: str(v) if isinstance(v, Decimal) else v, indent=2)
            )
        elif format == "csv":
            # Names come from clusters, pods and policies: written as the report exports write them, text
            # escaped and numbers left as numbers (a negative amount is not a formula).
            writer = csv_writer(self.stdout)
            writer.writerow([safe_text(c) for c in columns])
            for row in rows:
                writer.writerow([_csv_cell(row.get(k)) for k in columns])
        else:
            table = [[_text(row.get(c)) for c in columns] for row in rows]
            widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
            for r in table:
                self.stdout.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
