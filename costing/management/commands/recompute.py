"""Recompute the results of the days [--start, --end) (UTC), for every cluster or one."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from costing.compute import recompute_period
from costing.fanout import fan_out_period
from costing.models import Cluster


def parse_day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{option}: {text!r} is not a date YYYY-MM-DD") from exc


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--end", required=True, help="day after the last, YYYY-MM-DD (exclusive)")
        parser.add_argument("--cluster", help="cluster name (default: every cluster with data)")
        parser.add_argument(
            "--workers",
            action="store_true",
            help="send one task per cluster-day to the compute queue for the workers, instead of computing "
            "here (docs/operations.md, fan-out); returns once they are sent",
        )

    def handle(self, *args, start: str, end: str, cluster: str | None = None, workers=False, **options):
        first, stop = parse_day("--start", start), parse_day("--end", end)
        if stop <= first:
            raise CommandError(f"--end {stop} must be after --start {first} (the end is exclusive)")
        if cluster is not None and not Cluster.objects.filter(name=cluster).exists():
            raise CommandError(f"--cluster: no cluster named {cluster!r}")

        if workers:
            count = fan_out_period(first, stop, cluster)
            self.stdout.write(f"sent {count} cluster-day(s) to the compute queue")
            return

        def progress(day, rows):
            physical = sum((r.physical_cost for r in rows), start=0)
            self.stdout.write(f"{day}: {len(rows)} cluster(s), physical cost {physical:.2f}")

        count = recompute_period(first, stop, cluster, progress=progress)
        self.stdout.write(f"recomputed {count} cluster-day(s)")
