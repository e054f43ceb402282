"""The one error a bill import raises: which file, which line, which column, and why."""

from __future__ import annotations

from pathlib import Path


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

    def __str__(self) -> str:
        where = [Path(self.file).name]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.reason}"

    def __reduce__(self):
        return (_rebuild, (self.file, self.reason, self.line, self.column))


def _rebuild(file, reason, line, column):
    return BillError(file, reason, line=line, column=column)
