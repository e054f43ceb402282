"""The Chinese catalogue: the strings marked for translation, read from the templates and the Python code,
merged into locale/zh_Hans/LC_MESSAGES/django.po and compiled into the django.mo beside it (docs/i18n.md).

Pure Python (Babel's extractor, reader and writers, over Django's own template-to-gettext conversion), so
that `make messages` works where GNU gettext (xgettext, msgfmt) is not installed, and gives the same .po
where it is. The compiled .mo is committed: the product runs from a checkout without a build step, and
tests/finops/test_catalogue.py fails when the .mo says something else than the .po.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract, extract_python
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po
from django.conf import settings
from django.utils.translation.template import templatize

BASE_DIR = Path(settings.BASE_DIR)
LANGUAGE = "zh_Hans"
PO = BASE_DIR / "locale" / LANGUAGE / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# Where the marked strings are: the templates, and the product's Python packages (not tests, migrations).
TEMPLATE_DIRS = ("templates",)
PYTHON_DIRS = ("finops", "costing", "reports", "api")
SKIPPED_DIRS = {"migrations", "__pycache__"}
# The keywords makemessages gives xgettext (django/core/management/commands/makemessages.py).
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "N_": None,  # gettext_noop as this project imports it for lookup keys (reports/reporting/builder.py)
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
COMMENT_TAGS = ("Translators",)
HOW_TO_FIX = (
    "To fix: run `make messages` (or `.venv/bin/python manage.py messages`), which adds new strings to "
    f"{PO.relative_to(BASE_DIR)} with an empty msgstr; translate each of them there (the glossary is in "
    "docs/i18n.md; remove any '#, fuzzy' line once checked), then run `make messages` again to compile the .mo."
)


def extract_template(fileobj, keywords, comment_tags, options) -> Iterator[tuple]:
    """Babel extraction method for Django templates: Django's templatize turns {% translate %} and
    {% blocktranslate %} into gettext calls (as makemessages does for xgettext), read by Babel's Python one."""
    text = fileobj.read().decode("utf-8")
    converted = templatize(text, origin=options.get("origin"))
    # Python's tokenizer minds indentation; the gettext calls (one line each, %r-quoted) do not.
    converted = "\n".join(line.lstrip() for line in converted.split("\n"))
    yield from extract_python(io.BytesIO(converted.encode()), keywords, comment_tags, {"encoding": "utf-8"})


def source_files() -> Iterator[tuple[str, Path]]:
    """(method, path) of every file whose marked strings belong in the catalogue, in a stable order."""
    for folder in TEMPLATE_DIRS:
        for path in sorted((BASE_DIR / folder).rglob("*")):
            if path.suffix in (".html", ".txt") and path.is_file():
                yield "template", path
    for folder in PYTHON_DIRS:
        for path in sorted((BASE_DIR / folder).rglob("*.py")):
            if not SKIPPED_DIRS.intersection(path.relative_to(BASE_DIR).parts):
                yield "python", path


def extract_catalogue() -> Catalog:
    """Every string marked for translation, with where it is used (file names, no line numbers)."""
    template = Catalog(locale=LANGUAGE, project="finops", fuzzy=False)
    for method, path in source_files():
        relative = path.relative_to(BASE_DIR).as_posix()
        with path.open("rb") as handle:
            messages = extract(
                extract_template if method == "template" else "python",
                handle,
                keywords=KEYWORDS,
                comment_tags=COMMENT_TAGS,
                options={"origin": relative},
                strip_comment_tags=True,
            )
            for lineno, message, comments, context in messages:
                template.add(
                    message,
                    None,
                    [(relative, lineno)],
                    auto_comments=comments,
                    context=context,
                    flags=_flags(message),
                )
    return template


def _flags(message) -> set[str]:
    """python-format for strings with %(name)s placeholders, as xgettext marks them."""
    ids = message if isinstance(message, tuple | list) else (message,)
    return {"python-format"} if any("%(" in text for text in ids if text) else set()


def read_catalogue(path: Path | None = None) -> Catalog:
    path = path or PO
    if not path.exists():
        return Catalog(locale=LANGUAGE, project="finops", fuzzy=False)
    with path.open("rb") as handle:
        return read_po(handle, locale=LANGUAGE, abort_invalid=True)


def write_catalogue(catalogue: Catalog, path: Path | None = None) -> None:
    """The .po sorted by message, with file names but no line numbers: merges of parallel work conflict less."""
    path = path or PO
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(
        buffer,
        catalogue,
        width=100,
        sort_output=True,
        ignore_obsolete=True,
        include_previous=False,
        include_lineno=False,
    )
    path.write_bytes(buffer.getvalue())


def compiled(catalogue: Catalog) -> bytes:
    """The .mo of a catalogue (fuzzy and untranslated entries left out, as msgfmt does)."""
    buffer = io.BytesIO()
    write_mo(buffer, catalogue, use_fuzzy=False)
    return buffer.getvalue()


def update() -> Catalog:
    """Merge the strings now in the code into the .po (new ones untranslated; gone ones dropped), write
    it, and compile the .mo. Translations of strings still in the code are kept as they are."""
    catalogue = read_catalogue()
    created, revised = catalogue.creation_date, catalogue.revision_date
    catalogue.update(extract_catalogue(), no_fuzzy_matching=True, update_header_comment=False)
    # Dates in the header change only when a translator changes them: no diff for an unchanged catalogue.
    catalogue.creation_date, catalogue.revision_date = created, revised
    write_catalogue(catalogue)
    MO.write_bytes(compiled(read_catalogue()))
    return catalogue


@dataclass
class Problems:
    """What keeps the catalogue from being complete; empty when every marked string is translated."""

    missing: list[str] = field(default_factory=list)  # marked in the code, absent from the .po
    untranslated: list[str] = field(default_factory=list)  # in the .po with an empty msgstr
    fuzzy: list[str] = field(default_factory=list)  # in the .po, marked fuzzy (ignored by gettext)
    stale_mo: bool = False  # the committed .mo differs from the .po

    def __bool__(self) -> bool:
        return bool(self.missing or self.untranslated or self.fuzzy or self.stale_mo)

    def report(self) -> str:
        lines = []
        for title, items in (
            ("marked for translation but not in the catalogue", self.missing),
            ("in the catalogue without a translation (empty msgstr)", self.untranslated),
            ("in the catalogue marked fuzzy (not used until checked)", self.fuzzy),
        ):
            if items:
                lines.append(f"{len(items)} string(s) {title}:")
                lines.extend(f"  {item}" for item in items)
        if self.stale_mo:
            lines.append(f"{_shown(MO)} is not the compiled {_shown(PO)}.")
        lines.append(HOW_TO_FIX)
        return "\n".join(lines)


def _shown(path: Path) -> str:
    return str(path.relative_to(BASE_DIR)) if path.is_relative_to(BASE_DIR) else str(path)


def _key(message) -> str:
    ident = message.id if isinstance(message.id, str) else message.id[0]
    where = ", ".join(sorted({path for path, _ in message.locations}))
    context = f" [context {message.context!r}]" if message.context else ""
    return f"{ident!r}{context}" + (f"  ({where})" if where else "")


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return all(strings)


def problems() -> Problems:
    """Compare the code's marked strings, the .po and the committed .mo."""
    catalogue = read_catalogue()
    found, known = Problems(), _ids(catalogue)
    for message in extract_catalogue():
        if message.id and (_hashable(message.id), message.context) not in known:
            found.missing.append(_key(message))
    for message in catalogue:
        if not message.id:
            continue  # the header
        if message.fuzzy:
            found.fuzzy.append(_key(message))
        elif not _translated(message):
            found.untranslated.append(_key(message))
    found.stale_mo = not MO.exists() or _messages(MO.read_bytes()) != _messages(compiled(catalogue))
    return found


def _ids(catalogue: Catalog) -> set[tuple]:
    return {(_hashable(message.id), message.context) for message in catalogue if message.id}


def _messages(mo: bytes) -> dict:
    """The translations an .mo holds, header left out (its bytes depend on the writer, not the meaning)."""
    return {(_hashable(m.id), m.context): _hashable(m.string) for m in read_mo(io.BytesIO(mo)) if m.id}


def _hashable(value):
    """A plural message's forms are a list; a tuple can key a dict and compare."""
    return tuple(value) if isinstance(value, list | tuple) else value
