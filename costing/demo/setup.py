"""What `setup_demo` puts in the database beside the demo cluster: the demo policy and the demo bill."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from costing.billing.importer import import_bill
from costing.choices import RunStatus
from costing.demo.bill import write_demo_focus_bill
from costing.demo.simulator import DemoCluster
from costing.models import BillImport, Cluster, Policy
from costing.policy import load_policy
from costing.policy.store import save_spec

DEMO_POLICY = Path(__file__).resolve().parent / "policy.yaml"


def ensure_demo_policy() -> Policy:
    """The policy in force, or, when there is none, the demo policy from costing/demo/policy.yaml: the
    demo cluster's tag rule, fallback prices, four departments and the shared system namespaces."""
    policy = Policy.objects.order_by("-effective_from").first()
    if policy is not None:
        return policy
    return save_spec(load_policy(DEMO_POLICY.read_text(), source=DEMO_POLICY.name))


def load_demo_bill(cluster: Cluster, start: date, end: date) -> BillImport | None:
    """Write the demo FOCUS bill of the days [start, end) under VAR_DIR/demo/ and import it.

    Once: when a successful import of that very file (same cluster and days) exists, nothing is done and
    None is returned. Else the BillImport (a later window replaces the lines of the months it covers).
    """
    name = f"demo-focus-{cluster.name}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    if BillImport.objects.filter(file_name=name, status=RunStatus.SUCCEEDED).exists():
        return None
    folder = settings.VAR_DIR / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    demo = DemoCluster(cluster.name, cluster.simulator_seed)
    write_demo_focus_bill(demo, start, end, path, currency=settings.FINOPS_CURRENCY)
    return import_bill(path, "focus")


def demo_bill_window(today: date | None = None) -> tuple[date, date]:
    """The days the demo bill covers: the whole previous month and this month up to yesterday."""
    today = today or timezone.now().date()
    previous = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return previous, today


def setup_demo_bill(cluster: Cluster, days: int | None = None) -> str:
    """ensure_demo_policy, then load_demo_bill; a line for setup_demo to print.

    days: the bill covers the `days` days before today (pass the sampled history, so that every billed day
    has samples); None: demo_bill_window (last month and this one).
    """
    ensure_demo_policy()
    start, end = demo_bill_window()
    if days is not None:
        start = end - timedelta(days=days)
    record = load_demo_bill(cluster, start, end)
    if record is None:
        return f"Demo bill {start} to {end}: already imported"
    if record.status != RunStatus.SUCCEEDED:
        return f"Demo bill {start} to {end}: FAILED: {record.error}"
    return f"Demo bill {start} to {end}: {record.rows} lines imported (#{record.pk})"
