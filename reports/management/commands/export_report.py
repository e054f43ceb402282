"""Write the report of a period (month, quarter, year or custom range) as an Excel workbook or CSV files."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from reports.models import ExportFormat
from reports.reporting.builder import ReportError, build_report
from reports.reporting.csv import table_names
from reports.reporting.delivery import render


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument(
            "--period",
            required=True,
            help="2026-10 (month), 2026-Q4, 2026 (year), 2026-W44, 2026-10-05 or 2026-10-01..2026-11-01 (custom, end exclusive)",
        )
        parser.add_argument("--cluster", help="only this cluster")
        parser.add_argument("--department", help="only this department")
        parser.add_argument(
            "--format", default="xlsx", help="xlsx (default) or csv (a zip of CSVs, or --table)"
        )
        parser.add_argument("--table", help="with --format csv: only this table (summary, departments, ...)")
        parser.add_argument("--output", required=True, help="file to write")
        parser.add_argument(
            "--current",
            action="store_true",
            help="for a closed period: the current figures instead of the closed ones",
        )

    def handle(
        self, *args, period, cluster=None, department=None, format="xlsx", table=None, output, **options
    ):
        if format not in ExportFormat.values:
            raise CommandError(f"--format: {format!r} is not one of {', '.join(ExportFormat.values)}")
        if table and format != ExportFormat.CSV:
            raise CommandError("--table: one table is written as CSV; add --format csv")
        target = Path(output)
        if not target.parent.is_dir():
            raise CommandError(f"--output: folder {str(target.parent)!r} does not exist")
        if target.is_dir():
            raise CommandError(f"--output: {output!r} is a folder; give a file name")
        try:
            report = build_report(
                period, cluster=cluster, department=department, frozen=not options["current"]
            )
        except ReportError as exc:
            raise CommandError(
                f"--{str(exc).split(':', 1)[0]}: {str(exc).split(':', 1)[1].strip()}"
            ) from None
        if table and table not in table_names(report):
            raise CommandError(f"--table: {table!r} is not one of {', '.join(table_names(report))}")
        rendered = render(report, format, table)
        target.write_bytes(rendered.content)
        total = report.summary_value("Physical cost") or report.summary_value("Department total")
        self.stdout.write(
            f"{report.period.key} ({report.scope_label}), {report.status}: total {total} {report.currency} "
            f"-> {target} ({len(rendered.content):,} bytes)"
        )
