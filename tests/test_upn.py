"""DfE Unique Pupil Number check letter (pipeline/upn.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.upn import (
    CHECK_ALPHABET,
    check_letter,
    is_valid_upn,
    make_upn_parts,
    make_upns,
)

# Published example (python-stdnum, stdnum.gb.upn): 8*2 + 1*4 + 2*5 + 5*10 + 1*13 = 93; 93 % 23 = 1 -> B
PUBLISHED_VALID = "B801200005001"
# Worked from the DfE rule (weights 2..13 on characters 2..13, sum mod 23, into ABCDEFGHJKLMNPQRTUVWXYZ):
SPEC_EXAMPLES = {
    # 8*2 + 5*3 + 7*4 + 2*5 + 1*8 + 1*9 + 5*10 + 1*13 = 149; 149 % 23 = 11 -> M
    "857200115001": "M",
    "000000000000": "A",  # 0 -> A
    "999999999999": "F",  # 9 * (2 + ... + 13) = 810; 810 % 23 = 5 -> F
    "000000000001": "P",  # 1 * 13 = 13 -> P (the alphabet skips I, O and S)
    "000000000002": "D",  # 2 * 13 = 26; 26 % 23 = 3 -> D
}


def test_alphabet_is_a_to_z_without_i_o_s():
    expected = "".join(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in "IOS")
    assert expected == CHECK_ALPHABET
    assert len(CHECK_ALPHABET) == 23


def test_published_example_is_valid():
    assert check_letter(PUBLISHED_VALID[1:]) == "B"
    assert is_valid_upn(PUBLISHED_VALID)


@pytest.mark.parametrize(("digits", "letter"), sorted(SPEC_EXAMPLES.items()))
def test_check_letter_worked_examples(digits, letter):
    assert check_letter(digits) == letter
    assert is_valid_upn(letter + digits)


def test_wrong_check_letter_rejected():
    for letter in CHECK_ALPHABET.replace("B", ""):
        assert not is_valid_upn(letter + PUBLISHED_VALID[1:])
    assert not is_valid_upn("I" + PUBLISHED_VALID[1:])


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "B80120000500",  # 12 characters
        "B8012000050011",  # 14 characters
        " B801200005001",
        "b801200005001",  # lower case
        "B80120000X001",  # letter inside the digits
        "B801200005001 ",
        "1801200005001",
        None,
        8012000050010,
    ],
)
def test_malformed_rejected(bad):
    assert not is_valid_upn(bad)


def test_temporary_upn_letter_in_last_position():
    # a temporary UPN ends with a letter, valued as its index in the check alphabet (B = 1, like the digit 1)
    assert is_valid_upn("B80120000500B")
    assert not is_valid_upn("A80120000500B")
    assert not is_valid_upn("B80120000500I")


def test_check_letter_rejects_bad_input():
    message = r"^expected 11 digits then a digit or \(temporary UPN\) a check-alphabet letter$"
    for bad in ("80120000500", "8012000050011", "80120000500a", "8012X0005001"):
        with pytest.raises(ValueError, match=message):
            check_letter(bad)


def test_make_upns_layout_and_parts():
    upns = make_upns([857, 801], [2001, 2000], [2015, 0], [1, 1])
    # 8*2 + 1*4 + 2*5 + 1*13 = 43; 43 % 23 = 20 -> X
    assert upns.tolist() == ["M857200115001", "X801200000001"]
    check, number = make_upn_parts([857, 801], [2001, 2000], [15, 0], [1, 1])
    assert [chr(c) + f"{n:012d}" for c, n in zip(check, number, strict=True)] == upns.tolist()
    with pytest.raises(ValueError, match=r"^la_codes out of range 0\.\.999$"):
        make_upns([1000], [1], [1], [1])
    with pytest.raises(ValueError, match=r"^estabs out of range 0\.\.9999$"):
        make_upns([857], [-1], [1], [1])
    with pytest.raises(ValueError, match=r"^serials out of range 0\.\.999$"):
        make_upns([857], [1], [1], [1000])


components = st.tuples(st.integers(0, 999), st.integers(0, 9999), st.integers(0, 99), st.integers(0, 999))


@given(st.lists(components, min_size=1, max_size=50))
def test_make_upns_always_valid(rows):
    la, estab, year, serial = (list(c) for c in zip(*rows, strict=True))
    upns = make_upns(la, estab, year, serial)
    assert all(len(u) == 13 and is_valid_upn(u) for u in upns)
    for u, (a, e, y, s) in zip(upns, rows, strict=True):
        assert u[1:] == f"{a:03d}{e:04d}{y:02d}{s:03d}"


@given(components, st.integers(1, 12), st.integers(1, 9))
def test_flipping_any_digit_is_detected(row, position, delta):
    upn = str(make_upns(*([c] for c in row))[0])
    digit = (int(upn[position]) + delta) % 10
    flipped = upn[:position] + str(digit) + upn[position + 1 :]
    assert flipped != upn
    assert not is_valid_upn(flipped)


@given(components, st.sampled_from(CHECK_ALPHABET))
def test_any_other_check_letter_is_detected(row, letter):
    upn = str(make_upns(*([c] for c in row))[0])
    if letter != upn[0]:
        assert not is_valid_upn(letter + upn[1:])


def test_make_upns_vectorised_size():
    n = 200_000
    rng = np.random.default_rng(0)
    upns = make_upns(rng.integers(201, 999, n), rng.integers(0, 10_000, n), rng.integers(0, 100, n),
                     rng.integers(0, 1000, n))  # fmt: skip
    assert upns.shape == (n,)
    assert all(is_valid_upn(u) for u in upns.tolist())


# --- the SQL twin used by the census ingest agrees with the Python rule ---------------------------------------

_sql_con = None


def _sql_valid(upns: list[str]) -> list[bool]:
    import duckdb

    from pipeline.upn import UPN_SHAPE_REGEX, check_letter_sql

    global _sql_con
    _sql_con = _sql_con or duckdb.connect()
    rows = _sql_con.execute(
        f"""SELECT regexp_full_match(u, '{UPN_SHAPE_REGEX}') AND substr(u, 1, 1) = {check_letter_sql("u")}
            FROM unnest($upns::VARCHAR[]) WITH ORDINALITY AS t(u, i) ORDER BY i""",
        {"upns": upns},
    ).fetchall()
    return [bool(r[0]) for r in rows]


@settings(max_examples=200, deadline=None)
@given(
    body=st.text(alphabet="0123456789", min_size=11, max_size=11),
    last=st.sampled_from(list("0123456789") + list(CHECK_ALPHABET)),
    letter=st.sampled_from(list(CHECK_ALPHABET) + ["I", "O", "S"]),
)
def test_sql_check_letter_agrees_with_python(body, last, letter):
    upn = letter + body + last
    assert _sql_valid([upn]) == [is_valid_upn(upn)]
