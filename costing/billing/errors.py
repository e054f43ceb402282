"""The errors a bill import raises: which file, which line, which column, and why; one or all of them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

# The errors of one file shown in full; the others are counted ("and 120 more").
MAX_ERRORS = 50


class BillError(ValueError):
    """A bill file that cannot be imported.

    `line` (also readable as `row`) is the physical line number in the file, the header being line 1,
    so that it matches what an editor shows; it is None for faults of the file as a whole.
    `column` is the header name as written in the file, or None.
    """

    def __init__(self, file: str | Path, reason: str, *, line: int | None = None, column: str | None = None):
        self.file = str(file)
        self.line = line
        self.column = column
        self.reason = reason
        super().__init__(str(self))

    @property
    def row(self) -> int | None:
        return self.line

    @property
    def where(self) -> str:
        parts = [f"line {self.line}"] if self.line is not None else []
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def renamed(self, name: str) -> BillError:
        """The same error about the file as its owner calls it (an upload is stored under another name)."""
        return BillError(name, self.reason, line=self.line, column=self.column)

    def __str__(self) -> str:
        where = self.where
        return f"{Path(self.file).name}{', ' + where if where else ''}: {self.reason}"

    def __reduce__(self):
        return (_rebuild, (self.file, self.reason, self.line, self.column))


class BillErrors(BillError):
    """Every fault found in one file, in line order: the first MAX_ERRORS in full, and how many there are.

    The one collector of the importers, the upload check, the command, the page and the API: they all show
    str() of it. It reads as its first error (`line`, `column`, `reason`) for a caller that wants one.
    """

    def __init__(self, file: str | Path, errors: Iterable[BillError] = (), *, limit: int = MAX_ERRORS):
        self.file = str(file)
        self.limit = limit
        self.errors: list[BillError] = []
        self.total = 0
        self.partial = None  # see lines.Faults.raise_if_any
        self.extend(errors)

    def add(self, error: BillError) -> None:
        if isinstance(error, BillErrors):
            self.extend(error.errors, more=error.total - len(error.errors))
            return
        self.total += 1
        self.errors.append(error)
        self.errors.sort(key=lambda e: (e.line is not None, e.line or 0))
        del self.errors[self.limit :]

    def extend(self, errors: Iterable[BillError], *, more: int = 0) -> None:
        for error in errors:
            self.add(error)
        self.total += more

    def __bool__(self) -> bool:
        return self.total > 0

    def __len__(self) -> int:
        return self.total

    @property
    def line(self) -> int | None:
        return self.errors[0].line if self.errors else None

    @property
    def column(self) -> str | None:
        return self.errors[0].column if self.errors else None

    @property
    def reason(self) -> str:
        return self.errors[0].reason if self.errors else ""

    def renamed(self, name: str) -> BillErrors:
        renamed = BillErrors(name, limit=self.limit)
        renamed.extend((e.renamed(name) for e in self.errors), more=self.total - len(self.errors))
        return renamed

    def __str__(self) -> str:
        if self.total == 1 and self.errors:
            return str(self.errors[0])
        name = Path(self.file).name
        lines = [f"{name}: {self.total} errors"]
        lines += [f"  {e.where or 'file'}: {e.reason}" for e in self.errors]
        if self.total > len(self.errors):
            lines.append(f"  and {self.total - len(self.errors)} more")
        return "\n".join(lines)

    def __reduce__(self):
        return (_rebuild_many, (self.file, self.errors, self.total, self.limit))


def _rebuild(file, reason, line, column):
    return BillError(file, reason, line=line, column=column)


def _rebuild_many(file, errors, total, limit):
    collected = BillErrors(file, errors, limit=limit)
    collected.total = total
    return collected
