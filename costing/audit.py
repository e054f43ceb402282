"""The audit trail: which changes django-auditlog records, and the sign-ins it is told about.

One table (auditlog's LogEntry) holds every entry: who (actor), when (timestamp), from where (remote
address), what (object, action, changes). Admins read it in the Django admin, read-only and filterable.

- Changes of the models in AUDITED are recorded by auditlog's signals, the actor taken from the request
  (AuditlogMiddleware). A later model (budgets) is audited by adding one line to AUDITED.
- Policy changes are recorded as one entry per change with the policy file before and after
  (costing.policy.history), not field by field: that is what the history and `dump_policy --at` need.
- Sign-ins and failed sign-ins: entries of action "access" on the user (a failed sign-in for a name no
  user has is on no user: object_pk is empty, object_repr the name tried). The password is never kept.
"""

from __future__ import annotations

from auditlog.middleware import AuditlogMiddleware
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.auth import get_user_model, user_logged_in, user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.utils.functional import SimpleLazyObject

# Model label -> auditlog.register options. Roles: the user's groups and a department's viewers (m2m);
# the single sign-on rules that derive them; period closes and reopens; closing jobs and exports (status).
# Fields are listed: left to itself auditlog would also list reverse relations of no meaning.
AUDITED: dict[str, dict] = {
    "auth.User": {
        "include_fields": ["username", "email", "is_active", "is_staff", "is_superuser"],
        "m2m_fields": {"groups"},
    },
    "auth.Group": {"include_fields": ["name"], "m2m_fields": {"permissions"}},
    "costing.Department": {"include_fields": ["name"], "m2m_fields": {"viewers"}},
    "costing.SsoGroupRule": {"include_fields": ["group", "role", "department"]},
    "reports.ClosedPeriod": {
        "include_fields": [
            "key",
            "start",
            "end",
            "closed_by",
            "closed_at",
            "comment",
            "reopened_by",
            "reopened_at",
            "reopen_reason",
        ]
    },
    "reports.ClosingJob": {"include_fields": ["key", "comment", "requested_by", "status", "error"]},
    "reports.ExportRun": {
        "include_fields": [
            "schedule",
            "requested_by",
            "period_key",
            "cluster",
            "department",
            "format",
            "status",
            "file_name",
            "delivered_to",
            "error",
        ]
    },
}


class AuditMiddleware(AuditlogMiddleware):
    """auditlog's middleware, with the actor read when an entry is written rather than when the request
    arrives: an API token is checked by the view (DRF), after the middleware ran."""

    def get_extra_data(self, request):
        data = super().get_extra_data(request)
        data["actor"] = SimpleLazyObject(lambda: self._get_actor(request))
        return data


SIGNED_IN = "signed in"
SIGN_IN_FAILED = "sign-in failed"


def register_audited_models() -> None:
    """Register every model of AUDITED with auditlog (idempotent: called from CostingConfig.ready)."""
    for label, options in AUDITED.items():
        model = apps.get_model(label)
        if not auditlog.contains(model):
            auditlog.register(model, **options)
    user_logged_in.connect(record_sign_in, dispatch_uid="costing.audit.sign_in")
    user_login_failed.connect(record_failed_sign_in, dispatch_uid="costing.audit.sign_in_failed")


def _address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None if request is not None else None


def _backend(request, user=None) -> str:
    backend = getattr(user, "backend", "") or ""
    return "single sign-on" if backend.endswith("OIDCBackend") else "password"


def record_sign_in(sender, request, user, **kwargs) -> LogEntry:
    return LogEntry.objects.log_create(
        user,
        force_log=True,
        action=LogEntry.Action.ACCESS,
        actor=user,
        actor_email=user.email or None,
        remote_addr=_address(request),
        changes_text=f"{SIGNED_IN} ({_backend(request, user)})",
        additional_data={"event": SIGNED_IN, "method": _backend(request, user)},
    )


def record_failed_sign_in(sender, credentials, request=None, **kwargs) -> LogEntry:
    """`credentials` are Django's, with the password already masked; only the name tried is kept."""
    user_model = get_user_model()
    name = str(credentials.get(user_model.USERNAME_FIELD) or credentials.get("username") or "")[:150]
    user = user_model.objects.filter(**{user_model.USERNAME_FIELD: name}).first() if name else None
    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(user_model),
        object_pk=str(user.pk) if user is not None else "",
        object_id=user.pk if user is not None else None,
        object_repr=name or "(no name given)",
        action=LogEntry.Action.ACCESS,
        remote_addr=_address(request),
        changes_text=SIGN_IN_FAILED,
        additional_data={"event": SIGN_IN_FAILED},
    )
