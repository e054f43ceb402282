"""The /healthz probe: is the database reachable, is the broker reachable; nothing about how."""

import logging

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app as celery_app

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception as exc:
        # The class name only: a driver's message may carry host names or user names.
        logger.warning("healthz: database unreachable (%s)", type(exc).__name__)
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception as exc:
        logger.warning("healthz: broker unreachable (%s)", type(exc).__name__)
        return False


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 when both answer, 503 otherwise. The body says which part failed and never why."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable"}
    body.update({name: "ok" if ok else "unreachable" for name, ok in checks.items()})
    return JsonResponse(body, status=200 if healthy else 503)
