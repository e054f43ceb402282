"""OpenCost's window, step and aggregate grammar (api/opencost.py), relative to a fixed now."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime

import pytest

from api import opencost

NOW = datetime(2025, 3, 20, 12, 30, tzinfo=UTC)  # a Thursday; the Sunday before is 2025-03-16


def days(text):
    window = opencost.parse_window(text, NOW)
    return window.start, window.end


def unix(*args) -> int:
    return calendar.timegm(datetime(*args).timetuple())


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("today", date(2025, 3, 20), date(2025, 3, 21)),
        ("yesterday", date(2025, 3, 19), date(2025, 3, 20)),
        ("week", date(2025, 3, 16), date(2025, 3, 21)),  # Sunday to now, widened to the end of today
        ("lastweek", date(2025, 3, 9), date(2025, 3, 16)),
        ("month", date(2025, 3, 1), date(2025, 3, 21)),
        ("lastmonth", date(2025, 2, 1), date(2025, 3, 1)),
        ("7d", date(2025, 3, 14), date(2025, 3, 21)),  # today and the six days before
        ("1d", date(2025, 3, 20), date(2025, 3, 21)),
        ("2w", date(2025, 3, 7), date(2025, 3, 21)),
        # 24h is 13:00 yesterday to 13:00 today (the current hour included): two UTC days once widened.
        ("24h", date(2025, 3, 19), date(2025, 3, 21)),
        ("90m", date(2025, 3, 20), date(2025, 3, 21)),
        ("1d offset 1d", date(2025, 3, 18), date(2025, 3, 20)),
        ("2025-03-10T00:00:00Z,2025-03-11T00:00:00Z", date(2025, 3, 10), date(2025, 3, 11)),
        ("2025-03-10T06:00:00+02:00,2025-03-11T00:00:01Z", date(2025, 3, 10), date(2025, 3, 12)),
        (f"{unix(2025, 3, 10)},{unix(2025, 3, 11)}", date(2025, 3, 10), date(2025, 3, 11)),
        (f"{unix(2025, 3, 10, 23)}-{unix(2025, 3, 12, 1)}", date(2025, 3, 10), date(2025, 3, 13)),
    ],
)
def test_windows_widened_to_whole_utc_days(text, start, end):
    assert days(text) == (start, end)


def test_the_requested_window_is_kept_beside_the_days():
    window = opencost.parse_window("24h", NOW)
    assert window.requested_start == datetime(2025, 3, 19, 13, tzinfo=UTC)
    assert window.requested_end == datetime(2025, 3, 20, 13, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "fortnight",
        "7 d",
        "-7d",
        "2025-03-10,2025-03-11",  # dates without a time and zone are not RFC3339
        "2025-03-10T00:00:00,2025-03-11T00:00:00",
        "2025-03-11T00:00:00Z,2025-03-10T00:00:00Z",  # ends before it starts
        "2025-03-10T00:00:00Z",
        "999999999w",
        "99999999999,999999999999",
    ],
)
def test_bad_windows(text):
    with pytest.raises(opencost.ParameterError) as caught:
        opencost.parse_window(text, NOW)
    assert caught.value.field == "window"


@pytest.mark.parametrize(
    ("text", "expected"), [(None, 1), ("1d", 1), ("48h", 2), ("1w", 1 * 7), ("1440m", 1)]
)
def test_steps_in_whole_days(text, expected):
    assert opencost.parse_step(text) == expected


@pytest.mark.parametrize("text", ["12h", "36h", "90m", "0d", "day", "1d2"])
def test_steps_shorter_than_or_between_days_are_refused(text):
    with pytest.raises(opencost.ParameterError) as caught:
        opencost.parse_step(text)
    assert caught.value.field == "step"


def test_aggregate_properties():
    assert opencost.parse_aggregate(None) == []
    assert opencost.parse_aggregate("namespace") == ["namespace"]
    assert opencost.parse_aggregate("ControllerKind, label:app,namespace,namespace") == [
        "controllerKind",
        "label:app",
        "namespace",
    ]
    for bad in ("service", "label:", "namespace,,pod"):
        with pytest.raises(opencost.ParameterError):
            opencost.parse_aggregate(bad)


def test_booleans_as_go_reads_them():
    assert opencost.parse_bool("True", "x", False) is True
    assert opencost.parse_bool("0", "x", True) is False
    assert opencost.parse_bool(None, "x", True) is True
    with pytest.raises(opencost.ParameterError):
        opencost.parse_bool("yes", "x", False)


def test_set_windows():
    start, end = date(2025, 3, 1), date(2025, 3, 8)
    assert opencost.set_windows(start, end, 1, True) == [(start, end)]
    assert len(opencost.set_windows(start, end, 1, False)) == 7
    assert opencost.set_windows(start, end, 3, False) == [
        (date(2025, 3, 1), date(2025, 3, 4)),
        (date(2025, 3, 4), date(2025, 3, 7)),
        (date(2025, 3, 7), date(2025, 3, 8)),
    ]
