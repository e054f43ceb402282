"""`manage.py messages`: the Chinese catalogue brought up to date with the code (finops/catalogue.py)."""

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Add the strings marked for translation in templates and Python code to "
        "locale/zh_Hans/LC_MESSAGES/django.po (new ones untranslated), drop those gone, and compile the .mo. "
        "With --check: change nothing, list what is missing or untranslated, exit 1 if anything is."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only report; exit 1 when incomplete")

    def handle(self, *args, check=False, **options):
        from finops import catalogue  # Babel is a development requirement: imported only when asked

        if not check:
            updated = catalogue.update()
            self.stdout.write(f"{catalogue.PO.relative_to(catalogue.BASE_DIR)}: {len(updated)} strings")
        found = catalogue.problems()
        if found:
            message = found.report()
            if check:
                raise CommandError(message)
            self.stdout.write(message)
        else:
            self.stdout.write("Every marked string is translated; the .mo is up to date.")
