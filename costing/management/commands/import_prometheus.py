"""Backfill a cluster's samples from Prometheus (kube-state-metrics v2 and cAdvisor): docs/prometheus.md."""

from __future__ import annotations

import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from costing.choices import SECONDS_PER_HOUR
from costing.collectors.prometheus import DEFAULT_RATE_WINDOW, PrometheusSource
from costing.collectors.prometheus_client import PrometheusClient, PrometheusError
from costing.collectors.prometheus_import import SETTLE_SECONDS, import_range
from costing.models import Cluster
from costing.policy.store import gpu_resources_for_day

_DURATION = re.compile(r"(\d+)\s*([smh]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}


def parse_duration(option: str, text: str) -> int:
    """Seconds of '60s', '2m', '1h' or '60'."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise CommandError(f"{option}: {text!r} is not a duration such as 60s, 2m or 1h")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_time(option: str, text: str) -> datetime:
    """A day (YYYY-MM-DD, its midnight UTC) or an ISO 8601 time (UTC if it names no zone)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"{option}: {text!r} is not a date YYYY-MM-DD nor an ISO 8601 time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _read_secret(option: str, path: str | None) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise CommandError(f"{option}: cannot read {path} ({error.strerror})") from None


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument(
            "--cluster", required=True, help="name of the cluster (create it in the admin first)"
        )
        parser.add_argument("--url", required=True, help="Prometheus (Thanos Query, VictoriaMetrics) URL")
        parser.add_argument("--start", required=True, help="first day YYYY-MM-DD (or an ISO 8601 time)")
        parser.add_argument("--end", required=True, help="day after the last, YYYY-MM-DD (exclusive)")
        parser.add_argument("--step", default="60s", help="one slot per step (default 60s; 1s..1h)")
        parser.add_argument(
            "--label-selector", default="", help='label matchers of this cluster: cluster="prod"'
        )
        parser.add_argument("--token-file", help="file holding a bearer token")
        parser.add_argument("--user", help="user for HTTP basic authentication")
        parser.add_argument("--password-file", help="file holding the password of --user")
        parser.add_argument("--ca-file", help="CA certificate(s) (PEM) of the server's TLS certificate")
        parser.add_argument(
            "--insecure-skip-tls-verify",
            action="store_true",
            help="do not check the TLS certificate (tests only)",
        )
        parser.add_argument(
            "--rate-window",
            default=f"{DEFAULT_RATE_WINDOW}s",
            help=f"window of rate() for CPU usage (default {DEFAULT_RATE_WINDOW}s; at least the step)",
        )
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one query")

    def handle(self, *args, **options):
        cluster = Cluster.objects.filter(name=options["cluster"]).first()
        if cluster is None:
            raise CommandError(
                f"--cluster: no cluster named {options['cluster']!r} (create it in the admin first)"
            )
        step = parse_duration("--step", options["step"])
        if not 1 <= step <= SECONDS_PER_HOUR:
            raise CommandError(f"--step: must be 1s..1h, not {options['step']}")
        rate_window = parse_duration("--rate-window", options["rate_window"])
        start, end = parse_time("--start", options["start"]), parse_time("--end", options["end"])
        if end <= start:
            raise CommandError(
                f"--end {options['end']} must be after --start {options['start']} (the end is exclusive)"
            )
        if options["token_file"] and options["user"]:
            raise CommandError("--token-file and --user: give one kind of credentials, not both")
        if options["password_file"] and not options["user"]:
            raise CommandError("--password-file needs --user")
        complete = timezone.now() - timedelta(seconds=SETTLE_SECONDS)
        if end > complete:
            end = complete
            self.stdout.write(
                f"--end is cut to {end:%Y-%m-%d %H:%M:%S} UTC: later slots are not complete yet"
            )
        try:
            client = PrometheusClient(
                options["url"],
                token=_read_secret("--token-file", options["token_file"]),
                username=options["user"] or "",
                password=_read_secret("--password-file", options["password_file"]),
                ca_file=options["ca_file"],
                verify=not options["insecure_skip_tls_verify"],
                timeout=options["timeout"],
            )
            with client:
                source = PrometheusSource(
                    client,
                    selector=options["label_selector"],
                    node_pool_label=cluster.node_pool_label or None,
                    rate_window=max(rate_window, step),
                    gpu_resources=gpu_resources_for_day(start.astimezone(UTC).date()),
                )
                source.check_metrics(start.timestamp(), end.timestamp())
                result = import_range(cluster, source, start, end, step, progress=self._progress(start, end))
        except PrometheusError as error:
            # Every chunk stored so far is whole (one transaction each) and is skipped by the next run.
            raise CommandError(f"{error} (slots stored so far are kept; run again to complete)") from None
        self.stdout.write(
            f"Imported into {cluster.name} from {options['url']}: {result.recorded.slots} slots sampled, "
            f"{result.gaps} without data in Prometheus (gaps), {result.recorded.pod_samples:,} pod samples, "
            f"{result.recorded.pod_hours:,} pod-hours; {len(result.recorded.days)} days marked for recompute."
        )

    def _progress(self, start: datetime, end: datetime):
        stream = getattr(self.stdout, "_out", sys.stdout)
        state: dict = {}
        if hasattr(stream, "isatty") and stream.isatty():
            from tqdm import tqdm

            def bar(done: int, total: int) -> None:
                if "bar" not in state:
                    state["bar"] = tqdm(total=total, unit="slot", desc="Importing", file=stream)
                state["bar"].update(done - state["bar"].n)
                if done >= total:
                    state["bar"].close()

            return bar

        def lines(done: int, total: int) -> None:
            self.stdout.write(f"read {done}/{total} slots ({100 * done // max(total, 1)}%)")

        return lines
