"""Reporting periods: parse `2026-10`, `2026-Q4`, `2026`, `2026-W44`, `2026-10-05` or a custom range.

A period is a half-open range of whole UTC days [start, end). The same grammar serves the pages'
period picker, the reports and the `export_report` command, so a link, a report and a file agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.utils import dateformat
from django.utils.translation import gettext, ngettext

KINDS = ("day", "week", "month", "quarter", "year", "custom")
HISTORY_MONTHS = 24  # how far back any period may start: "anywhere in the last two years"

_PATTERNS = [
    ("year", re.compile(r"^(\d{4})$")),
    ("quarter", re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)),
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("week", re.compile(r"^(\d{4})-W(\d{2})$", re.IGNORECASE)),
    ("day", re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")),
]


class PeriodError(ValueError):
    """A period that cannot be read or is outside the history we keep."""


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date  # exclusive

    def __post_init__(self):
        if self.end <= self.start:
            raise PeriodError(f"the period must end after it starts ({self.start} .. {self.end})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def key(self) -> str:
        """The canonical text of the period, which `parse_period` reads back."""
        s = self.start
        if self.kind == "year":
            return f"{s.year}"
        if self.kind == "quarter":
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{s:%Y-%m}"
        if self.kind == "week":
            year, week, _ = s.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "day":
            return s.isoformat()
        return f"{s.isoformat()}..{self.end.isoformat()}"

    @property
    def label(self) -> str:
        s = self.start
        if self.kind == "year":
            return str(s.year)
        if self.kind == "quarter":
            return gettext("Q%(quarter)d %(year)d") % {"quarter": (s.month - 1) // 3 + 1, "year": s.year}
        if self.kind == "month":
            # Translators: a month and its year in Django's date format ("October 2026").
            return dateformat.format(s, gettext("F Y"))
        if self.kind == "week":
            year, week, _ = s.isocalendar()
            return gettext("Week %(week)d of %(year)d (%(start)s – %(end)s)") % {
                "week": week,
                "year": year,
                "start": s.isoformat(),
                "end": self.last_day.isoformat(),
            }
        if self.kind == "day":
            return f"{s.isoformat()} ({dateformat.format(s, 'l')})"
        return f"{s.isoformat()} – {self.last_day.isoformat()}"

    def previous(self) -> Period:
        """The period of the same kind just before this one (same length for custom ranges)."""
        if self.kind == "year":
            return Period("year", self.start - relativedelta(years=1), self.start)
        if self.kind == "quarter":
            return Period("quarter", self.start - relativedelta(months=3), self.start)
        if self.kind == "month":
            return Period("month", self.start - relativedelta(months=1), self.start)
        return Period(self.kind, self.start - timedelta(days=self.days), self.start)

    def next(self) -> Period:
        """The period of the same kind just after this one (same length for custom ranges)."""
        if self.kind == "year":
            return Period("year", self.end, self.end + relativedelta(years=1))
        if self.kind == "quarter":
            return Period("quarter", self.end, self.end + relativedelta(months=3))
        if self.kind == "month":
            return Period("month", self.end, self.end + relativedelta(months=1))
        return Period(self.kind, self.end, self.end + timedelta(days=self.days))

    def each_day(self):
        day = self.start
        while day < self.end:
            yield day
            day += timedelta(days=1)


def compared_period(period: Period, today: date) -> Period:
    """What `period`'s figures are compared with: the previous period; while `period` is running (today
    inside it), only the same elapsed span of the previous one, its first N days where N counts the days
    from the start through today (month to date against the previous month's same days), all of it when
    it is not longer than that."""
    previous = period.previous()
    if not period.start <= today < period.end:
        return previous
    elapsed = (today - period.start).days + 1
    if elapsed >= previous.days:
        return previous
    return Period("custom", previous.start, previous.start + timedelta(days=elapsed))


def compared_label(period: Period, compared: Period) -> str:
    """How a page names what it compares with: "October 2026" for the whole previous period; for the
    elapsed span of a running one, its first and last day and what it is ("2026-10-01 - 2026-10-29, the
    same 29 days of October 2026", with an en dash as custom periods' labels)."""
    previous = period.previous()
    if compared == previous:
        return previous.label
    n = compared.days
    span = compared.start.isoformat() if n == 1 else compared.label
    words = {"span": span, "n": n, "previous": previous.label, "before": previous.days}
    if period.kind == "month" and n > 1:
        return gettext("%(span)s, the same %(n)d days of %(previous)s") % words
    if period.kind in ("month", "quarter", "year"):
        return (
            ngettext(
                "%(span)s, the first day of %(previous)s", "%(span)s, the first %(n)d days of %(previous)s", n
            )
            % words
        )
    if period.kind == "week":
        year, week, _ = previous.start.isocalendar()
        words.update(week=week, year=year)
        return (
            ngettext(
                "%(span)s, the first day of week %(week)d of %(year)d",
                "%(span)s, the first %(n)d days of week %(week)d of %(year)d",
                n,
            )
            % words
        )
    return (
        ngettext(
            "%(span)s, the first day of the %(before)d days before",
            "%(span)s, the first %(n)d days of the %(before)d days before",
            n,
        )
        % words
    )


def earliest_start(today: date) -> date:
    """The first day any period may cover: the first of the month 24 months before this one."""
    return today.replace(day=1) - relativedelta(months=HISTORY_MONTHS)


def parse_period(text: str) -> Period:
    """Read one period key (see module docstring), or `START..END` (END exclusive) for a custom range."""
    text = (text or "").strip()
    if ".." in text:
        first, _, last = text.partition("..")
        return Period("custom", _parse_date(first, "start"), _parse_date(last, "end"))
    for kind, pattern in _PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        numbers = [int(g) for g in match.groups()]
        try:
            if kind == "year":
                start = date(numbers[0], 1, 1)
                return Period(kind, start, start + relativedelta(years=1))
            if kind == "quarter":
                start = date(numbers[0], 3 * (numbers[1] - 1) + 1, 1)
                return Period(kind, start, start + relativedelta(months=3))
            if kind == "month":
                start = date(numbers[0], numbers[1], 1)
                return Period(kind, start, start + relativedelta(months=1))
            if kind == "week":
                start = date.fromisocalendar(numbers[0], numbers[1], 1)
                return Period(kind, start, start + timedelta(days=7))
            start = date(*numbers)
            return Period(kind, start, start + timedelta(days=1))
        except ValueError as exc:
            raise PeriodError(f"{text!r} is not a valid {kind}: {exc}") from None
    raise PeriodError(
        f"{text!r} is not a period: use 2026-10 (month), 2026-Q4, 2026 (year), 2026-W44, 2026-10-05 (day) "
        "or 2026-10-01..2026-11-01 (custom, end exclusive)"
    )


def custom_period(start: date, end: date) -> Period:
    return Period("custom", start, end)


def check_in_history(period: Period, today: date) -> Period:
    """Refuse periods that start before the kept history or lie wholly in the future."""
    first = earliest_start(today)
    if period.start < first:
        raise PeriodError(
            gettext("%(period)s starts before %(first)s, the oldest day kept (two years back)")
            % {"period": period.key, "first": first}
        )
    if period.start > today:
        raise PeriodError(gettext("%(period)s lies in the future") % {"period": period.key})
    return period


def current_period(kind: str, today: date) -> Period:
    """The period of `kind` that contains `today`."""
    if kind == "year":
        return parse_period(str(today.year))
    if kind == "quarter":
        return parse_period(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    if kind == "month":
        return parse_period(f"{today:%Y-%m}")
    if kind == "week":
        year, week, _ = today.isocalendar()
        return parse_period(f"{year}-W{week:02d}")
    if kind == "day":
        return parse_period(today.isoformat())
    raise PeriodError(f"unknown period kind {kind!r}; one of {', '.join(KINDS[:-1])}")


def _parse_date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"the custom range's {what} {text.strip()!r} is not a date (YYYY-MM-DD)") from None
