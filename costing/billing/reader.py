"""Reads a bill file of either format into validated chunks of canonical lines, and tallies what it read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Context, Decimal, localcontext
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from costing.billing import cbc, focus
from costing.billing import lines as L
from costing.billing._source import CsvSource
from costing.billing.errors import BillError, BillErrors
from costing.billing.rates import Rate, RateTable

BillFormat = Literal["focus", "cbc"]
_ZERO = Decimal(0)
_EXACT = Context(prec=200)  # totals of many amounts must not round


class BillReader:
    """Iterate to get validated chunks of canonical lines (see lines.CANONICAL_COLUMNS).

    Every bad row is collected in `errors` (BillErrors); from the first one on, no more chunks are yielded
    but the rest of the file is still checked, and the iteration ends by raising `errors`. A caller that
    writes the chunks in one transaction and rolls back on BillError stores either the whole file or
    nothing. A caller may add its own findings to `errors` between chunks (the same collector); a fault
    that stops the reading (a ragged row, a wrong encoding) is added to the others and raised at once.
    After a complete iteration: `rows`, the totals (`effective_total`, `billed_total`, `list_total`, exact
    Decimal), `currency`, `billing_account_ids` and `billing_periods` {(account, start, end)}: the keys of
    what a re-import replaces.

    expected_currency: the organisation's currency; a line in another one is refused unless
    `exchange_rates` (a rates.RateTable, or {currency: rate}) has a rate that converts one unit of it into
    expected_currency on the start day of the line's charge period. `rates_used`: the rates applied.
    account_id: CBC only, the billing account when the file has no account column (it wins over the column).
    cbc_timezone: CBC only, the zone of times written without one (the Huawei console writes UTC+08:00).
    decimals: numbers as Decimal objects (the default); False: as the importer takes them, their exact text
    with coefficient and places beside (lines.Numbers, lines.COEF, lines.PLACES): no object per value.
    """

    def __init__(
        self,
        path: str | Path,
        fmt: BillFormat,
        *,
        chunk_size: int = 50_000,
        expected_currency: str | None = None,
        exchange_rates: RateTable | Mapping[str, Decimal] | None = None,
        account_id: str | None = None,
        cbc_timezone: str = cbc.DEFAULT_TIMEZONE,
        decimals: bool = True,
    ):
        if fmt not in ("focus", "cbc"):
            raise ValueError(f"unknown bill format {fmt!r}: expected 'focus' or 'cbc'")
        self.path = Path(path)
        self.format = fmt
        self.chunk_size = chunk_size
        self.expected_currency = expected_currency.upper() if expected_currency else None
        self.exchange_rates = RateTable.of(self.expected_currency or "", exchange_rates)
        self.rates_used: set[Rate] = set()
        self.errors = BillErrors(self.path)
        self.account_id = account_id
        self.cbc_timezone = cbc_timezone
        self.decimals = decimals
        self.focus_version: str | None = None
        self.encoding: str | None = None
        self.currency: str | None = self.expected_currency
        self.source_currencies: set[str] = set()
        self.billing_account_ids: set[str] = set()
        self.billing_periods: set[tuple[str, pd.Timestamp, pd.Timestamp]] = set()
        self.rows = 0
        self.effective_total = _ZERO
        self.billed_total = _ZERO
        self.list_total = _ZERO
        # Commitment purchases whose EffectiveCost the file did not set to 0 although FOCUS requires it.
        self.zeroed_purchases = 0
        self.zeroed_purchase_cost = _ZERO

    def __iter__(self) -> Iterator[pd.DataFrame]:
        if self.format == "focus":
            source = CsvSource(self.path, chunk_size=self.chunk_size)
        else:
            source = CsvSource(self.path, encodings=("utf-8", "gb18030"), chunk_size=self.chunk_size)
        try:
            yield from self._read(source)
        finally:
            source.close()
        if self.errors:
            raise self.errors

    def _read(self, source: CsvSource) -> Iterator[pd.DataFrame]:
        if self.format == "focus":
            self.focus_version = focus.detect_version(source.header)
            columns = focus.resolve_columns(source.header, self.path)
            usecols = list(dict.fromkeys(columns.values()))
            currency_column = columns["BillingCurrency"]

            def convert(raw):
                return focus.convert_chunk(raw, columns, self.path)
        else:
            layout = cbc.resolve_columns(source.header, self.path, account_id=self.account_id)
            usecols = layout.usecols
            currency_column = layout.currency_column

            def convert(raw):
                return cbc.convert_chunk(
                    raw, layout, self.path, account_id=self.account_id, timezone=self.cbc_timezone
                )

        self.encoding = source.encoding
        chunks = source.chunks(usecols)
        while True:
            try:
                raw = next(chunks, None)
                if raw is None:
                    return
                lines = self._one_currency(convert(raw), currency_column)
            except BillErrors as exc:
                self.errors.add(exc)
                self._check_currency_of(exc, currency_column)
                continue
            except BillError as exc:
                self.errors.add(exc)
                raise self.errors from exc
            if self.errors:  # found in this file before, by the reader or by the caller: check, do not yield
                continue
            self._zero_amortised_purchases(lines)
            self._tally(lines)
            yield L.with_decimals(lines) if self.decimals else lines

    def _check_currency_of(self, refused: BillErrors, column: str) -> None:
        """The currency faults of a chunk refused for other faults, so that the file's errors are all told."""
        if refused.partial is None:
            return
        try:
            self._one_currency(refused.partial(), column)
        except BillError as exc:
            self.errors.add(exc)

    def _one_currency(self, lines: pd.DataFrame, column: str) -> pd.DataFrame:
        currency = lines["currency"].to_numpy()
        if not len(currency):
            return lines
        self.source_currencies.update(pd.unique(currency))
        if self.currency is None:
            self.currency = currency[0]
        foreign = currency != self.currency
        if not foreign.any():
            return lines
        if self.expected_currency is None:
            row = int(foreign.argmax())
            reason = (
                f"currency {currency[row]!r} differs from {self.currency!r} of the lines before: "
                "a bill is imported in one currency"
            )
            raise BillError(self.path, reason, line=int(lines["source_row"].iat[row]), column=column)
        days = pd.DatetimeIndex(lines["charge_period_start"]).tz_convert("UTC").normalize()
        keys = pd.DataFrame({"currency": currency, "day": days})[foreign]
        rates = np.full(len(lines), None, dtype=object)
        refused = BillErrors(self.path)
        for (source, day), group in keys.groupby(["currency", "day"], sort=True):
            rate = self.exchange_rates.rate(source, day.date())
            if rate is not None:
                rates[group.index.to_numpy()] = rate.rate
                self.rates_used.add(rate)
                continue
            rows = lines["source_row"].to_numpy()[group.index.to_numpy()]
            others = f" (and {len(rows) - 1} more line(s) of that day)" if len(rows) > 1 else ""
            reason = (
                f"currency {source!r} is not the organisation's currency {self.expected_currency!r}, and no "
                f"exchange rate into it is in force on {day.date().isoformat()}{others}: "
                f"{self.exchange_rates.how_to_add(source, day.date())}"
            )
            refused.add(BillError(self.path, reason, line=int(rows.min()), column=column))
        if refused:
            raise refused
        lines = lines.copy()
        converting = np.flatnonzero(rates != None)  # noqa: E711 (element-wise)
        for name in L.AMOUNT_COLUMNS:
            text = lines[name].to_numpy().copy()
            with localcontext(_EXACT):
                for i in converting:
                    if text[i] is not None:
                        text[i] = str(Decimal(text[i]) * rates[i])
            _set_numbers(lines, name, L.numbers(pd.Series(text, dtype=object).fillna("")))
        lines["currency"] = self.currency
        return lines

    def _zero_amortised_purchases(self, lines: pd.DataFrame) -> None:
        # FOCUS: EffectiveCost MUST be 0 on a purchase meant to cover future charges, since those charges
        # carry it amortised; a file that breaks the rule would count the commitment twice.
        purchase = (lines["charge_category"] == "Purchase").to_numpy() & lines[
            "commitment_discount_id"
        ].notna().to_numpy()
        if not purchase.any():
            return
        coef, places = _exact(lines, "effective_cost")
        nonzero = purchase & (coef != 0)
        if nonzero.any():
            self.zeroed_purchases += int(nonzero.sum())
            with localcontext(_EXACT):
                self.zeroed_purchase_cost += L.exact_sum(coef[nonzero], places[nonzero])
            written = pd.Series(lines["effective_cost"].to_numpy(), dtype=object).fillna("")
            zero = L.numbers(pd.Series(np.where(nonzero, "0", written), dtype=object))
            _set_numbers(lines, "effective_cost", zero)

    def _tally(self, lines: pd.DataFrame) -> None:
        self.rows += len(lines)
        with localcontext(_EXACT):
            self.effective_total += L.exact_sum(*_exact(lines, "effective_cost"))
            self.billed_total += L.exact_sum(*_exact(lines, "billed_cost"))
            self.list_total += L.exact_sum(*_exact(lines, "list_cost"))
        keys = lines[["billing_account_id", "billing_period_start", "billing_period_end"]].drop_duplicates()
        for account, start, end in keys.itertuples(index=False):
            self.billing_account_ids.add(account)
            self.billing_periods.add((account, start, end))


def _exact(lines: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The coefficients and places of a number column (lines.Numbers)."""
    return lines[name + L.COEF].to_numpy(), lines[name + L.PLACES].to_numpy()


def _set_numbers(lines: pd.DataFrame, name: str, numbers: L.Numbers) -> None:
    lines[name] = pd.Series(numbers.text, index=lines.index, dtype=object)
    lines[name + L.COEF] = numbers.coef
    lines[name + L.PLACES] = numbers.places


def read_bill(
    path: str | Path, fmt: BillFormat, *, chunk_size: int = 50_000, **options
) -> Iterator[pd.DataFrame]:
    """Validated chunks of canonical bill lines; BillErrors (all the bad rows) at the end. See BillReader."""
    yield from BillReader(path, fmt, chunk_size=chunk_size, **options)


def check_header(path: str | Path, fmt: BillFormat, *, account_id: str | None = None) -> None:
    """Raise BillError when the file cannot be opened or its header lacks a required column: what an upload
    checks before it queues the file (the rows are checked by the import)."""
    if fmt not in ("focus", "cbc"):
        raise ValueError(f"unknown bill format {fmt!r}: expected 'focus' or 'cbc'")
    encodings = ("utf-8",) if fmt == "focus" else ("utf-8", "gb18030")
    source = CsvSource(path, encodings=encodings, chunk_size=1)
    try:
        if fmt == "focus":
            focus.resolve_columns(source.header, path)
        else:
            cbc.resolve_columns(source.header, path, account_id=account_id)
    finally:
        source.close()
