"""Import budgets from a YAML file: checked as a whole, stored entirely or not at all."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from costing.budgets.store import save_plan
from costing.budgets.yamlfile import BudgetFileError, read_budgets
from costing.models import Cluster, Department
from costing.policy import read_policy_bytes
from costing.policy.yamlfile import PolicyFileError


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("file", help="budget YAML file (format: docs/budgets.md)")
        parser.add_argument("--dry-run", action="store_true", help="check the file, store nothing")

    def handle(self, *args, file: str, dry_run: bool = False, **options):
        path = Path(file)
        try:
            with path.open("rb") as stream:
                text = read_policy_bytes(stream, source=str(path))
            plan = read_budgets(
                text,
                source=str(path),
                departments=Department.objects.values_list("name", flat=True),
                clusters=Cluster.objects.values_list("name", flat=True),
            )
        except OSError as exc:
            raise CommandError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
        except (BudgetFileError, PolicyFileError) as exc:
            raise CommandError(f"{path}: refused, nothing stored:\n{exc}") from exc
        if dry_run:
            self.stdout.write(f"{path}: valid budgets from {plan.effective_from} (dry run, nothing stored)")
            return
        save_plan(plan)
        self.stdout.write(f"{path}: {len(plan.budgets)} budgets from {plan.effective_from} stored")
