"""Re-encrypt every stored secret (cluster kubeconfigs, Prometheus passwords and tokens, alert channels'
targets and signing secrets) with the first key of FINOPS_ENCRYPTION_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from costing.models import AlertChannel, Cluster

SECRET_FIELDS = ("kubeconfig", "prometheus_password", "prometheus_token")


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args, **options):
        count = 0
        with transaction.atomic():
            # Read decrypts with any key; update() encrypts with the first. update(): no save signals.
            for row in Cluster.objects.values("pk", *SECRET_FIELDS):
                secrets = {name: row[name] for name in SECRET_FIELDS if row[name]}
                if secrets:
                    Cluster.objects.filter(pk=row["pk"]).update(**secrets)
                    count += 1
            channels = 0
            for pk, target, secret in AlertChannel.objects.values_list("pk", "target", "secret"):
                AlertChannel.objects.filter(pk=pk).update(target=target, secret=secret)
                channels += 1
        self.stdout.write(
            f"re-encrypted the secrets (kubeconfig, Prometheus credentials) of {count} cluster(s)"
        )
        self.stdout.write(f"re-encrypted the target and secret of {channels} alert channel(s)")
