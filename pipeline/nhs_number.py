"""NHS number check digit (modulus 11): pure helpers, no I/O, and the same rule as SQL for the ingest.

An NHS number is 10 digits, usually written in groups of 3, 3 and 4 (``943 476 5919``). The 10th digit is a check
digit, as the NHS Data Dictionary ("NHS Number") defines it:

1. multiply each of the first nine digits by a weight: the 1st by 10, the 2nd by 9, ... the 9th by 2;
2. sum the products and take the remainder modulo 11;
3. the check digit is 11 minus the remainder; 11 becomes 0, and 10 means the nine digits have no valid check digit:
   no NHS number is issued with them.

Cross-checked against NHS England's published test number ``943 476 5919`` (9x10 + 4x9 + 3x8 + 4x7 + 7x6 + 6x5 +
5x4 + 9x3 + 1x2 = 299; 299 % 11 = 2; 11 - 2 = 9). Because 11 is prime and every weight is in 2..10, changing any
single digit, or swapping two adjacent different digits, always changes the remainder: a one-digit typo and a
transposition are always detected. Numbers beginning ``999`` are NHS England's test range, never issued to a
patient: the synthetic extracts use them.
"""

from __future__ import annotations

import re

import numpy as np

WEIGHTS = tuple(range(10, 1, -1))  # of digits 1..9
NHS_NUMBER_REGEX = "[0-9]{10}"  # after the spaces are taken out
_SPACES = re.compile(r"\s+")


def check_digit(nine_digits: str) -> int | None:
    """The check digit of the nine digits before it, or None when there is none (11 - remainder = 10).

    >>> check_digit("943476591")
    9
    """
    if len(nine_digits) != 9 or not nine_digits.isascii() or not nine_digits.isdigit():
        raise ValueError("expected nine digits")
    check = (11 - sum(w * int(d) for w, d in zip(WEIGHTS, nine_digits, strict=True)) % 11) % 11
    return None if check == 10 else check


def digits(value: object) -> str | None:
    """The 10 digits of an NHS number as an extract may write it (spaces allowed anywhere, ``485 777 3457``), or
    None when it is not 10 digits."""
    if not isinstance(value, str):
        return None
    compact = _SPACES.sub("", value)
    return compact if len(compact) == 10 and compact.isascii() and compact.isdigit() else None


def is_valid_nhs_number(value: object) -> bool:
    """True when ``value`` is 10 digits (spaces allowed) whose 10th is the check digit of the nine before it."""
    number = digits(value)
    return number is not None and check_digit(number[:9]) == int(number[9])


def spaced(number: str) -> str:
    """``9434765919`` as NHS England writes it: ``943 476 5919``."""
    return f"{number[:3]} {number[3:6]} {number[6:]}"


def make_nhs_numbers(bodies) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised: NHS numbers (int64) for nine-digit bodies (0..999,999,999), and whether each has one (a body
    whose check would be 10 has none: its number is -1). Print a number zero-padded to 10 digits."""
    body = np.asarray(bodies, dtype=np.int64).ravel()
    if body.size and (body.min() < 0 or body.max() > 999_999_999):
        raise ValueError("bodies out of range 0..999999999")
    total = np.zeros(body.shape, dtype=np.int64)
    for position, weight in enumerate(WEIGHTS):
        total += weight * ((body // 10 ** (8 - position)) % 10)
    check = (11 - total % 11) % 11
    valid = check != 10
    return np.where(valid, body * 10 + check, -1), valid


# ------------------------------------------------------------------------------------------------------------
# The same rule as SQL, for the ingest's contract rules (set-based in DuckDB).


def digits_sql(column: str) -> str:
    """SQL: the column with its spaces taken out (match it against NHS_NUMBER_REGEX before check_digit_sql)."""
    return rf"regexp_replace({column}, '\s+', '', 'g')"


def check_digit_sql(number: str) -> str:
    """SQL for the check digit (0..10, 10 = none valid) of a 10-digit text expression's first nine digits.

    The nine digits are read as one number and split by integer arithmetic, bound once as a lambda's parameter (as
    pipeline.upn.check_letter_sql does, so DuckDB parses the expression once).
    """
    weighted = " + ".join(f"((nhs_body // {10 ** (8 - i)}) % 10) * {w}" for i, w in enumerate(WEIGHTS))
    total = f"list_transform([TRY_CAST(substr({number}, 1, 9) AS BIGINT)], lambda nhs_body: {weighted})[1]"
    return f"((11 - ({total}) % 11) % 11)"


def invalid_check_digit_sql(column: str) -> str:
    """SQL, TRUE when the column is 10 digits (spaces allowed) whose 10th digit is not the check digit."""
    number = digits_sql(column)
    return (
        f"regexp_full_match({number}, '{NHS_NUMBER_REGEX}') "
        f"AND {check_digit_sql(number)} <> TRY_CAST(substr({number}, 10, 1) AS INTEGER)"
    )
