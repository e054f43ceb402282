"""ISO dates and times for English (the pages' language): 2026-10-05, 2026-10-05 14:30."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_DAY_FORMAT = "m-d"
YEAR_MONTH_FORMAT = "Y-m"
TIME_FORMAT = "H:i"
FIRST_DAY_OF_WEEK = 1  # Monday, as ISO weeks
