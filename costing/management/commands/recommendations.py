"""Print right-sizing recommendations per container from the data of [--start, --end) (docs/rightsizing.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from costing.management.cli import add_window_options, check_cluster, check_format, parse_period, write_rows
from costing.recommendations import COLUMNS, as_data, recommendations, rightsizing_settings

# Command-line option, policy field, type, meaning. Given, an option replaces the setting of the policy
# file everywhere, its per-namespace overrides included.
POLICY_OPTIONS = [
    ("--percentile", "cpu_percentile", float, "CPU usage percentile"),
    ("--cpu-headroom", "cpu_headroom", float, "factor on the CPU percentile"),
    ("--mem-headroom", "mem_headroom", float, "factor on the memory peak, at least 1"),
    ("--lookback-days", "lookback_days", int, "days of usage a recommendation uses"),
    ("--min-days", "min_days", int, "fewer days of usage: no recommendation"),
    ("--min-coverage", "min_coverage", float, "lower sampled share of the look-back: no recommendation"),
]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        add_window_options(parser)
        for flag, field, kind, meaning in POLICY_OPTIONS:
            parser.add_argument(
                flag,
                dest=field,
                type=kind,
                default=None,
                help=f"{meaning} (default: the policy's rightsizing.{field}, for every namespace)",
            )

    def handle(self, *args, start, end, cluster=None, format="table", **options):
        check_format(format)
        first, stop = parse_period(start, end)
        check_cluster(cluster)
        try:
            settings = rightsizing_settings(
                stop, {field: options[field] for _, field, _, _ in POLICY_OPTIONS}
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        result = recommendations(
            datetime(first.year, first.month, first.day, tzinfo=UTC),
            datetime(stop.year, stop.month, stop.day, tzinfo=UTC),
            cluster=cluster,
            settings=settings,
        )
        # Names come from clusters and pods: the CSV is written as the report exports write it.
        write_rows(self.stdout, COLUMNS, as_data(result), format)
