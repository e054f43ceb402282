"""Every field of our models is labelled for the admin in both languages: a verbose_name (and help_text,
and choice labels) in gettext_lazy with a Chinese translation; the admin's lists show them in Chinese."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import translation
from django.utils.functional import Promise

from costing.choices import Role
from costing.models import AlertChannel, Department
from finops import catalogue

OWN_APPS = ("costing", "reports", "api")


def own_fields():
    for label in OWN_APPS:
        for model in apps.get_app_config(label).get_models():
            for field in model._meta.get_fields():
                if field.concrete and not field.auto_created:
                    yield f"{model._meta.label}.{field.name}", field


def label_problems(where: str, text, translated: dict[str, str]) -> list[str]:
    """Why `text` is not a lazily translated label with a Chinese translation (empty when it is)."""
    if not isinstance(text, Promise):
        return [f"{where}: {text!r} is not in gettext_lazy"]
    with translation.override("en"):
        english = str(text)
    with translation.override("zh-hans"):
        chinese = str(text)
    # Some labels are the same in both languages (sha256, kubeconfig): then the catalogue must say so.
    if chinese == english and not translated.get(english):
        return [f"{where}: {english!r} has no Chinese translation in the catalogue"]
    return []


def test_every_field_has_a_translated_label_help_text_and_choices():
    translated = {m.id: m.string for m in catalogue.read_catalogue() if m.id}
    problems = []
    for where, field in own_fields():
        problems += label_problems(f"{where} verbose_name", field.verbose_name, translated)
        if field.help_text:
            problems += label_problems(f"{where} help_text", field.help_text, translated)
        if list(field.flatchoices or []) == list(settings.LANGUAGES):
            continue  # a language is named in itself in every language, as the nav's switch names it
        for value, label in field.flatchoices or []:
            if label != value:  # a label that is its value is a name (Kubernetes kinds): shown as it is
                problems += label_problems(f"{where} choice {value!r}", label, translated)
    assert not problems, (
        "\n".join(problems) + "\nGive the field verbose_name=_(...) (help_text=_(...)), run "
        "`make messages`, translate the new msgstr (docs/i18n.md), run `make messages` again."
    )


def test_the_check_sees_a_plain_label_and_a_missing_translation():
    assert label_problems("x", "cluster", {}) == ["x: 'cluster' is not in gettext_lazy"]
    assert label_problems("x", translation.gettext_lazy("no such label here"), {}) == [
        "x: 'no such label here' has no Chinese translation in the catalogue"
    ]
    assert label_problems("x", translation.gettext_lazy("sha256"), {"sha256": "sha256"}) == []
    assert label_problems("x", translation.gettext_lazy("cluster"), {}) == []


def column_headers(html: str) -> dict[str, str]:
    """{column: header text} of an admin change list."""
    found = re.findall(
        r'<th scope="col" class="[^"]*column-(\w+)[^"]*">(?:(?!</th>).)*?<div class="text">(?:<a [^>]*>|<span>)([^<]*)<',
        html,
        re.DOTALL,
    )
    return dict(found)


@pytest.mark.django_db
def test_an_admin_list_in_chinese_shows_chinese_column_headers_and_filters(client, django_user_model):
    admin = django_user_model.objects.create_user("root", password="pw")
    admin.groups.add(Group.objects.get(name=Role.ADMIN))
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    AlertChannel.objects.create(
        name="finops team",
        kind="email",
        target="a@example.com",
        department=Department.objects.create(name="Pay"),
    )
    chinese = client.get(
        "/admin/costing/alertchannel/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"
    ).content.decode()
    assert column_headers(chinese) == {
        "name": "名称",
        "kind": "类型",
        "department": "部门",
        "language": "语言",
        "active": "有效",
        "signed": "已签名",
    }
    english = client.get("/admin/costing/alertchannel/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert column_headers(english) == {
        "name": "Name",
        "kind": "Kind",
        "department": "Department",
        "language": "Language",
        "active": "Active",
        "signed": "Signed",
    }
    # The filters of the alerts' list, and a form's labels, by the language cookie this time.
    client.cookies["django_language"] = "zh-hans"
    alerts = client.get("/admin/costing/alert/").content.decode()
    assert "以 类型" in alerts and "以 对象类型" in alerts
    form = client.get("/admin/costing/alertchannel/add/").content.decode()
    for label in ("名称", "类型", "目标", "密钥", "部门", "语言"):
        assert f">{label}:</label>" in form, label
    assert ">删除密钥</label>" in form  # a checkbox's label, without the colon


def test_every_admin_list_and_filter_of_our_apps_is_headed_in_chinese(rf, admin_user):
    """Each column and filter of every change list of costing, reports and api (and the user admin's
    language inline), as the change list names it (`label_for_field`) for a Chinese reader: none is left
    in English (a name that reads the same in both, like ID, is allowed). The change lists are checked
    without rows, which an empty list would not render."""
    from django.contrib import admin as django_admin
    from django.contrib.admin.utils import label_for_field

    request = rf.get("/admin/")
    request.user = admin_user
    english, seen = [], 0
    with translation.override("zh-hans"):
        for model, model_admin in django_admin.site._registry.items():
            if model._meta.app_label not in OWN_APPS:
                continue
            names = [*model_admin.get_list_display(request), *model_admin.get_list_filter(request)]
            for name in names:
                if not isinstance(name, str) or name == "__str__":
                    continue  # a filter class names itself; __str__ is the model's verbose name
                label = str(label_for_field(name, model, model_admin))
                seen += 1
                if re.fullmatch(r"[A-Za-z ()./_-]+", label) and label not in ("ID", "URL", "SKU ID", "UID"):
                    english.append(f"{model._meta.label} {name}: {label!r}")
    assert seen > 80
    assert not english, "\n".join(english)
