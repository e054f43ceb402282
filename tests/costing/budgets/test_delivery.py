"""Tests of alert delivery: each webhook format received by a local HTTP server, e-mail through Django's
outbox and through a real SMTP server, retries and the delivery log, and who receives what."""

from __future__ import annotations

import json
import socket
import threading
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone

from costing import access
from costing.budgets.delivery import MAX_ATTEMPTS, plan_deliveries, send_due
from costing.choices import ChannelKind, DeliveryStatus, Role
from costing.models import Alert, AlertChannel, AlertDelivery, Department, UserLanguage

pytestmark = pytest.mark.django_db

MESSAGE = (
    "Payments will end November 2026 at 1,020.00 EUR (950.00 to 1,090.00), 9 % over its budget of 940.00 EUR"
)


class Hook:
    """A webhook receiver on 127.0.0.1: keeps what it is sent and answers `reply` (status, JSON body)."""

    def __init__(self):
        self.received: list[tuple[str, dict]] = []
        self.reply = (200, {})
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append((self.path, json.loads(body)))
                status, answer = hook.reply
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


def make_alert(department: str = "Payments", subject: str = "Payments", **extra) -> Alert:
    values = {
        "kind": "forecast",
        "subject_kind": "department",
        "subject": subject,
        "department": department,
        "period_start": date(2026, 11, 1),
        "period_end": date(2026, 12, 1),
        "threshold": Decimal(100),
        "as_of": date(2026, 11, 8),
        "actual": Decimal("300.5"),
        "forecast": Decimal(1020),
        "forecast_low": Decimal(950),
        "forecast_high": Decimal(1090),
        "budget": Decimal(940),
        "message": MESSAGE,
    }
    return Alert.objects.create(**{**values, **extra})


TEXT = f"[FinOps] {MESSAGE}"
FORMATS = {
    ChannelKind.SLACK: ({"ok": True}, {"text": TEXT}),
    ChannelKind.FEISHU: ({"code": 0, "msg": "success"}, {"msg_type": "text", "content": {"text": TEXT}}),
    ChannelKind.DINGTALK: ({"errcode": 0, "errmsg": "ok"}, {"msgtype": "text", "text": {"content": TEXT}}),
    ChannelKind.WECOM: ({"errcode": 0, "errmsg": "ok"}, {"msgtype": "text", "text": {"content": TEXT}}),
}


@pytest.mark.parametrize("kind", list(FORMATS))
def test_each_bot_format_is_posted_and_logged_as_sent(hook, kind):
    answer, expected = FORMATS[kind]
    hook.reply = (200, answer)
    AlertChannel.objects.create(name=f"{kind} bot", kind=kind, target=f"{hook.url}/send?access_token=SECRET")
    alert = make_alert()
    plan_deliveries(alert)
    assert send_due() == (1, 0)
    assert hook.received == [("/send?access_token=SECRET", expected)]
    [delivery] = alert.deliveries.all()
    assert (delivery.recipient, delivery.status, delivery.attempts) == (f"{kind} bot", DeliveryStatus.SENT, 1)


def test_the_generic_webhook_carries_every_figure(hook):
    AlertChannel.objects.create(name="ops", kind=ChannelKind.GENERIC, target=f"{hook.url}/finops")
    plan_deliveries(make_alert())
    send_due()
    [(path, body)] = hook.received
    assert path == "/finops"
    assert body == {
        "kind": "forecast",
        "subject_kind": "department",
        "subject": "Payments",
        "department": "Payments",
        "period_start": "2026-11-01",
        "period_end": "2026-12-01",
        "threshold": "100.00",
        "as_of": "2026-11-08",
        "actual": "300.50",
        "forecast": "1020.00",
        "forecast_low": "950.00",
        "forecast_high": "1090.00",
        "budget": "940.00",
        "expected": None,
        "currency": "EUR",
        "message": MESSAGE,
    }


def test_a_refusal_is_retried_later_then_given_up_and_the_token_never_logged(hook, caplog):
    hook.reply = (200, {"errcode": 310000, "errmsg": "keywords not in content"})
    AlertChannel.objects.create(
        name="ding", kind=ChannelKind.DINGTALK, target=f"{hook.url}/robot?access_token=SECRET"
    )
    alert = make_alert()
    plan_deliveries(alert)
    assert send_due() == (0, 1)
    delivery = alert.deliveries.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error == "the bot refused the message: code 310000 keywords not in content"
    assert send_due() == (0, 0)  # not due before a minute has passed
    now = timezone.now()
    for n in range(2, MAX_ATTEMPTS + 1):
        now += timedelta(minutes=2 ** (n - 1))
        assert send_due(now) == (0, 1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, MAX_ATTEMPTS)
    assert len(hook.received) == MAX_ATTEMPTS
    # A server that cannot be reached: the error names its kind, never the URL and its token.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    AlertChannel.objects.create(
        name="gone", kind=ChannelKind.SLACK, target=f"http://127.0.0.1:{closed}/?token=SECRET"
    )
    plan_deliveries(other := make_alert(subject="Search", department="Search"))
    send_due(now + timedelta(days=1))
    assert (
        other.deliveries.get(recipient="gone").last_error
        == "ConnectionError: the webhook could not be reached"
    )
    assert "SECRET" not in caplog.text
    assert not AlertDelivery.objects.filter(last_error__contains="SECRET").exists()


@pytest.fixture
def viewer(django_user_model):
    payments = Department.objects.create(name="Payments")
    Department.objects.create(name="Search")
    user = django_user_model.objects.create_user("dee", email="dee@payments.example", password="pw")
    user.groups.add(Group.objects.get(name=Role.DEPARTMENT_VIEWER))
    payments.viewers.add(user)
    # Listed as a viewer but without the role: sees nothing, so receives nothing.
    payments.viewers.add(django_user_model.objects.create_user("ex", email="ex@payments.example"))
    return django_user_model.objects.get(pk=user.pk)


def test_a_department_viewer_receives_and_sees_only_its_department_alerts(viewer, hook):
    AlertChannel.objects.create(
        name="finops team", kind=ChannelKind.EMAIL, target="finops@example.com, cfo@example.com"
    )
    AlertChannel.objects.create(
        name="search bot",
        kind=ChannelKind.SLACK,
        target=hook.url,
        department=Department.objects.get(name="Search"),
    )
    mine = make_alert()
    theirs = make_alert(subject="Search", department="Search")
    organisation = make_alert(subject="", department="", subject_kind="organisation")
    for alert in (mine, theirs, organisation):
        plan_deliveries(alert)
    assert send_due() == (5, 0)
    sent = sorted((tuple(m.to), m.subject) for m in mail.outbox)
    assert sent == [
        (("dee@payments.example",), "[FinOps] Forecast crossed a budget threshold: Payments"),
        (("finops@example.com", "cfo@example.com"), "[FinOps] Forecast crossed a budget threshold: Payments"),
        (("finops@example.com", "cfo@example.com"), "[FinOps] Forecast crossed a budget threshold: Search"),
        (
            ("finops@example.com", "cfo@example.com"),
            "[FinOps] Forecast crossed a budget threshold: organisation",
        ),
    ]
    assert [m.body for m in mail.outbox if m.to == ["dee@payments.example"]] == [MESSAGE + "\n"]
    assert len(hook.received) == 1  # the Search bot, for the Search alert only
    assert list(access.visible_alerts(Alert.objects.all(), viewer)) == [mine]
    # Planning again (a rerun of the task) adds no delivery.
    plan_deliveries(mine)
    assert mine.deliveries.count() == 2


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode()))
        return "250 Message accepted for delivery"


def test_e_mail_goes_through_a_real_smtp_server(settings, viewer):
    inbox = Inbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        plan_deliveries(make_alert())
        assert send_due() == (1, 0)
    finally:
        controller.stop()
    [(sender, to, content)] = inbox.messages
    assert (sender, to) == ("finops@localhost", ["dee@payments.example"])
    assert "Subject: [FinOps] Forecast crossed a budget threshold: Payments" in content
    assert MESSAGE in content


ZH_MESSAGE = "Payments 预测 2026年11月 结束时为 1,020.00 EUR（950.00 至 1,090.00），比预算 940.00 EUR 高 9%；告警阈值 100%"


def test_each_recipient_gets_the_alert_in_their_language(viewer, hook, settings, django_user_model):
    """The department viewer chose Chinese, a channel's address belongs to a user who chose English, the
    channel's other address has no user (the channel's language); a bot has the channel's language, or
    FINOPS_LANGUAGE when it has none."""
    settings.FINOPS_LANGUAGE = "en"
    UserLanguage.objects.create(user=viewer, language="zh-hans")
    ann = django_user_model.objects.create_user("ann", email="Ann@Example.com")
    UserLanguage.objects.create(user=ann, language="en")
    AlertChannel.objects.create(
        name="finops team",
        kind=ChannelKind.EMAIL,
        target="ann@example.com, ops@example.com",
        language="zh-hans",
    )
    AlertChannel.objects.create(
        name="bot zh", kind=ChannelKind.SLACK, target=hook.url + "/zh", language="zh-hans"
    )
    AlertChannel.objects.create(name="bot", kind=ChannelKind.SLACK, target=hook.url + "/default")
    plan_deliveries(make_alert(messages={"en": MESSAGE, "zh-hans": ZH_MESSAGE}))
    assert send_due() == (4, 0)
    sent = sorted((m.to, m.subject, m.body) for m in mail.outbox)
    english = ("[FinOps] Forecast crossed a budget threshold: Payments", MESSAGE + "\n")
    chinese = ("[FinOps] 预测成本超过预算阈值: Payments", ZH_MESSAGE + "\n")
    assert sent == [
        (["ann@example.com"], *english),
        (["dee@payments.example"], *chinese),
        (["ops@example.com"], *chinese),
    ]
    assert sorted(hook.received) == [
        ("/default", {"text": f"[FinOps] {MESSAGE}"}),
        ("/zh", {"text": f"[FinOps] {ZH_MESSAGE}"}),
    ]
