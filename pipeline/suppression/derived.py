"""Derived cells and published text: percentages and rates (rule 5), means and medians (rule 6), the symbols
(rule 8)."""

import math
import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from pipeline.suppression.rules import DEFAULT_RULES, LOW, SUPPRESSED, SYMBOLS, UNAVAILABLE, SuppressionRules


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _formatted(value: float | Decimal, dp: int) -> str:
    """At dp decimal places, halves rounded up (as the report rounds), `low` for non-zero that rounds to zero."""
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-dp), rounding=ROUND_HALF_UP)
    if value != 0 and rounded == 0:
        return LOW  # a non-zero figure that rounds to zero
    return f"{rounded:.{dp}f}"


decimal_text = _formatted  # a published figure at dp places


def rate_text(numerator: int | float, denominator: int | float, per: float = 100.0, dp: int = 1) -> str:
    """numerator / denominator x per, exactly (decimal arithmetic), as text at dp places."""
    return _formatted(Decimal(str(numerator)) * Decimal(str(per)) / Decimal(str(denominator)), dp)


def suppress_rate(
    numerator: int | None,
    denominator: int | None,
    *,
    numerator_suppressed: bool,
    denominator_suppressed: bool = False,
    rules: SuppressionRules = DEFAULT_RULES,
    per: float = 100.0,
    dp: int = 1,
) -> str:
    """A percentage (``per=100``) or rate (``per=1000`` ...) as published text (rule 5).

    ``c`` when the numerator is suppressed (by any rule: primary, secondary or carried forward), or when the
    denominator is below ``rules.rate_min_denominator`` children. Also ``c`` when the denominator is suppressed:
    with a published numerator the rate would give the denominator back (a stricter reading of rule 5).
    ``x`` when either figure is unavailable, ``low`` when a non-zero rate rounds to zero, else the rate at ``dp``
    decimal places.
    """
    if _missing(numerator) or _missing(denominator):
        return UNAVAILABLE
    if numerator < 0 or denominator < 0:
        raise ValueError("a count of children cannot be negative")
    if numerator_suppressed or denominator_suppressed or denominator < rules.rate_min_denominator:
        return SUPPRESSED
    return rate_text(numerator, denominator, per, dp)


def suppress_average(
    value: float | None, n: int | None, *, rules: SuppressionRules = DEFAULT_RULES, dp: int = 1
) -> str:
    """A mean or median (e.g. weeks to issue a plan) as published text (rule 6): ``c`` when it is based on fewer
    than ``rules.average_min_n`` children, ``x`` when unavailable, else the value at ``dp`` decimal places."""
    if _missing(value) or _missing(n):
        return UNAVAILABLE
    if n < 0:
        raise ValueError("a count of children cannot be negative")
    if n < rules.average_min_n:
        return SUPPRESSED
    return _formatted(float(value), dp)


def is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text)) and text.strip() == text and text != ""
    except ValueError:
        return False


def bad_published_values(
    values: Iterable[object], *, counts: bool = True, rules: SuppressionRules = DEFAULT_RULES
) -> list[int]:
    """Positions (0-based) of published values that break rule 8 — not text, blank, NaN, or neither a number nor
    one of ``c x z low`` — and, for a count column (``counts=True``), rule 2: a count from 1 to
    ``rules.max_suppressed_count`` shown as a number, or a count that is not a whole number of at least 0.
    Returns positions only, never the values, so a failing check cannot leak the count it caught."""
    return [position for position, value in enumerate(values) if not _allowed(value, counts, rules)]


def _allowed(value: object, counts: bool, rules: SuppressionRules) -> bool:
    if not isinstance(value, str):
        return False
    if value in SYMBOLS:
        return True
    if not counts:
        return is_number(value)
    return re.fullmatch(r"0|[1-9][0-9]*", value) is not None and not 0 < int(value) <= rules.max_suppressed_count
