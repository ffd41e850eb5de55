"""NHS number check digit, modulus 11 (pipeline/nhs_number.py), and its SQL twin in the health checks contract."""

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.nhs_number import (
    NHS_NUMBER_REGEX,
    check_digit,
    check_digit_sql,
    digits,
    digits_sql,
    invalid_check_digit_sql,
    is_valid_nhs_number,
    make_nhs_numbers,
    spaced,
)

# NHS England's published test number: 9x10 + 4x9 + 3x8 + 4x7 + 7x6 + 6x5 + 5x4 + 9x3 + 1x2 = 299; 299 % 11 = 2 -> 9
PUBLISHED_VALID = "9434765919"
SPEC_EXAMPLES = {
    "000000000": 0,  # 0 % 11 = 0 -> 11 -> 0
    "000000001": 9,  # 1x2 = 2 -> 9
    "100000000": 1,  # 1x10 = 10 -> 1
    "485777345": 7,  # 312 % 11 = 4 -> 7: the format example "485 777 3456" has the wrong check digit
    "999000018": 2,  # 9x10 + 9x9 + 9x8 + 1x3 + 8x2 = 262; 262 % 11 = 9 -> 2
}
NO_CHECK_DIGIT = "100000001"  # 1x10 + 1x2 = 12; 12 % 11 = 1 -> 11 - 1 = 10: no check digit, never issued


def test_published_test_number_is_valid_with_or_without_spaces():
    assert check_digit(PUBLISHED_VALID[:9]) == 9
    assert is_valid_nhs_number(PUBLISHED_VALID)
    assert is_valid_nhs_number("943 476 5919")
    assert is_valid_nhs_number(" 943  476 5919 ")
    assert spaced(PUBLISHED_VALID) == "943 476 5919"
    assert digits("943 476 5919") == PUBLISHED_VALID


@pytest.mark.parametrize(("body", "check"), sorted(SPEC_EXAMPLES.items()))
def test_check_digit_worked_examples(body, check):
    assert check_digit(body) == check
    assert is_valid_nhs_number(body + str(check))


def test_a_body_whose_check_would_be_ten_has_no_valid_number():
    assert check_digit(NO_CHECK_DIGIT) is None
    assert not any(is_valid_nhs_number(NO_CHECK_DIGIT + str(d)) for d in range(10))


def test_the_format_example_of_the_brief_is_not_a_valid_number():
    assert not is_valid_nhs_number("485 777 3456")
    assert is_valid_nhs_number("485 777 3457")


@pytest.mark.parametrize(
    "bad",
    ["", "943476591", "94347659190", "943-476-5919", "943476591X", "９４３４７６５９１９", None, 9434765919],
)
def test_malformed_rejected(bad):
    assert not is_valid_nhs_number(bad)


def test_check_digit_rejects_bad_input():
    for bad in ("94347659", "9434765919", "94347659a"):
        with pytest.raises(ValueError):
            check_digit(bad)


def test_make_nhs_numbers_vectorised_matches_scalar():
    bodies = np.array([943476591, 0, int(NO_CHECK_DIGIT), 999000018, 485777345])
    numbers, valid = make_nhs_numbers(bodies)
    assert valid.tolist() == [True, True, False, True, True]
    assert [f"{n:010d}" for n in numbers[valid]] == ["9434765919", "0000000000", "9990000182", "4857773457"]
    assert numbers[2] == -1
    with pytest.raises(ValueError):
        make_nhs_numbers([1_000_000_000])


bodies = st.integers(0, 999_999_999)


@given(st.lists(bodies, min_size=1, max_size=50))
def test_made_numbers_are_always_valid(values):
    numbers, valid = make_nhs_numbers(values)
    for body, number, ok in zip(values, numbers, valid, strict=True):
        assert ok == (check_digit(f"{body:09d}") is not None)
        if ok:
            assert is_valid_nhs_number(f"{number:010d}") and number // 10 == body


@given(bodies, st.integers(0, 9), st.integers(1, 9))
def test_changing_any_digit_is_detected(body, position, delta):
    numbers, valid = make_nhs_numbers([body])
    if not valid[0]:
        return
    number = f"{numbers[0]:010d}"
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    assert not is_valid_nhs_number(changed)


@given(bodies, st.integers(0, 8))
def test_swapping_two_adjacent_different_digits_is_detected(body, position):
    numbers, valid = make_nhs_numbers([body])
    number = f"{numbers[0]:010d}"
    if not valid[0] or number[position] == number[position + 1]:
        return
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    assert not is_valid_nhs_number(swapped)


# --- the SQL twin used by the health checks contract agrees with the Python rule -------------------------------

_sql_con = None


def _sql(values: list[str]) -> list[tuple[bool, bool]]:
    """(valid shape, invalid check digit) of each value, as the contract's rules compute them."""
    global _sql_con
    _sql_con = _sql_con or duckdb.connect()
    rows = _sql_con.execute(
        f"""SELECT regexp_full_match({digits_sql("v")}, '{NHS_NUMBER_REGEX}'),
                   coalesce({invalid_check_digit_sql("v")}, false)
            FROM unnest($values::VARCHAR[]) WITH ORDINALITY AS t(v, i) ORDER BY i""",
        {"values": values},
    ).fetchall()
    return [(bool(shape), bool(invalid)) for shape, invalid in rows]


def test_sql_check_digit_of_the_worked_examples():
    con = duckdb.connect()
    for body, check in SPEC_EXAMPLES.items():
        assert con.execute(f"SELECT {check_digit_sql(repr(body + '0'))}").fetchone()[0] == check
    assert con.execute(f"SELECT {check_digit_sql(repr(NO_CHECK_DIGIT + '0'))}").fetchone()[0] == 10


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=10, max_size=10),
    st.sampled_from(["{}", "{0}{1}{2} {3}{4}{5} {6}{7}{8}{9}", " {} ", "{}0", "{0}{1}{2}{3}{4}{5}{6}{7}{8}"]),
)
def test_sql_rule_agrees_with_python(number, layout):
    value = layout.format(*number) if "{0}" in layout else layout.format(number)
    [(shape, invalid)] = _sql([value])
    assert shape == (digits(value) is not None)
    if shape:
        assert (not invalid) == is_valid_nhs_number(value)
