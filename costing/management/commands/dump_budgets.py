"""Print the budget plan in force on a date (default: today) as YAML that load_budgets reads back."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from costing.budgets.store import plan_on, spec_from_plan
from costing.budgets.yamlfile import dump_budgets


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: today, UTC)")

    def handle(self, *args, date: str | None = None, **options):
        try:
            day = _date(date) if date else timezone.now().date()
        except ValueError as exc:
            raise CommandError(f"--date: {date!r} is not YYYY-MM-DD") from exc
        plan = plan_on(day)
        if plan is None:
            raise CommandError(f"no budgets are in force on {day}")
        self.stdout.write(dump_budgets(spec_from_plan(plan)), ending="")


_date = date.fromisoformat
