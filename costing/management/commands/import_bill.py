"""Import a FOCUS or Huawei Cloud CBC bill file: all of it, attributed to clusters and nodes, or nothing."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from costing.billing.importer import import_bill, summary
from costing.choices import RunStatus


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", dest="bill_format", choices=["focus", "cbc"], required=True)
        parser.add_argument("--account", help="CBC: the billing account of a file without an account column")
        parser.add_argument("--output", choices=["text", "json"], default="text")
        parser.add_argument("--user", help="username recorded as the importer")

    def handle(self, *args, file: Path, bill_format: str, account, output: str, user, **options):
        who = None
        if user:
            who = get_user_model().objects.filter(username=user).first()
            if who is None:
                raise CommandError(f"--user {user}: no such user")
        record = import_bill(file, bill_format, user=who, account_id=account)
        if record.status != RunStatus.SUCCEEDED:
            raise CommandError(f"bill import #{record.pk} failed: {record.error}")
        data = summary(record)
        if output == "json":
            self.stdout.write(json.dumps(data, indent=2))
            return
        self.stdout.write(render_text(data))


def render_text(data: dict) -> str:
    lines = [
        f"Imported {data['file']} (import #{data['id']}, {data['format']})",
        f"  rows:      {data['rows']:,}",
        f"  currency:  {data['currency']}",
        f"  period:    {data['period_start']} to {data['period_end']}",
        f"  accounts:  {', '.join(data['billing_account_ids'])}",
        f"  EffectiveCost: {data['effective_total']}",
        f"  BilledCost:    {data['billed_total']}",
        "  by kind (lines, EffectiveCost, BilledCost):",
    ]
    for kind, tally in data["by_kind"].items():
        lines.append(f"    {kind:9s} {tally['lines']:>9,}  {tally['effective']:>24}  {tally['billed']:>24}")
    if data["replaced_lines"]:
        lines.append(f"  replaced {data['replaced_lines']:,} line(s) of earlier imports of the same period")
    if data["notes"]:
        lines.extend(f"  note: {note}" for note in data["notes"].splitlines())
    return "\n".join(lines)
