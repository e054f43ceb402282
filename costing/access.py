"""Who may see what: the product's three roles and the one place their rules are applied.

- FinOps admin (superusers too): everything, plus policy, bills, schedules and the Django admin.
- Viewer: reads everything.
- Department viewer: only the departments granted to them (Department.viewers): their namespaces,
  workloads, pods and totals, and the common pools only as their department's share.
A signed-in user with none of these roles sees nothing but a page that says so.

Every view, export and API endpoint filters through these functions, so that another department's
data is unreachable by URL, by the API and by exports, not only hidden from menus.
"""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet

from costing.choices import Role


def _groups(user) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_finops_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._finops_groups = cached
    return cached


def is_admin(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active) and (
        user.is_superuser or Role.ADMIN in _groups(user)
    )


def sees_everything(user) -> bool:
    return is_admin(user) or (bool(getattr(user, "is_active", False)) and Role.VIEWER in _groups(user))


def granted_departments(user) -> frozenset[str] | None:
    """None when the user sees every department; else the names of the departments granted."""
    if sees_everything(user):
        return None
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_finops_departments", None)
    if cached is None:
        if Role.DEPARTMENT_VIEWER in _groups(user):
            cached = frozenset(user.departments.values_list("name", flat=True))
        else:
            cached = frozenset()
        user._finops_departments = cached
    return cached


def has_any_role(user) -> bool:
    granted = granted_departments(user)
    return granted is None or bool(granted)


def may_see_department(user, name: str) -> bool:
    granted = granted_departments(user)
    return granted is None or name in granted


def restrict_by_department(qs: QuerySet, user, field: str = "department") -> QuerySet:
    """Rows whose department name (in `field`) the user may see."""
    granted = granted_departments(user)
    return qs if granted is None else qs.filter(**{f"{field}__in": granted})


def restrict_by_namespace_owner(
    qs: QuerySet, user, *, namespace_field: str = "namespace", day_field: str = "day"
) -> QuerySet:
    """Rows of namespaces that, on that row's day, belonged to a department the user may see.

    Ownership is effective-dated (a policy change can move a namespace), so the check is per day
    against the stored NamespaceCostDay rows, which carry the department the day was computed with.
    """
    granted = granted_departments(user)
    if granted is None:
        return qs
    from costing.models import NamespaceCostDay

    owned = NamespaceCostDay.objects.filter(
        namespace=OuterRef(namespace_field), day=OuterRef(day_field), department__in=granted, shared=False
    )
    return qs.filter(Exists(owned))


def role_required(check):
    """View decorator: 403 unless `check(user)` holds (login itself is enforced by the middleware)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


admin_required = role_required(is_admin)
viewer_required = role_required(has_any_role)
everything_required = role_required(sees_everything)
