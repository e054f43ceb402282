"""Create the three role groups after every migrate, and give FinOps admins the admin permissions."""

from __future__ import annotations

from costing.choices import Role

ADMIN_APPS = ("costing", "reports", "django_celery_beat", "auth")


def ensure_role_groups(sender=None, **kwargs) -> None:
    """post_migrate handler: idempotent, so a new permission reaches the admin group on the next migrate."""
    from django.contrib.auth.models import Group, Permission

    for role in Role:
        Group.objects.get_or_create(name=role.value)
    admin = Group.objects.get(name=Role.ADMIN)
    admin.permissions.add(*Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))
