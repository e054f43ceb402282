"""Production settings pass Django's deployment checklist; docker-compose declares its services and queues."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG"}}
    env.update(
        DEBUG="false",
        SECURE_HTTPS="true",
        SECRET_KEY="x" * 20 + "-production-like-" + "y" * 30,
        ALLOWED_HOSTS="finops.example.com",
        FINOPS_VAR_DIR=str(tmp_path),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_compose_declares_the_services_with_healthchecks():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "web",
        "worker-sampling",
        "worker-compute",
        "worker",
        "beat",
    }
    for name, service in services.items():
        assert "healthcheck" in service, name
        assert service["healthcheck"]["test"], name
    for name in ("web", "worker-sampling", "worker-compute", "worker", "beat"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://"), name
        assert environment["CELERY_BROKER_URL"].startswith("redis://"), name
    assert "gunicorn" in " ".join(services["web"]["command"])
    assert "postgres-data" in compose["volumes"]


def test_compose_runs_a_worker_per_queue_group_covering_every_queue_once():
    from django.conf import settings

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    queues = {}
    for name, service in services.items():
        command = service.get("command", [])
        if command[:4] == ["celery", "-A", "finops", "worker"]:
            queues[name] = command[command.index("-Q") + 1].split(",")
            # One message at a time per process: a long task never holds a sample it prefetched.
            assert command[command.index("--prefetch-multiplier") + 1] == "1", name
    assert queues == {
        "worker-sampling": ["sampling"],
        "worker-compute": ["compute", "billing"],
        "worker": ["default"],
    }
    assert sorted(q for names in queues.values() for q in names) == sorted(settings.FINOPS_QUEUES)
