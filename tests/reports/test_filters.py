"""reports.filters.TableFilter: the text filter of the tables, over rows a view computed."""

from __future__ import annotations

from django.http import QueryDict

from reports.filters import MAX_QUERY, TableFilter

ROWS = [
    {"name": "payments", "department": "Payments", "cost": "6.00"},
    {"name": "checkout", "department": "Payments", "cost": "4.50"},
    {"name": "search", "department": "Search", "cost": "1.62"},
]


def text(row) -> str:
    return " ".join(row.values())


def shown(query: str) -> list[str]:
    found = TableFilter(QueryDict(query), rows=ROWS, text=text, prefix="ns")
    assert found.is_valid()
    return [r["name"] for r in found.qs]


def test_every_word_in_any_cell_case_insensitively():
    assert shown("ns-q=PAY") == ["payments", "checkout"]
    assert shown("ns-q=pay+4.50") == ["checkout"]
    assert shown("ns-q=pay+search") == []
    assert shown("ns-q=1.62") == ["search"]


def test_no_query_or_another_tables_query_keeps_every_row():
    assert shown("") == ["payments", "checkout", "search"]
    assert shown("ns-q=") == ["payments", "checkout", "search"]
    assert shown("pods-q=search") == ["payments", "checkout", "search"]


def test_a_query_too_long_is_refused():
    found = TableFilter(QueryDict(f"ns-q={'x' * (MAX_QUERY + 1)}"), rows=ROWS, text=text, prefix="ns")
    assert not found.is_valid() and "q" in found.form.errors
