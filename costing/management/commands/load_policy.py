"""Import an apportionment policy from a YAML file: checked as a whole, stored entirely or not at all."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from costing.models import Namespace
from costing.policy import PolicyFileError, read_policy, read_policy_bytes
from costing.policy.preview import NEW, Preview, preview_change
from costing.policy.store import InvalidPolicy, save_spec
from costing.policy.yamlfile import format_error


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("file", help="policy YAML file (format: docs/policy.md)")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the file and print what it would change (department totals before and after), store nothing",
        )
        parser.add_argument("--user", help="user name recorded in the policy history as the author")

    def handle(self, *args, file: str, dry_run: bool = False, user: str | None = None, **options):
        path = Path(file)
        author = None
        if user is not None:
            model = get_user_model()
            author = model.objects.filter(**{model.USERNAME_FIELD: user}).first()
            if author is None:
                raise CommandError(f"--user: no user named {user!r}")
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
        try:
            if dry_run:
                preview = preview_change(spec)
                self.stdout.write(
                    f"{path}: valid policy from {spec.effective_from} (dry run, nothing stored)"
                )
                self.stdout.write(_preview_text(preview), ending="")
                return
            policy = save_spec(spec, user=author)
        except InvalidPolicy as exc:
            raise CommandError(f"{path}: refused, nothing stored:\n{exc}") from exc
        self.stdout.write(
            f"{path}: policy from {policy.effective_from} stored "
            f"({len(spec.departments)} departments); the days it governs will be recomputed"
        )


def _preview_text(preview: Preview) -> str:
    if preview.replaces is None:
        lines = ["It adds the first policy."]
    elif preview.mode == NEW:
        lines = [f"It adds a policy; the one from {preview.replaces} stays in force before it."]
    else:
        lines = [f"It replaces the policy from {preview.replaces}."]
    if not preview.previewed_days:
        lines.append("It governs no computed day: no figure changes now.")
    else:
        more = f" (the latest of {preview.affected_days})" if preview.truncated else ""
        lines.append(
            f"Department totals of the {preview.previewed_days} computed day(s) {preview.first_day} .. "
            f"{preview.last_day}{more}, before and after:"
        )
        width = max(len(r.department) for r in preview.rows)
        for r in preview.rows:
            lines.append(f"  {r.department.ljust(width)}  {r.before:>14}  {r.after:>14}  {r.change:>+14}")
    lines.append(preview.diff.rstrip("\n") if preview.diff else "The policy file is unchanged.")
    return "\n".join(lines) + "\n"
