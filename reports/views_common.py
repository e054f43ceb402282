"""What every page shares: the state in the URL (period, cluster, department), role checks, error pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, wraps
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext

from costing import access
from costing.choices import UNALLOCATED
from costing.models import Cluster, Department, DepartmentCostDay
from reports import charts
from reports.periods import (
    Period,
    PeriodError,
    check_in_history,
    compared_label,
    compared_period,
    current_period,
    earliest_start,
    parse_period,
)
from reports.queries.common import QueryError
from reports.queries.coverage import Coverage, comparable, comparison_note, coverages, moment
from reports.queries.explain import NotFound

STATE_PARAMS = ("period", "cluster", "department")
# Node-hours are listed on a pod's page for periods up to this long (a month of hours is ~750 rows).
HOURLY_DETAIL_MAX_DAYS = 31


class BadRequest(ValueError):
    """A parameter of the URL that cannot be read: shown as a 400 page that says which and why."""


def now() -> datetime:
    return timezone.now()


def today() -> date:
    return now().date()


def _moment(day: date) -> datetime:
    return moment(day, now())


@dataclass
class PageState:
    """What the URL asks for, checked: the period, its predecessor, the filters and what the user may see."""

    period: Period
    cluster: str | None
    cluster_id: int | None
    department: str | None
    granted: frozenset[str] | None  # None: the user sees every department
    clusters: list[tuple[int, str]] = field(default_factory=list)
    department_choices: list[str] = field(default_factory=list)
    now: datetime | None = None

    @cached_property
    def _coverages(self) -> list[Coverage]:
        ids = [self.cluster_id] if self.cluster_id is not None else [pk for pk, _ in self.clusters]
        return coverages([self.period, self.previous], ids, self.now or _moment(today()))

    @property
    def coverage(self) -> Coverage:
        """How much of the period was collected over the clusters in scope, and how much waits for a recompute."""
        return self._coverages[0]

    @property
    def previous_coverage(self) -> Coverage:
        return self._coverages[1]

    @property
    def like_for_like(self) -> bool:
        """Whether a percentage change from the previous period compares like with like."""
        return comparable(self.coverage, self.previous_coverage)

    @property
    def comparison_note(self) -> str:
        """Why the changes have no percentage ("October 2026: 2 of 31 days collected, ..."); empty if they do."""
        return comparison_note(self.coverage, self.previous_coverage)

    def change(self, current, previous) -> dict:
        """delta() from the previous period, without its percentage when that period is incomplete."""
        return delta(current, previous, like_for_like=self.like_for_like)

    @cached_property
    def previous(self) -> Period:
        """The span every change on the page is from: the previous period, or while the period is running,
        the same elapsed span of it (reports.periods.compared_period). The picker's "previous" link is the
        whole previous period, self.period.previous()."""
        return compared_period(self.period, (self.now or _moment(today())).date())

    @property
    def previous_label(self) -> str:
        """ "October 2026", or "2026-10-01 - 2026-10-29, the same 29 days of October 2026"."""
        return compared_label(self.period, self.previous)

    @property
    def departments(self) -> frozenset[str] | None:
        """The departments whose rows a query may read: the filter, within what the user is granted."""
        if self.department is not None:
            return frozenset([self.department])
        return self.granted

    @property
    def restricted(self) -> bool:
        """A department viewer: sees departments' shares, never whole clusters."""
        return self.granted is not None

    def query(self, **changes) -> str:
        """The URL query of this state with some parameters changed (None removes one)."""
        values = {"period": self.period.key, "cluster": self.cluster, "department": self.department}
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def read_state(request) -> PageState:
    """Parse ?period=&cluster=&department= (all optional) or raise BadRequest / PermissionDenied."""
    now = today()
    text = request.GET.get("period", "").strip()
    try:
        period = parse_period(text) if text else current_period("month", now)
        check_in_history(period, now)
    except PeriodError as exc:
        raise BadRequest(gettext("period: %(exc)s") % {"exc": exc}) from None

    granted = access.granted_departments(request.user)
    clusters = list(Cluster.objects.order_by("name").values_list("pk", "name"))
    cluster = request.GET.get("cluster", "").strip() or None
    cluster_id = None
    if cluster is not None:
        cluster_id = next((pk for pk, name in clusters if name == cluster), None)
        if cluster_id is None:
            raise BadRequest(gettext("cluster: there is no cluster named %(cluster)r") % {"cluster": cluster})

    if granted is None:
        choices = sorted({*Department.objects.values_list("name", flat=True), UNALLOCATED})
    else:
        choices = sorted(granted)
    department = request.GET.get("department", "").strip() or None
    if department is not None:
        if not access.may_see_department(request.user, department):
            raise PermissionDenied(
                gettext("department %(department)r is not one of yours") % {"department": department}
            )
        if department not in choices and not DepartmentCostDay.objects.filter(name=department).exists():
            raise BadRequest(
                gettext("department: no department is named %(department)r") % {"department": department}
            )
    return PageState(period, cluster, cluster_id, department, granted, clusters, choices, _moment(now))


def _problem(request, status: int, title: str, message: str, **extra):
    return render(
        request,
        "reports/problem.html",
        {"status": status, "title": title, "message": message, **extra},
        status=status,
    )


def refusal(request, message: str = ""):
    """The 403 page of a refusal, with the nav: what the user asked for is outside what they may see."""
    return _problem(
        request,
        403,
        gettext("Not yours to see"),
        message or gettext("This page is outside what you may see."),
    )


def page(*, everything: bool = False):
    """Decorator of a page view: role check, state parsing, and friendly 400/403/404 pages.

    A signed-in user with no role gets a 403 page that says so; `everything=True` pages (cluster
    internals, data quality) are refused to department viewers. The view is called as
    view(request, state, *args, **kwargs).
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not access.has_any_role(request.user):
                return _problem(
                    request,
                    403,
                    gettext("No role yet"),
                    gettext(
                        "You are signed in, but no role has been given to you, so there is nothing to show. "
                        "Ask a FinOps admin to make you a viewer, or a department viewer of your department."
                    ),
                )
            if "from" in request.GET or "to" in request.GET:
                return _custom_range_redirect(request)
            try:
                if everything and not access.sees_everything(request.user):
                    raise PermissionDenied(
                        gettext(
                            "This page shows whole clusters; as a department viewer you see your "
                            "departments' share of them on the Clusters and Departments pages."
                        )
                    )
                state = read_state(request)
                return view(request, state, *args, **kwargs)
            except BadRequest as exc:
                return _problem(request, 400, gettext("That page cannot be shown"), str(exc))
            except QueryError as exc:
                return _problem(request, 400, gettext("That page cannot be shown"), str(exc))
            except PermissionDenied as exc:
                return refusal(request, str(exc))
            except (Http404, NotFound) as exc:
                return _problem(
                    request,
                    404,
                    gettext("Not found"),
                    str(exc) or gettext("There is nothing at this address."),
                )

        return wrapped

    return decorator


def _custom_range_redirect(request):
    """The picker's custom range (from, to inclusive) becomes the canonical ?period=START..END (exclusive)."""
    params = request.GET.copy()
    first, last = params.pop("from", [""])[0].strip(), params.pop("to", [""])[0].strip()
    try:
        start, stop = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        return _problem(
            request,
            400,
            gettext("That page cannot be shown"),
            gettext("period: from %(first)r and to %(last)r must be dates") % {"first": first, "last": last},
        )
    if stop < start:
        return _problem(
            request,
            400,
            gettext("That page cannot be shown"),
            gettext("period: to %(stop)s is before from %(start)s") % {"stop": stop, "start": start},
        )
    params["period"] = f"{start.isoformat()}..{(stop + timedelta(days=1)).isoformat()}"
    params = {k: v for k, v in params.items() if v}
    return HttpResponseRedirect(f"{request.path}?{urlencode(params)}")


def base_context(request, state: PageState, **context) -> dict:
    """Context every page template reads: the state, its links, the picker's suggestions, the currency."""
    now = today()
    period = state.period
    next_period = period.next()
    return {
        "state": state,
        "currency": settings.FINOPS_CURRENCY,
        "picker": {
            "earliest": earliest_start(now).isoformat(),
            "today": now.isoformat(),
            "previous": state.query(period=period.previous().key)
            if period.previous().start >= earliest_start(now)
            else None,
            "previous_label": period.previous().label,
            "next": state.query(period=next_period.key) if next_period.start <= now else None,
            "quick": [(label, key, state.query(period=key)) for label, key in _quick(now)],
        },
        "bars": _bars(request, state),
        **context,
    }


def forecast_context(context: dict, forecast: dict | None) -> dict:
    """`forecast` (reports.queries.forecasts.period_forecast) and its chart for templates/reports/_forecast.html."""
    if forecast is None:
        return {"forecast": None}
    chart = charts.forecast_line(forecast["days"], currency=context["currency"], budget=forecast["budget"])
    return {"forecast": forecast, "forecast_chart": chart}


def daily_chart(context: dict, rows: list[dict], *, key: str, value: str, colours: dict | None = None) -> str:
    """charts.daily_by over the page's period, by day or by month as the period reads (_bars)."""
    return charts.daily_by(
        rows,
        key=key,
        value=value,
        days=list(context["state"].period.each_day()),
        currency=context["currency"],
        colours=colours,
        monthly=context["bars"]["monthly"],
    )


# Periods longer than this read as months on the charts (a quarter has 90 to 92 days).
MONTHLY_AFTER_DAYS = 92


def _bars(request, state: PageState) -> dict:
    """Whether the period's charts show months or days, and the link that switches: a quarter, a year or a
    custom range over MONTHLY_AFTER_DAYS days reads as months; ?bars=days shows its days."""
    long = state.period.kind in ("quarter", "year") or state.period.days > MONTHLY_AFTER_DAYS
    monthly = long and request.GET.get("bars") != "days"
    switch = None
    if long:
        params = request.GET.copy()
        params.pop("bars", None)
        if monthly:
            params["bars"] = "days"
        switch = {
            "query": params.urlencode(),
            "label": gettext("Show days") if monthly else gettext("Show months"),
        }
    return {"monthly": monthly, "switch": switch}


def _quick(now: date) -> list[tuple[str, str]]:
    last_30 = f"{(now - timedelta(days=29)).isoformat()}..{(now + timedelta(days=1)).isoformat()}"
    return [
        (gettext("Today"), current_period("day", now).key),
        (gettext("This week"), current_period("week", now).key),
        (gettext("This month"), current_period("month", now).key),
        (gettext("Last month"), current_period("month", now).previous().key),
        (gettext("This quarter"), current_period("quarter", now).key),
        (gettext("This year"), current_period("year", now).key),
        (gettext("Last 30 days"), last_30),
    ]


def delta(current, previous, *, like_for_like: bool = True) -> dict:
    """Change from the previous period: the difference and the percentage (None when it was zero, or when
    the previous period is not like for like: incomplete or less covered)."""
    current = current or 0
    previous = previous or 0
    diff = current - previous
    pct = float(diff) / float(previous) * 100 if previous and like_for_like else None
    return {
        "current": current,
        "previous": previous,
        "diff": diff,
        "pct": pct,
        "like_for_like": like_for_like,
    }
