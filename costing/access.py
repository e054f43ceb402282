"""Who may see what: the product's three roles and the one place their rules are applied.

- FinOps admin (superusers too): everything, plus policy, bills, schedules and the Django admin.
- Viewer: reads everything.
- Department viewer: only the departments granted to them (Department.viewers): their namespaces,
  workloads, pods and totals, and the common pools only as their department's share.
A signed-in user with none of these roles sees nothing but a page that says so.

Every page, export, API endpoint and the OpenCost endpoint filters through these functions (and
nothing else decides access), so that another department's data is unreachable by URL, by the API and
by exports, not only hidden from menus. tests/finops/test_routes_by_role.py walks every route with
every role.
"""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext

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


def listed_departments(user, department: str | None) -> frozenset[str] | None:
    """The departments a listing of `user` covers (the recommendations, the opportunities): the one named,
    refused with django's PermissionDenied when it is not theirs, else every department granted (None:
    all, for a user who sees everything)."""
    if department is not None and not may_see_department(user, department):
        raise PermissionDenied(
            gettext("%(department)r is not one of your departments") % {"department": department}
        )
    return frozenset([department]) if department else granted_departments(user)


def restrict_by_department(qs: QuerySet, user, field: str = "department") -> QuerySet:
    """Rows whose department name (in `field`) the user may see."""
    granted = granted_departments(user)
    return qs if granted is None else qs.filter(**{f"{field}__in": granted})


def restrict_to_owners(
    qs: QuerySet, departments, *, namespace_field: str = "namespace", day_field: str = "day"
) -> QuerySet:
    """Rows of namespaces that, on that row's day, belonged (not shared) to one of `departments`.

    `departments` None keeps every row. Ownership is effective-dated (a policy change can move a
    namespace), so the check is per day against the stored NamespaceCostDay rows, which carry the
    department the day was computed with.
    """
    if departments is None:
        return qs
    from costing.models import NamespaceCostDay

    owned = NamespaceCostDay.objects.filter(
        namespace=OuterRef(namespace_field),
        day=OuterRef(day_field),
        department__in=list(departments),
        shared=False,
    )
    return qs.filter(Exists(owned))


def restrict_by_namespace_owner(
    qs: QuerySet, user, *, namespace_field: str = "namespace", day_field: str = "day"
) -> QuerySet:
    """Rows of namespaces that, on that row's day, belonged to a department the user may see."""
    return restrict_to_owners(
        qs, granted_departments(user), namespace_field=namespace_field, day_field=day_field
    )


def owned_rows(frame, departments):
    """The rows of a DataFrame with `department` and `shared` columns (one per namespace and day, like
    reports.queries.frames.pod_cost_frame) that restrict_to_owners would keep: a boolean Series, or None for all."""
    if departments is None:
        return None
    return frame["department"].isin(list(departments)) & ~frame["shared"]


def owned_opportunities(frame, departments):
    """The Optimise view's rows (costing.opportunities) a department viewer may see: the levers of workloads
    whose namespace belonged (not shared) to one of their departments (owned_rows). Node pool rows (packing,
    oversubscription) have no department and count as shared: whole-cluster figures, never a department's.
    A boolean Series, or None for all."""
    return owned_rows(frame, departments)


# What a user may see of one namespace over a period (its stored days).
WHOLE, PARTLY, NOTHING = "whole", "partly", "nothing"


def namespace_visibility(user, namespace_id: int, start, end) -> str:
    """WHOLE when the user sees every department, or the namespace belonged (not shared) to one of their
    departments on every stored day of [start, end); PARTLY when on some days only; NOTHING when on none
    (or it has no stored day in the period). Pages answer NOTHING with 404 (its existence is not theirs
    to learn) and PARTLY with 403; the API, which has no period picker to offer, with 404 for both."""
    granted = granted_departments(user)
    if granted is None:
        return WHOLE
    from costing.models import NamespaceCostDay

    owners = set(
        NamespaceCostDay.objects.filter(namespace_id=namespace_id, day__gte=start, day__lt=end)
        .values_list("department", "shared")
        .distinct()
    )
    mine = {(d, shared) for d, shared in owners if d in granted and not shared}
    if not mine:
        return NOTHING
    return WHOLE if mine == owners else PARTLY


def may_see_namespace_on(user, namespace_id: int, day) -> bool:
    """Whether the namespace belonged (not shared) to one of the user's departments on its last stored day
    before `day`: the owner right-sizing advice for `day` is given to (costing.recommendations.with_owners)."""
    granted = granted_departments(user)
    if granted is None:
        return True
    from costing.models import NamespaceCostDay

    last = NamespaceCostDay.objects.filter(namespace_id=namespace_id, day__lt=day).order_by("-day").first()
    return last is not None and not last.shared and last.department in granted


def may_see_node_hour(user, node_id: int, hour) -> bool:
    """Admins and viewers always; a department viewer when a pod of their departments ran on the node
    in that hour (they reach it from their pod's page: the bill lines are the node's, which they paid
    part of)."""
    granted = granted_departments(user)
    if granted is None:
        return True
    from costing.models import NamespaceCostDay, PodHour

    namespaces = PodHour.objects.filter(node_id=node_id, hour=hour).values("pod__namespace_id")
    return NamespaceCostDay.objects.filter(
        namespace_id__in=namespaces, day=hour.date(), department__in=list(granted), shared=False
    ).exists()


def restrict_clusters(qs: QuerySet, user) -> QuerySet:
    """Clusters the user may list: all, or those their departments have (unshared) namespaces in."""
    granted = granted_departments(user)
    if granted is None:
        return qs
    from costing.models import NamespaceCostDay

    owned = NamespaceCostDay.objects.filter(cluster=OuterRef("pk"), department__in=granted, shared=False)
    return qs.filter(Exists(owned))


def restrict_exports(qs: QuerySet, user) -> QuerySet:
    """Export runs the user may follow and download: an admin's every run, anyone else's own only
    (another's run answers 404: not even its existence is theirs to learn)."""
    return qs if is_admin(user) else qs.filter(requested_by=user)


def report_department(user, department: str | None) -> str | None:
    """The department a report or export of `user` covers: a department viewer gets their one department
    when they name none, and may neither name another nor ask for the whole organisation (several
    departments granted: they must choose). None when `user` is None (the system: tasks, commands).
    Raises django's PermissionDenied, which pages and the API both answer with 403."""
    if user is None:
        return department
    granted = granted_departments(user)
    if granted is None:
        return department
    if not department:
        if len(granted) == 1:
            return next(iter(granted))
        raise PermissionDenied(
            f"name one of your departments: {', '.join(sorted(granted))}; not the whole organisation"
        )
    if department not in granted:
        raise PermissionDenied(f"{department!r} is not one of your departments")
    return department


def cost_scope(user, by: str, department: str | None) -> tuple[str | None, frozenset[str] | None]:
    """The department filter of a grouped cost query for `user`, and (by=department only) the department
    rows they may read (None: all). Like report_department, except that a department viewer may list
    their several departments side by side with by=department."""
    granted = granted_departments(user)
    if granted is None:
        return department, None
    if department is None and by == "department":
        return None, granted
    if department is None and len(granted) > 1:
        raise DepartmentChoice(sorted(granted))
    return report_department(user, department), None


class DepartmentChoice(ValueError):
    """A department viewer of several departments must name one: a bad parameter (400), not a refusal."""

    def __init__(self, choices: list[str]):
        self.choices = choices
        super().__init__(f"department: choose one of your departments: {', '.join(choices)}")


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


def visible_alerts(qs: QuerySet, user) -> QuerySet:
    """Alerts the user may see: all of them for those who see everything, else only the alerts of the
    departments granted (an organisation, cluster or shared-namespace alert belongs to no department)."""
    return restrict_by_department(qs, user, "department")


def visible_budgets(qs: QuerySet, user) -> QuerySet:
    """Budgets the user may see: all for those who see everything, else the budgets of the departments
    granted (the organisation's, a cluster's or a namespace's budget tells of other departments' costs)."""
    granted = granted_departments(user)
    if granted is None:
        return qs
    return qs.filter(subject_kind="department", subject__in=granted)
