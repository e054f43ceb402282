"""Tests of costing.quantity: exact and strict Kubernetes quantity parsing."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kubernetes.utils import parse_quantity as client_parse_quantity

from costing.quantity import QuantityError, parse_quantity

# Written out independently of the module's tables.
DECIMAL_MULTIPLIER = {
    "n": Fraction(1, 1_000_000_000),
    "u": Fraction(1, 1_000_000),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(1000),
    "M": Fraction(1_000_000),
    "G": Fraction(1_000_000_000),
    "T": Fraction(1_000_000_000_000),
    "P": Fraction(1_000_000_000_000_000),
    "E": Fraction(1_000_000_000_000_000_000),
}
BINARY_MULTIPLIER = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4, "Pi": 1024**5, "Ei": 1024**6}

digits = st.text("0123456789", min_size=0, max_size=12)
signs = st.sampled_from(["", "+", "-"])


@st.composite
def mantissas(draw):
    """(text, exact value) of a signed decimal number in any form Kubernetes accepts: 12, 1.5, 1., .5."""
    sign = draw(signs)
    whole = draw(digits)
    has_point = draw(st.booleans())
    frac = draw(digits) if has_point else ""
    if not whole and not frac:
        whole = "0"
    text = sign + whole + ("." + frac if has_point else "")
    value = Fraction(int(whole or "0")) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)
    return text, -value if sign == "-" else value


settings_ = settings(max_examples=200, deadline=None)


@settings_
@given(mantissas(), st.sampled_from(sorted(DECIMAL_MULTIPLIER)))
def test_decimal_suffix_is_exact(mantissa, suffix):
    text, value = mantissa
    assert Fraction(parse_quantity(text + suffix)) == value * DECIMAL_MULTIPLIER[suffix]


@settings_
@given(mantissas(), st.sampled_from(sorted(BINARY_MULTIPLIER)))
def test_binary_suffix_is_exact(mantissa, suffix):
    text, value = mantissa
    assert Fraction(parse_quantity(text + suffix)) == value * BINARY_MULTIPLIER[suffix]


@settings_
@given(mantissas(), st.sampled_from(["e", "E"]), signs, st.integers(min_value=0, max_value=40))
def test_decimal_exponent_is_exact(mantissa, letter, exp_sign, exponent):
    text, value = mantissa
    power = Fraction(10) ** (-exponent if exp_sign == "-" else exponent)
    assert Fraction(parse_quantity(f"{text}{letter}{exp_sign}{exponent}")) == value * power


@settings_
@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_integers_as_text_and_as_int(n):
    assert parse_quantity(str(n)) == n
    assert parse_quantity(n) == n


@settings_
@given(st.text("0123456789.+-eEnumkKMGTPi ", max_size=8))
def test_agrees_with_the_client_library_whenever_it_accepts(text):
    """Whatever we accept, the official client parses to the same number (it is looser, not stricter)."""
    try:
        ours = parse_quantity(text)
    except QuantityError:
        return
    assert Decimal(client_parse_quantity(text)) == ours


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", Fraction(0)),
        ("100m", Fraction(1, 10)),
        ("1.5Gi", Fraction(3 * 2**29)),
        ("1e3", Fraction(1000)),
        ("1E-3", Fraction(1, 1000)),
        ("12e+6", Fraction(12_000_000)),
        ("128974848", Fraction(128974848)),
        ("129e6", Fraction(129_000_000)),
        ("123Mi", Fraction(123 * 1048576)),
        ("250u", Fraction(1, 4000)),
        ("500n", Fraction(1, 2_000_000)),
        ("1.", Fraction(1)),
        (".5", Fraction(1, 2)),
        ("-2k", Fraction(-2000)),
        ("+4", Fraction(4)),
        ("1E", Fraction(10**18)),  # a bare E is exa, not an exponent
        ("1Ei", Fraction(2**60)),
        ("16393216Ki", Fraction(16393216 * 1024)),
        ("0.000000001", Fraction(1, 10**9)),
        ("1.000000000000000000000000000000001Ei", Fraction(10**33 + 1, 10**33) * 2**60),
    ],
)
def test_known_values(text, expected):
    assert Fraction(parse_quantity(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        *["1.2.3", "5Q", "", "Mi", "1 Gi", " 1", "1\n", ".", "+", "-", "1e", "1e1.5", "1K", "1mi", "1Ki3"],
        "1kk",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: a digit to str.isdigit, not to Kubernetes
    ],
)
def test_rejects_what_kubernetes_rejects(text):
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_error_names_the_field_and_the_value():
    what = "pod default/web-1 container app resources.requests.cpu"
    with pytest.raises(QuantityError) as caught:
        parse_quantity("1.2.3", what=what)
    assert what in str(caught.value)
    assert "'1.2.3'" in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("value", [True, None, float("nan"), float("inf"), [1]])
def test_rejects_non_quantities(value):
    with pytest.raises(QuantityError):
        parse_quantity(value)


def test_float_is_taken_as_its_shortest_decimal():
    assert parse_quantity(0.1) == Decimal("0.1")
