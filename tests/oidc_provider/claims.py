"""What the test provider says about a user: standard claims, and a `groups` scope from Django groups."""

from django.utils.translation import gettext_lazy as _
from oidc_provider.lib.claims import ScopeClaims


def userinfo(claims, user):
    claims.update(
        preferred_username=user.username,
        email=user.email,
        given_name=user.first_name,
        family_name=user.last_name,
        email_verified=True,
    )
    return claims


class GroupsScopeClaims(ScopeClaims):
    info_groups = (_("Groups"), _("The groups you belong to."))

    def scope_groups(self):
        return {"groups": sorted(self.user.groups.values_list("name", flat=True))}
