"""Sending alerts: by e-mail (Django's mail) and by webhook (generic JSON, Slack, Feishu/Lark, DingTalk,
WeCom), each recipient logged in AlertDelivery with its attempts, retried with a growing delay.

A webhook URL carries its bot's token, and the errors of `requests` quote the URL: the log keeps the
channel's name and the error's kind and status only. URLs and signing secrets are encrypted at rest
(costing.secrets); Feishu/Lark and DingTalk bots with a signing secret get their messages signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from datetime import timedelta
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from costing.choices import ChannelKind, DeliveryStatus, Role
from costing.languages import by_language, default_language
from costing.models import Alert, AlertChannel, AlertDelivery, Department

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# The delay before attempt n+1 is RETRY_BASE * 2**(n-1): 1, 2, 4, 8 minutes.
RETRY_BASE = timedelta(minutes=1)
TIMEOUT_SECONDS = 10


class DeliveryError(Exception):
    """A delivery failed; the message is safe to log (no URL, no token)."""


def payload(kind: str, alert: Alert, language: str | None = None) -> dict:
    """The JSON body of a webhook of `kind` for the alert, its text in `language` (default: FINOPS_LANGUAGE)."""
    message = alert.message_in(language or default_language())
    text = f"[FinOps] {message}"
    if kind == ChannelKind.SLACK:
        return {"text": text}
    if kind == ChannelKind.FEISHU:
        return {"msg_type": "text", "content": {"text": text}}
    if kind in (ChannelKind.DINGTALK, ChannelKind.WECOM):
        return {"msgtype": "text", "text": {"content": text}}
    return {
        "kind": alert.kind,
        "subject_kind": alert.subject_kind,
        "subject": alert.subject,
        "department": alert.department,
        "period_start": alert.period_start.isoformat(),
        "period_end": alert.period_end.isoformat(),
        "threshold": _text(alert.threshold),
        "as_of": alert.as_of.isoformat(),
        "actual": _text(alert.actual),
        "forecast": _text(alert.forecast),
        "forecast_low": _text(alert.forecast_low),
        "forecast_high": _text(alert.forecast_high),
        "budget": _text(alert.budget),
        "expected": _text(alert.expected),
        "currency": settings.FINOPS_CURRENCY,
        "message": message,
    }


def _text(value) -> str | None:
    return None if value is None else format(value.quantize(value.__class__("0.01")), "f")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature (its robots' "加签" setting): base64(HMAC-SHA256(key=secret,
    msg=f"{timestamp}\n{secret}")), the timestamp in milliseconds; URL-encoded by the caller."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu/Lark's signature (its custom bots' "签名校验" setting): base64(HMAC-SHA256(key=
    f"{timestamp}\n{secret}", msg=b"")), the timestamp in seconds."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_request(
    kind: str, url: str, body: dict, secret: str, now: float | None = None
) -> tuple[str, dict]:
    """The URL and body of a webhook, signed when the channel has a secret: DingTalk appends `timestamp`
    and `sign` to the URL, Feishu/Lark puts them in the JSON body; other kinds are sent as they are."""
    if not secret or kind not in (ChannelKind.DINGTALK, ChannelKind.FEISHU):
        return url, body
    now = time.time() if now is None else now
    if kind == ChannelKind.DINGTALK:
        stamp = int(now * 1000)
        query = urlencode({"timestamp": stamp, "sign": dingtalk_sign(secret, stamp)})
        return f"{url}{'&' if '?' in url else '?'}{query}", body
    stamp = int(now)
    return url, {"timestamp": str(stamp), "sign": feishu_sign(secret, stamp), **body}


def post_webhook(kind: str, url: str, alert: Alert, secret: str = "", language: str = "") -> None:
    url, body = signed_request(kind, url, payload(kind, alert, language), secret)
    try:
        response = requests.post(url, json=body, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise DeliveryError(f"{type(exc).__name__}: the webhook could not be reached") from None
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}")
    if kind in (ChannelKind.FEISHU, ChannelKind.DINGTALK, ChannelKind.WECOM):
        # These bots answer 200 with an error code in the body (bad token, keyword or signature missing).
        try:
            body = response.json()
        except ValueError:
            raise DeliveryError("the bot's answer is not JSON") from None
        code = (
            body.get("code", body.get("StatusCode", 0))
            if kind == ChannelKind.FEISHU
            else body.get("errcode", 0)
        )
        if code not in (0, None):
            reason = body.get("msg") or body.get("errmsg") or body.get("StatusMessage") or ""
            raise DeliveryError(f"the bot refused the message: code {code} {reason}".strip())


def send_email(addresses: list[str], alert: Alert, language: str = "") -> None:
    """One e-mail per language among the addresses' readers (costing/languages.py): each address gets the
    alert in its user's language; an address without one gets `language` (the channel's), else the default."""
    messages = []
    for code, group in by_language(addresses, fallback=language).items():
        with translation.override(code):
            subject = f"[FinOps] {alert.get_kind_display()}: {alert.subject or gettext('organisation')}"
        messages.append(
            EmailMessage(subject, alert.message_in(code) + "\n", settings.DEFAULT_FROM_EMAIL, group)
        )
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages(messages)
    except Exception as exc:  # smtplib, socket and SSL errors have no common base worth naming
        raise DeliveryError(f"{type(exc).__name__}: {exc}"[:500]) from None


def recipients(alert: Alert) -> list[tuple[str, str, AlertChannel | None]]:
    """(kind, recipient, channel) for the alert: the active channels open to every alert or to the alert's
    department, and the e-mail of each viewer of that department (who sees nothing of other departments)."""
    channels = AlertChannel.objects.filter(active=True).filter(
        Q(department__isnull=True) | Q(department__name=alert.department)
        if alert.department
        else Q(department__isnull=True)
    )
    found = [(c.kind, c.name, c) for c in channels.order_by("name")]
    if alert.department:
        department = Department.objects.filter(name=alert.department).first()
        if department is not None:
            # Only those whom costing.access lets see the department: the list alone grants nothing.
            viewers = department.viewers.filter(is_active=True, groups__name=Role.DEPARTMENT_VIEWER)
            emails = viewers.exclude(email="").values_list("email", flat=True)
            found += [(ChannelKind.EMAIL, email, None) for email in sorted(set(emails))]
    return found


def plan_deliveries(alert: Alert) -> list[AlertDelivery]:
    rows = [
        AlertDelivery(alert=alert, channel=channel, recipient=recipient, kind=kind)
        for kind, recipient, channel in recipients(alert)
    ]
    AlertDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    return list(alert.deliveries.all())


def attempt(delivery: AlertDelivery) -> bool:
    """One attempt at one delivery; its outcome logged on the row. True when sent."""
    alert = delivery.alert
    try:
        if delivery.channel_id is None and delivery.kind == ChannelKind.EMAIL:
            send_email([delivery.recipient], alert)  # a department viewer's own address
        elif delivery.channel_id is None:
            raise DeliveryError("the channel was deleted")
        elif delivery.channel.kind == ChannelKind.EMAIL:
            addresses = [a.strip() for a in delivery.channel.target.split(",") if a.strip()]
            send_email(addresses, alert, delivery.channel.language)
        else:
            channel = delivery.channel
            post_webhook(channel.kind, channel.target, alert, channel.secret, channel.language)
    except DeliveryError as exc:
        delivery.attempts += 1
        delivery.last_error = str(exc)
        delivery.status = (
            DeliveryStatus.FAILED if delivery.attempts >= MAX_ATTEMPTS else DeliveryStatus.PENDING
        )
        delivery.save(update_fields=["attempts", "last_error", "status", "updated_at"])
        log.warning(
            "alert %s to %s: attempt %d failed: %s", alert.pk, delivery.recipient, delivery.attempts, exc
        )
        return False
    delivery.attempts += 1
    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = timezone.now()
    delivery.last_error = ""
    delivery.save(update_fields=["attempts", "status", "sent_at", "last_error", "updated_at"])
    return True


def due(now=None):
    """Pending deliveries whose delay since the last attempt has passed."""
    now = now or timezone.now()
    pending = AlertDelivery.objects.filter(status=DeliveryStatus.PENDING).select_related("alert", "channel")
    return [d for d in pending if d.attempts == 0 or d.updated_at + RETRY_BASE * 2 ** (d.attempts - 1) <= now]


def send_due(now=None) -> tuple[int, int]:
    """Attempt every delivery that is due, each under a row lock (two workers never send it twice);
    (sent, failed attempts)."""
    sent = failed = 0
    for candidate in due(now):
        with transaction.atomic():
            delivery = (
                AlertDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("alert", "channel")
                .filter(pk=candidate.pk, status=DeliveryStatus.PENDING)
                .first()
            )
            if delivery is None:
                continue
            if attempt(delivery):
                sent += 1
            else:
                failed += 1
    return sent, failed
