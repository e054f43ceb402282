"""Exchange rates for bills in a foreign currency: dated rates from the database, the environment as fallback."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Rate:
    """One unit of `source` is `rate` units of `target`; valid_from None: the environment's undated rate."""

    source: str
    target: str
    rate: Decimal
    valid_from: date | None = None

    def __str__(self) -> str:
        since = f" from {self.valid_from.isoformat()}" if self.valid_from else " (FINOPS_EXCHANGE_RATES)"
        return f"{self.source}:{self.target}={format(self.rate.normalize(), 'f')}{since}"


@dataclass
class RateTable:
    """The rates into one currency. A line's rate is the one in force on the start date (UTC) of its charge
    period: the database rate with the latest valid_from on or before that day; failing that, the
    environment's undated rate (FINOPS_EXCHANGE_RATES)."""

    target: str
    dated: dict[str, list[tuple[date, Decimal]]] = field(default_factory=dict)
    fallback: dict[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.target = self.target.upper()
        self.dated = {k.upper(): sorted(v) for k, v in self.dated.items()}
        self.fallback = {k.upper(): Decimal(v) for k, v in self.fallback.items()}

    @classmethod
    def of(cls, target: str, rates: RateTable | Mapping[str, Decimal] | None) -> RateTable:
        """A table as given, or built from undated rates {currency: rate}."""
        if isinstance(rates, RateTable):
            return rates
        return cls(target.upper(), fallback=dict(rates or {}))

    def rate(self, source: str, day: date) -> Rate | None:
        history = self.dated.get(source, [])
        index = bisect_right(history, (day, Decimal("Infinity")))
        if index:
            valid_from, rate = history[index - 1]
            return Rate(source, self.target, rate, valid_from)
        if source in self.fallback:
            return Rate(source, self.target, self.fallback[source])
        return None

    def how_to_add(self, source: str, day: date) -> str:
        """What the reader of a refusal does about it."""
        return (
            f"add a rate {source} to {self.target} valid from {day.isoformat()} or earlier: in the admin "
            f"(Exchange rates), with POST /api/v1/exchange-rates/, or as FINOPS_EXCHANGE_RATES="
            f"{source}:{self.target}=RATE (undated, used when no dated rate applies); then upload the bill again"
        )


def rates_into(target: str) -> RateTable:
    """The database's rates into `target`, with the environment's (settings.FINOPS_EXCHANGE_RATES) as fallback."""
    from django.conf import settings

    from costing.models import ExchangeRate

    target = target.upper()
    dated: dict[str, list[tuple[date, Decimal]]] = {}
    for source, valid_from, rate in ExchangeRate.objects.filter(to_currency=target).values_list(
        "from_currency", "valid_from", "rate"
    ):
        dated.setdefault(source, []).append((valid_from, rate))
    fallback = {s: r for (s, t), r in settings.FINOPS_EXCHANGE_RATES.items() if t == target}
    return RateTable(target, dated, fallback)
