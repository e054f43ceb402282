"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
from django.test.utils import override_settings


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Templates call {% static %}; the manifest storage would need collectstatic before every test run.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hasher():
    # Django's default hasher is slow by design (PBKDF2, a million rounds: a quarter of a CPU second a
    # password) and the fixtures set some 350 passwords a run (four a `clients`). Passwords are still hashed
    # and checked (sign-in by password is tested), with the fast hasher Django's testing docs advise.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "correct horse battery")


@pytest.fixture(autouse=True)
def _celery_not_eager():
    # Celery reads its configuration once; a test that reads it first under an overridden setting would
    # otherwise leave tasks eager for every later test of its process. Tests that want eager set it.
    from finops.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _language_of_each_test_its_own():
    # A request activates its language for the rest of its thread (LocaleMiddleware, the stored language):
    # a test that asked for Chinese pages would otherwise leave the next test's reports in Chinese.
    yield
    from django.utils import translation

    translation.deactivate()
