"""The /healthz probe answers without login and without leaking configuration."""

from __future__ import annotations

import socket

import pytest
from celery import Celery
from django.urls import reverse

from finops import health


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_healthz_reports_both_parts_reachable(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down_and_says_nothing_of_where(client, monkeypatch):
    url = f"redis://:s3cret-password@127.0.0.1:{_closed_port()}/0"
    # A real client against a port where nothing listens: the probe must say "unreachable".
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery lets it override `broker=`
    monkeypatch.setattr(health, "celery_app", Celery("probe", broker=url, set_as_current=False))
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "unreachable"}
    body = response.content.decode()
    assert "s3cret" not in body and "127.0.0.1" not in body and "redis" not in body
