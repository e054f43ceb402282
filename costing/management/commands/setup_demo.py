"""Create (or refresh) the demo admin and the demo cluster with 30 days of sampled history, for `make run`."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from costing.choices import ConnectionType
from costing.demo.backfill import backfill_demo
from costing.demo.setup import setup_demo_bill
from costing.models import Cluster
from costing.tasks.compute import recompute_dirty

DEMO_ADMIN = "admin"
DEMO_HISTORY_DAYS = 30


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--no-cluster", action="store_true", help="only the admin user")
        parser.add_argument(
            "--history-days",
            type=int,
            default=DEMO_HISTORY_DAYS,
            help=f"days of simulated samples before today (default {DEMO_HISTORY_DAYS}; 0: none)",
        )

    def handle(self, *args, no_cluster: bool = False, history_days: int = DEMO_HISTORY_DAYS, **options):
        cluster = self._admin_and_cluster(no_cluster)
        if cluster is not None and cluster.connection_type == ConnectionType.SIMULATOR:
            # Days already recorded are skipped, so a second start does not redo (or double) anything.
            self.stdout.write(f"Demo history: {history_days} days of samples ...")
            backfill_demo(cluster, history_days, write=lambda line: self.stdout.write(f"  {line}"))
            # After the samples, so that the bill's node lines find their nodes.
            self.stdout.write(setup_demo_bill(cluster, days=history_days))
            # Compute now what beat would compute within five minutes, so the first page has numbers.
            done = recompute_dirty(batch=100_000)
            if done:
                self.stdout.write(f"Computed {sum(n for _, n in done)} cluster-day(s) of results")

    @transaction.atomic
    def _admin_and_cluster(self, no_cluster: bool) -> Cluster | None:
        # A new password at every start, never a fixed one. It comes from the environment (not the
        # command line, which other users can read in the process list) or is made here and printed.
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or ""
        print_password = not password
        password = password or secrets.token_urlsafe(12)
        user, created = get_user_model().objects.get_or_create(username=DEMO_ADMIN)
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"Demo admin {'created' if created else 'refreshed'}: {DEMO_ADMIN}")
        if print_password:
            self.stdout.write(f"Password: {password}")
        if no_cluster:
            return None
        cluster, created = Cluster.objects.get_or_create(
            name="demo", defaults={"connection_type": ConnectionType.SIMULATOR}
        )
        self.stdout.write(f"Demo cluster {'created' if created else 'present'}: {cluster.name}")
        return cluster
