"""Import an apportionment policy from a YAML file: checked as a whole, stored entirely or not at all."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from costing.models import Namespace
from costing.policy import PolicyFileError, read_policy, read_policy_bytes
from costing.policy.store import InvalidPolicy, save_spec
from costing.policy.yamlfile import format_error


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("file", help="policy YAML file (format: docs/policy.md)")
        parser.add_argument("--dry-run", action="store_true", help="check the file, store nothing")

    def handle(self, *args, file: str, dry_run: bool = False, **options):
        path = Path(file)
        known = set(Namespace.objects.values_list("name", flat=True))
        try:
            with path.open("rb") as stream:
                text = read_policy_bytes(stream, source=str(path))
            read = read_policy(text, source=str(path), known_namespaces=known or None)
        except OSError as exc:
            raise CommandError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
        except PolicyFileError as exc:
            raise CommandError(f"{path}: refused, nothing stored:\n{exc}") from exc
        for warning in read.warnings:
            self.stderr.write(f"warning: {format_error(str(path), warning)}")
        spec = read.spec
        if dry_run:
            self.stdout.write(f"{path}: valid policy from {spec.effective_from} (dry run, nothing stored)")
            return
        try:
            policy = save_spec(spec)
        except InvalidPolicy as exc:
            raise CommandError(f"{path}: refused, nothing stored:\n{exc}") from exc
        self.stdout.write(
            f"{path}: policy from {policy.effective_from} stored "
            f"({len(spec.departments)} departments); the days it governs will be recomputed"
        )
