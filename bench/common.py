"""What every benchmark shares: a database of its own per run, the small size switch, the result line."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import re
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
NULL = "@@NULL@@"


def add_size_argument(parser: argparse.ArgumentParser) -> None:
    """`--small` (or FINOPS_BENCH_SMALL=1): a size that runs in seconds, to check the script works."""
    parser.add_argument(
        "--small",
        action="store_true",
        default=os.environ.get("FINOPS_BENCH_SMALL", "") not in ("", "0"),
        help="a small size that runs in seconds (also FINOPS_BENCH_SMALL=1)",
    )


def database_name(bench: str) -> str:
    """FINOPS_BENCH_DB, else finops_bench_<bench>_<pid>_<time>: two runs at once never share a database."""
    name = os.environ.get("FINOPS_BENCH_DB") or f"finops_bench_{bench}_{os.getpid()}_{int(time.time())}"
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        sys.exit(f"FINOPS_BENCH_DB={name!r}: use lower-case letters, digits and _ (at most 63)")
    return name


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", DEFAULT_SERVER)
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "DATABASE_URL must point at a PostgreSQL server: the benchmark creates its own database there."
        )
    return url


def _admin(url: str):
    import psycopg

    return psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True)


@contextlib.contextmanager
def bench_database(bench: str, *, keep: bool = False, migrate: bool = True):
    """Create the run's database on DATABASE_URL's server (refused if it exists), point Django at it
    (migrated), drop it at the end unless `keep` (or FINOPS_BENCH_KEEP=1). Yields its name."""
    server = _server_url()
    name = database_name(bench)
    keep = keep or os.environ.get("FINOPS_BENCH_KEEP", "") not in ("", "0")
    with _admin(server) as conn:
        # Never one that exists: the benchmark drops its database at the end.
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            sys.exit(f"database {name} exists already: name another (FINOPS_BENCH_DB) or drop it first")
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    try:
        use_database(url, migrate=migrate)
        print(f"database: {name}", flush=True)
        yield name
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if keep:
            print(f"kept database {name}")
        else:
            with _admin(server) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_database(url: str, *, migrate: bool = False) -> None:
    """Point Django at `url` (a child process of a benchmark reuses its parent's database this way)."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finops.settings")
    os.environ.setdefault("FINOPS_VAR_DIR", str(ROOT / "var" / "bench"))
    # Templates call {% static %}: the plain storage needs no collectstatic manifest.
    os.environ.setdefault("STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def copy_frame(table: str, frame, float_format: str | None = "%.8f") -> None:
    """COPY a DataFrame into a table (columns named as the frame's). Text goes as it is (JSON included:
    no CSV quoting), so values must hold no tab, newline or backslash."""
    from django.db import connection

    buffer = io.StringIO()
    frame.to_csv(
        buffer,
        index=False,
        header=False,
        na_rep=NULL,
        sep="\t",
        float_format=float_format,
        quoting=csv.QUOTE_NONE,
        quotechar="\x01",
    )
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    statement = f"COPY \"{table}\" ({columns}) FROM STDIN (NULL '{NULL}')"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        copy.write(buffer.getvalue())


def copy_model(model, frame) -> None:
    """COPY a frame into the model's table; a column the frame lacks takes the field's default."""
    frame = frame.copy()
    for field in model._meta.concrete_fields:
        if not field.primary_key and field.column not in frame.columns:
            frame[field.column] = field.get_default()
    copy_frame(model._meta.db_table, frame)


def copy_read(sql: str, params: list | None = None):
    """The floor of reading rows: COPY (query) TO STDOUT into pandas.read_csv, nothing else."""
    import pandas as pd
    from django.db import connection
    from psycopg import sql as pgsql

    query = pgsql.SQL(sql.replace("%s", "{}")).format(*(pgsql.Literal(p) for p in params or []))
    buffer = io.BytesIO()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(pgsql.SQL("COPY ({}) TO STDOUT (FORMAT CSV)").format(query)) as copy,
    ):
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    return pd.read_csv(buffer, header=None) if buffer.getbuffer().nbytes else pd.DataFrame()


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB. VmHWM, not ru_maxrss: a child keeps the ru_maxrss of the
    parent it was forked from (across exec), so a small child of a large parent would report the parent."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


class CpuClock:
    """CPU seconds of this process and of its PostgreSQL backend (read from /proc: the server runs on this
    machine) since the clock was made: what the work would take on one core of its own, on a machine as
    shared as the benchmarks' (where wall time is several times that)."""

    def __init__(self):
        self.process, self.backend = time.process_time(), _backend_cpu()

    def seconds(self) -> tuple[float, float]:
        """(this process's, its PostgreSQL backend's) CPU seconds since the clock was made; the backend's
        is NaN when its /proc entry cannot be read (a server on another machine)."""
        return time.process_time() - self.process, _backend_cpu() - self.backend


def _backend_cpu() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def result(what: str, figure: float, floor_what: str, floor: float, unit: str = "s") -> float:
    """Print the benchmark's last line, the same in every script: figure, floor and figure / floor.

    Both are costs measured in the same run (seconds, or ms for pages): a ratio of 1 is as fast as the
    floor, 2 takes twice as long."""
    ratio = figure / floor if floor else float("inf")
    print(f"figure: {what}; floor: {floor_what}")
    print(f"figure={figure:.3f}{unit} floor={floor:.3f}{unit} ratio={ratio:.2f}")
    return ratio
