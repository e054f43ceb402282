"""Create (or refresh) the demo admin and the demo cluster, for `make run`."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from costing.choices import ConnectionType
from costing.demo.setup import setup_demo_bill
from costing.models import Cluster

DEMO_ADMIN = "admin"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--no-cluster", action="store_true", help="only the admin user")

    @transaction.atomic
    def handle(self, *args, no_cluster: bool = False, **options):
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
        if not no_cluster:
            cluster, created = Cluster.objects.get_or_create(
                name="demo", defaults={"connection_type": ConnectionType.SIMULATOR}
            )
            self.stdout.write(f"Demo cluster {'created' if created else 'present'}: {cluster.name}")
            self.stdout.write(setup_demo_bill(cluster))  # bills: minimal policy + demo FOCUS bill, once
