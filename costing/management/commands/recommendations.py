"""Print right-sizing recommendations per container from the data of [--start, --end) (docs/rightsizing.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from costing.engine.rightsizing import RightsizingPolicy
from costing.management.commands.costs import FORMATS, _day
from costing.models import Cluster
from costing.recommendations import COLUMNS, as_data, recommendations
from reports.reporting.csv import writer as csv_writer
from reports.reporting.safety import safe_text

DEFAULTS = RightsizingPolicy()
# Command-line option, policy field, type, meaning.
POLICY_OPTIONS = [
    ("--percentile", "cpu_percentile", float, "CPU usage percentile"),
    ("--cpu-headroom", "cpu_headroom", float, "factor on the CPU percentile"),
    ("--mem-headroom", "mem_headroom", float, "factor on the memory peak, at least 1"),
    ("--lookback-days", "lookback_days", int, "days of usage a recommendation uses"),
    ("--min-days", "min_days", int, "fewer days of usage: no recommendation"),
    ("--min-coverage", "min_coverage", float, "lower sampled share of the look-back: no recommendation"),
]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="first day of data, YYYY-MM-DD (UTC)")
        parser.add_argument("--end", required=True, help="day after the last, YYYY-MM-DD (exclusive)")
        parser.add_argument("--cluster", help="only this cluster")
        parser.add_argument("--format", default="table", help=f"one of {', '.join(FORMATS)} (default table)")
        for flag, field, kind, meaning in POLICY_OPTIONS:
            default = getattr(DEFAULTS, field)
            parser.add_argument(
                flag, dest=field, type=kind, default=default, help=f"{meaning} (default {default:g})"
            )

    def handle(self, *args, start, end, cluster=None, format="table", **options):
        if format not in FORMATS:
            raise CommandError(f"--format: {format!r} is not one of {', '.join(FORMATS)}")
        first, stop = _day("--start", start), _day("--end", end)
        if stop <= first:
            raise CommandError(f"--end {stop} must be after --start {first} (the end is exclusive)")
        if cluster and not Cluster.objects.filter(name=cluster).exists():
            raise CommandError(f"--cluster: no cluster named {cluster!r}")
        try:
            policy = RightsizingPolicy(**{field: options[field] for _, field, _, _ in POLICY_OPTIONS})
        except ValueError as error:
            raise CommandError(str(error)) from None
        result = recommendations(
            datetime(first.year, first.month, first.day, tzinfo=UTC),
            datetime(stop.year, stop.month, stop.day, tzinfo=UTC),
            cluster=cluster,
            policy=policy,
        )
        rows = as_data(result)
        if format == "json":
            self.stdout.write(json.dumps(rows, indent=2))
        elif format == "csv":
            # Names come from clusters and pods: written as the report exports write them (formula-safe).
            writer = csv_writer(self.stdout)
            writer.writerow(COLUMNS)
            for row in rows:
                writer.writerow([safe_text(v) if isinstance(v, str) else _text(v) for v in row.values()])
        else:
            table = [[_text(row[c]) for c in COLUMNS] for row in rows]
            widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(COLUMNS)]
            self.stdout.write("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
            for r in table:
                self.stdout.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
