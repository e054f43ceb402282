"""Dates, times and numbers for Simplified Chinese: 2026年10月5日 in text, 2026-10-05 in tables, 1,234.50.

Grouping by thousands, as Huawei Cloud's console writes amounts (Django's own zh_Hans groups by 4 with no
separator); the rest as Django's zh_Hans formats."""

DATE_FORMAT = "Y年n月j日"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y年n月j日 H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_DAY_FORMAT = "n月j日"
YEAR_MONTH_FORMAT = "Y年n月"
TIME_FORMAT = "H:i"
FIRST_DAY_OF_WEEK = 1  # 星期一
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
