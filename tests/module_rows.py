"""Rows made once for all the tests of a module (module-scoped fixtures), as Django's TestCase.setUpTestData."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import transaction


@contextmanager
def rows_of_the_module(django_db_blocker):
    """For a module-scoped fixture: the rows it makes inside, kept for each test of the module and rolled back
    after its last one (as Django's TestCase.setUpTestData). Each test still runs in its own transaction
    (pytest-django's `db`), a savepoint of this one: what a test writes is gone for the next.
    A module uses it when all its tests read the same rows, e.g. tests/api/conftest.py's prod_of_module."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic._from_testcase = True  # as TestCase's own: a durable atomic of the code under test is allowed
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
