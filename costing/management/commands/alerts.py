"""Evaluate budgets, forecasts and anomalies as of a day and print the alerts to send (then send them)."""

from __future__ import annotations

import json
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from costing.budgets.delivery import plan_deliveries, send_due
from costing.budgets.evaluate import day_is_computed, evaluate, not_raised, raise_alerts


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="evaluate the day's budgets and anomalies")
        parser.add_argument(
            "--date", dest="day", help="YYYY-MM-DD, the last computed day (default: yesterday, UTC)"
        )
        parser.add_argument("--dry-run", action="store_true", help="print the alerts, store and send nothing")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args, check: bool, day: str | None, dry_run: bool, format: str, **options):
        if not check:
            raise CommandError("nothing to do: give --check (see --help)")
        try:
            as_of = date.fromisoformat(day) if day else timezone.now().date() - timedelta(days=1)
        except ValueError as exc:
            raise CommandError(f"--date: {day!r} is not YYYY-MM-DD") from exc
        if not day_is_computed(as_of):
            self.stderr.write(f"warning: {as_of} is not (entirely) computed; its figures may change")
        rows = not_raised(evaluate(as_of))
        if not dry_run:
            for alert in raise_alerts(rows):
                plan_deliveries(alert)
            sent, failed = send_due()
        if format == "json":
            self.stdout.write(json.dumps([row.as_json() for row in rows], indent=2))
        else:
            for row in rows:
                self.stdout.write(f"{row.kind:8} {row.subject_kind:12} {row.subject or '-'}: {row.message}")
            if not rows:
                self.stdout.write(f"no new alert as of {as_of}")
        if not dry_run:
            self.stderr.write(
                f"{len(rows)} alert(s) raised; {sent} delivery(ies) sent, {failed} failed attempt(s)"
            )
