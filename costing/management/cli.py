"""What the report commands (`costs`, `recommendations`, `opportunities`) share: their options (dates,
formats, cluster) and their output."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date

from django.core.management.base import CommandError

from reports.reporting.csv import writer as csv_writer
from reports.reporting.safety import safe_text

FORMATS = ("json", "csv", "table")


def parse_day(option: str, text: str) -> date:
    """A YYYY-MM-DD option as a date; CommandError naming the option otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{option}: {text!r} is not a date YYYY-MM-DD") from exc


def parse_period(start: str, end: str) -> tuple[date, date]:
    """--start and --end (exclusive) as dates, the end after the start."""
    first, stop = parse_day("--start", start), parse_day("--end", end)
    if stop <= first:
        raise CommandError(f"--end {stop} must be after --start {first} (the end is exclusive)")
    return first, stop


def check_format(format: str) -> str:
    if format not in FORMATS:
        raise CommandError(f"--format: {format!r} is not one of {', '.join(FORMATS)}")
    return format


def add_format_option(parser) -> None:
    parser.add_argument("--format", default="table", help=f"one of {', '.join(FORMATS)} (default table)")


def add_window_options(parser) -> None:
    """--start, --end (exclusive), --cluster and --format of the commands that read a window of data
    (`recommendations`, `opportunities`)."""
    parser.add_argument("--start", required=True, help="first day of data, YYYY-MM-DD (UTC)")
    parser.add_argument("--end", required=True, help="day after the last, YYYY-MM-DD (exclusive)")
    parser.add_argument("--cluster", help="only this cluster")
    add_format_option(parser)


def check_cluster(name: str | None) -> str | None:
    """--cluster names a known cluster (or is not given); CommandError otherwise."""
    from costing.models import Cluster

    if name and not Cluster.objects.filter(name=name).exists():
        raise CommandError(f"--cluster: no cluster named {name!r}")
    return name


def plain_text(value) -> str:
    """A cell as text: empty for None, true/false for a boolean."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_rows(
    out,
    columns: Sequence[str],
    rows: list[dict],
    format: str,
    *,
    cell: Callable[[object], str] = plain_text,
    json_default: Callable | None = None,
) -> None:
    """The rows as a JSON list, as CSV (the report exports' writer: CRLF, text that a spreadsheet would read
    as a formula quoted; numbers left as numbers, a negative amount is no formula) or as an aligned table."""
    if format == "json":
        out.write(json.dumps(rows, default=json_default, indent=2))
    elif format == "csv":
        writer = csv_writer(out)
        writer.writerow([safe_text(c) for c in columns])
        for row in rows:
            writer.writerow(
                [safe_text(v) if isinstance(v, str) else cell(v) for v in (row.get(c) for c in columns)]
            )
    else:
        table = [[cell(row.get(c)) for c in columns] for row in rows]
        widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
        out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        for r in table:
            out.write("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
