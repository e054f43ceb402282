"""Re-encrypt every stored secret (cluster kubeconfigs) with the first key of FINOPS_ENCRYPTION_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from costing.models import Cluster


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        count = 0
        with transaction.atomic():
            # Read decrypts with any key; update() encrypts with the first. update(): no save signals.
            for pk, kubeconfig in Cluster.objects.exclude(kubeconfig="").values_list("pk", "kubeconfig"):
                Cluster.objects.filter(pk=pk).update(kubeconfig=kubeconfig)
                count += 1
        self.stdout.write(f"re-encrypted the kubeconfig of {count} cluster(s)")
