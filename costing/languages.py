"""Which language each person is written to in outside a request (alert and export e-mails): the language
the user chose (UserLanguage), else FINOPS_LANGUAGE, else LANGUAGE_CODE (docs/i18n.md)."""

from __future__ import annotations

from django.conf import settings
from django.db.models.functions import Lower
from django.utils import translation
from django.views.i18n import set_language as django_set_language

from costing.models import UserLanguage


def default_language() -> str:
    """The language of what the workers write for no one in particular (and for whoever chose none)."""
    return getattr(settings, "FINOPS_LANGUAGE", "") or settings.LANGUAGE_CODE


def supported(code: str | None) -> str | None:
    """`code` as one of LANGUAGES (zh-CN -> zh-hans), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def remember(user, code: str) -> str | None:
    """Store `code` as the user's language (when it is one of LANGUAGES); the stored code or None."""
    language = supported(code)
    if language is None or user is None or not user.is_authenticated:
        return None
    UserLanguage.objects.update_or_create(user=user, defaults={"language": language})
    return language


def stored_language(user) -> str | None:
    """The language the user chose (UserLanguage), or None."""
    return UserLanguage.objects.filter(user=user).values_list("language", flat=True).first()


def language_of(user) -> str:
    """The language to write to `user` in."""
    stored = stored_language(user)
    return supported(stored) or default_language()


def by_language(addresses: list[str], fallback: str | None = None) -> dict[str, list[str]]:
    """The addresses grouped by their reader's language: an address of an active user who chose a language
    gets it; any other gets `fallback` (a channel's language), else the default. Order kept in each group."""
    wanted = {a.lower() for a in addresses}
    chosen: dict[str, str] = {}
    rows = (
        UserLanguage.objects.annotate(address=Lower("user__email"))
        .filter(address__in=wanted, user__is_active=True)
        .order_by("user_id")
        .values_list("address", "language")
    )
    for address, language in rows:
        chosen.setdefault(address, language)  # two users with one address: the older account's choice
    otherwise = supported(fallback) or default_language()
    groups: dict[str, list[str]] = {}
    for address in addresses:
        groups.setdefault(supported(chosen.get(address.lower())) or otherwise, []).append(address)
    return groups


def set_language(request):
    """Django's set_language (the nav's switch: a cookie, then back to `next`), and for a signed-in user
    the choice is also kept as their language for e-mails."""
    response = django_set_language(request)
    chosen = request.POST.get("language", "") if request.method == "POST" else ""
    if request.user.is_authenticated and remember(request.user, chosen):
        request.session[SESSION_LANGUAGE] = supported(chosen)
    return response


def remember_browser_language(sender, request, user, **kwargs) -> None:
    """At sign-in (user_logged_in), a user without a stored language gets the one their browser asks for
    (the switch's cookie, else Accept-Language); a request that asks for none stores nothing."""
    if request is None:
        return
    stored = stored_language(user)
    if stored is None:
        asked = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or request.META.get("HTTP_ACCEPT_LANGUAGE")
        if asked:
            remember(user, translation.get_language_from_request(request))
    elif hasattr(request, "session"):
        # For StoredLanguageMiddleware: the pages of this session in the stored language, without a query.
        request.session[SESSION_LANGUAGE] = stored


SESSION_LANGUAGE = "finops_language"


class StoredLanguageMiddleware:
    """A signed-in user's pages are in their stored language (UserLanguage) when the browser has no switch
    cookie (a new browser, a cleared one): the language chosen once follows them; the cookie is then set.
    The switch's cookie, when there is one, wins. The language is put in the session at sign-in
    (remember_browser_language), so this reads no table. After LocaleMiddleware and the session's and
    authentication's middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        stored = None
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        ):
            stored = supported(request.session.get(SESSION_LANGUAGE))
            if stored:
                translation.activate(stored)
                request.LANGUAGE_CODE = stored
        response = self.get_response(request)
        if stored:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                stored,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
