"""Single sign-on against a real OpenID Connect provider (django-oidc-provider in a subprocess on 127.0.0.1).

The product's side runs in Django's test client; the provider's side is spoken to over HTTP by
`requests`, as a browser would, and the product's backend itself fetches tokens and userinfo from it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth.models import Group
from django.test import Client

from api.models import ApiToken
from costing import access, sso
from costing.choices import Role
from costing.models import Department, SsoGroupRule, SsoIdentity
from tests.oidc_provider.server import PASSWORD, Provider

pytestmark = pytest.mark.django_db
CALLBACK = "http://testserver/oidc/callback/"


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    running = Provider(tmp_path_factory.mktemp("provider")).start()
    running.client(CALLBACK)
    yield running
    running.stop()


@pytest.fixture
def sso_on(settings, provider):
    for name, value in provider.settings().items():
        setattr(settings, name, value)
    sso.discovery.cache_clear()
    yield provider
    sso.discovery.cache_clear()


@pytest.fixture
def rules():
    payments = Department.objects.create(name="Payments")
    search = Department.objects.create(name="Search")
    SsoGroupRule.objects.create(group="finops-admins", role=Role.ADMIN)
    SsoGroupRule.objects.create(group="dept-payments", role=Role.DEPARTMENT_VIEWER, department=payments)
    SsoGroupRule.objects.create(group="search-*", role=Role.DEPARTMENT_VIEWER, department=search)
    return payments, search


def sign_in(client: Client, provider: Provider, username: str, next_url: str = ""):
    """The whole authorization code flow; returns the product's answer to the provider's redirect."""
    start = client.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start
    browser = requests.Session()
    location = start["Location"]
    assert location.startswith(f"{provider.issuer}/authorize?")
    while location.startswith(provider.url):
        answer = browser.get(location, allow_redirects=False, timeout=10)
        if answer.status_code == 200:  # the provider's login form
            assert "/accounts/login/" in answer.url
            answer = browser.post(
                answer.url,
                data={
                    "username": username,
                    "password": PASSWORD,
                    "csrfmiddlewaretoken": browser.cookies["provider_csrftoken"],
                },
                allow_redirects=False,
                timeout=10,
            )
        assert answer.status_code == 302, answer.text[:500]
        location = requests.compat.urljoin(answer.url, answer.headers["Location"])
    assert location.startswith(CALLBACK), location
    parts = urlsplit(location)
    return client.get(parts.path, QUERY_STRING=parts.query)


def signed_in_user(client: Client):
    from django.contrib.auth import get_user

    request = type("Request", (), {"session": client.session})()
    return get_user(request)


def test_first_sign_in_creates_the_user_and_maps_groups_to_roles_and_departments(client, sso_on, rules):
    payments, _ = rules
    sso_on.user("alice", "dept-payments", "unrelated", email="alice@example.com")

    answer = sign_in(client, sso_on, "alice", next_url="/departments/")

    assert answer.status_code == 302 and answer["Location"] == "/departments/"
    user = signed_in_user(client)
    assert user.username == "alice" and user.email == "alice@example.com"
    assert not user.has_usable_password()
    assert SsoIdentity.objects.get(user=user).subject  # matched by `sub` from now on
    assert set(user.groups.values_list("name", flat=True)) == {Role.DEPARTMENT_VIEWER}
    assert list(user.departments.all()) == [payments]
    assert access.granted_departments(user) == {"Payments"}
    assert client.get("/departments/Payments/").status_code == 200
    assert client.get("/departments/Search/").status_code in (403, 404)


def test_groups_are_re_applied_at_every_sign_in_so_leaving_a_group_removes_access(client, sso_on, rules):
    sso_on.user("bob", "finops-admins", "search-eu")
    sign_in(client, sso_on, "bob")
    user = signed_in_user(client)
    assert access.is_admin(user)
    # A group that is not a role, given by hand, is not the rules' business.
    user.groups.add(Group.objects.create(name="on-call"))

    sso_on.user("bob", "search-eu")
    sign_in(Client(), sso_on, "bob")
    user = type(user).objects.get(pk=user.pk)  # access caches roles on the instance
    assert not access.is_admin(user)
    assert set(user.groups.values_list("name", flat=True)) == {Role.DEPARTMENT_VIEWER, "on-call"}
    assert access.granted_departments(user) == {"Search"}

    sso_on.user("bob")
    fresh = Client()
    sign_in(fresh, sso_on, "bob")
    user = type(user).objects.get(pk=user.pk)
    assert not access.has_any_role(user)
    assert not user.departments.exists()
    assert fresh.get("/departments/Search/").status_code == 403
    assert SsoIdentity.objects.filter(user=user).count() == 1
    assert type(user).objects.filter(username__startswith="bob").count() == 1


def test_the_default_role_applies_only_when_no_rule_matches(client, settings, sso_on, rules):
    settings.FINOPS_SSO_DEFAULT_ROLE = "viewer"
    sso_on.user("carol", "marketing")
    sign_in(client, sso_on, "carol")
    assert set(signed_in_user(client).groups.values_list("name", flat=True)) == {Role.VIEWER}

    sso_on.user("carol", "dept-payments")
    sign_in(Client(), sso_on, "carol")
    user = type(signed_in_user(client)).objects.get(username="carol")
    assert set(user.groups.values_list("name", flat=True)) == {Role.DEPARTMENT_VIEWER}


def test_a_local_account_with_the_same_name_and_e_mail_is_not_taken_over(client, django_user_model, sso_on):
    local = django_user_model.objects.create_user("dave", "dave@example.com", "a long local password")
    sso_on.user("dave", email="dave@example.com")

    sign_in(client, sso_on, "dave")

    user = signed_in_user(client)
    assert user.pk != local.pk and user.username == "dave-2"
    assert not SsoIdentity.objects.filter(user=local).exists()


def test_a_deactivated_user_cannot_sign_in_again(client, sso_on, rules):
    sso_on.user("erin", "finops-admins")
    sign_in(client, sso_on, "erin")
    user = signed_in_user(client)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert not signed_in_user(client).is_authenticated  # the open session ends too

    fresh = Client()
    answer = sign_in(fresh, sso_on, "erin")

    assert answer["Location"] == "/accounts/login/?sso=failed"
    assert "_auth_user_id" not in fresh.session
    assert "did not succeed" in fresh.get(answer["Location"]).content.decode()


def test_an_api_token_works_for_an_sso_user(client, sso_on, rules):
    sso_on.user("frank", "dept-payments")
    sign_in(client, sso_on, "frank")
    _, token = ApiToken.issue(signed_in_user(client), "ci")

    answer = Client().get("/api/v1/departments/", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert answer.status_code == 200
    assert [row["name"] for row in answer.json()["results"]] == ["Payments"]


def test_the_login_page_offers_the_provider_and_the_password_form(client, sso_on):
    page = client.get("/accounts/login/?next=/departments/").content.decode()
    assert "Sign in with Test IdP" in page
    assert 'name="password"' in page


def test_the_default_provider_name_is_in_the_page_language(client, settings, sso_on):
    settings.OIDC_PROVIDER_NAME = "single sign-on"  # the default (finops/settings.py)
    assert "Sign in with single sign-on" in client.get("/accounts/login/").content.decode()
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "使用 单点登录 登录" in page
    settings.OIDC_PROVIDER_NAME = "Keycloak"  # a name given is data: never translated
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "使用 Keycloak 登录" in page


def test_local_accounts_switched_off_hide_the_form_refuse_passwords_and_end_local_sessions(
    client, settings, django_user_model, admin_user, sso_on
):
    local = django_user_model.objects.create_user("gina", password="a long local password")
    local.groups.add(Group.objects.get(name=Role.VIEWER))
    client.force_login(local, backend="costing.sso.LocalAccountBackend")
    assert client.get("/").status_code == 200
    settings.FINOPS_LOCAL_ACCOUNTS = False

    assert client.get("/")["Location"].startswith("/accounts/login/")  # the local session is over
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Test IdP" in page and 'name="password"' not in page
    refused = Client().post("/accounts/login/", {"username": "gina", "password": "a long local password"})
    assert refused.status_code == 403
    # The admin's own login form goes through the same backends.
    admin_client = Client()
    admin_client.post("/admin/login/", {"username": "root", "password": "correct horse battery"})
    assert not signed_in_user(admin_client).is_authenticated
    settings.FINOPS_LOCAL_ACCOUNTS = True
    admin_client.post("/admin/login/", {"username": "root", "password": "correct horse battery"})
    assert signed_in_user(admin_client).username == "root"


def test_without_sso_settings_there_is_no_button_and_no_sso_url(client, settings):
    settings.OIDC_ISSUER = ""
    settings.OIDC_RP_CLIENT_ID = ""
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404


def test_a_provider_that_calls_itself_by_another_issuer_is_refused(client, settings, sso_on, caplog):
    settings.OIDC_ISSUER = sso_on.issuer.replace("127.0.0.1", "localhost")
    answer = client.get("/oidc/authenticate/")
    assert answer.status_code == 302 and answer["Location"] == "/accounts/login/?sso=failed"
    assert "but the provider calls itself" in caplog.text


def test_a_wrong_client_secret_fails_the_sign_in_without_logging_the_secret(client, settings, sso_on, caplog):
    settings.OIDC_RP_CLIENT_SECRET = "not-the-secret-at-all"
    sso_on.user("hugo", "finops-admins")
    answer = sign_in(client, sso_on, "hugo")
    assert answer["Location"] == "/accounts/login/?sso=failed"
    assert "_auth_user_id" not in client.session
    assert "answered HTTP 400" in caplog.text and "/openid/token" in caplog.text
    assert "not-the-secret-at-all" not in caplog.text


def test_an_unreachable_provider_sends_the_user_back_to_the_login_page(client, settings, caplog):
    from tests.oidc_provider.server import free_port

    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}/openid"  # nothing listens there
    settings.OIDC_RP_CLIENT_ID = "finops"
    sso.discovery.cache_clear()
    answer = client.get("/oidc/authenticate/")
    assert answer["Location"] == "/accounts/login/?sso=failed"
    assert "talking to the provider failed (ConnectionError)" in caplog.text


@pytest.mark.parametrize(
    ("groups", "roles", "departments"),
    [
        ([], set(), set()),
        (["finops-admins"], {Role.ADMIN}, set()),
        (["/finops-admins"], {Role.ADMIN}, set()),  # Keycloak's "full group path"
        (["FINOPS-ADMINS"], set(), set()),  # group names are case-sensitive
        (["search-eu", "search-us", "dept-payments"], {Role.DEPARTMENT_VIEWER}, {"Search", "Payments"}),
        (["search-"], {Role.DEPARTMENT_VIEWER}, {"Search"}),
    ],
)
def test_rules_map_groups_and_patterns(settings, rules, groups, roles, departments):
    settings.OIDC_GROUPS_CLAIM = "groups"
    got_roles, got_departments = sso.roles_for_groups(sso.groups_of({"groups": groups}))
    assert got_roles == roles
    assert {d.name for d in got_departments} == departments


def test_a_groups_claim_that_is_not_a_list_of_names_gives_no_groups(settings):
    settings.OIDC_GROUPS_CLAIM = "roles"
    assert sso.groups_of({"roles": "finops-admins"}) == ["finops-admins"]
    assert sso.groups_of({"roles": {"finops-admins": True}}) == []
    assert sso.groups_of({"groups": ["finops-admins"]}) == []


@pytest.fixture
def sso_scenario_server(live_server, monkeypatch, settings, sso_on):
    """The costing scenario of the report tests behind a live server, with the rules of `rules`."""
    from costing.compute import recompute_day
    from tests.costing import scenario
    from tests.reports import views_fixtures

    monkeypatch.setattr("reports.views_common.today", lambda: views_fixtures.TODAY)
    settings.FINOPS_HOURLY_RETENTION_DAYS = 100_000
    scenario.build()
    recompute_day(views_fixtures.DAY)
    recompute_day(views_fixtures.NEXT)
    payments = Department.objects.get_or_create(name="Payments")[0]
    SsoGroupRule.objects.create(group="dept-payments", role=Role.DEPARTMENT_VIEWER, department=payments)
    sso_on.client(CALLBACK, f"{live_server.url}/oidc/callback/")
    sso_on.user("pat", "dept-payments")
    return live_server.url


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_department_viewer_signs_in_through_the_provider_in_a_browser(sso_scenario_server, monkeypatch):
    from pathlib import Path

    from tests.reports.test_browser import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip("no /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    base = sso_scenario_server
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{base}/?period=2025-03-10")
            assert "/accounts/login/" in page.url
            page.get_by_role("button", name="Sign in with Test IdP").click()
            page.wait_for_url("http://127.0.0.1:*/accounts/login/**")  # the provider's own form
            page.get_by_label("Provider user").fill("pat")
            page.get_by_label("Provider password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in to the provider").click()
            page.wait_for_url(f"{base}/?period=2025-03-10")
            main = page.inner_text("main")
        finally:
            browser.close()
    # The overview of a department viewer: what Payments pays on the 10th (direct 10.50 + shared 2.65
    # + idle 12.25 + overhead 1.80), and nothing of the cluster's 32.92.
    assert "What your departments pay" in main or "What Payments pays" in main
    assert "27.20 EUR" in main and "32.92" not in main


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_chinese_browser_signs_in_and_lands_on_the_overview_in_chinese(sso_scenario_server, monkeypatch):
    """The same sign-in with a browser asking for zh-CN: the login page, the overview's headings and its
    amounts are Chinese (docs/i18n.md)."""
    from pathlib import Path

    from tests.reports.test_browser import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip("no /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
    base = sso_scenario_server
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(
                locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"}
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{base}/?period=2025-03-10")
            assert "/accounts/login/" in page.url
            assert page.inner_text("h1") == "登录"
            page.get_by_role("button", name="使用 Test IdP 登录").click()
            page.wait_for_url("http://127.0.0.1:*/accounts/login/**")  # the provider's own form
            page.get_by_label("Provider user").fill("pat")
            page.get_by_label("Provider password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in to the provider").click()
            page.wait_for_url(f"{base}/?period=2025-03-10")
            lang = page.get_attribute("html", "lang")
            heading = page.inner_text("h1")
            figures = page.locator("section.figures h2").all_inner_texts()
            nav = page.inner_text("nav[aria-label='主导航']")
            main = page.inner_text("main")
        finally:
            browser.close()
    assert lang == "zh-hans" and heading == "总览"
    assert {"闲置成本", "公共开销", "共享命名空间", "利用率", "覆盖率"} <= set(figures)
    assert "部门" in nav and "命名空间" in nav and "预算" in nav and "优化建议" in nav
    # Payments' 27.20 written the Chinese way (currency symbol first), its idle share without " %".
    assert "您的部门支付的费用" in main or "Payments 支付的费用" in main
    assert "€27.20" in main and "27.20 EUR" not in main and "32.92" not in main
    assert "2025-03-10 (星期一)" in main


def test_a_rule_names_a_department_exactly_when_its_role_is_department_viewer(rules):
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    payments, _ = rules
    for rule, message in (
        (SsoGroupRule(group="x", role=Role.DEPARTMENT_VIEWER), "needs the department"),
        (SsoGroupRule(group="x", role=Role.VIEWER, department=payments), "Only a Department viewer"),
    ):
        with pytest.raises(ValidationError, match=message):
            rule.full_clean()
        with pytest.raises(IntegrityError), transaction.atomic():
            rule.save()
    assert SsoGroupRule.objects.count() == 3


def test_the_endpoints_can_be_given_instead_of_the_issuer(client, settings, sso_on, rules):
    settings.OIDC_ISSUER = ""
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{sso_on.issuer}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{sso_on.issuer}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{sso_on.issuer}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{sso_on.issuer}/jwks"
    sso_on.user("ivy", "finops-admins")

    answer = sign_in(client, sso_on, "ivy")

    assert answer["Location"] == "/"
    assert access.is_admin(signed_in_user(client))
    assert sso.discovery.cache_info().currsize == 0  # nothing was discovered
