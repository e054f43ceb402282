import itertools
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.periods import (
    PeriodError,
    check_in_history,
    compared_label,
    compared_period,
    current_period,
    earliest_start,
    parse_period,
)


@pytest.mark.parametrize(
    ("text", "kind", "start", "end", "days"),
    [
        ("2026-10", "month", date(2026, 10, 1), date(2026, 11, 1), 31),
        ("2026-02", "month", date(2026, 2, 1), date(2026, 3, 1), 28),
        ("2024-02", "month", date(2024, 2, 1), date(2024, 3, 1), 29),
        ("2026-Q4", "quarter", date(2026, 10, 1), date(2027, 1, 1), 92),
        ("2026-q1", "quarter", date(2026, 1, 1), date(2026, 4, 1), 90),
        ("2026", "year", date(2026, 1, 1), date(2027, 1, 1), 365),
        ("2026-W01", "week", date(2025, 12, 29), date(2026, 1, 5), 7),
        ("2026-10-05", "day", date(2026, 10, 5), date(2026, 10, 6), 1),
        ("2026-10-01..2026-10-15", "custom", date(2026, 10, 1), date(2026, 10, 15), 14),
    ],
)
def test_parse(text, kind, start, end, days):
    period = parse_period(text)
    assert (period.kind, period.start, period.end, period.days) == (kind, start, end, days)
    assert parse_period(period.key) == period


@pytest.mark.parametrize(
    ("text", "previous"),
    [
        ("2026-03", ("2026-02-01", "2026-03-01")),
        ("2026-Q1", ("2025-10-01", "2026-01-01")),
        ("2026", ("2025-01-01", "2026-01-01")),
        ("2026-10-05", ("2026-10-04", "2026-10-05")),
        ("2026-W10", ("2026-02-23", "2026-03-02")),
        ("2026-10-01..2026-10-15", ("2026-09-17", "2026-10-01")),
    ],
)
def test_previous_period(text, previous):
    prev = parse_period(text).previous()
    assert (prev.start.isoformat(), prev.end.isoformat()) == previous
    assert prev.kind == parse_period(text).kind


@pytest.mark.parametrize(
    ("text", "today", "span", "label"),
    [
        # A running month against the previous month's same days.
        (
            "2026-11",
            date(2026, 11, 29),
            ("2026-10-01", "2026-10-30"),
            "2026-10-01 – 2026-10-29, the same 29 days of October 2026",
        ),
        (
            "2026-11",
            date(2026, 11, 3),
            ("2026-10-01", "2026-10-04"),
            "2026-10-01 – 2026-10-03, the same 3 days of October 2026",
        ),
        (
            "2026-11",
            date(2026, 11, 1),
            ("2026-10-01", "2026-10-02"),
            "2026-10-01, the first day of October 2026",
        ),
        # Its last day still runs: the 30 days of November against October's first 30.
        (
            "2026-11",
            date(2026, 11, 30),
            ("2026-10-01", "2026-10-31"),
            "2026-10-01 – 2026-10-30, the same 30 days of October 2026",
        ),
        # March's 30 days so far are more than February has: all of February.
        ("2026-03", date(2026, 3, 30), ("2026-02-01", "2026-03-01"), "February 2026"),
        # Over: the whole previous month.
        ("2026-10", date(2026, 11, 29), ("2026-09-01", "2026-10-01"), "September 2026"),
        # A quarter and a year: the same number of days from the previous one's start.
        (
            "2026-Q4",
            date(2026, 11, 29),
            ("2026-07-01", "2026-08-30"),
            "2026-07-01 – 2026-08-29, the first 60 days of Q3 2026",
        ),
        (
            "2026",
            date(2026, 2, 1),
            ("2025-01-01", "2025-02-02"),
            "2025-01-01 – 2025-02-01, the first 32 days of 2025",
        ),
        (
            "2026-W48",
            date(2026, 11, 25),
            ("2026-11-16", "2026-11-19"),
            "2026-11-16 – 2026-11-18, the first 3 days of week 47 of 2026",
        ),
        ("2026-11-29", date(2026, 11, 29), ("2026-11-28", "2026-11-29"), "2026-11-28 (Saturday)"),
        (
            "2026-11-20..2026-12-10",
            date(2026, 11, 29),
            ("2026-10-31", "2026-11-10"),
            "2026-10-31 – 2026-11-09, the first 10 days of the 20 days before",
        ),
    ],
)
def test_a_running_period_is_compared_with_the_same_elapsed_span(text, today, span, label):
    period = parse_period(text)
    compared = compared_period(period, today)
    assert (compared.start.isoformat(), compared.end.isoformat()) == span
    assert compared_label(period, compared) == label


@pytest.mark.parametrize(
    "text", ["", "2026-13", "2026-Q5", "20261", "2026-02-30", "2026-W54", "x..y", "2026-10-05..2026-10-01"]
)
def test_bad_periods_are_refused_with_a_message(text):
    with pytest.raises(PeriodError):
        parse_period(text)


def test_history_is_two_years_back_from_the_first_of_the_month():
    today = date(2026, 11, 27)
    assert earliest_start(today) == date(2024, 11, 1)
    assert check_in_history(parse_period("2024-11"), today).start == date(2024, 11, 1)
    with pytest.raises(PeriodError, match="two years"):
        check_in_history(parse_period("2024-10"), today)
    with pytest.raises(PeriodError, match="future"):
        check_in_history(parse_period("2026-12"), today)


def test_current_period_contains_today():
    today = date(2026, 11, 27)
    for kind in ("day", "week", "month", "quarter", "year"):
        period = current_period(kind, today)
        assert period.start <= today < period.end


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
def test_periods_tile_time_a_year_is_its_quarters_and_a_quarter_its_months(day):
    year = current_period("year", day)
    quarters = [parse_period(f"{day.year}-Q{q}") for q in range(1, 5)]
    assert quarters[0].start == year.start and quarters[-1].end == year.end
    assert all(a.end == b.start for a, b in itertools.pairwise(quarters))
    assert sum(q.days for q in quarters) == year.days
    quarter = current_period("quarter", day)
    months = [
        parse_period(f"{quarter.start.year}-{m:02d}")
        for m in range(quarter.start.month, quarter.start.month + 3)
    ]
    assert sum(m.days for m in months) == quarter.days


@pytest.mark.parametrize(
    "text", ["2026-01", "2026-12", "2026-Q4", "2026", "2026-W52", "2026-12-31", "2026-10-01..2026-10-15"]
)
def test_next_is_the_inverse_of_previous(text):
    period = parse_period(text)
    assert period.next().previous() == period
    assert period.next().start == period.end
    assert parse_period(period.next().key) == period.next()
