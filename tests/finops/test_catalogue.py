"""The Chinese catalogue is complete: every string marked for translation in the templates and the Python
code is in locale/zh_Hans/LC_MESSAGES/django.po with a checked translation, and the committed .mo is the
compiled .po (finops/catalogue.py; docs/i18n.md)."""

from __future__ import annotations

import io

import pytest
from babel.messages.catalog import Catalog
from django.core.management import call_command
from django.core.management.base import CommandError
from django.template import Context, Template
from django.utils import translation

from finops import catalogue


def test_every_marked_string_is_translated_and_compiled():
    found = catalogue.problems()
    assert not found, "\n" + found.report()


def test_the_report_names_each_problem_and_the_fix(monkeypatch, tmp_path):
    """A template string missing from the catalogue, an empty msgstr and a fuzzy entry are each listed,
    with the command that fixes them."""
    po = tmp_path / "django.po"
    mo = tmp_path / "django.mo"
    partial = Catalog(locale=catalogue.LANGUAGE)
    partial.add("Overview", "总览", locations=[("templates/base.html", 1)])
    partial.add("Clusters", "", locations=[("templates/base.html", 1)])
    partial.add("Budgets", "预算", locations=[("templates/base.html", 1)], flags={"fuzzy"})
    catalogue.write_catalogue(partial, po)
    mo.write_bytes(catalogue.compiled(catalogue.read_catalogue(po)))
    monkeypatch.setattr(catalogue, "PO", po)
    monkeypatch.setattr(catalogue, "MO", mo)

    found = catalogue.problems()

    assert "'Switch'  (templates/base.html)" in found.missing
    assert found.untranslated == ["'Clusters'  (templates/base.html)"]
    assert found.fuzzy == ["'Budgets'  (templates/base.html)"]
    assert not found.stale_mo
    report = found.report()
    assert "not in the catalogue" in report and "'Switch'" in report
    assert "make messages" in report and "msgstr" in report
    with pytest.raises(CommandError, match="without a translation"):
        call_command("messages", "--check", stdout=io.StringIO())


def test_a_stale_mo_is_reported(monkeypatch, tmp_path):
    po, mo = tmp_path / "django.po", tmp_path / "django.mo"
    po.write_bytes(catalogue.PO.read_bytes())
    changed = catalogue.read_catalogue(po)
    changed["Overview"].string = "概览"
    mo.write_bytes(catalogue.compiled(changed))
    monkeypatch.setattr(catalogue, "PO", po)
    monkeypatch.setattr(catalogue, "MO", mo)
    found = catalogue.problems()
    assert found.stale_mo and not found.missing and not found.untranslated
    assert "is not the compiled" in found.report()


def test_templates_are_extracted_as_makemessages_reads_them():
    """{% translate %}, {% blocktranslate %} with variables, trimmed and plural, and _() in a filter."""
    text = (
        '{% load i18n %}{% translate "Overview" %}'
        "{% blocktranslate trimmed with name=x %}Node\n   {{ name }}{% endblocktranslate %}"
        "{% blocktranslate count n=k %}{{ n }} row{% plural %}{{ n }} rows{% endblocktranslate %}"
        '{{ day|date:_("F Y") }}'
    )
    found = list(catalogue.extract_template(io.BytesIO(text.encode()), catalogue.KEYWORDS, (), {}))
    assert [(f, m) for _, f, m, _ in found] == [
        ("gettext", "Overview"),
        ("gettext", "Node %(name)s"),
        ("ngettext", ("%(n)s row", "%(n)s rows", None)),
        ("_", "F Y"),
    ]


def test_the_catalogue_is_used():
    with translation.override("zh-hans"):
        html = Template('{% load i18n %}{% translate "Overview" %}·{% translate "Idle" %}').render(Context())
    assert html == "总览·闲置成本"
