"""The column-wise readers of bill values: exact numbers, exact sums, blocks cut on whole records."""

from __future__ import annotations

from decimal import Context, Decimal, localcontext

import numpy as np
import pandas as pd
import pytest

from costing.billing import BillReader, _source
from costing.billing import lines as L
from tests.costing.billing.conftest import FOCUS_SAMPLE, focus_row

TEXTS = [
    "1.50",
    " -0.0000008 ",
    "NULL",
    "",
    "12,5",
    "1e3",
    "2.5E-3",
    ".5",
    "5.",
    "+7",
    "1.2.3",
    "-",
    ".",
    "1 2",
    "0.000",
    "12345678901234567890.5",  # 21 significant digits: more than an int64 holds
    "0.00000000000000000000123",
    "-0",
]


def _exact(texts) -> Decimal:
    with localcontext(Context(prec=500)):
        return sum((Decimal(t.strip()) for t in texts), Decimal(0))


def test_numbers_are_read_exactly_with_their_null_and_bad_values():
    read = L.numbers(pd.Series(TEXTS))
    assert list(np.flatnonzero(read.null)) == [2, 3]
    assert [TEXTS[i] for i in np.flatnonzero(read.bad)] == ["12,5", "1.2.3", "-", ".", "1 2"]
    for i, text in enumerate(TEXTS):
        if read.null[i] or read.bad[i]:
            assert read.text[i] is None and read.coef[i] == 0
            continue
        assert read.text[i] == text.strip()
        value = Decimal(f"{int(read.coef[i])}E{-int(read.places[i])}")
        assert value == Decimal(text.strip())
        assert value.as_tuple().exponent == Decimal(text.strip()).as_tuple().exponent
    assert list(read.decimals()[[0, 2]]) == [Decimal("1.50"), None]


@pytest.mark.parametrize(
    "texts",
    [
        ["0.00"],
        ["-1.50", "1.50"],
        ["1E+2"],
        ["0.1", "0.02", "0.003"],
        # 2,000 values near 10**10 with 8 places: their sum in units of 10**-8 is past int64's range
        ["9999999999.99999999"] * 1000 + ["-0.00000001"] * 1000,
        ["12345678901234567890.5", "0.00000000000000000000123", "7"],
    ],
)
def test_exact_sum_is_the_decimal_sum_with_its_exponent(texts):
    read = L.numbers(pd.Series(texts, dtype=object))
    total = L.exact_sum(read.coef, read.places)
    assert total == _exact(texts)
    assert str(total) == str(_exact(texts))


def test_amounts_over_a_limit_are_found_exactly():
    read = L.numbers(pd.Series(["999999999999999999.999999999999", "1000000000000000000", "-1E18", "5"]))
    assert list(L.too_large(read.coef, read.places, Decimal(10) ** 18)) == [False, True, True, False]


def test_the_importers_form_has_the_same_totals_and_exact_texts():
    decimals = BillReader(FOCUS_SAMPLE, "focus", chunk_size=300)
    with_decimals = pd.concat(list(decimals))
    exact = BillReader(FOCUS_SAMPLE, "focus", chunk_size=300, decimals=False)
    as_text = pd.concat(list(exact))
    assert exact.effective_total == decimals.effective_total
    assert str(exact.list_total) == str(decimals.list_total)
    assert "effective_cost:coef" not in with_decimals.columns
    assert [Decimal(t) for t in as_text["effective_cost"]] == list(with_decimals["effective_cost"])
    for name in L.AMOUNT_COLUMNS:
        back = [
            None if t is None else Decimal(f"{int(c)}E{-int(p)}")
            for t, c, p in zip(as_text[name], as_text[name + L.COEF], as_text[name + L.PLACES], strict=True)
        ]
        assert back == list(with_decimals[name])


def test_tiny_blocks_give_the_same_chunks_and_lines(monkeypatch, write_focus):
    rows = [focus_row(BilledCost=str(i), ServiceName="two\nlines" if i == 3 else "EC2") for i in range(9)]
    path = write_focus(rows, newline="\r\n")
    # a blank line after the fourth record, and no line break at the end of the file
    data = path.read_bytes().rstrip(b"\r\n")
    cut = data.index(b"\r\n", data.index(b"two\nlines")) + 2
    path.write_bytes(data[:cut] + b"\r\n" + data[cut:])

    def read(block: int):
        monkeypatch.setattr(_source, "_BLOCK", block)
        chunks = list(BillReader(path, "focus", chunk_size=4))
        return [len(c) for c in chunks], pd.concat(chunks)

    sizes, whole = read(1 << 22)
    for block in (1, 5, 64):
        assert read(block)[0] == sizes
        pd.testing.assert_frame_equal(read(block)[1], whole)
    # header 1; records 2, 3, 4, 5-6 (the line break in the quotes), blank 7, then 8 to 12
    assert list(whole["source_row"]) == [2, 3, 4, 5, 8, 9, 10, 11, 12]
    assert list(whole["billed_cost"]) == [Decimal(i) for i in range(9)]
    assert whole["service_name"].iat[3] == "two\nlines"
