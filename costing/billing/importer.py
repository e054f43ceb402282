"""Imports a bill file into BillLine rows in one transaction: the whole file, attributed, or nothing of it."""

from __future__ import annotations

import gzip
import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from decimal import Context, Decimal, localcontext
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from costing.billing import focus
from costing.billing.attribution import LOAD_BALANCER, NODE, OUTSIDE, OVERHEAD, VOLUME
from costing.billing.attribution_db import Attributor, mark_dirty, merge_days, touched_days
from costing.billing.errors import BillError, BillErrors
from costing.billing.lines import COEF, PLACES, Faults, exact_sum, too_large
from costing.billing.rates import RateTable, rates_into
from costing.billing.reader import BillReader
from costing.bulk_write import Inserter
from costing.choices import RunStatus
from costing.models import BillImport, BillLine

log = logging.getLogger(__name__)

Progress = Callable[[float, int], None]
_EXACT = Context(prec=200)
_ZERO = Decimal(0)
# Canonical column -> BillLine field, for the text columns (None is stored as "").
TEXT_FIELDS = {
    "billing_account_id": "billing_account_id",
    "charge_category": "charge_category",
    "charge_class": "charge_class",
    "provider": "provider",
    "service_name": "service_name",
    "sku_id": "sku_id",
    "region": "region",
    "resource_id": "resource_id",
    "resource_name": "resource_name",
    "resource_type": "resource_type",
    "currency": "currency",
}
TIME_FIELDS = ("billing_period_start", "billing_period_end", "charge_period_start", "charge_period_end")
AMOUNT_FIELDS = ("effective_cost", "billed_cost", "list_cost")
LINE_FIELDS = (
    "bill_import_id",
    "source_row",
    *TEXT_FIELDS.values(),
    *TIME_FIELDS,
    "tags",
    *AMOUNT_FIELDS,
    "kind",
    "cluster_id",
    "node_id",
    "volume_id",
    "load_balancer_id",
)
_FOCUS_NAMES = {canonical: name for name, canonical in {**focus.OPTIONAL, **focus.MANDATORY}.items()}


def import_bill(
    path: str | Path,
    fmt: str,
    *,
    user=None,
    expected_currency: str | None = None,
    progress: Progress | None = None,
    bill_import: BillImport | None = None,
    account_id: str | None = None,
    exchange_rates: RateTable | dict[str, Decimal] | None = None,
    chunk_size: int = 50_000,
) -> BillImport:
    """Import one FOCUS or CBC file and return its BillImport: status SUCCEEDED, or FAILED with the error.

    The lines are read, attributed (see attribute.Attributor) and written in one transaction, which also
    deletes the lines of earlier imports of the same (billing account, billing period) and marks dirty the
    cluster-days the new and the replaced lines touch. A BillError (the file, line, column and reason)
    rolls all of it back; the BillImport row, saved outside that transaction, then records the failure:
    every error of the file (BillErrors), naming the file as BillImport.file_name calls it (the uploaded
    file's own name, not the name it is stored under). Other exceptions are recorded the same way and
    raised again.

    expected_currency: the organisation's (default settings.FINOPS_CURRENCY); a line in another currency is
    refused unless exchange_rates (default: rates.rates_into(currency), the dated ExchangeRate rows and
    settings.FINOPS_EXCHANGE_RATES as fallback) has a rate in force on the start day of its charge period. progress(fraction, rows) is called after each chunk; on PostgreSQL the fraction is also written
    to BillImport.progress on a connection of its own, so that a watcher sees it during the import.
    """
    path = Path(path)
    currency = (expected_currency or settings.FINOPS_CURRENCY).upper()
    if exchange_rates is None:
        exchange_rates = rates_into(currency)
    record = bill_import or BillImport(file_name=path.name, format=fmt)
    record.format = fmt
    record.file_name = record.file_name or path.name
    if user is not None:
        record.uploaded_by = user
    if account_id:
        record.cbc_account_id = account_id
    record.status, record.error, record.progress = RunStatus.RUNNING, "", 0.0
    record.started_at, record.finished_at = timezone.now(), None
    record.save()
    store = _ProgressStore(record.pk)
    pool = ThreadPoolExecutor(max_workers=1)
    # The file is read a second time beside the import (hashlib and zlib let go of the GIL): its sha256, and
    # its number of lines, which turns rows read into a progress fraction.
    fingerprint = pool.submit(_fingerprint, path)
    try:
        reader = BillReader(
            path,
            fmt,
            chunk_size=chunk_size,
            expected_currency=currency,
            exchange_rates=exchange_rates,
            account_id=record.cbc_account_id or None,
            decimals=False,  # amounts as exact text, coefficients and places: no Decimal per value
        )

        def report(rows: int) -> None:
            fraction = min(0.99, (rows + 1) / max(fingerprint.result()[1], 1))
            store(fraction)
            if progress:
                progress(fraction, rows)

        with transaction.atomic():
            _load(record, reader, report, lambda: fingerprint.result()[0])
    except BillError as exc:
        _fail(record, str(exc.renamed(record.file_name)), fingerprint)
        return record
    except Exception as exc:
        _fail(record, f"{record.file_name}: {type(exc).__name__}: {exc}", fingerprint)
        raise
    finally:
        store.close()
        pool.shutdown()
    if progress:
        progress(1.0, record.rows)
    return record


def _load(
    record: BillImport, reader: BillReader, report: Callable[[int], None], sha256: Callable[[], str]
) -> None:
    attributor = Attributor()
    # PostgreSQL: one COPY for the whole file, sent by a writer thread while the next chunk is parsed.
    writer = Inserter(BillLine, LINE_FIELDS, threaded=True)
    days: dict[int, set] = {}
    kinds: dict[str, list] = {}
    try:
        for chunk in reader:
            lines = attributor.attribute(chunk)
            try:
                _check_fits(lines, reader)
            except BillErrors as exc:
                reader.errors.add(exc)  # the reader checks the rest of the file, then raises them all
                continue
            writer.write(_columns(record.pk, lines))
            merge_days(days, touched_days(lines))
            _tally_kinds(kinds, lines)
            report(reader.rows)
    except BaseException as exc:
        writer.close(exc)
        raise
    writer.close()

    _lock_periods(reader.billing_periods)
    replaced = BillLine.objects.none()
    if reader.billing_periods:
        same_period = Q()
        for account, start, end in reader.billing_periods:
            same_period |= Q(
                billing_account_id=account,
                billing_period_start=start.to_pydatetime(),
                billing_period_end=end.to_pydatetime(),
            )
        replaced = BillLine.objects.filter(same_period).exclude(bill_import_id=record.pk)
    old = pd.DataFrame(
        list(
            replaced.filter(cluster__isnull=False)
            .order_by()
            .values_list("cluster_id", "charge_period_start", "charge_period_end")
            .distinct()
        ),
        columns=["cluster", "charge_period_start", "charge_period_end"],
    )
    if len(old):
        merge_days(days, touched_days(old))
    earlier = list(replaced.order_by().values_list("bill_import_id", flat=True).distinct())
    replaced_count = replaced.order_by().delete()[0] if earlier else 0
    BillImport.objects.filter(pk__in=earlier).update(replaced_by=record)
    mark_dirty(days)

    starts = [start for _, start, _ in reader.billing_periods]
    ends = [end for _, _, end in reader.billing_periods]
    notes = []
    if reader.zeroed_purchases:
        notes.append(
            f"{reader.zeroed_purchases} commitment purchase line(s) carried an EffectiveCost although FOCUS "
            f"requires 0 (amortised into the usage they cover): {reader.zeroed_purchase_cost} set to 0."
        )
    if reader.rates_used:
        used = sorted(reader.rates_used, key=lambda r: (r.source, r.valid_from or date.min))
        notes.append(f"Amounts converted into {reader.currency} at {', '.join(map(str, used))}.")
    if earlier:
        notes.append(
            f"Replaced {replaced_count} line(s) of import(s) {', '.join(map(str, sorted(earlier)))}."
        )
    record.sha256 = sha256()
    record.rows = reader.rows
    record.currency = reader.currency or ""
    record.billing_account_ids = sorted(reader.billing_account_ids)
    record.period_start = min(starts).to_pydatetime() if starts else None
    record.period_end = max(ends).to_pydatetime() if ends else None
    record.effective_total = reader.effective_total
    record.billed_total = reader.billed_total
    record.list_total = reader.list_total
    record.kind_totals = {
        kind: {"lines": n, "effective": str(effective), "billed": str(billed)}
        for kind, (n, effective, billed) in sorted(kinds.items())
    }
    record.replaced_lines = replaced_count
    record.notes = "\n".join(notes)
    record.status, record.progress, record.finished_at = RunStatus.SUCCEEDED, 1.0, timezone.now()
    record.save()


def period_lock_key(account: str, start, end) -> int:
    """The PostgreSQL advisory lock key of one (billing account, billing period start, end)."""
    text = f"bill|{account}|{pd.Timestamp(start).isoformat()}|{pd.Timestamp(end).isoformat()}"
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def _lock_periods(periods) -> None:
    """PostgreSQL: one import at a time per (account, billing period), from here to the commit.

    Two imports of the same period running together would each delete only the lines committed before them
    and both keep theirs. With the lock, the second one's DELETE (a new snapshot, under READ COMMITTED) sees
    and replaces the first one's lines. Sorted, so two imports of several periods cannot deadlock.
    SQLite needs nothing: its write transactions already run one at a time.
    """
    if connection.vendor != "postgresql" or not periods:
        return
    keys = sorted(period_lock_key(account, start, end) for account, start, end in periods)
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _fail(record: BillImport, message: str, fingerprint: Future) -> None:
    record.status, record.error, record.finished_at = RunStatus.FAILED, message, timezone.now()
    try:
        record.sha256 = fingerprint.result()[0]
    except BillError:
        record.sha256 = ""
    record.rows, record.kind_totals, record.replaced_lines = 0, {}, 0
    record.effective_total = record.billed_total = record.list_total = _ZERO
    record.save()
    log.warning("bill import %s failed: %s", record.pk, message)


def _fingerprint(path: Path) -> tuple[str, int]:
    """sha256 of the file as stored, and its number of lines (decompressed), for the progress fraction."""
    digest = hashlib.sha256()
    lines = 0
    try:
        with open(path, "rb") as handle:
            compressed = handle.read(2) == b"\x1f\x8b"
            handle.seek(0)
            while block := handle.read(1 << 20):
                digest.update(block)
                if not compressed:
                    lines += block.count(b"\n")
        if compressed:
            with gzip.open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    lines += block.count(b"\n")
    except OSError as exc:
        raise BillError(path, f"cannot read: {exc.strerror or exc}") from exc
    except (EOFError, gzip.BadGzipFile) as exc:
        raise BillError(path, f"truncated or corrupt gzip file ({exc})") from exc
    return digest.hexdigest(), lines


def _tally_kinds(kinds: dict[str, list], lines: pd.DataFrame) -> None:
    kind = lines["kind"].to_numpy()
    effective = [lines["effective_cost" + suffix].to_numpy() for suffix in (COEF, PLACES)]
    billed = [lines["billed_cost" + suffix].to_numpy() for suffix in (COEF, PLACES)]
    for name in (NODE, VOLUME, LOAD_BALANCER, OVERHEAD, OUTSIDE):
        mask = kind == name
        if not mask.any():
            continue
        entry = kinds.setdefault(name, [0, _ZERO, _ZERO])
        with localcontext(_EXACT):
            entry[0] += int(mask.sum())
            entry[1] += exact_sum(effective[0][mask], effective[1][mask])
            entry[2] += exact_sum(billed[0][mask], billed[1][mask])


# -- what the table can hold -------------------------------------------------------------------------------
_MONEY_FIELD = BillLine._meta.get_field("effective_cost")
_MONEY_LIMIT = Decimal(10) ** (_MONEY_FIELD.max_digits - _MONEY_FIELD.decimal_places)


def _check_fits(lines: pd.DataFrame, reader: BillReader) -> None:
    """Refuse, with their lines and columns, values longer or larger than their column of BillLine."""
    faults = Faults()
    for canonical, field in TEXT_FIELDS.items():
        limit = BillLine._meta.get_field(field).max_length
        values = lines[canonical].to_numpy()
        codes, uniques = pd.factorize(values)
        too_long = np.array([len(u) > limit for u in uniques], dtype=bool)
        faults.add(
            np.isin(codes, np.flatnonzero(too_long)),
            _column_name(canonical, reader),
            lambda i, v=values, n=limit: (
                f"{len(v[i])} characters, longer than the {n} a bill line stores: {v[i][:40]!r}..."
            ),
        )
    for canonical in AMOUNT_FIELDS:
        values = lines[canonical].to_numpy()
        large = too_large(
            lines[canonical + COEF].to_numpy(), lines[canonical + PLACES].to_numpy(), _MONEY_LIMIT
        )
        faults.add(
            large,
            _column_name(canonical, reader),
            lambda i, v=values: f"amount {Decimal(v[i])} is too large (limit {_MONEY_LIMIT:,})",
        )
    faults.raise_if_any(reader.path, lines["source_row"].to_numpy())


def _column_name(canonical: str, reader: BillReader) -> str:
    return _FOCUS_NAMES.get(canonical, canonical) if reader.format == "focus" else canonical


# -- writer ----------------------------------------------------------------------------------------------
def _columns(bill_import_id: int, lines: pd.DataFrame) -> dict[str, object]:
    """A chunk of attributed lines as BillLine columns."""
    return {
        "bill_import_id": bill_import_id,
        "source_row": lines["source_row"].to_numpy(),
        **{field: lines[canonical].to_numpy() for canonical, field in TEXT_FIELDS.items()},
        **{name: lines[name] for name in TIME_FIELDS},
        "tags": lines["tags"].to_numpy(),
        **{name: lines[name].to_numpy() for name in AMOUNT_FIELDS},
        "kind": lines["kind"].to_numpy(),
        "cluster_id": lines["cluster"].to_numpy(),
        "node_id": lines["node"].to_numpy(),
        "volume_id": lines["volume"].to_numpy(),
        "load_balancer_id": lines["load_balancer"].to_numpy(),
    }


class _ProgressStore:
    """Writes BillImport.progress on a PostgreSQL connection of its own, committed at once.

    The import's own transaction holds its writes until the end; a watcher (the status endpoint) reads the
    progress row committed by this second connection. Not on SQLite, where a second writer would wait for
    the import's lock, nor inside a caller's transaction, whose locks it could wait for; there the progress
    is saved with the outcome. A failed write only disables it: progress is information, not a result.
    """

    def __init__(self, bill_import_id: int):
        self.pk = bill_import_id
        self.conn = None
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return
        try:
            self.conn = connection.get_new_connection(connection.get_connection_params())
            self.conn.autocommit = True
            self.conn.execute("SET lock_timeout = '2s'")
        except Exception:
            log.warning("no second connection for the progress of bill import %s", self.pk, exc_info=True)
            self.conn = None
        table = connection.ops.quote_name(BillImport._meta.db_table)
        self.sql = f"UPDATE {table} SET progress = %s WHERE id = %s"  # noqa: S608 (our own table name)

    def __call__(self, fraction: float) -> None:
        if self.conn is None:
            return
        try:
            self.conn.execute(self.sql, (fraction, self.pk))
        except Exception:
            log.warning("progress of bill import %s not saved", self.pk, exc_info=True)
            self.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def plain(amount) -> str:
    """A Decimal as plain digits, without the trailing zeros of the column's scale: 6639.692888."""
    amount = Decimal(amount)
    return "0" if amount == 0 else format(amount.normalize(), "f")


def summary(record: BillImport) -> dict:
    """What the command and the page show of one import, as plain JSON-ready data (amounts as strings)."""
    kinds = defaultdict(lambda: {"lines": 0, "effective": "0", "billed": "0"})
    kinds.update(record.kind_totals or {})
    return {
        "id": record.pk,
        "file": record.file_name,
        "format": record.format,
        "sha256": record.sha256,
        "status": record.status,
        "error": record.error,
        "rows": record.rows,
        "currency": record.currency,
        "billing_account_ids": record.billing_account_ids,
        "period_start": record.period_start.isoformat() if record.period_start else None,
        "period_end": record.period_end.isoformat() if record.period_end else None,
        "effective_total": plain(record.effective_total),
        "billed_total": plain(record.billed_total),
        "list_total": plain(record.list_total),
        "by_kind": {kind: kinds[kind] for kind in (NODE, VOLUME, LOAD_BALANCER, OVERHEAD, OUTSIDE)},
        "replaced_lines": record.replaced_lines,
        "notes": record.notes,
        "uploaded_by": record.uploaded_by.get_username() if record.uploaded_by_id else None,
        "created_at": record.created_at.isoformat() if record.created_at else None,
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
    }
