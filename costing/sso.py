"""Sign-in through an OpenID Connect provider (mozilla-django-oidc), and the switch for local accounts.

Configured by environment variables (finops/settings.py, docs/operations.md "Single sign-on"). The
provider's groups claim is mapped onto the product's roles by SsoGroupRule rows at every sign-in.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.utils.translation import gettext
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from costing.choices import Role
from costing.roles import set_roles

logger = logging.getLogger(__name__)

# Endpoint setting -> its key in the provider's discovery document (OpenID Connect Discovery 1.0).
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
}
DEFAULT_ROLES = {"": None, "none": None, "viewer": Role.VIEWER, "admin": Role.ADMIN}


def enabled() -> bool:
    """OpenID Connect is on when a client id and the issuer (or the authorization endpoint) are set."""
    return bool(
        settings.OIDC_RP_CLIENT_ID and (settings.OIDC_ISSUER or settings.OIDC_OP_AUTHORIZATION_ENDPOINT)
    )


def local_accounts() -> bool:
    return settings.FINOPS_LOCAL_ACCOUNTS


@lru_cache(maxsize=4)
def discovery(issuer: str) -> dict:
    """The provider's discovery document, fetched once per process (a failure is not cached)."""
    response = requests.get(
        f"{issuer.rstrip('/')}/.well-known/openid-configuration",
        timeout=settings.OIDC_TIMEOUT,
        verify=settings.OIDC_VERIFY_SSL,
    )
    response.raise_for_status()
    document = response.json()
    if str(document.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
        raise ImproperlyConfigured(
            f"OIDC_ISSUER={issuer!r} but the provider calls itself {document.get('issuer')!r}"
        )
    return document


def oidc_setting(name: str, *default):
    """A mozilla-django-oidc setting; an endpoint left empty comes from the issuer's discovery document."""
    value = import_from_settings(name, *default)
    if name in DISCOVERED and not value and settings.OIDC_ISSUER:
        return discovery(settings.OIDC_ISSUER)[DISCOVERED[name]]
    return value


class _Setting:
    """A backend attribute read when used, not when Django builds the backend for every sign-in attempt."""

    def __init__(self, name: str, *default):
        self.name, self.default = name, default

    def __get__(self, instance, owner=None):
        return oidc_setting(self.name, *self.default)


class LocalAccountBackend(ModelBackend):
    """User name and password, unless FINOPS_LOCAL_ACCOUNTS=false (which also ends local sessions)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        return super().authenticate(request, username, password, **kwargs) if local_accounts() else None

    def get_user(self, user_id):
        return super().get_user(user_id) if local_accounts() else None


class OIDCBackend(OIDCAuthenticationBackend):
    """Users by the provider's `sub`, created on first sign-in, their roles re-derived from their groups."""

    get_settings = staticmethod(oidc_setting)
    OIDC_OP_TOKEN_ENDPOINT = _Setting("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = _Setting("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = _Setting("OIDC_OP_JWKS_ENDPOINT", None)
    OIDC_RP_CLIENT_ID = _Setting("OIDC_RP_CLIENT_ID")
    OIDC_RP_CLIENT_SECRET = _Setting("OIDC_RP_CLIENT_SECRET")
    OIDC_RP_SIGN_ALGO = _Setting("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_RP_IDP_SIGN_KEY = _Setting("OIDC_RP_IDP_SIGN_KEY", None)

    def __init__(self, *args, **kwargs):
        # The base class reads (and would discover) every endpoint here; _Setting defers that to use.
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        return super().authenticate(request, **kwargs) if enabled() else None

    def get_user(self, user_id):
        # Unlike ModelBackend's, the base class's get_user keeps a deactivated user's session alive.
        user = super().get_user(user_id) if enabled() else None
        return user if user is not None and user.is_active else None

    def verify_token(self, token, **kwargs):
        # mozilla-django-oidc checks the signature and the nonce; the audience and issuer are checked here.
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token is for another client (aud)")
        issuer = settings.OIDC_ISSUER
        if issuer and str(payload.get("iss", "")).rstrip("/") != issuer.rstrip("/"):
            raise SuspiciousOperation("ID token is from another issuer (iss)")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        claims = super().get_userinfo(access_token, id_token, payload)
        # OpenID Connect Core 5.3.2: userinfo about another subject than the ID token must not be used.
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo names another subject than the ID token")
        return claims

    def verify_claims(self, claims) -> bool:
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims):
        return self.UserModel.objects.filter(sso_identity__subject=claims["sub"])

    def describe_user_by_claims(self, claims) -> str:
        return f"subject {claims.get('sub')}"

    def get_or_create_user(self, access_token, id_token, payload):
        with transaction.atomic():
            user = super().get_or_create_user(access_token, id_token, payload)
        # A user an admin deactivated stays out, whatever the provider says.
        return user if user is not None and user.is_active else None

    def create_user(self, claims):
        from costing.models import SsoIdentity

        user = self.UserModel.objects.create_user(self._free_username(claims), email=claims.get("email", ""))
        SsoIdentity.objects.create(user=user, subject=claims["sub"])
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        user.email = claims.get("email", user.email) or ""
        user.first_name = (claims.get("given_name") or user.first_name)[:150]
        user.last_name = (claims.get("family_name") or user.last_name)[:150]
        user.save(update_fields=["email", "first_name", "last_name"])
        roles, departments = roles_for_groups(groups_of(claims))
        set_roles(user, roles, departments)
        logger.info(
            "single sign-on: %s (%s) signed in with roles %s",
            user.username,
            self.describe_user_by_claims(claims),
            sorted(roles) or "none",
        )
        return user

    def _free_username(self, claims) -> str:
        field = self.UserModel._meta.get_field(self.UserModel.USERNAME_FIELD)
        base = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])[
            : field.max_length - 4
        ]
        name, n = base, 1
        while self.UserModel.objects.filter(**{self.UserModel.USERNAME_FIELD: name}).exists():
            n += 1
            name = f"{base}-{n}"
        return name


def groups_of(claims) -> list[str]:
    """The groups claim as a list; Keycloak's full group paths ("/finops-admins") lose the leading slash."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(g, str) for g in value):
        logger.warning(
            "single sign-on: claim %r is not a list of names; no groups", settings.OIDC_GROUPS_CLAIM
        )
        return []
    return [group.removeprefix("/") for group in value]


def roles_for_groups(groups) -> tuple[set[str], list]:
    """Roles and departments the matching SsoGroupRule rows give; the default role when none matches."""
    from costing.models import SsoGroupRule

    roles: set[str] = set()
    departments = {}
    for rule in SsoGroupRule.objects.select_related("department"):
        if any(rule.matches(group) for group in groups):
            roles.add(rule.role)
            if rule.department is not None:
                departments[rule.department.pk] = rule.department
    default = DEFAULT_ROLES[settings.FINOPS_SSO_DEFAULT_ROLE.lower()]
    if not roles and default:
        roles.add(default)
    return roles, list(departments.values())


class AuthenticationRequestView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider; 404 while single sign-on is off."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        # Skip the base class's eager reads: the endpoint may need discovery, which waits for a request.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        if not enabled():
            raise Http404("single sign-on is not configured")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except (requests.RequestException, ValueError, KeyError, ImproperlyConfigured) as exc:
            return provider_failure(exc)
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        return super().get(request)


class AuthenticationCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back; 404 while single sign-on is off."""

    def get(self, request):
        if not enabled():
            raise Http404("single sign-on is not configured")
        try:
            return super().get(request)
        except (
            requests.RequestException,
            ValueError,
            KeyError,
            ImproperlyConfigured,
            SuspiciousOperation,
        ) as exc:
            return provider_failure(exc)


def provider_failure(exc: Exception) -> HttpResponseRedirect:
    """Back to the login page with a message; the log says what failed (never a token or a secret)."""
    if isinstance(exc, ImproperlyConfigured | SuspiciousOperation):
        logger.error("single sign-on: %s", exc)
    elif isinstance(exc, requests.HTTPError) and exc.response is not None:
        logger.error(
            "single sign-on: the provider answered HTTP %s to %s", exc.response.status_code, exc.response.url
        )
    else:
        # requests' messages can carry the URL with its query (an authorization code): the class only.
        logger.error("single sign-on: talking to the provider failed (%s)", type(exc).__name__)
    return HttpResponseRedirect(settings.LOGIN_REDIRECT_URL_FAILURE)


DEFAULT_PROVIDER_NAME = "single sign-on"  # OIDC_PROVIDER_NAME's default (finops/settings.py)


def provider_name() -> str:
    """The name on the login page's button: OIDC_PROVIDER_NAME, or "single sign-on" in the page's language."""
    name = settings.OIDC_PROVIDER_NAME
    return gettext("single sign-on") if name == DEFAULT_PROVIDER_NAME else name


class LoginView(auth_views.LoginView):
    """The login page: the password form while local accounts are on, the provider's button when SSO is."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            sso_enabled=enabled(),
            sso_provider_name=provider_name(),
            sso_failed="sso" in self.request.GET,
            local_accounts=local_accounts(),
        )
        return context

    def post(self, request, *args, **kwargs):
        if not local_accounts():
            raise PermissionDenied("local accounts are switched off; sign in with single sign-on")
        return super().post(request, *args, **kwargs)
