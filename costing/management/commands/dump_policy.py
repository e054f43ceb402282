"""Print the apportionment policy in force on a day (default: today) as YAML, as stored now or at a past moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from costing.policy import dump_policy
from costing.policy.history import spec_at
from costing.policy.store import policy_for_day, spec_from_policy


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--date", dest="day", help="YYYY-MM-DD (UTC): the day in force; default today")
        parser.add_argument(
            "--at",
            help="the policies as stored at this moment (policy history): YYYY-MM-DD (the end of that day, "
            "UTC) or YYYY-MM-DDTHH:MM[:SS] (UTC); --date then defaults to that day",
        )

    def handle(self, *args, day: str | None = None, at: str | None = None, **options):
        moment = _parse_moment(at) if at else None
        default = moment.date() if moment else timezone.now().date()
        day = _parse_day(day) if day else default
        if moment is None:
            policy = policy_for_day(day)
            if policy is None:
                raise CommandError(
                    f"no policy is in force on {day}: load one with `manage.py load_policy FILE`"
                )
            spec = spec_from_policy(policy)
        else:
            spec = spec_at(day, moment)
            if spec is None:
                raise CommandError(f"no policy was in force on {day} as stored at {at}")
        self.stdout.write(dump_policy(spec), ending="")


def _parse_day(text: str):
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--date: {text!r} is not a date YYYY-MM-DD") from exc


def _parse_moment(text: str) -> datetime:
    """A day means its last instant (everything stored that day counts); a time is UTC unless it says otherwise."""
    try:
        if "T" not in text and " " not in text:
            next_day = datetime.combine(date.fromisoformat(text) + timedelta(days=1), time(), tzinfo=UTC)
            return next_day - timedelta(microseconds=1)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(
            f"--at: {text!r} is not a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM[:SS]"
        ) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
