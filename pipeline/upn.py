"""DfE Unique Pupil Number (UPN) check letter: pure helpers, no I/O.

A UPN is 13 characters::

    check letter | LA code (3) | establishment (4) | year of allocation (2) | serial (3)

e.g. ``B801200005001``. A *temporary* UPN has a 2-digit serial followed by a letter in the 13th position.

The check letter, as the DfE UPN guide (v1.2) and the CIN/school-census validation rule 1510 define it:

1. multiply the characters in positions 2..13 by the weights 2..13 respectively (a letter in position 13 of a
   temporary UPN counts as its index in the check alphabet below);
2. sum the products and take the remainder modulo 23;
3. the remainder indexes the alphabet ``ABCDEFGHJKLMNPQRTUVWXYZ`` (A-Z without I, O and S): 0 = A … 22 = Z.

Cross-checked against the published example ``B801200005001`` (python-stdnum's ``stdnum.gb.upn`` doctest) and
the wording of CIN validation rule 1510. Because 23 is prime and every weight is in 2..13, changing any single
digit (by 1..9) always changes the remainder, so a one-digit typo is always detected.
"""

from __future__ import annotations

import numpy as np

from pipeline.ingest import Rule

CHECK_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
_ALPHABET_BYTES = np.frombuffer(CHECK_ALPHABET.encode("ascii"), dtype=np.uint8)
# value of a character in positions 2..13: digits are their value; a letter (temporary UPN, last position
# only) is its index in the check alphabet.
_CHAR_VALUE = {str(d): d for d in range(10)} | {c: i for i, c in enumerate(CHECK_ALPHABET)}


def _char_values(body: str) -> list[int] | None:
    """Values of the 12 characters after the check letter, or None when the body is malformed."""
    if len(body) != 12 or not body[:11].isascii() or not body[:11].isdigit():
        return None
    last = body[11]
    if last not in _CHAR_VALUE:
        return None
    return [int(c) for c in body[:11]] + [_CHAR_VALUE[last]]


def check_letter(digits12: str) -> str:
    """Check letter for the 12 characters after it (11 digits + a digit, or a letter for a temporary UPN).

    >>> check_letter("801200005001")
    'B'
    """
    values = _char_values(digits12)
    if values is None:
        raise ValueError("expected 11 digits then a digit or (temporary UPN) a check-alphabet letter")
    total = sum(w * v for w, v in zip(range(2, 14), values, strict=True))
    return CHECK_ALPHABET[total % 23]


def is_valid_upn(upn: object) -> bool:
    """True when ``upn`` is a 13-character UPN (permanent or temporary) whose check letter is right.

    Strict: upper case, no surrounding spaces (trim before calling if the source pads values).
    """
    if not isinstance(upn, str) or len(upn) != 13:
        return False
    values = _char_values(upn[1:])
    if values is None:
        return False
    total = sum(w * v for w, v in zip(range(2, 14), values, strict=True))
    return upn[0] == CHECK_ALPHABET[total % 23]


# ------------------------------------------------------------------------------------------------------------
# Vectorised helpers (numpy), for millions of rows


def _components(la_codes, estabs, years, serials) -> tuple[np.ndarray, ...]:
    la = np.asarray(la_codes, dtype=np.int64)
    es = np.asarray(estabs, dtype=np.int64)
    yy = np.asarray(years, dtype=np.int64) % 100  # a 4-digit allocation year keeps its last two digits
    sn = np.asarray(serials, dtype=np.int64)
    la, es, yy, sn = (a.ravel() for a in np.broadcast_arrays(la, es, yy, sn))
    for name, arr, hi in (("la_codes", la, 999), ("estabs", es, 9999), ("serials", sn, 999)):
        if arr.size and (arr.min() < 0 or arr.max() > hi):
            raise ValueError(f"{name} out of range 0..{hi}")
    return la, es, yy, sn


def _field_tables(width: int, first_weight: int) -> tuple[np.ndarray, np.ndarray]:
    """For every value of a ``width``-digit field: its ASCII digits and its weighted digit sum."""
    values = np.arange(10**width, dtype=np.int64)
    digits = (values[:, None] // 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)) % 10
    weights = np.arange(first_weight, first_weight + width, dtype=np.int64)
    return (digits + ord("0")).astype(np.uint8), digits @ weights


# (ascii digits, weighted sum) per field: LA (positions 2-4), establishment (5-8), year (9-10), serial (11-13)
_LA, _ES, _YY, _SN = (_field_tables(3, 2), _field_tables(4, 5), _field_tables(2, 9), _field_tables(3, 11))


def _check_ascii(la, es, yy, sn) -> np.ndarray:
    total = _LA[1][la] + _ES[1][es] + _YY[1][yy] + _SN[1][sn]
    return _ALPHABET_BYTES[total % 23]


def make_upn_parts(la_codes, estabs, years, serials) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised UPN construction without building Python strings.

    Returns ``(check_ascii, number)``: the check letter as an ASCII code (uint8) and the 12 digits after it
    as one int64 (print it zero-padded to 12 digits). ``years`` may be 2- or 4-digit (reduced modulo 100).
    Used by the census generator to let DuckDB assemble the strings (``chr(check) || lpad(number, 12, '0')``).
    """
    la, es, yy, sn = _components(la_codes, estabs, years, serials)
    number = ((la * 10_000 + es) * 100 + yy) * 1_000 + sn
    return _check_ascii(la, es, yy, sn), number


def make_upns(la_codes, estabs, years, serials) -> np.ndarray:
    """Vectorised UPNs as a numpy ``<U13`` array (about a second for 9 million rows).

    ``la_codes`` 0..999, ``estabs`` 0..9999, ``years`` (of allocation, 2- or 4-digit), ``serials`` 0..999;
    scalars broadcast.
    """
    la, es, yy, sn = _components(la_codes, estabs, years, serials)
    chars = np.empty((la.shape[0], 13), dtype=np.uint8)
    chars[:, 0] = _check_ascii(la, es, yy, sn)
    chars[:, 1:4] = _LA[0][la]
    chars[:, 4:8] = _ES[0][es]
    chars[:, 8:10] = _YY[0][yy]
    chars[:, 10:13] = _SN[0][sn]
    return chars.view("S13").ravel().astype("U13")


# ------------------------------------------------------------------------------------------------------------
# The same rule as SQL, so the census ingest checks millions of UPNs set-based in DuckDB.

UPN_SHAPE_REGEX = "[A-Z][0-9]{11}[0-9ABCDEFGHJKLMNPQRTUVWXYZ]"
# The same shape on a UPN as sent, before upper(): a text matches it exactly when its upper() matches UPN_SHAPE_REGEX.
# DuckDB's upper() maps each character to one character, and the only ones outside ASCII it maps into A-Z are the
# dotless i and the long s (to I and S, neither of them a check letter): tests/test_rule_sql.py checks every code
# point. upper() of a whole UPN costs ~0.2 s of CPU per use on a national census's 9 M UPNs.
UPN_TEXT_SHAPE_REGEX = r"[A-Za-z\x{131}\x{17F}][0-9]{11}[0-9" + CHECK_ALPHABET + CHECK_ALPHABET.lower() + "]"
# Where a character in position 13 is in this text, less one, is its value modulo 23: digits at 1-10, the check
# alphabet upper case at 24-46 and lower case at 47-69 (0 = A ... 22 = Z); the 13 dashes are never there.
_LAST_CHARACTER_VALUES = "0123456789" + "-" * 13 + CHECK_ALPHABET + CHECK_ALPHABET.lower()
# The weighted sum of the 11 digits of n (weights 2..12, from the left) is 12 n + sum over k of (9k - 118) (n // 10^k),
# k = 1..10 (the digit at 10^k is n // 10^k - 10 (n // 10^(k+1))); modulo 23 the weights are these, and k = 8 drops.
_DIGIT_SUM_WEIGHTS = {k: (9 * k - 118) % 23 for k in range(1, 11)}


def check_letter_sql(upn: str) -> str:
    """SQL for the check letter (upper case) of a UPN expression already matching UPN_TEXT_SHAPE_REGEX (any case; so
    also one matching UPN_SHAPE_REGEX).

    Positions 2..12 are read as one 11-digit number and the weighted sum taken from it by integer division, once per
    power of ten (9 divisions, against 11 divisions and 11 remainders digit by digit). The number is bound once, as
    the parameter of a lambda over a one-element list: written out each time, DuckDB parsed it each time in a WHERE
    clause or a contract rule (no common subexpression elimination there). It is taken modulo 10^11 so that no text
    (a number in exponent form, say '00000001e18') can make the arithmetic overflow: DuckDB may compute the letter for
    a text the shape test beside it rejects. Measured on a national census's 9 M UPNs (one thread, the rule in the
    contract's yes/no question): ~2.1 s of CPU for the check rule (upn_rules), against ~3.4 s for the SQL before it
    (digit by digit, with the upper-cased UPN each time and a CASE for position 13).
    """
    number = f"TRY_CAST(substr({upn}, 2, 11) AS BIGINT) % 100000000000"
    n = "upn_number"
    weighted = " + ".join([f"12 * {n}", *(f"{w} * ({n} // {10**k})" for k, w in _DIGIT_SUM_WEIGHTS.items() if w)])
    # + 13 * (value of position 13), the value being its place in the text less one (-13 = +10 modulo 23)
    last = f"13 * instr('{_LAST_CHARACTER_VALUES}', substr({upn}, 13, 1)) + 10"
    total = f"(list_transform([{number}], lambda {n}: {weighted})[1] + {last}) % 23"
    return f"substr('{CHECK_ALPHABET}', {total} + 1, 1)"


def upn_rules(column: str = "upn") -> tuple[Rule, ...]:
    """A UPN column's shape and DfE check letter (an empty value passes: say `required` where it is).

    Both read the text as sent, not upper() of it (~0.2 s of CPU each time on a national census's 9 M UPNs): a text
    matches UPN_TEXT_SHAPE_REGEX when its upper case matches UPN_SHAPE_REGEX, and check_letter_sql reads either case.
    Measured there (one thread, the contract's yes/no question): shape ~0.5 s of CPU, check letter ~2.1 s, against
    ~0.7 s and ~3.4 s over the upper-cased UPN."""
    shape = f"regexp_full_match({column}, '{UPN_TEXT_SHAPE_REGEX}')"
    return (
        Rule(column, "upn_not_13_characters_letter_then_digits", f"{column} IS NOT NULL AND NOT {shape}"),
        Rule(
            column,
            "upn_check_letter_invalid",
            f"{shape} AND upper(substr({column}, 1, 1)) <> {check_letter_sql(column)}",
        ),
    )
