"""Benchmarks' own PostgreSQL database (finops_bench), made fresh from DATABASE_URL's server, migrated."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "finops_bench"


def setup_bench_database() -> str:
    """Point Django at a fresh `finops_bench` on DATABASE_URL's PostgreSQL server; return its URL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "Set DATABASE_URL=postgres://user@host:port/any_db: the benchmark creates its own finops_bench there."
        )
    import psycopg

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    bench_url = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finops.settings")
    os.environ.setdefault("FINOPS_VAR_DIR", str(ROOT / "var" / "bench"))
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return bench_url
