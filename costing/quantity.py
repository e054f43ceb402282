"""Exact, strict parsing of Kubernetes resource quantities ("100m", "1.5Gi", "129e6") into Decimal."""

from __future__ import annotations

import math
import re
from decimal import Decimal, Inexact, InvalidOperation, localcontext
from functools import lru_cache

__all__ = ["BINARY_SUFFIXES", "DECIMAL_SUFFIXES", "QuantityError", "parse_quantity"]

# Multipliers as exponents so that scaling never goes through a rounding context.
DECIMAL_SUFFIXES: dict[str, int] = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
BINARY_SUFFIXES: dict[str, int] = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}

# The grammar of k8s.io/apimachinery/pkg/api/resource (quantity.go): a signed number with at least one
# digit, then one suffix. Like the Go parser (and unlike the looser OpenAPI pattern) an exponent is an
# integer. ASCII digits only; fullmatch so that a trailing newline is not silently accepted.
_QUANTITY = re.compile(
    r"(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?"
    r"(?:[eE](?P<exp>[+-]?[0-9]+)|(?P<bin>[KMGTPE]i)|(?P<dec>[numkMGTPE]))?",
    re.ASCII,
)
# Bounds on a decimal exponent: far beyond any real quantity, small enough that Decimal stays cheap.
_MAX_EXPONENT = 10_000


class QuantityError(ValueError):
    """A value that is not a Kubernetes quantity; the message names the field and the value."""

    def __init__(self, value: object, what: str = "", reason: str = "not a Kubernetes quantity"):
        self.value = value
        self.what = what
        self.reason = reason
        where = f"{what}: " if what else ""
        super().__init__(f"{where}{reason}: {value!r}")


def parse_quantity(value: str | int | float, *, what: str = "") -> Decimal:
    """The exact value of a Kubernetes quantity: "100m" -> Decimal("0.1"), "1Ki" -> Decimal(1024).

    Unlike the Go parser this does not round up to nano units nor cap at 2^63-1: it is exact.
    `what` names the field in the error, e.g. "pod default/web-1 container app resources.requests.cpu".
    """
    if isinstance(value, bool):  # bool is an int; True is never a quantity
        raise QuantityError(value, what, "not a Kubernetes quantity (a boolean)")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(value, what, "not a finite number")
        # repr is the shortest decimal that round-trips: what the JSON document said, not the binary float.
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise QuantityError(value, what, f"not a Kubernetes quantity (a {type(value).__name__})")
    try:
        return _parse_string(value)
    except _Bad as bad:
        raise QuantityError(value, what, bad.reason) from None


class _Bad(Exception):
    def __init__(self, reason: str):
        self.reason = reason


@lru_cache(maxsize=4096)
def _parse_string(text: str) -> Decimal:
    # Cached: a cluster repeats the same few dozen quantities ("100m", "128Mi") thousands of times.
    # Decimal is immutable, so sharing a result is safe; failures raise and are not cached.
    if not text:
        raise _Bad("empty quantity")
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise _Bad("not a Kubernetes quantity")
    sign, int_digits, frac, exp, binary, decimal_suffix = match.group(
        "sign", "int", "frac", "exp", "bin", "dec"
    )
    frac = frac or ""
    if not int_digits and not frac:
        raise _Bad("no digits in quantity")
    digits = (int_digits or "0") + frac
    if exp is not None:
        exponent = int(exp)
        if abs(exponent) > _MAX_EXPONENT:
            raise _Bad("exponent out of range")
    elif binary is not None:
        exponent = 0
    else:
        exponent = DECIMAL_SUFFIXES[decimal_suffix or ""]
    # Built from its digits and exponent, the Decimal is exact: no context rounding is involved.
    number = Decimal(f"{sign}{digits}E{exponent - len(frac)}")
    if binary is None:
        return number
    with localcontext() as ctx:
        # 2^60 has 19 digits: this precision holds every product exactly; Inexact would say otherwise.
        ctx.prec = len(digits) + 20
        ctx.traps[Inexact] = True
        try:
            return number * (1 << BINARY_SUFFIXES[binary])
        except (Inexact, InvalidOperation):  # pragma: no cover - the precision above rules it out
            raise _Bad("quantity too precise to scale exactly") from None
