"""Tests of each user's language for what the workers write (costing/languages.py): kept from the nav's
switch, taken from the browser at the first sign-in, set in the user admin, and used to group addresses."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from costing.choices import Role
from costing.languages import by_language, language_of
from costing.models import UserLanguage

pytestmark = pytest.mark.django_db


def stored(user) -> str | None:
    return UserLanguage.objects.filter(user=user).values_list("language", flat=True).first()


def test_the_switch_keeps_a_signed_in_users_choice(client, django_user_model, settings):
    settings.FINOPS_LANGUAGE = "en"
    user = django_user_model.objects.create_user("li", email="li@example.com", password="pw")
    user.groups.add(Group.objects.get(name=Role.VIEWER))
    # Before signing in: only the cookie (there is no one to remember it for).
    answer = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert answer.status_code == 302 and answer.cookies["django_language"].value == "zh-hans"
    assert not UserLanguage.objects.exists()
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert stored(user) == language_of(user) == "zh-hans"
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert stored(user) == "en"
    # A language the interface does not have changes nothing.
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert stored(user) == "en"


def test_the_first_sign_in_keeps_the_browsers_language_and_later_ones_do_not_change_it(
    client, django_user_model, settings
):
    settings.FINOPS_LANGUAGE = "en"
    user = django_user_model.objects.create_user("li", password="pw")
    assert language_of(user) == "en"  # nothing stored: FINOPS_LANGUAGE
    client.post(
        "/accounts/login/", {"username": "li", "password": "pw"}, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"
    )
    assert stored(user) == "zh-hans"
    client.logout()
    client.post("/accounts/login/", {"username": "li", "password": "pw"}, HTTP_ACCEPT_LANGUAGE="en-GB")
    assert stored(user) == "zh-hans"
    # A sign-in that asks for no language (a script) stores nothing.
    other = django_user_model.objects.create_user("bo", password="pw")
    client.logout()
    client.post("/accounts/login/", {"username": "bo", "password": "pw"})
    assert stored(other) is None


def test_no_stored_language_falls_back_to_finops_language_then_language_code(django_user_model, settings):
    user = django_user_model.objects.create_user("li")
    settings.FINOPS_LANGUAGE = "zh-hans"
    assert language_of(user) == "zh-hans"
    settings.FINOPS_LANGUAGE = ""
    settings.LANGUAGE_CODE = "en"
    assert language_of(user) == "en"


def test_addresses_are_grouped_by_their_readers_language(django_user_model, settings):
    settings.FINOPS_LANGUAGE = "en"
    li = django_user_model.objects.create_user("li", email="Li@Example.com")
    UserLanguage.objects.create(user=li, language="zh-hans")
    ann = django_user_model.objects.create_user("ann", email="ann@example.com")
    UserLanguage.objects.create(user=ann, language="en")
    gone = django_user_model.objects.create_user("gone", email="gone@example.com", is_active=False)
    UserLanguage.objects.create(user=gone, language="zh-hans")
    addresses = ["ann@example.com", "li@example.com", "gone@example.com", "ops@example.com"]
    assert by_language(addresses) == {
        "en": ["ann@example.com", "gone@example.com", "ops@example.com"],
        "zh-hans": ["li@example.com"],
    }
    # A channel's language for the addresses nobody chose for.
    assert by_language(addresses, fallback="zh-hans") == {
        "en": ["ann@example.com"],
        "zh-hans": ["li@example.com", "gone@example.com", "ops@example.com"],
    }


def test_an_admin_sets_a_users_language_on_the_user_page(admin_client, django_user_model):
    user = django_user_model.objects.create_user("li", email="li@example.com")
    page = admin_client.get(f"/admin/auth/user/{user.pk}/change/")
    assert page.status_code == 200 and "language_preference-0-language" in page.content.decode()
    form = {
        "username": "li",
        "email": "li@example.com",
        "is_active": "on",
        "date_joined_0": "2026-11-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-11-01",
        "initial-date_joined_1": "00:00:00",
        "language_preference-TOTAL_FORMS": "1",
        "language_preference-INITIAL_FORMS": "0",
        "language_preference-MIN_NUM_FORMS": "0",
        "language_preference-MAX_NUM_FORMS": "1",
        "language_preference-0-language": "zh-hans",
        "language_preference-0-user": str(user.pk),
    }
    answer = admin_client.post(f"/admin/auth/user/{user.pk}/change/", form)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert stored(user) == "zh-hans"


def test_a_new_browser_shows_the_pages_in_the_stored_language_until_the_switch_says_otherwise(
    client, django_user_model
):
    user = django_user_model.objects.create_user("li", password="pw")
    user.groups.add(Group.objects.get(name=Role.ADMIN))
    UserLanguage.objects.create(user=user, language="zh-hans")
    client.force_login(user)
    # No switch cookie, a browser asking for English: the stored choice wins, and becomes the cookie.
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB")
    assert page.status_code == 200 and page["Content-Language"] == "zh-hans"
    assert "成本" in page.content.decode()
    assert page.cookies["django_language"].value == "zh-hans"
    # The switch's cookie wins over the stored language (the switch also stores it: see above).
    client.cookies["django_language"] = "en"
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert page["Content-Language"] == "en" and "成本" not in page.content.decode()
    # Someone who chose nothing follows the browser, and gets no cookie.
    other = django_user_model.objects.create_user("bo", password="pw")
    other.groups.add(Group.objects.get(name=Role.ADMIN))
    client.cookies.clear()
    client.force_login(other)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert page["Content-Language"] == "zh-hans" and "django_language" not in page.cookies
