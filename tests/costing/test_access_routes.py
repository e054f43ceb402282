"""Every route of the product, asked by every role: the status each must get (costing/access.py's rules)."""

# ruff: noqa: F811  (pytest fixtures imported from views_fixtures are redefined as arguments)
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from api.models import ApiToken
from costing.choices import RunStatus
from costing.models import Alert, BillImport, ExchangeRate
from reports.models import ClosingJob, ExportRun
from tests.reports.views_fixtures import clients, fixed_today, make_user, prod  # noqa: F401

pytestmark = pytest.mark.django_db

ROLES = ("admin", "viewer", "payments", "nobody", "anonymous")
P = "period=2025-03-10"
Q = "start=2025-03-10&end=2025-03-11"
LOGIN = 302  # a page asked for without signing in: to the login page
ALL = dict.fromkeys(ROLES, 200)


def statuses(admin, viewer, payments, nobody, anonymous) -> dict[str, int]:
    return dict(zip(ROLES, (admin, viewer, payments, nobody, anonymous), strict=True))


# Pages: everyone with a role reads; department viewers are refused whole clusters and data quality.
PAGE = statuses(200, 200, 200, 403, LOGIN)
EVERYTHING_PAGE = statuses(200, 200, 403, 403, LOGIN)
# The API answers anonymous callers 401 (it authenticates itself) and has no login page to send them to.
API = statuses(200, 200, 200, 403, 401)
API_EVERYTHING = statuses(200, 200, 403, 403, 401)

# route name -> [(method, url, data, {role: status})]. The url is a function of the fixture objects.
ROUTES = {
    "healthz": [("get", lambda o: "/healthz", None, ALL)],
    "login": [("get", lambda o: "/accounts/login/", None, ALL)],
    "logout": [("post", lambda o: "/accounts/logout/", None, dict.fromkeys(ROLES, 302))],
    # OpenID Connect sign-in is public and answers 404 while it is not configured (tests/costing/test_sso.py).
    "oidc_authentication_init": [("get", lambda o: "/oidc/authenticate/", None, dict.fromkeys(ROLES, 404))],
    "oidc_authentication_callback": [("get", lambda o: "/oidc/callback/", None, dict.fromkeys(ROLES, 404))],
    # The nav's language switch is public (the login page shows it too): it sets a cookie and goes back.
    "set_language": [
        (
            "post",
            lambda o: "/i18n/setlang/",
            {"language": "en", "next": "/accounts/login/"},
            dict.fromkeys(ROLES, 302),
        )
    ],
    # Pages
    "dashboard": [("get", lambda o: f"/?{P}", None, PAGE)],
    "clusters": [("get", lambda o: f"/clusters/?{P}", None, PAGE)],
    "cluster": [("get", lambda o: f"/clusters/prod/?{P}", None, EVERYTHING_PAGE)],
    "node_pool": [("get", lambda o: f"/clusters/prod/pools/general/?{P}", None, EVERYTHING_PAGE)],
    "node": [("get", lambda o: f"/clusters/prod/nodes/n1/?{P}", None, EVERYTHING_PAGE)],
    "namespaces": [("get", lambda o: f"/namespaces/?{P}", None, PAGE)],
    "namespace": [
        ("get", lambda o: f"/namespaces/prod/checkout/?{P}", None, PAGE),
        ("get", lambda o: f"/namespaces/prod/search/?{P}", None, statuses(200, 200, 404, 403, LOGIN)),
    ],
    "workload": [
        ("get", lambda o: f"/workloads/{o.wl('checkout', 'checkout')}/?{P}", None, PAGE),
        (
            "get",
            lambda o: f"/workloads/{o.wl('search', 'search-api')}/?{P}",
            None,
            statuses(200, 200, 404, 403, LOGIN),
        ),
    ],
    "pod": [
        ("get", lambda o: f"/pods/{o.pod('co-1')}/?{P}", None, PAGE),
        ("get", lambda o: f"/pods/{o.pod('se-1')}/?{P}", None, statuses(200, 200, 404, 403, LOGIN)),
    ],
    "labels": [("get", lambda o: f"/labels/?{P}&key=team", None, PAGE)],
    "departments": [
        ("get", lambda o: f"/departments/?{P}", None, PAGE),
        ("get", lambda o: f"/departments/?{P}&department=Search", None, statuses(200, 200, 403, 403, LOGIN)),
    ],
    "department": [
        ("get", lambda o: f"/departments/Payments/?{P}", None, PAGE),
        ("get", lambda o: f"/departments/Search/?{P}", None, statuses(200, 200, 403, 403, LOGIN)),
    ],
    "recommendations": [
        ("get", lambda o: f"/recommendations/?{P}", None, PAGE),
        (
            "get",
            lambda o: f"/recommendations/?{P}&department=Search",
            None,
            statuses(200, 200, 403, 403, LOGIN),
        ),
    ],
    "recommendation": [
        ("get", lambda o: f"/recommendations/{o.wl('checkout', 'checkout')}/?{P}", None, PAGE),
        (
            "get",
            lambda o: f"/recommendations/{o.wl('search', 'search-api')}/?{P}",
            None,
            statuses(200, 200, 404, 403, LOGIN),
        ),
    ],
    "optimise": [
        ("get", lambda o: f"/optimise/?{P}", None, PAGE),
        ("get", lambda o: f"/optimise/?{P}&department=Search", None, statuses(200, 200, 403, 403, LOGIN)),
    ],
    "data_quality": [("get", lambda o: f"/data-quality/?{P}", None, EVERYTHING_PAGE)],
    "budgets": [("get", lambda o: "/budgets/?date=2025-03-10", None, PAGE)],
    "alerts": [("get", lambda o: "/alerts/", None, PAGE)],
    "node_hour": [
        ("get", lambda o: f"/explain/node-hour/prod/n1/2025-03-10T04/?{P}", None, PAGE),
        (
            "get",
            lambda o: f"/explain/node-hour/prod/n2/2025-03-10T04/?{P}",
            None,
            statuses(200, 200, 403, 403, LOGIN),
        ),
    ],
    "bills": [("get", lambda o: "/bills/", None, statuses(200, 200, 403, 403, LOGIN))],
    "bill_status": [("get", lambda o: f"/bills/{o.bill}/status", None, statuses(200, 200, 403, 403, LOGIN))],
    # Reports and exports (pages)
    "reports": [("get", lambda o: "/reports/", None, statuses(200, 200, 200, 403, LOGIN))],
    "report-export": [
        ("post", lambda o: "/reports/export/", {"period": "2025-03"}, statuses(302, 302, 302, 403, LOGIN)),
        (
            "post",
            lambda o: "/reports/export/",
            {"period": "2025-03", "department": "Search"},
            statuses(302, 302, 403, 403, LOGIN),
        ),
    ],
    "report-export-status": [
        ("get", lambda o: f"/reports/exports/{o.run}/status", None, statuses(200, 404, 200, 404, LOGIN)),
    ],
    "report-export-download": [
        ("get", lambda o: f"/reports/exports/{o.run}/download", None, statuses(200, 404, 200, 404, LOGIN)),
    ],
    "report-close": [
        ("post", lambda o: "/reports/close/", {"period": "2025-02"}, statuses(302, 403, 403, 403, LOGIN)),
    ],
    "report-close-status": [
        ("get", lambda o: f"/reports/closings/{o.job}/status", None, statuses(200, 403, 403, 403, LOGIN)),
    ],
    "report-reopen": [
        ("post", lambda o: "/reports/reopen/", {"period": "2025-02"}, statuses(302, 403, 403, 403, LOGIN)),
    ],
    # API: schema, docs, tokens
    "api:schema": [("get", lambda o: "/api/schema/", None, statuses(200, 200, 200, 200, 401))],
    "api:docs": [("get", lambda o: "/api/docs/", None, statuses(200, 200, 200, 200, LOGIN))],
    "api:tokens-page": [("get", lambda o: "/api/tokens/", None, statuses(200, 200, 200, 200, LOGIN))],
    "api:token-list": [("get", lambda o: "/api/v1/tokens/", None, statuses(200, 200, 200, 200, 401))],
    "api:token-detail": [
        ("get", lambda o: f"/api/v1/tokens/{o.token}/", None, statuses(200, 404, 404, 404, 401)),
    ],
    # API: costs and explanations
    "api:costs": [
        ("get", lambda o: f"/api/v1/costs/?{Q}&by=namespace", None, API),
        (
            "get",
            lambda o: f"/api/v1/costs/?{Q}&by=namespace&department=Search",
            None,
            API | {"payments": 403},
        ),
    ],
    "api:explain-department": [
        ("get", lambda o: f"/api/v1/explain/department/?{Q}&name=Payments", None, API),
        ("get", lambda o: f"/api/v1/explain/department/?{Q}&name=Search", None, API | {"payments": 403}),
    ],
    "api:explain-namespace": [
        ("get", lambda o: f"/api/v1/explain/namespace/?{Q}&cluster=prod&namespace=checkout", None, API),
        (
            "get",
            lambda o: f"/api/v1/explain/namespace/?{Q}&cluster=prod&namespace=search",
            None,
            API | {"payments": 404},
        ),
    ],
    "api:explain-workload": [
        (
            "get",
            lambda o: f"/api/v1/explain/workload/?{Q}&workload={o.wl('checkout', 'checkout')}",
            None,
            API,
        ),
        (
            "get",
            lambda o: f"/api/v1/explain/workload/?{Q}&workload={o.wl('search', 'search-api')}",
            None,
            API | {"payments": 404},
        ),
    ],
    "api:explain-node-hour": [
        (
            "get",
            lambda o: f"/api/v1/explain/node-hour/?node={o.node('n1')}&hour=2025-03-10T04:00:00Z",
            None,
            API_EVERYTHING,
        ),
    ],
    "api:recommendations": [
        ("get", lambda o: f"/api/v1/recommendations/?{Q}", None, API),
        ("get", lambda o: f"/api/v1/recommendations/?{Q}&department=Search", None, API | {"payments": 403}),
    ],
    "api:opportunities": [
        ("get", lambda o: f"/api/v1/opportunities/?{Q}", None, API),
        ("get", lambda o: f"/api/v1/opportunities/?{Q}&department=Search", None, API | {"payments": 403}),
    ],
    # API: resources
    "api:department-list": [("get", lambda o: "/api/v1/departments/", None, API)],
    "api:department-detail": [
        ("get", lambda o: f"/api/v1/departments/{o.dept('Payments')}/", None, API),
        ("get", lambda o: f"/api/v1/departments/{o.dept('Search')}/", None, API | {"payments": 404}),
    ],
    "api:cluster-list": [("get", lambda o: "/api/v1/clusters/", None, API)],
    "api:cluster-detail": [("get", lambda o: f"/api/v1/clusters/{o.cluster}/", None, API)],
    # Issue 11: node pools and nodes are whole-cluster figures, refused to department viewers as on the pages.
    "api:cluster-node-pools": [
        ("get", lambda o: f"/api/v1/clusters/{o.cluster}/node-pools/", None, API_EVERYTHING),
    ],
    "api:cluster-nodes": [("get", lambda o: f"/api/v1/clusters/{o.cluster}/nodes/", None, API_EVERYTHING)],
    "api:bill-list": [("get", lambda o: "/api/v1/bills/", None, API_EVERYTHING)],
    "api:bill-detail": [("get", lambda o: f"/api/v1/bills/{o.bill}/", None, API_EVERYTHING)],
    "api:exchange-rate-list": [
        ("get", lambda o: "/api/v1/exchange-rates/", None, API_EVERYTHING),
        (
            "post",
            lambda o: "/api/v1/exchange-rates/",
            {"from_currency": "GBP", "to_currency": "EUR", "rate": "1.17", "valid_from": "2025-03-01"},
            statuses(201, 403, 403, 403, 401),
        ),
    ],
    "api:exchange-rate-detail": [
        ("get", lambda o: f"/api/v1/exchange-rates/{o.rate}/", None, API_EVERYTHING)
    ],
    "api:policy": [("get", lambda o: "/api/v1/policy/?date=2025-03-10", None, API_EVERYTHING)],
    # Previewing a policy file is for FinOps admins; an empty file is a 400 for them, after the role check.
    "api:policy-preview": [
        ("post", lambda o: "/api/v1/policy/preview/", None, statuses(400, 403, 403, 403, 401))
    ],
    # API: budgets, forecasts and alerts (a department viewer: its departments' only)
    "api:budgets": [
        ("get", lambda o: "/api/v1/budgets/?date=2025-03-10", None, API),
        ("get", lambda o: "/api/v1/budgets/?date=2025-03-10&format=yaml", None, API_EVERYTHING),
    ],
    "api:forecasts": [
        ("get", lambda o: "/api/v1/forecasts/?date=2025-03-10", None, API),
        (
            "get",
            lambda o: "/api/v1/forecasts/?date=2025-03-10&subject_kind=department&subject=Payments",
            None,
            API,
        ),
        (
            "get",
            lambda o: "/api/v1/forecasts/?date=2025-03-10&subject_kind=department&subject=Search",
            None,
            API | {"payments": 403},
        ),
        (
            "get",
            lambda o: "/api/v1/forecasts/?date=2025-03-10&subject_kind=cluster&subject=prod",
            None,
            API_EVERYTHING,
        ),
    ],
    "api:alert-list": [("get", lambda o: "/api/v1/alerts/", None, API)],
    "api:alert-detail": [
        ("get", lambda o: f"/api/v1/alerts/{o.alerts['Payments']}/", None, API),
        ("get", lambda o: f"/api/v1/alerts/{o.alerts['Search']}/", None, API | {"payments": 404}),
        ("get", lambda o: f"/api/v1/alerts/{o.alerts['']}/", None, API | {"payments": 404}),
    ],
    # API: OpenCost allocation, at /api/v1/ and at the root where OpenCost's tools look
    "api:allocation": [
        ("get", lambda o: "/api/v1/allocation?window=2025-03-10T00:00:00Z,2025-03-11T00:00:00Z", None, API)
    ],
    "api:allocation-compute": [
        (
            "get",
            lambda o: "/api/v1/allocation/compute?window=2025-03-10T00:00:00Z,2025-03-11T00:00:00Z",
            None,
            API,
        ),
    ],
    "opencost-allocation": [
        ("get", lambda o: "/allocation?window=2025-03-10T00:00:00Z,2025-03-11T00:00:00Z", None, API)
    ],
    "opencost-allocation-compute": [
        ("get", lambda o: "/allocation/compute?window=2025-03-10T00:00:00Z,2025-03-11T00:00:00Z", None, API),
    ],
    # API: reports and exports
    "api:report": [
        ("get", lambda o: "/api/v1/reports/2025-03/", None, API),
        ("get", lambda o: "/api/v1/reports/2025-03/?department=Search", None, API | {"payments": 403}),
    ],
    "api:report-export-list": [
        ("get", lambda o: "/api/v1/reports/exports/", None, API),
        (
            "post",
            lambda o: "/api/v1/reports/exports/",
            {"period": "2025-03"},
            API | {"admin": 201, "viewer": 201, "payments": 201},
        ),
        (
            "post",
            lambda o: "/api/v1/reports/exports/",
            {"period": "2025-03", "department": "Search"},
            statuses(201, 201, 403, 403, 401),
        ),
    ],
    "api:report-export-detail": [
        ("get", lambda o: f"/api/v1/reports/exports/{o.run}/", None, statuses(200, 404, 200, 403, 401)),
    ],
    "api:report-export-download": [
        (
            "get",
            lambda o: f"/api/v1/reports/exports/{o.run}/download",
            None,
            statuses(200, 404, 200, 403, 401),
        ),
    ],
}


class Objects:
    """The ids the URLs need, from the scenario plus an export run, a closing job and a token."""

    def __init__(self, prod, users, tmp_path):
        self.prod = prod
        self.cluster = prod["cluster"].pk
        self.bill = BillImport.objects.values_list("pk", flat=True).first()
        path = tmp_path / "march.xlsx"
        path.write_bytes(b"PK")
        # Payments' own finished export: open to its owner and to admins, a 404 to everyone else.
        self.run = ExportRun.objects.create(
            requested_by=users["payments"],
            period_key="2025-03",
            department="Payments",
            status=RunStatus.SUCCEEDED,
            file_path=str(path),
            file_name="march.xlsx",
            finished_at=datetime(2025, 3, 20, tzinfo=UTC),
        ).pk
        self.job = ClosingJob.objects.create(key="2025-01", requested_by=users["admin"]).pk
        self.token = ApiToken.issue(users["admin"], "ci")[0].pk
        self.alerts = {
            department: Alert.objects.create(
                kind="anomaly",
                subject_kind="department" if department else "cluster",
                subject=department or "prod",
                department=department,
                period_start=date(2025, 3, 10),
                period_end=date(2025, 3, 11),
                as_of=date(2025, 3, 10),
                message=f"{department or 'prod'} cost more than usual",
            ).pk
            for department in ("Payments", "Search", "")
        }
        self.rate = ExchangeRate.objects.create(
            from_currency="USD", to_currency="EUR", rate="0.92", valid_from=date(2025, 1, 1)
        ).pk

    def wl(self, namespace, name):
        return self.prod["workloads"][(namespace, name)].pk

    def pod(self, name):
        return self.prod["pods"][name].pk

    def node(self, name):
        return self.prod["nodes"][name].pk

    def dept(self, name):
        from costing.models import Department

        return Department.objects.get(name=name).pk


def _routes(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # Django's admin: its own permission hook, see test_access.py
            yield from _routes(
                pattern.url_patterns, namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            )
        elif isinstance(pattern, URLPattern):
            yield namespace + pattern.name


def test_the_table_names_every_route():
    assert set(_routes(get_resolver().url_patterns)) == set(ROUTES)


@pytest.fixture
def everyone(clients, django_user_model, monkeypatch, settings, tmp_path):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2025, 3, 20, 12, tzinfo=UTC))
    settings.FINOPS_EXPORT_DIR = str(tmp_path)
    users = {u.username: u for u in django_user_model.objects.all()}
    return clients, {"admin": users["ada"], "payments": users["pam"]}


def test_every_route_by_role(everyone, prod, tmp_path):
    clients, users = everyone
    objects = Objects(prod, users, tmp_path)
    seen, expected = {}, {}
    # Signing out last: it ends the clients' sessions.
    for name in sorted(ROUTES, key=lambda n: n == "logout"):
        for method, url, data, by_role in ROUTES[name]:
            for role in ROLES:
                response = getattr(clients[role], method)(url(objects), data or {})
                key = (name, method, url(objects), role)
                seen[key], expected[key] = response.status_code, by_role[role]
                if response.status_code == LOGIN and role == "anonymous":
                    assert response["Location"].startswith("/accounts/login/"), key
    assert {k: v for k, v in seen.items() if v != expected[k]} == {}
