"""The corpus of broken bill files: each is refused, naming the line, the column and the reason."""

from __future__ import annotations

import pickle

import pytest

from costing.billing import BillError, BillReader
from costing.billing.errors import MAX_ERRORS, BillErrors
from tests.costing.billing.conftest import focus_row, focus_text


def _refusal(path, fmt="focus", **options) -> BillError:
    with pytest.raises(BillError) as caught:
        for _ in BillReader(path, fmt, chunk_size=2, **options):
            pass
    return caught.value


GOOD = [focus_row(), focus_row(), focus_row(), focus_row()]

# name -> (change to rows 0..3, line expected, column expected, words expected in the reason).
# Line 1 is the header; row i is on line i + 2.
CASES = {
    "bad timestamp": (
        3,
        {"ChargePeriodStart": "2026-09-31 00:00:00"},
        5,
        "ChargePeriodStart",
        "not a timestamp",
    ),
    "garbage timestamp": (0, {"BillingPeriodEnd": "next month"}, 2, "BillingPeriodEnd", "not a timestamp"),
    "end before start": (2, {"ChargePeriodEnd": "2026-09-01 23:00:00"}, 4, "ChargePeriodEnd", "is before"),
    "non-numeric cost": (1, {"EffectiveCost": "12,5"}, 3, "EffectiveCost", "not a number: '12,5'"),
    "NULL mandatory cost": (1, {"BilledCost": "NULL"}, 3, "BilledCost", "missing value"),
    "bad list cost": (3, {"ListCost": "n/a"}, 5, "ListCost", "not a number"),
    "bad Tags JSON": (2, {"Tags": '{"env": "prod"'}, 4, "Tags", "not valid JSON"),
    "Tags not an object": (2, {"Tags": '["env"]'}, 4, "Tags", "not a JSON object"),
    "unknown category": (1, {"ChargeCategory": "Refund"}, 3, "ChargeCategory", "unknown ChargeCategory"),
    "no account": (0, {"BillingAccountId": ""}, 2, "BillingAccountId", "missing value"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_value_is_refused_at_its_line_and_column(case, write_focus):
    index, change, line, column, words = CASES[case]
    rows = [dict(row) for row in GOOD]
    rows[index].update(change)
    error = _refusal(write_focus(rows))
    assert (error.line, error.row, error.column) == (line, line, column)
    assert words in error.reason
    assert str(error).startswith(f"bill.csv, line {line}, column {column}: ")


def test_the_earliest_bad_row_of_a_chunk_is_reported(write_focus):
    rows = [dict(row) for row in GOOD]
    rows[1]["Tags"] = "{"
    rows[0]["ChargePeriodEnd"] = "soon"
    error = _refusal(write_focus(rows))
    assert (error.line, error.column) == (2, "ChargePeriodEnd")


def test_missing_mandatory_column(write_focus):
    columns = [c for c in focus_row() if c != "EffectiveCost"]
    error = _refusal(write_focus(GOOD, columns=columns))
    assert (error.line, error.column) == (1, "EffectiveCost")
    assert "missing mandatory FOCUS column" in error.reason


def test_wrong_encoding(tmp_path):
    path = tmp_path / "latin1.csv"
    rows = [dict(row) for row in GOOD]
    rows[2]["ServiceName"] = "Zürich storage"
    path.write_bytes(focus_text(rows).encode("latin-1"))
    error = _refusal(path)
    assert error.line == 4
    assert "wrong encoding" in error.reason


def test_a_row_with_too_few_or_too_many_fields(tmp_path):
    lines = focus_text(GOOD).splitlines()
    short = tmp_path / "short.csv"
    short.write_text("\n".join([*lines[:3], lines[3].rsplit(",", 3)[0], lines[4]]) + "\n")
    error = _refusal(short)
    assert error.line == 4 and error.reason == "16 fields where the header has 19"
    long = tmp_path / "long.csv"
    long.write_text("\n".join([*lines[:4], lines[4] + ",extra"]) + "\n")
    error = _refusal(long)
    assert error.line == 5 and error.reason == "20 fields where the header has 19"


@pytest.mark.parametrize("extra", [1, 2])
@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_a_first_data_row_with_too_many_fields_is_reported_like_any_other(tmp_path, extra, quoted):
    # With a column the reader does not use, pandas took the extra leading fields of a first row for an
    # index and failed with its own message.
    lines = focus_text(GOOD, columns=[*focus_row(), "x_Note"]).splitlines()
    first = lines[1] + ",extra" * extra
    if quoted:
        first = first.replace("acct-1", '"acct\n1"')
    path = tmp_path / "first.csv"
    path.write_text("\n".join([lines[0], first, *lines[2:]]) + "\n")
    error = _refusal(path)
    assert error.line == 2 and error.reason == f"{20 + extra} fields where the header has 20"


def test_a_quote_never_closed(tmp_path):
    lines = focus_text(GOOD).splitlines()
    path = tmp_path / "quote.csv"
    path.write_text("\n".join([*lines[:2], lines[2].replace("acct-1", '"acct-1'), *lines[3:]]) + "\n")
    error = _refusal(path)
    assert error.line == 3 and "never closed" in error.reason


def test_an_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    error = _refusal(path)
    assert error.line == 1 and "empty file" in error.reason


def test_nothing_is_yielded_before_a_bad_chunk_is_complete(write_focus):
    rows = [dict(row) for row in GOOD]
    rows[3]["BilledCost"] = "abc"
    reader = BillReader(write_focus(rows), "focus", chunk_size=10)
    with pytest.raises(BillError):
        next(iter(reader))
    assert reader.rows == 0


def test_bill_error_survives_pickling_for_celery():
    error = BillError("/x/focus_sample.csv", "not a number: 'abc'", line=12, column="EffectiveCost")
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert str(again) == str(error) == "focus_sample.csv, line 12, column EffectiveCost: not a number: 'abc'"
    assert isinstance(again, ValueError)
    assert str(BillError("a.csv", "cannot open")) == "a.csv: cannot open"


def test_an_unknown_format_is_a_programming_error(write_focus):
    with pytest.raises(ValueError, match="unknown bill format"):
        BillReader(write_focus(GOOD), "csv")


def test_every_bad_row_of_the_file_is_reported_in_line_order(tmp_path):
    rows = [focus_row() for _ in range(7)]
    rows[1]["EffectiveCost"] = "lots"  # line 3
    rows[4]["ChargeCategory"] = "Refund"  # line 6, in the third chunk
    rows[6]["BillingAccountId"] = ""  # line 8, in the last chunk
    path = tmp_path / "bill.csv"
    path.write_text(focus_text(rows))

    caught = _refusal(path)

    assert isinstance(caught, BillErrors) and len(caught) == 3
    assert [(e.line, e.column) for e in caught.errors] == [
        (3, "EffectiveCost"),
        (6, "ChargeCategory"),
        (8, "BillingAccountId"),
    ]
    assert (caught.line, caught.column) == (3, "EffectiveCost")  # reads as its first error
    assert str(caught).splitlines() == [
        "bill.csv: 3 errors",
        "  line 3, column EffectiveCost: not a number: 'lots'",
        "  line 6, column ChargeCategory: unknown ChargeCategory 'Refund' "
        "(expected one of Usage, Purchase, Tax, Credit, Adjustment)",
        "  line 8, column BillingAccountId: missing value (FOCUS does not allow null here)",
    ]


def test_past_the_limit_errors_are_counted(tmp_path):
    rows = [focus_row(EffectiveCost=f"x{i}") for i in range(60)]
    path = tmp_path / "bill.csv"
    path.write_text(focus_text(rows))

    caught = _refusal(path)

    text = str(caught).splitlines()
    assert text[0] == "bill.csv: 60 errors" and len(caught.errors) == MAX_ERRORS == 50
    assert text[1] == "  line 2, column EffectiveCost: not a number: 'x0'"
    assert text[50] == "  line 51, column EffectiveCost: not a number: 'x49'"
    assert text[-1] == "  and 10 more"


def test_a_fault_that_stops_the_reading_comes_after_those_found_before(tmp_path):
    rows = [focus_row(), focus_row(EffectiveCost="lots"), focus_row(), focus_row()]
    text = focus_text(rows).splitlines()
    text[4] += ",surplus"  # line 5 has one field too many
    path = tmp_path / "bill.csv"
    path.write_text("\n".join(text) + "\n")

    caught = _refusal(path)

    assert [(e.line, e.reason) for e in caught.errors] == [
        (3, "not a number: 'lots'"),
        (5, f"{len(rows[0]) + 1} fields where the header has {len(rows[0])}"),
    ]


def test_collected_errors_survive_pickling_and_renaming():
    errors = BillErrors("/media/bills/0f3a-bill.csv", limit=1)
    errors.add(BillError("/media/bills/0f3a-bill.csv", "bad", line=4, column="C"))
    errors.add(BillError("/media/bills/0f3a-bill.csv", "worse", line=2, column="C"))
    back = pickle.loads(pickle.dumps(errors.renamed("September bill.csv")))  # noqa: S301 (our own bytes)
    assert str(back) == "September bill.csv: 2 errors\n  line 2, column C: worse\n  and 1 more"
