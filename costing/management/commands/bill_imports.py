"""List the bill imports, newest first: file, rows, totals, currency, period, who, when, outcome."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from costing.billing.importer import summary
from costing.models import BillImport


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--output", choices=["text", "json"], default="text")
        parser.add_argument("--limit", type=int, default=100)

    def handle(self, *args, output: str, limit: int, **options):
        records = [summary(r) for r in BillImport.objects.select_related("uploaded_by")[:limit]]
        if output == "json":
            self.stdout.write(json.dumps(records, indent=2))
            return
        if not records:
            self.stdout.write("No bill imports yet.")
            return
        header = f"{'#':>5}  {'when':19}  {'outcome':9}  {'rows':>9}  {'EffectiveCost':>20}  cur  period                  who       file"
        self.stdout.write(header)
        for r in records:
            when = (r["created_at"] or "")[:19].replace("T", " ")
            period = f"{r['period_start'][:10]}..{r['period_end'][:10]}" if r["period_start"] else "-"
            self.stdout.write(
                f"{r['id']:>5}  {when:19}  {r['status']:9}  {r['rows']:>9,}  {r['effective_total']:>20}  "
                f"{r['currency'] or '-':3}  {period:22}  {r['uploaded_by'] or '-':8}  {r['file']}"
            )
            if r["error"]:
                self.stdout.write(f"       error: {r['error']}")
