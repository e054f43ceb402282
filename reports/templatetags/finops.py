"""Template helpers of the pages: money in the organisation's currency, deltas, shares, links that keep the state."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import get_language, gettext

from costing.money import round_cents

register = template.Library()
_amount = round_cents
# Chinese writes the currency's symbol before the amount (€1,234.50, ¥1,234.50), as Huawei Cloud's console
# and CLDR do; a currency without a symbol here keeps its code. English keeps "1,234.50 EUR".
CURRENCY_SYMBOLS_ZH = {
    "CNY": "¥",
    "RMB": "¥",
    "EUR": "€",
    "USD": "US$",
    "GBP": "£",
    "JPY": "JP¥",
    "HKD": "HK$",
}


def _chinese() -> bool:
    return (get_language() or "").startswith("zh")


def number(value, places: int = 2) -> str:
    """A number with `places` decimals and the thousand separators of the page's language: 1,234.50.

    Rounded by Python's format first: Django's number_format cuts a float's extra decimals off."""
    return number_format(f"{value:.{places}f}", decimal_pos=places, use_l10n=True, force_grouping=True)


@register.filter
def money(value) -> str:
    """1234.5 -> "1,234.50 EUR" (Chinese: "€1,234.50"), rounded half up to the cent; pages round rows by
    largest remainder first."""
    amount = _amount(value)
    text = number(abs(amount))
    sign = "−" if amount < 0 else ""
    currency = settings.FINOPS_CURRENCY
    if _chinese():
        symbol = CURRENCY_SYMBOLS_ZH.get(currency.upper())
        return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"
    return f"{sign}{text} {currency}"


@register.filter
def plain_money(value) -> str:
    """The amount alone, for table cells whose column header names the currency."""
    amount = _amount(value)
    return ("−" if amount < 0 else "") + number(abs(amount))


@register.filter
def pct(value, digits: int = 1) -> str:
    """A share 0..1 as a percentage ("12.5 %"; Chinese "12.5%"); an empty value as a dash."""
    if value is None or value == "":
        return "–"
    return percent(float(value) * 100, int(digits))


def percent(value: float, digits: int = 1) -> str:
    """A number already in percent: "5.2 %" (Chinese "5.2%")."""
    text = number(value, digits)
    return f"{text}%" if _chinese() else f"{text} %"


@register.filter
def ratio(part, whole) -> float | None:
    """part / whole, or None when the whole is zero."""
    try:
        return float(part) / float(whole) if whole else None
    except (TypeError, ValueError):
        return None


@register.filter
def hours(value) -> str:
    return number(float(value or 0))


@register.simple_tag(takes_context=True)
def show_delta(context, change: dict | None, versus: bool = False):
    """The change from the previous period, in words a screen reader says too: "+12.30 EUR (+5.2 %)".

    No percentage when the previous period is not like for like (the page's state says so). `versus`
    (a page's headline) names what it is compared with: "vs 2026-10-01 - 2026-10-29, the same 29 days of
    October 2026" while the period is running."""
    if not change:
        return ""
    state = context.get("state")
    if state is not None and not state.like_for_like:
        change = {**change, "pct": None}
    against = state.previous_label if state is not None else gettext("the previous period")
    if state is not None and not change["previous"] and not state.previous_coverage.collected_days:
        # Nothing was collected then: a change "from zero" would read as growth that never happened.
        words = gettext("no comparison: nothing was collected in %(period)s") % {"period": against}
        if versus:
            return format_html('<span class="delta none">{}</span>', words)
        return format_html(
            '<span class="delta none" title="{}">–<span class="sr"> {}</span></span>', words, words
        )
    suffix = (
        format_html(' <span class="muted versus">{}</span>', gettext("vs %(period)s") % {"period": against})
        if versus and state
        else ""
    )
    diff = _amount(change["diff"])
    if diff == 0:
        return format_html('<span class="delta same">{}</span>{}', gettext("no change"), suffix)
    direction = "up" if diff > 0 else "down"
    sign = "+" if diff > 0 else "−"
    pct_text = "" if change["pct"] is None else f" ({sign}{percent(abs(change['pct']))})"
    return format_html(
        '<span class="delta {}" title="{}: {}">{}{}{}<span class="sr"> {}</span></span>{}',
        direction,
        against,
        money(change["previous"]),
        sign,
        number(abs(diff)),
        pct_text,
        gettext("up from the previous period") if diff > 0 else gettext("down from the previous period"),
        suffix,
    )


@register.simple_tag
def nav_access(user) -> dict:
    """Which pages of the nav `user` may open, so that the nav shows only those (costing.access decides)."""
    from costing import access

    if not user.is_authenticated or not access.has_any_role(user):
        return {"pages": False, "everything": False, "bills": False, "admin": False}
    everything = access.sees_everything(user)
    # Bills are organisation-wide figures: the same readers as the whole clusters (reports.views_bills).
    return {"pages": True, "everything": everything, "bills": everything, "admin": access.is_admin(user)}


@register.simple_tag(takes_context=True)
def link(context, name: str, *args, **changes) -> str:
    """URL of page `name` (with args) carrying the current state (period, cluster, department).

    Keyword arguments change a parameter for this link (cluster=None drops it, key="team" adds one).
    """
    state = context.get("state")
    extra = {k: v for k, v in changes.items() if k not in ("period", "cluster", "department")}
    query = (
        state.query(**{k: v for k, v in changes.items() if k in ("period", "cluster", "department")})
        if state
        else ""
    )
    if extra:
        from urllib.parse import urlencode

        query = "&".join(
            q for q in (query, urlencode({k: v for k, v in extra.items() if v is not None})) if q
        )
    url = reverse(name, args=args)
    return f"{url}?{query}" if query else url
