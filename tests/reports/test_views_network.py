# ruff: noqa: F811  (pytest fixtures imported from views_fixtures are redefined as arguments)
"""The pages with a load balancer (the scenario's ELB line elb-1, 1.20, now Service checkout/web's): the
namespace page explains it with its bill line, the Namespaces page shows the network column, the
department page its Idle GPU part (0 here), and the load balancers table exports as CSV."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from costing.compute import recompute_day
from costing.models import LoadBalancer
from tests.costing import scenario
from tests.reports.test_views_pages import P, text
from tests.reports.views_fixtures import DAY, NEXT, clients, fixed_today, make_user, prod  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def with_lb(prod):
    seen = {"first_seen": scenario.START, "last_seen": scenario.START + timedelta(hours=23)}
    LoadBalancer.objects.create(
        cluster=prod["cluster"],
        namespace=prod["namespaces"]["checkout"],
        name="web",
        cloud_id="elb-1",
        ip="121.36.1.2",
        ids=["121.36.1.2", "elb-1"],
        **seen,
    )
    recompute_day(DAY)
    recompute_day(NEXT)
    return prod


def test_the_namespace_page_explains_its_load_balancer(clients, with_lb):
    page = clients["admin"].get(f"/namespaces/prod/checkout/?{P}")
    assert page.status_code == 200
    assert page.context["total"] == D("5.70") and page.context["network_cost"] == D("1.20")
    shown = text(page)
    assert "Network: its load balancers" in shown and "web" in shown and "elb-1" in shown
    csv = clients["admin"].get(f"/namespaces/prod/checkout/?{P}&_export=csv&_table=load_balancers")
    assert csv.status_code == 200 and "elb-1" in csv.content.decode()
    listing = clients["admin"].get(f"/namespaces/?{P}")
    checkout = {r["namespace__name"]: r for r in listing.context["rows"]}["checkout"]
    assert checkout["network_cost"] == D("1.20") and checkout["cost"] == D("5.70")
    # A department viewer of Payments sees checkout and its load balancer.
    assert clients["payments"].get(f"/namespaces/prod/checkout/?{P}").status_code == 200


def test_the_departments_page_shows_idle_gpu_only_where_there_is_some(clients, with_lb):
    page = clients["admin"].get(f"/departments/?{P}")
    # No GPU in the scenario: the Idle GPU column stays hidden, as the GPU columns do.
    assert page.status_code == 200 and "Idle GPU" not in text(page)
    rows = {r["name"]: r for r in page.context["rows"]}
    assert rows["Payments"]["direct"] == D("11.70") and rows["Payments"]["gpu_idle"] == D("0.00")
    # Namespaces without load balancers: no network column.
    assert "Network" not in text(clients["admin"].get(f"/namespaces/?{P}&cluster=prod&department=Search"))
