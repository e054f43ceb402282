"""Record past days of a simulator cluster's samples (the demo's history), skipping what is recorded."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from costing.choices import ConnectionType
from costing.demo.backfill import backfill_demo
from costing.models import Cluster


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--cluster", default="demo", help="name of a simulator cluster (default: demo)")
        parser.add_argument("--days", type=int, default=30, help="whole days before today (default: 30)")

    def handle(self, *args, cluster: str, days: int, **options):
        found = Cluster.objects.filter(name=cluster).first()
        if found is None:
            raise CommandError(f"--cluster: no cluster named {cluster!r}")
        if found.connection_type != ConnectionType.SIMULATOR:
            raise CommandError(
                f"--cluster: {cluster!r} is not a simulator cluster; only those can be backfilled"
            )
        if days < 0:
            raise CommandError(f"--days: must not be negative, not {days}")
        result = backfill_demo(found, days, write=self.stdout.write)
        self.stdout.write(
            f"Backfilled {found.name}: {result.slots} slots, {result.pod_samples:,} pod samples, "
            f"{len(result.days)} days marked for recompute."
        )
