"""Create the three role groups after every migrate, and give FinOps admins the admin permissions."""

from __future__ import annotations

from costing.choices import Role

ADMIN_APPS = ("costing", "reports", "django_celery_beat", "auth", "auditlog")


def ensure_role_groups(sender=None, **kwargs) -> None:
    """post_migrate handler: idempotent, so a new permission reaches the admin group on the next migrate."""
    from django.contrib.auth.models import Group, Permission

    for role in Role:
        Group.objects.get_or_create(name=role.value)
    admin = Group.objects.get(name=Role.ADMIN)
    admin.permissions.add(*Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))


def set_roles(user, roles, departments=()) -> None:
    """Give `user` exactly these role groups and department grants; groups that are not roles stay.

    Department grants need the Department viewer role, so granting a department adds it.
    """
    from django.contrib.auth.models import Group

    wanted = set(roles) | ({Role.DEPARTMENT_VIEWER} if departments else set())
    unknown = wanted - set(Role.values)
    if unknown:
        raise ValueError(f"not a role: {', '.join(sorted(unknown))}")
    role_groups = {group.name: group for group in Group.objects.filter(name__in=Role.values)}
    # Only the groups the user has: the audit trail (costing/audit.py) records what is removed.
    held = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    user.groups.remove(*(group for name, group in role_groups.items() if name in held - wanted))
    user.groups.add(*(role_groups[name] for name in wanted))
    user.departments.set(departments)
    # costing.access caches both on the instance; this user object now holds stale answers.
    for cached in ("_finops_groups", "_finops_departments"):
        user.__dict__.pop(cached, None)
