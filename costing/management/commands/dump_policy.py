"""Print the apportionment policy in force on a day (default: today) as YAML."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from costing.policy import dump_policy
from costing.policy.store import policy_for_day, spec_from_policy


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--date", dest="day", help="YYYY-MM-DD (UTC); default today")

    def handle(self, *args, day: str | None = None, **options):
        day = _parse_day(day) if day else timezone.now().date()
        policy = policy_for_day(day)
        if policy is None:
            raise CommandError(f"no policy is in force on {day}: load one with `manage.py load_policy FILE`")
        self.stdout.write(dump_policy(spec_from_policy(policy)), ending="")


def _parse_day(text: str):
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--date: {text!r} is not a date YYYY-MM-DD") from exc
