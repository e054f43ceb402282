"""API authentication: `Authorization: Bearer <token>` (or `Token <token>`) with a per-user API token."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from .models import ApiToken, hash_token

KEYWORDS = ("bearer", "token")
# last_used_at is a hint for the user, not an audit log: one write a minute at most per token.
TOUCH_EVERY = timedelta(minutes=1)


class TokenAuthentication(authentication.BaseAuthentication):
    """A request with a token header is that token's user, or a 401; without one, the next method decides."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode("latin-1").lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization: give one token after the word Bearer")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Authorization: the token is not ASCII") from None
        row = ApiToken.objects.active().select_related("user").filter(key_hash=hash_token(token)).first()
        if row is None or not row.user.is_active:
            raise exceptions.AuthenticationFailed("invalid or revoked API token")
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return row.user, row

    def authenticate_header(self, request):
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 to a request that is not signed in.
        return 'Bearer realm="api"'
