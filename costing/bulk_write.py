"""The one bulk writer: many rows into a model's table by COPY on PostgreSQL, in large statements elsewhere.

Every table and column name comes from the model (`Model._meta.db_table`, `field.column`), quoted by the
connection; callers name Django fields, never tables. Two ways in:

- `Inserter` / `insert_columns`: plain inserts of columns of values. PostgreSQL gets one
  `COPY ... FROM STDIN` (text format), which a caller may feed chunk by chunk, optionally from a writer
  thread; other databases get `bulk_create`. Values are encoded by the field they go to: NULL for
  None/NaN/NaT, timestamps as UTC, JSON dumped once per object, Decimals (or exact number texts) as given, and the fields
  named as money given as int64 counts of 1e-8 (`costing.money.units_text`). None in a column that cannot be NULL
  takes the field's default (the importers' "missing": an empty string, an empty JSON object).
- `upsert`: `INSERT ... ON CONFLICT (...) DO UPDATE SET ... / DO NOTHING [RETURNING ...]` of rows of
  plain Python values (timestamps from `stamps`). From `COPY_MIN_ROWS` rows on, PostgreSQL gets them by
  COPY into a temporary table first; fewer, and on SQLite, go as multi-row VALUES within the parameter limit.
  `added`, `if_newer` and `widened` build the usual SET clauses.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from decimal import Decimal
from itertools import count

import numpy as np
import pandas as pd
from django.db import connection, models
from django.utils import timezone

from costing.money import units_text

__all__ = [
    "COPY_MIN_ROWS",
    "Inserter",
    "added",
    "differs",
    "if_newer",
    "insert_columns",
    "max_params",
    "stamps",
    "upsert",
    "widened",
]

# Below this many rows a multi-row VALUES statement beats the COPY round trips on PostgreSQL.
COPY_MIN_ROWS = 2000
BATCH = 5000
_NULL = "\\N"
_stage_numbers = count(1)


# -- names -----------------------------------------------------------------------------------------------


def table(model) -> str:
    """The model's table, quoted for SQL."""
    return connection.ops.quote_name(model._meta.db_table)


def column(model, name: str) -> str:
    """The column of a field (by name or attname: "cluster" and "cluster_id" alike), quoted for SQL."""
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _columns(model, fields: Iterable[str]) -> str:
    return ", ".join(column(model, f) for f in fields)


# -- values ----------------------------------------------------------------------------------------------


def stamps(epoch_seconds) -> list[str]:
    """UTC instants (epoch seconds) as timestamp text for `upsert` rows.

    PostgreSQL gets an explicit +00; SQLite the naive UTC text that Django stores there.
    """
    text = np.datetime_as_string(np.asarray(epoch_seconds, dtype=np.int64).astype("datetime64[s]"), unit="s")
    suffix = "+00" if connection.vendor == "postgresql" else ""
    return [t.replace("T", " ") + suffix for t in text.tolist()]


def max_params() -> int:
    """How many bind parameters one statement may carry on this connection."""
    if connection.vendor == "postgresql":
        return 65000
    connection.ensure_connection()
    try:
        return max(999, connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - 10)
    except (AttributeError, sqlite3.Error):
        return 999


def _is_missing(value) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and value != value)


def _escape(text: str) -> str:
    """COPY text format: backslash, tab, newline and carriage return are escaped with a backslash."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _missing_as(field: models.Field) -> str:
    """What None becomes in COPY text: NULL, or for a NOT NULL column the field's default."""
    if field.null:
        return _NULL
    default = field.get_default()
    if isinstance(field, models.JSONField):
        return _escape(json.dumps(default))
    return _NULL if default is None else _escape(str(default))


def _text_copy(values, missing: str) -> list[str]:
    # Escaped once per distinct value: bill columns repeat a handful of values over millions of lines.
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    lookup = np.array([*(_escape(str(u)) for u in uniques), missing], dtype=object)
    return lookup[codes].tolist()


def _time_copy(values) -> list[str]:
    index = pd.DatetimeIndex(pd.to_datetime(values, utc=True))
    codes, uniques = pd.factorize(index.as_unit("us").asi8)
    text = np.datetime_as_string(uniques.astype("datetime64[us]"), unit="us")
    lookup = np.array([*(t + "+00" for t in text), _NULL], dtype=object)
    codes = np.where(index.isna(), len(uniques), codes)
    return lookup[codes].tolist()


def _json_copy(values, missing: str) -> list[str]:
    # Equal source strings share one object (the readers' contract): each object is dumped once.
    values = np.asarray(values, dtype=object)
    ids = np.fromiter(map(id, values), dtype=np.int64, count=len(values))
    codes, _ = pd.factorize(ids)
    _, first = np.unique(codes, return_index=True)
    lookup = np.array(
        [
            missing
            if values[i] is None
            else _escape(json.dumps(values[i], ensure_ascii=False, separators=(",", ":")))
            for i in first
        ],
        dtype=object,
    )
    return lookup[codes].tolist()


def _integer_copy(values) -> list[str]:
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array.astype(str).tolist()
    # Ids with None (NaN, NaT) for NULL: each distinct one written once.
    codes, uniques = pd.factorize(np.asarray(array, dtype=object))
    lookup = np.array([*(str(int(u)) for u in uniques), _NULL], dtype=object)
    return lookup[codes].tolist()


def _float_copy(values) -> list[str]:
    # repr() is the shortest text that reads back as the same double (numpy's astype(str) prints the same
    # text, at twice the cost). Columns that repeat a few values (requests, capacities) are printed once
    # per distinct value.
    array = np.asarray(values, dtype=np.float64)
    codes, uniques = pd.factorize(array, use_na_sentinel=True)
    if len(uniques) * 2 < len(array):
        lookup = np.array([*map(float.__repr__, uniques.tolist()), _NULL], dtype=object)
        return lookup[codes].tolist()
    text = list(map(float.__repr__, array.tolist()))
    if (codes < 0).any():
        for i in np.flatnonzero(codes < 0).tolist():
            text[i] = _NULL
    return text


def _decimal_copy(values) -> list[str]:
    array = np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(array, skipna=True) in ("string", "empty"):
        # Exact number texts (the bill importer's): PostgreSQL reads them as written.
        return np.where(pd.isna(array), _NULL, array).tolist()
    return [_NULL if v is None or v != v else str(v) for v in values]


def _bool_copy(values) -> list[str]:
    array = np.asarray(values)
    if array.dtype.kind == "b":
        return np.where(array, "t", "f").astype(object).tolist()
    return [_NULL if _is_missing(v) else ("t" if v else "f") for v in array.tolist()]


def _date_copy(values) -> list[str]:
    return [_NULL if _is_missing(v) else v.isoformat() for v in values]


def _copy_text(field: models.Field, values, money: bool) -> list[str]:
    """One column of values as COPY text, by the field it goes to."""
    if money:
        return units_text(np.asarray(values, dtype=np.int64))
    missing = _missing_as(field)
    if isinstance(field, models.JSONField):
        return _json_copy(values, missing)
    if isinstance(field, models.DateTimeField):
        return _time_copy(values)
    if isinstance(field, models.DateField):
        return _date_copy(values)
    if isinstance(field, models.BooleanField):
        return _bool_copy(values)
    if isinstance(field, models.FloatField):
        return _float_copy(values)
    if isinstance(field, models.DecimalField):
        return _decimal_copy(values)
    if isinstance(field, (models.IntegerField, models.ForeignKey)):
        return _integer_copy(values)
    if isinstance(field, models.BinaryField):
        # bytea's hex form, its backslash escaped for COPY's text format.
        return ["\\\\x" + bytes(v).hex() for v in values]
    return _text_copy(values, missing)


def _orm_value(field: models.Field, value, money: bool):
    """A value as Django expects it for bulk_create: numpy scalars as Python ones, NaN as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if _is_missing(value):
        return None if field.null else field.get_default()
    if money:
        return Decimal(units_text(value))
    if isinstance(field, models.DateTimeField) and isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # naive is UTC, as on the COPY path
    return value


def _default(field: models.Field):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    return field.get_default()


# -- plain inserts ---------------------------------------------------------------------------------------


def _is_column(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index))


def _length(columns: dict[str, object]) -> int:
    lengths = {len(v) for v in columns.values() if _is_column(v)}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


class Inserter:
    """Inserts rows of `fields` of `model`, given chunk after chunk as columns, inside the caller's transaction.

    PostgreSQL: one COPY for all the chunks, opened at the first one. With `threaded`, psycopg's writer
    thread sends the data while the caller builds the next chunk (the server inserts and indexes on one
    core while Python works on another). Other databases: bulk_create per chunk.
    `close()` ends the COPY; `close(exc)` fails it, and the caller's rollback discards it.
    """

    def __init__(self, model, fields: Sequence[str], *, money: Iterable[str] = (), threaded: bool = False):
        self.model = model
        self.fields = list(fields)
        self.by_name = {name: model._meta.get_field(name) for name in self.fields}
        given = {f.name for f in self.by_name.values()}
        # bulk_create gives the fields left out their defaults; COPY would leave them NULL.
        self.defaults = {
            f.attname: _copy_text(f, [_default(f)], False)[0]
            for f in model._meta.concrete_fields
            if f.name not in given and not f.primary_key
        }
        self.money = set(money)
        self.threaded = threaded
        self.postgres = connection.vendor == "postgresql"
        self._stack: ExitStack | None = None
        self._copy = None

    def __enter__(self) -> Inserter:
        return self

    def __exit__(self, kind, exc, traceback) -> None:
        self.close(exc)

    def write(self, columns: dict[str, object]) -> int:
        """Insert one chunk: a value per field, each an array or list (a column) or a scalar for every row."""
        n = _length(columns)
        if n == 0:
            return 0
        if set(columns) != set(self.fields):
            raise ValueError(f"columns {sorted(columns)} are not the fields {sorted(self.fields)}")
        if self.postgres:
            self._write_copy(columns, n)
        else:
            self._write_orm(columns, n)
        return n

    def _write_copy(self, columns: dict[str, object], n: int) -> None:
        encoded = [[text] * n for text in self.defaults.values()]
        for name in self.fields:
            field, values, money = self.by_name[name], columns[name], name in self.money
            if _is_column(values):
                encoded.append(_copy_text(field, values, money))
            else:  # one value for every row: encoded once
                encoded.append([_copy_text(field, [values], money)[0]] * n)
        if self._copy is None:
            self._open()
        self._copy.write(("\n".join(map("\t".join, zip(*encoded, strict=True))) + "\n").encode())

    def _open(self) -> None:
        names = _columns(self.model, [*self.defaults, *self.fields])
        sql = f"COPY {table(self.model)} ({names}) FROM STDIN"
        self._stack = ExitStack()
        cursor = self._stack.enter_context(connection.cursor()).cursor
        if self.threaded:
            from psycopg.copy import QueuedLibpqWriter  # PostgreSQL only

            self._copy = self._stack.enter_context(cursor.copy(sql, writer=QueuedLibpqWriter(cursor)))
        else:
            self._copy = self._stack.enter_context(cursor.copy(sql))

    def _write_orm(self, columns: dict[str, object], n: int) -> None:
        lists = {}
        for name in self.fields:
            values = columns[name]
            if isinstance(values, pd.Series) and values.dtype.kind == "M":
                values = list(values.dt.to_pydatetime())
            lists[name] = list(values) if _is_column(values) else [values] * n
        fields = [(name, self.by_name[name], name in self.money) for name in self.fields]
        self.model.objects.bulk_create(
            (
                self.model(
                    **{name: _orm_value(field, lists[name][i], money) for name, field, money in fields}
                )
                for i in range(n)
            ),
            batch_size=BATCH,
        )

    def close(self, exc: BaseException | None = None) -> None:
        if self._stack is None:
            return
        stack, self._stack, self._copy = self._stack, None, None
        if exc is None:
            stack.close()
        else:
            stack.__exit__(type(exc), exc, exc.__traceback__)


def insert_columns(model, columns: dict[str, object], money: Iterable[str] = ()) -> int:
    """Insert rows given as columns (arrays or lists of equal length, or scalars for every row); the count.

    `money` names fields given as int64 counts of 1e-8.
    """
    with Inserter(model, list(columns), money=money) as inserter:
        return inserter.write(columns)


# -- upserts ---------------------------------------------------------------------------------------------


def added(model, fields: Iterable[str]) -> list[str]:
    """SET clauses that add the new row's values to the stored ones: x = table.x + excluded.x."""
    t = table(model)
    return [f"{c} = {t}.{c} + excluded.{c}" for c in (column(model, f) for f in fields)]


def if_newer(model, fields: Iterable[str], stamp: str) -> list[str]:
    """SET clauses that take the new row's values when its `stamp` is at least the stored one."""
    t, s = table(model), column(model, stamp)
    newer = f"excluded.{s} >= {t}.{s}"
    return [
        f"{c} = CASE WHEN {newer} THEN excluded.{c} ELSE {t}.{c} END"
        for c in (column(model, f) for f in fields)
    ]


def differs(model, fields: Iterable[str]) -> str:
    """A condition (for `upsert`'s `where`): one of the fields differs between the stored and the new row
    (NULL-safe; JSON compared as values on PostgreSQL)."""
    t = table(model)
    op = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    return " OR ".join(f"{t}.{c} {op} excluded.{c}" for c in (column(model, f) for f in fields))


def widened(model, first: str = "first_seen", last: str = "last_seen") -> list[str]:
    """SET clauses that widen the stored [first, last] span to cover the new row's."""
    t, a, b = table(model), column(model, first), column(model, last)
    return [
        f"{a} = CASE WHEN excluded.{a} < {t}.{a} THEN excluded.{a} ELSE {t}.{a} END",
        f"{b} = CASE WHEN excluded.{b} > {t}.{b} THEN excluded.{b} ELSE {t}.{b} END",
    ]


def upsert(
    model,
    fields: Sequence[str],
    rows: Sequence[tuple],
    *,
    conflict: Sequence[str],
    update: Sequence[str] = (),
    returning: Sequence[str] = (),
    copy_min_rows: int = COPY_MIN_ROWS,
    where: str = "",
) -> list[tuple]:
    """INSERT rows of `fields`; on a conflict on the `conflict` fields, apply the `update` SET clauses
    (from `added`, `if_newer`, `widened`), or DO NOTHING without them. Returns the `returning` fields of
    the rows inserted or updated (with DO NOTHING: only of the rows inserted). `where`: a condition on
    the stored row (the table's name) and `excluded` without which a conflicting row is left as it is
    (not rewritten, not returned).

    Rows hold plain Python values in the database's terms: timestamps from `stamps`, JSON as text.
    `copy_min_rows`: from how many rows PostgreSQL gets them by COPY (wide rows gain from it sooner).
    """
    if not rows:
        return []
    name, cols = table(model), _columns(model, fields)
    action = f"DO UPDATE SET {', '.join(update)}" if update else "DO NOTHING"
    if update and where:
        action += f" WHERE {where}"
    tail = f" ON CONFLICT ({_columns(model, conflict)}) {action}"
    if returning:
        tail += f" RETURNING {_columns(model, returning)}"
    out: list[tuple] = []
    # Every name below comes from the model's metadata, never from input: S608 does not apply.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) >= copy_min_rows:
            stage = connection.ops.quote_name(f"_stage_{model._meta.db_table}_{next(_stage_numbers)}")
            cursor.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {cols} FROM {name} LIMIT 0")  # noqa: S608
            with cursor.cursor.copy(f"COPY {stage} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {stage}{tail}")  # noqa: S608
            if returning:
                out.extend(cursor.fetchall())
            cursor.execute(f"DROP TABLE {stage}")
            return out
        per_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        chunk = max(1, min(BATCH, max_params() // len(fields)))
        for i in range(0, len(rows), chunk):
            part = rows[i : i + chunk]
            sql = f"INSERT INTO {name} ({cols}) VALUES " + ", ".join([per_row] * len(part)) + tail  # noqa: S608
            cursor.execute(sql, [v for row in part for v in row])
            if returning:
                out.extend(cursor.fetchall())
    return out
