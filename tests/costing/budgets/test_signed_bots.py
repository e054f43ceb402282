"""Signed Feishu/Lark and DingTalk bots, checked by a local HTTP server that verifies each signature on its
own, and webhook URLs and signing secrets encrypted at rest, shown nowhere."""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

import costing.migrations
from costing.budgets.delivery import plan_deliveries, send_due
from costing.choices import ChannelKind, DeliveryStatus
from costing.models import AlertChannel
from costing.secrets import is_encrypted
from tests.costing.budgets.test_delivery import TEXT, make_alert

pytestmark = pytest.mark.django_db

SECRET = "SEC" + "0123456789abcdef"  # a test value
TOKEN = "tok-9f8e7d"


class SigningBot:
    """A bot on 127.0.0.1 that checks signatures as DingTalk and Feishu document them, with its own code:
    DingTalk: ?timestamp=<ms>&sign=urlencode(base64(HMAC-SHA256(key=secret, msg="<ms>\\n<secret>")));
    Feishu: {"timestamp": "<s>", "sign": base64(HMAC-SHA256(key="<s>\\n<secret>", msg=""))} in the body.
    Either answers code 0 when the signature holds and its timestamp is within an hour, else an error."""

    def __init__(self, kind: str, secret: str):
        self.received: list[tuple[str, dict]] = []
        bot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                bot.received.append((self.path, body))
                ok = bot.verify(kind, secret, self.path, body)
                if kind == ChannelKind.DINGTALK:
                    answer = (
                        {"errcode": 0, "errmsg": "ok"}
                        if ok
                        else {"errcode": 310000, "errmsg": "sign not match"}
                    )
                else:
                    answer = (
                        {"code": 0, "msg": "success"} if ok else {"code": 19021, "msg": "sign match fail"}
                    )
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/robot/send?access_token={TOKEN}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def verify(kind: str, secret: str, path: str, body: dict) -> bool:
        if kind == ChannelKind.DINGTALK:
            query = parse_qs(urlsplit(path).query)  # decodes the URL-encoded sign
            stamp = query.get("timestamp", [""])[0]
            key, msg = secret.encode("utf-8"), f"{stamp}\n{secret}".encode()
            given, now = query.get("sign", [""])[0], time.time() * 1000
            window = 3_600_000
        else:
            stamp = body.get("timestamp", "")
            key, msg = f"{stamp}\n{secret}".encode(), b""
            given, now = body.get("sign", ""), time.time()
            window = 3_600
        if not stamp.isdigit() or abs(now - int(stamp)) > window:
            return False
        expected = base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, given)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=[ChannelKind.DINGTALK, ChannelKind.FEISHU])
def bot(request):
    server = SigningBot(request.param, SECRET)
    server.kind = request.param
    yield server
    server.close()


def test_a_signed_bot_accepts_the_signature_and_refuses_a_wrong_secret(bot, caplog):
    AlertChannel.objects.create(name="signed", kind=bot.kind, target=bot.url, secret=SECRET)
    AlertChannel.objects.create(name="wrong", kind=bot.kind, target=bot.url, secret="SECwrong")
    alert = make_alert()
    plan_deliveries(alert)
    assert send_due() == (1, 1)
    statuses = {d.recipient: (d.status, d.last_error) for d in alert.deliveries.all()}
    assert statuses["signed"] == (DeliveryStatus.SENT, "")
    assert statuses["wrong"][0] == DeliveryStatus.PENDING and "refused" in statuses["wrong"][1]
    path, body = bot.received[0]
    assert path.startswith(f"/robot/send?access_token={TOKEN}")
    if bot.kind == ChannelKind.DINGTALK:
        assert body == {"msgtype": "text", "text": {"content": TEXT}} and "&sign=" in path
    else:
        assert set(body) == {"timestamp", "sign", "msg_type", "content"} and path.endswith(TOKEN)
    # Neither the token nor a secret reaches the log or the delivery log.
    logged = caplog.text + " ".join(f"{d.recipient} {d.last_error}" for d in alert.deliveries.all())
    assert TOKEN not in logged and SECRET not in logged and "SECwrong" not in logged


def raw(pk: int) -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT target, secret FROM costing_alertchannel WHERE id = %s", [pk])
        return cursor.fetchone()


def test_urls_and_secrets_are_encrypted_at_rest_and_never_shown(bot):
    channel = AlertChannel.objects.create(name="signed", kind=bot.kind, target=bot.url, secret=SECRET)
    target, secret = raw(channel.pk)
    assert is_encrypted(target) and is_encrypted(secret) and TOKEN not in target and SECRET not in secret
    assert AlertChannel.objects.get().target == bot.url and AlertChannel.objects.get().secret == SECRET
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/costing/alertchannel/{channel.pk}/change/").content.decode()
    assert TOKEN not in page and SECRET not in page
    # Saving the form with both fields empty keeps them; "remove secret" forgets the secret.
    form = {"name": "signed", "kind": bot.kind, "target": "", "secret": "", "active": "on"}
    assert client.post(f"/admin/costing/alertchannel/{channel.pk}/change/", form).status_code == 302
    assert AlertChannel.objects.get().target == bot.url and AlertChannel.objects.get().secret == SECRET
    client.post(f"/admin/costing/alertchannel/{channel.pk}/change/", {**form, "remove_secret": "on"})
    assert AlertChannel.objects.get().secret == ""
    alerts = client.get("/alerts/").content.decode()
    assert TOKEN not in alerts


def test_the_migration_encrypts_existing_rows():
    # Found by its topic: its number changes when migrations of other work land before it.
    found = next((Path(costing.migrations.__file__).parent).glob("*_alert_secrets.py")).stem
    migration = importlib.import_module(f"costing.migrations.{found}")
    channel = AlertChannel.objects.create(name="old", kind=ChannelKind.SLACK, target="x")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE costing_alertchannel SET target = %s WHERE id = %s",
            [f"https://hooks.example.com/{TOKEN}", channel.pk],
        )
    assert raw(channel.pk)[0] == f"https://hooks.example.com/{TOKEN}"  # as a row stored before 0018
    # The models as they were before 0018 (target a plain TextField), as the migration runs with them.
    before = MigrationExecutor(connection).loader.project_state(migration.Migration.dependencies).apps
    editor = SimpleNamespace(connection=connection)  # all the data migration uses of its schema editor
    migration.encrypt_plaintext(before, editor)
    once = raw(channel.pk)[0]
    migration.encrypt_plaintext(before, editor)  # a token is left alone
    assert is_encrypted(once) and raw(channel.pk)[0] == once
    assert AlertChannel.objects.get().target == f"https://hooks.example.com/{TOKEN}"
