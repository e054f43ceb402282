"""The product's roles (costing/access.py) as DRF permissions: one rule, pages and API alike."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from costing.access import has_any_role, is_admin, sees_everything


class HasRole(BasePermission):
    """Any of the three roles: admin, viewer, department viewer (who then sees only their departments)."""

    message = "You have no FinOps role: ask an admin for viewer or department viewer access."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and has_any_role(request.user))


class SeesEverything(BasePermission):
    """Admins and viewers: organisation-wide figures (bills, node-hours, the policy)."""

    message = "Only FinOps admins and viewers may see this; department viewers see their departments only."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and sees_everything(request.user))


class IsFinOpsAdmin(BasePermission):
    message = "Only FinOps admins may do this."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and is_admin(request.user))


class ReadEverythingWriteAdmin(BasePermission):
    """Reading for admins and viewers, writing for admins."""

    message = "Reading needs the viewer or admin role; writing needs the FinOps admin role."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return sees_everything(request.user)
        return is_admin(request.user)
