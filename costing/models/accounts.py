"""Single sign-on: who an OpenID Connect subject is here, and which roles the provider's groups give."""

from __future__ import annotations

import fnmatch

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from costing.choices import Role

from .policy import Department


class SsoIdentity(models.Model):
    """The local user that one subject (`sub` claim) of the OpenID Connect provider signs in as.

    Matching by subject, not by e-mail, keeps a provider account from taking over a local account
    that happens to carry the same address.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sso_identity",
        verbose_name=_("user"),
    )
    subject = models.CharField(max_length=255, unique=True, verbose_name=_("subject"))

    class Meta:
        verbose_name = _("single sign-on identity")
        verbose_name_plural = _("single sign-on identities")

    def __str__(self) -> str:
        return f"{self.subject} -> {self.user}"


class UserLanguage(models.Model):
    """The language one user reads: what the workers write for them (alert and export e-mails) is in it.

    Set by the nav's language switch, from the browser's language at the first sign-in, or in the user
    admin (costing/languages.py).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="language_preference",
        verbose_name=_("user"),
    )
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, verbose_name=_("language"))

    class Meta:
        verbose_name = _("language preference")
        verbose_name_plural = _("language preferences")

    def __str__(self) -> str:
        return f"{self.user}: {self.language}"


class SsoGroupRule(models.Model):
    """One rule: members of a provider group (a name or a shell pattern like `dept-*`) get a role.

    Every matching rule adds its role; a department viewer rule also grants its department. The rules
    are applied at each sign-in, and replace the user's role groups and department grants.
    """

    group = models.CharField(
        max_length=255,
        help_text=_(
            "Group name as the provider sends it in the groups claim, or a pattern (* and ?), e.g. dept-*."
        ),
        verbose_name=_("group"),
    )
    role = models.CharField(max_length=40, choices=Role.choices, verbose_name=_("role"))
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sso_group_rules",
        help_text=_("The department a Department viewer rule grants (only for that role)."),
        verbose_name=_("department"),
    )

    class Meta:
        verbose_name = _("single sign-on group rule")
        verbose_name_plural = _("single sign-on group rules")
        ordering = ["group", "role", "department__name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "role", "department"], name="sso_group_rule_unique"),
            models.CheckConstraint(
                condition=(models.Q(role=Role.DEPARTMENT_VIEWER) & models.Q(department__isnull=False))
                | (~models.Q(role=Role.DEPARTMENT_VIEWER) & models.Q(department__isnull=True)),
                name="sso_group_rule_department_iff_department_viewer",
            ),
        ]

    def __str__(self) -> str:
        target = f"{self.role} of {self.department}" if self.department_id else self.role
        return f"{self.group} -> {target}"

    def clean(self) -> None:
        if self.role == Role.DEPARTMENT_VIEWER and not self.department_id:
            raise ValidationError(
                {"department": gettext("A Department viewer rule needs the department it grants.")}
            )
        if self.role != Role.DEPARTMENT_VIEWER and self.department_id:
            raise ValidationError(
                {"department": gettext("Only a Department viewer rule names a department.")}
            )

    def matches(self, group: str) -> bool:
        # Case-sensitive, as providers compare group names.
        return fnmatch.fnmatchcase(group, self.group)
