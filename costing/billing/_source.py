"""Reads a bill CSV (plain or gzipped; UTF-8 or GBK) in chunks of whole records, with their line numbers."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from costing.billing.errors import BillError

GZIP_MAGIC = b"\x1f\x8b"
# An extra last field appended to every record: a row with too few fields shows it in the wrong column,
# which pandas alone would hide by padding the row with empty strings.
_END = "\x00end"
_SENTINEL = b"\x01"
_BLOCK = 1 << 22  # bytes read at a time
_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


@dataclass(slots=True)
class RawChunk:
    """Consecutive records of the file as strings, and the physical line on which each record starts."""

    frame: pd.DataFrame
    lines: np.ndarray


class CsvSource:
    """One bill file opened for reading; `header` is known after construction, `chunks()` streams the rest.

    UTF-8 files are streamed. When more than one encoding is allowed (Huawei consoles write GBK), the file is
    decoded whole first, since the encoding is a property of the whole file and not of its first chunk.
    """

    def __init__(
        self, path: str | Path, *, encodings: tuple[str, ...] = ("utf-8",), chunk_size: int = 50_000
    ):
        self.path = Path(path)
        self.chunk_size = max(1, int(chunk_size))
        self.encoding = "utf-8"
        self.compressed = False
        self._validate_utf8 = True
        self._next_line = 1
        self._stream = self._open(encodings)
        try:
            self.header = self._read_header()
        except BaseException:
            self._stream.close()
            raise

    # -- opening -----------------------------------------------------------------------------------------
    def _error(self, reason: str, line: int | None = None, column: str | None = None) -> BillError:
        return BillError(self.path, reason, line=line, column=column)

    def _open(self, encodings: tuple[str, ...]):
        try:
            with open(self.path, "rb") as probe:
                magic = probe.read(2)
        except OSError as exc:
            raise self._error(f"cannot open: {exc.strerror or exc}") from exc
        self.compressed = magic == GZIP_MAGIC
        raw = gzip.open(self.path, "rb") if self.compressed else open(self.path, "rb")  # noqa: SIM115
        if len(encodings) == 1:
            return raw
        with raw:
            data = self._guarded_read(raw.read)
        text = self._decode_whole(data, encodings)
        self._validate_utf8 = False
        return io.BytesIO(text.encode("utf-8"))

    def _decode_whole(self, data: bytes, encodings: tuple[str, ...]) -> str:
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        if b"\x00" in data:
            line = data.count(b"\n", 0, data.index(b"\x00")) + 1
            raise self._error("wrong encoding: NUL bytes (UTF-16?); export the bill as UTF-8 or GBK", line)
        failure = None
        for encoding in encodings:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                failure = exc  # the last, most permissive encoding points at the byte really wrong
                continue
            self.encoding = encoding
            return text
        line = data.count(b"\n", 0, failure.start) + 1
        bad = data[failure.start : failure.start + 1]
        raise self._error(f"wrong encoding: byte {bad!r} is neither {' nor '.join(encodings)}", line)

    def _guarded_read(self, read, *args):
        try:
            return read(*args)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise self._error(f"truncated or corrupt gzip file ({exc})", self._next_line) from exc

    def _lines(self) -> Iterator[bytes]:
        while True:
            line = self._guarded_read(self._stream.readline)
            if not line:
                return
            yield line

    def close(self) -> None:
        self._stream.close()

    # -- header ------------------------------------------------------------------------------------------
    def _read_header(self) -> list[str]:
        record: list[bytes] = []
        parity = 0
        for line in self._lines():
            record.append(line)
            parity ^= line.count(b'"') & 1
            if not parity:
                break
        if not record or not b"".join(record).strip():
            raise self._error("empty file: no header line", 1)
        raw = b"".join(record)
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._error("wrong encoding: the header is not UTF-8", 1) from exc
        names = [name.strip() for name in next(csv.reader([text.rstrip("\r\n")]))]
        seen: set[str] = set()
        for name in names:
            if name in seen and name:
                raise self._error("column appears twice in the header", 1, name)
            seen.add(name)
        self._next_line = 1 + len(record)
        return names

    # -- records -----------------------------------------------------------------------------------------
    def chunks(self, usecols: list[str]) -> Iterator[RawChunk]:
        """Yield the data records, `usecols` only (names from `header`), as str columns in chunks.

        The file is read in blocks; numpy finds the line ends outside quotes (where the count of '"' before
        them is even), so that a chunk ends on a whole record without looking at each line in Python.
        """
        parts: list[bytes] = []
        size = 0
        ends = np.empty(0, dtype=np.int64)  # offsets of the record ends ('\n' outside quotes) in parts
        breaks = np.empty(0, dtype=np.int64)  # offsets of every '\n' in parts
        parity = 0  # of the '"' read since the start of parts (which starts a record)
        while True:
            block = self._guarded_read(self._stream.read, _BLOCK)
            if block:
                found, newlines, parity = _record_ends(block, parity)
                ends = np.concatenate([ends, found + size]) if len(found) else ends
                breaks = np.concatenate([breaks, newlines + size]) if len(newlines) else breaks
                parts.append(block)
                size += len(block)
            elif not parity and size > (int(ends[-1]) + 1 if len(ends) else 0):
                ends = np.append(ends, size - 1)  # the last record, without a line break at the end
            while len(ends) >= self.chunk_size or (not block and len(ends)):
                count = min(self.chunk_size, len(ends))
                cut = int(ends[count - 1]) + 1
                inside = int(np.searchsorted(breaks, cut))
                data = b"".join(parts)
                parts, size, ends = [data[cut:]], size - cut, ends[count:] - cut
                chunk_breaks, breaks = breaks[:inside], breaks[inside:] - cut
                yield self._parse(data[:cut], usecols, count, chunk_breaks)
            if not block:
                break
        if parity:
            raise self._error("a quoted field is never closed (unbalanced '\"')", self._next_line)

    def _check_utf8(self, data: bytes, start: int) -> None:
        if not self._validate_utf8 or data.isascii():
            return
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = start + data.count(b"\n", 0, exc.start)
            bad = data[exc.start : exc.start + 1]
            raise self._error(f"wrong encoding: byte {bad!r} is not UTF-8", line) from exc

    def _parse(self, data: bytes, usecols: list[str], records_in: int, breaks: np.ndarray) -> RawChunk:
        """`records_in`: how many records `data` holds (blank lines included); `breaks`: where its '\n' are."""
        start = self._next_line
        physical = len(breaks) + (not data.endswith(b"\n"))
        self._next_line += physical
        self._check_utf8(data, start)
        # Every line a record of its own (no line break inside quotes), and no blank line: one replace.
        simple = records_in == physical
        if not data.endswith(b"\n"):
            data += b"\n"
        if not len(breaks) or breaks[-1] != len(data) - 1:
            breaks = np.append(breaks, len(data) - 1)
        array = np.frombuffer(data, dtype=np.uint8)
        crlf = int((array[breaks[breaks > 0] - 1] == 13).sum()) if b"\r" in data else 0
        blank = data.startswith((b"\n", b"\r\n")) or b"\n\n" in data or b"\n\r\n" in data
        if simple and not blank:
            records = None
            if crlf and crlf < physical:  # mixed line ends
                data, crlf = data.replace(b"\r\n", b"\n"), 0
            data = data.replace(b"\r\n" if crlf else b"\n", b"," + _SENTINEL + b"\n")
            lines = np.arange(start, start + physical, dtype=np.int64)
        else:
            if crlf:
                data = data.replace(b"\r\n", b"\n")
            records, starts = _records(data.splitlines(keepends=True), start)
            data = b"".join(record.rstrip(b"\r\n") + b"," + _SENTINEL + b"\n" for record in records)
            lines = np.asarray(starts, dtype=np.int64)
        if not len(lines):
            return RawChunk(pd.DataFrame(columns=usecols, dtype=str), lines)
        names = [*self.header, _END]
        try:
            frame = pd.read_csv(
                io.BytesIO(data),
                header=None,
                names=names,
                usecols=[*usecols, _END],
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                encoding="utf-8",
                engine="c",
                # Otherwise pandas takes the surplus leading fields of a long first record for an index and
                # fails with its own message; this way the record reaches the sentinel check like any other.
                index_col=False,
            )
        except pd.errors.ParserError as exc:
            found = _PARSER_LINE.search(str(exc))
            if not found:
                raise self._error(f"not a readable CSV: {exc}", start) from exc
            index = int(found.group(2)) - 1
            line = int(lines[index]) if index < len(lines) else start
            fields = int(found.group(3)) - 1
            raise self._error(f"{fields} fields where the header has {len(self.header)}", line) from exc
        if len(frame) != len(lines):
            raise self._error("quoting the CSV reader cannot follow (a stray '\"' inside a field?)", start)
        ragged = (frame[_END] != _SENTINEL.decode()).to_numpy()
        if ragged.any():
            row = int(ragged.argmax())
            record = records[row] if records is not None else _line(data, row)
            text = record.decode("utf-8", errors="replace").rstrip("\r\n")
            fields = len(next(csv.reader([text]), []))
            raise self._error(f"{fields} fields where the header has {len(self.header)}", int(lines[row]))
        return RawChunk(frame.drop(columns=_END), lines)


def _record_ends(block: bytes, parity: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Offsets of the '\\n' in `block` that end a record (an even count of '"' before them, counting
    `parity`: that of the quotes before the block), of all its '\\n', and the parity after the block."""
    array = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(array == 10)
    if b'"' not in block:
        return (newlines if not parity else newlines[:0]), newlines, parity
    quotes = np.flatnonzero(array == 34)
    outside = ((np.searchsorted(quotes, newlines) + parity) & 1) == 0
    return newlines[outside], newlines, (parity + len(quotes)) & 1


def _line(data: bytes, row: int) -> bytes:
    """The row-th line of data (with the sentinel field the reader appended)."""
    return data.split(b"\n", row + 1)[row].removesuffix(b"," + _SENTINEL)


def _records(buffer: list[bytes], start: int) -> tuple[list[bytes], list[int]]:
    """Group physical lines into records (quoted fields may hold line breaks); blank lines are skipped."""
    out: list[bytes] = []
    starts: list[int] = []
    current: list[bytes] = []
    parity = 0
    for offset, line in enumerate(buffer):
        if not current:
            if not line.strip(b"\r\n"):
                continue
            starts.append(start + offset)
        current.append(line)
        parity ^= line.count(b'"') & 1
        if not parity:
            out.append(b"".join(current))
            current = []
    return out, starts
