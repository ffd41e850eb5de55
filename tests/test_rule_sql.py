"""The contract rules' SQL, written for speed, breaks on exactly the rows the plain SQL it replaced breaks on.

The references below are the SQL the rules had before (IN lists, regexp_full_match over upper(), the UPN check letter
digit by digit, send_bool as a CASE): each new form is compared with its reference in DuckDB on random text (NULL,
empty, spaces, lower case, digits and letters outside ASCII, the characters whose upper case is ASCII, long text)
and on every code point of Unicode put in a valid value's first, last and a middle place.
"""

import datetime
import re

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pipeline.ingest as ingest
from pipeline.drop_zone import SOURCE_FOLDERS
from pipeline.ingest import MACROS, Rule, is_bool, matches, one_of, regex_as_globs, sql_list
from pipeline.sources import (
    attainment,
    census,
    child_health,
    deprivation,
    dfe,
    disability_register,
    ehcna,
    exclusions,
    finance,
    health_checks,
    placements,
    population,
)
from pipeline.upn import CHECK_ALPHABET, UPN_SHAPE_REGEX, check_letter, is_valid_upn, upn_rules

KEY = b"test-key-0123456789abcdef"
# every code point but the surrogates, as one-character text
CODE_POINTS = (
    "(SELECT chr(range::INTEGER) AS c FROM range(1, 55296) "
    "UNION ALL SELECT chr(range::INTEGER) FROM range(57344, 1114112))"
)
# characters that make the differences: lower case, the dotless i and long s (upper case I and S), sharp s (no
# one-character upper case), Kelvin sign, digits outside ASCII (Arabic-Indic, full-width, Roman numeral), spaces,
# a combining mark, a quote, an emoji, the letters I, O and S no check letter is
AWKWARD = "aAbBzZiIoOsSıſßKéÉ٣１Ⅻ\u0301 \t'😀-_|%*?[]"
# a value the rules see: any text, or one built from the characters that matter, possibly long
TEXT = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.text(alphabet="0123456789" + CHECK_ALPHABET + CHECK_ALPHABET.lower() + AWKWARD, max_size=16),
    st.text(alphabet="0123456789" + CHECK_ALPHABET + AWKWARD, min_size=200, max_size=400),
)


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    connection.execute(MACROS)
    yield connection
    connection.close()


def disagreements(con, old: str, new: str, texts: list[str | None], column: str = "v") -> list:
    """The texts on which the two rules (SQL over ``column``) differ, as the engine reads them (coalesce) or raw."""
    old_rule, new_rule = Rule(column, "old", old), Rule(column, "new", new)
    return con.execute(
        f"""SELECT {column} FROM (SELECT unnest($texts::VARCHAR[]) AS {column})
            WHERE {old_rule.broken} IS DISTINCT FROM {new_rule.broken}
               OR ({old}) IS DISTINCT FROM ({new})""",
        {"texts": texts},
    ).fetchall()


# ---------- DuckDB's upper(), which the UPN rules rely on ----------


def test_upper_maps_each_character_to_one_and_only_a_z_dotless_i_and_long_s_into_a_to_z(con):
    rows = con.execute(f"""
        SELECT c, upper(c) FROM {CODE_POINTS}
        WHERE length(upper(c)) <> 1 OR (upper(c) BETWEEN 'A' AND 'Z' AND c NOT BETWEEN 'A' AND 'Z')
        ORDER BY c
    """).fetchall()
    assert rows == [(chr(c), chr(c).upper()) for c in range(ord("a"), ord("z") + 1)] + [("ı", "I"), ("ſ", "S")]
    digits = f"SELECT count(*) FROM {CODE_POINTS} WHERE upper(c) BETWEEN '0' AND '9' AND c <> upper(c)"
    assert con.execute(digits).fetchone()[0] == 0


# ---------- UPN: shape and check letter ----------


def old_check_letter_sql(upn: str) -> str:
    """The check letter SQL before (eleven digits, a CASE for position 13), over an upper-cased UPN expression."""
    digits = " + ".join(f"((upn_digits // {10 ** (12 - i)}) % 10) * {i}" for i in range(2, 13))
    weighted = f"list_transform([TRY_CAST(substr({upn}, 2, 11) AS BIGINT)], lambda upn_digits: {digits})[1]"
    last = f"substr({upn}, 13, 1)"
    last_value = (
        f"CASE WHEN {last} BETWEEN '0' AND '9' THEN ascii({last}) - 48 ELSE instr('{CHECK_ALPHABET}', {last}) - 1 END"
    )
    return f"substr('{CHECK_ALPHABET}', (({weighted} + ({last_value}) * 13) % 23) + 1, 1)"


OLD_SHAPE = f"regexp_full_match(upper(v), '{UPN_SHAPE_REGEX}')"
OLD_UPN_RULES = {
    "upn_not_13_characters_letter_then_digits": f"v IS NOT NULL AND NOT {OLD_SHAPE}",
    "upn_check_letter_invalid": f"{OLD_SHAPE} AND substr(upper(v), 1, 1) <> {old_check_letter_sql('upper(v)')}",
}
NEW_UPN_RULES = {rule.name: rule.broken_when for rule in upn_rules("v")}
PERMANENT = "B801200005001"
TEMPORARY = next(letter + body for body in ("80120000500A", "85720011500T") if (letter := check_letter(body)))


def test_the_upn_rules_are_those_compared_here():
    assert set(NEW_UPN_RULES) == set(OLD_UPN_RULES)
    assert is_valid_upn(PERMANENT) and is_valid_upn(TEMPORARY) and TEMPORARY[-1].isalpha()


def upn_like():
    """Texts near a UPN: any of the awkward characters or a check letter first, 11 digits (or not), any last."""
    first = st.sampled_from(list(CHECK_ALPHABET + CHECK_ALPHABET.lower() + AWKWARD))
    body = st.one_of(
        st.text(alphabet="0123456789", min_size=11, max_size=11),
        st.text(alphabet="0123456789٣１ eE+-._", min_size=9, max_size=13),
    )
    last = st.sampled_from(list("0123456789" + CHECK_ALPHABET + CHECK_ALPHABET.lower() + AWKWARD))
    return st.builds(lambda a, b, c: a + b + c, first, body, last)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.one_of(TEXT, upn_like()), max_size=40))
@example(texts=[PERMANENT, PERMANENT.lower(), "ı" + PERMANENT[1:], "ſ" + PERMANENT[1:], TEMPORARY, TEMPORARY.lower()])
@example(texts=["A00000001e18A", "A-9999999999A", "A99999999999Z", "A 1234567890A", PERMANENT + "x" * 5000, "", " "])
def test_the_upn_rules_break_on_the_same_text_as_before(con, texts):
    for name, old in OLD_UPN_RULES.items():
        assert disagreements(con, old, NEW_UPN_RULES[name], texts) == [], name


@settings(max_examples=300, deadline=None)
@given(
    body=st.text(alphabet="0123456789", min_size=11, max_size=11),
    last=st.sampled_from(list("0123456789" + CHECK_ALPHABET + CHECK_ALPHABET.lower())),
    first=st.sampled_from(list(CHECK_ALPHABET + CHECK_ALPHABET.lower() + "IOSiosıſ")),
)
def test_the_check_letter_rule_agrees_with_python_on_every_upn_shape(con, body, last, first):
    upn = first + body + last
    broken = con.execute(f"SELECT {Rule('v', 'r', NEW_UPN_RULES['upn_check_letter_invalid']).broken} FROM "
                         "(SELECT $upn AS v)", {"upn": upn}).fetchone()[0]  # fmt: skip
    assert broken == (not is_valid_upn(upn.upper()))


@pytest.mark.parametrize("upn", [PERMANENT, TEMPORARY])
@pytest.mark.parametrize("position", [1, 7, 13])
def test_the_upn_rules_agree_with_every_character_in_a_place(con, upn, position):
    texts = f"(SELECT '{upn[: position - 1]}' || c || '{upn[position:]}' AS v FROM {CODE_POINTS})"
    for name, old in OLD_UPN_RULES.items():
        new = NEW_UPN_RULES[name]
        differ = con.execute(
            f"""SELECT v FROM {texts} WHERE coalesce(({old}), false) IS DISTINCT FROM coalesce(({new}), false)
                   OR ({old}) IS DISTINCT FROM ({new}) LIMIT 5"""
        ).fetchall()
        assert differ == [], name


# ---------- matches: a simple pattern as GLOB ----------


def contract_patterns() -> list[str]:
    """Every pattern a source contract gives matches() (each contract built with regex_as_globs watched)."""
    seen = []
    watched = ingest.regex_as_globs
    ingest.regex_as_globs = lambda pattern: seen.append(pattern) or watched(pattern)
    try:
        contracts()
    finally:
        ingest.regex_as_globs = watched
    return sorted(set(seen))


def contracts() -> list:
    return [
        attainment.attainment_contract(KEY), census.census_contract(KEY), child_health.child_health_contract(),
        deprivation.deprivation_contract(), *dfe.dfe_contracts(), disability_register.disability_register_contract(KEY),
        *ehcna.ehcna_contracts(KEY), exclusions.exclusions_contract(KEY), finance.finance_contract(),
        health_checks.health_checks_contract(KEY), placements.placements_contract(KEY),
        population.population_contract(),
    ]  # fmt: skip


def test_the_contracts_are_every_sources():
    """The patterns and code lists below are read from these contracts: a source left out would go unchecked."""
    assert {c.source for c in contracts()} == set(SOURCE_FOLDERS)


PATTERNS = contract_patterns()
TRANSLATED = [p for p in PATTERNS if regex_as_globs(p) is not None]


def old_matches(pattern: str) -> str:
    return f"v IS NOT NULL AND NOT regexp_full_match(upper(v), '{pattern}')"


def test_the_census_patterns_are_globs_and_patterns_with_groups_stay_regular_expressions():
    assert {"[0-9]{7}", "[0-9]{3}", "[A-Z]{3,4}"} <= set(TRANSLATED)
    assert {"(19|20)[0-9]{2}", "[EWSN][0-9]{8}|[0-9]{3}"} <= set(PATTERNS) - set(TRANSLATED)
    assert regex_as_globs("[A-Z]{3,4}") == ("[A-Z][A-Z][A-Z]", "[A-Z][A-Z][A-Z][A-Z]")
    for pattern in (
        "[0-9]{3,}",
        "[0-9]+",
        "[^0-9]",
        "[Z-A]",
        "a.b",
        r"\d",
        "[0-9]{1,9}",
        "[A-Z]{2}?",
        "[0-9.]",
        "[A-Z_]",
    ):
        assert regex_as_globs(pattern) is None, pattern
    assert "regexp_full_match" in matches("v", "(19|20)[0-9]{2}", "r").broken_when


def example_of(pattern: str) -> str:
    """A text the pattern matches: its first glob with each class's first character."""
    return "".join(
        atom[1] if atom.startswith("[") else atom for atom in re.findall(r"\[.*?\]|.", regex_as_globs(pattern)[0])
    )


@pytest.mark.parametrize("pattern", TRANSLATED)
def test_a_pattern_as_glob_agrees_with_every_character_in_a_place(con, pattern):
    value = example_of(pattern)
    assert con.execute(f"SELECT regexp_full_match('{value}', '{pattern}')").fetchone()[0]
    new = matches("v", pattern, "r").broken_when
    for position in sorted({1, len(value) // 2 + 1, len(value)}):
        texts = f"(SELECT '{value[: position - 1]}' || c || '{value[position:]}' AS v FROM {CODE_POINTS})"
        differ = con.execute(
            f"SELECT v FROM {texts} WHERE ({old_matches(pattern)}) IS DISTINCT FROM ({new}) LIMIT 5"
        ).fetchall()
        assert differ == [], position


ATOMS = st.one_of(
    st.sampled_from(list("AEZ09")),
    st.sampled_from(["[0-9]", "[A-Z]", "[23]", "[EWSN]", "[A-Z0-9]", "[a-z]", "[0-4A-C]"]),
)
QUANTIFIERS = st.sampled_from(["", "", "{1}", "{2}", "{3}", "{0,1}", "{2,3}", "{0}"])
PATTERN = st.lists(st.tuples(ATOMS, QUANTIFIERS), min_size=1, max_size=5).map(lambda p: "".join(a + q for a, q in p))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pattern=st.one_of(st.sampled_from(TRANSLATED), PATTERN),
    texts=st.lists(st.one_of(TEXT, st.text(alphabet="AEZ09234aezWSN" + AWKWARD, max_size=9)), max_size=40),
)
def test_a_pattern_as_glob_breaks_on_the_same_text_as_the_regular_expression(con, pattern, texts):
    if regex_as_globs(pattern) is None:  # too many globs: it stays a regular expression
        return
    assert disagreements(con, old_matches(pattern), matches("v", pattern, "r").broken_when, texts) == []


# ---------- one_of: list_position for IN ----------


def contract_code_lists() -> list[str]:
    """Every code list of a one_of rule of a source contract, as SQL (from the rules as built)."""
    shape = re.compile(r"(\w+) IS NOT NULL AND list_position\(\[(.*)\], upper\(\1\)\) IS NULL")
    return sorted({m.group(2) for c in contracts() for r in c.rules if (m := shape.fullmatch(r.broken_when))})


CODE_LISTS = contract_code_lists()


def codes_of(listed: str) -> list[str]:
    return duckdb.connect().execute(f"SELECT [{listed}]").fetchone()[0]


def test_the_code_lists_are_every_contracts():
    assert len(CODE_LISTS) >= 20
    assert sql_list(census.ETHNICITIES) in CODE_LISTS and sql_list(census.NC_YEARS) in CODE_LISTS


def test_every_code_of_every_list_in_any_case_breaks_the_same_rule_as_with_in(con):
    for listed in CODE_LISTS:
        codes = codes_of(listed)
        texts = [t for c in codes for t in (c, c.lower(), c.title(), c + "x", "ı" + c, c.replace("I", "ı"))]
        old = f"v IS NOT NULL AND upper(v) NOT IN ({listed})"
        assert disagreements(con, old, one_of("v", codes).broken_when, [*texts, None, ""]) == [], listed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_code_rule_breaks_on_the_same_text_as_in(con, data):
    codes = data.draw(st.one_of(st.sampled_from(CODE_LISTS).map(codes_of), st.lists(st.text(min_size=1), min_size=1)))
    coded = st.sampled_from(codes).flatmap(lambda c: st.sampled_from([c, c.lower(), c.swapcase(), " " + c]))
    texts = data.draw(st.lists(st.one_of(TEXT, coded), max_size=40))
    old = f"v IS NOT NULL AND upper(v) NOT IN ({sql_list(codes)})"
    assert disagreements(con, old, one_of("v", codes).broken_when, texts) == []


# ---------- send_bool ----------

OLD_SEND_BOOL = """CASE
    WHEN upper(v) IN ('TRUE', 'T', 'Y', 'YES', '1') THEN true
    WHEN upper(v) IN ('FALSE', 'F', 'N', 'NO', '0') THEN false
END"""
WORDS = ["TRUE", "T", "Y", "YES", "1", "FALSE", "F", "N", "NO", "0"]


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.one_of(TEXT, st.sampled_from(WORDS).map(str.lower), st.sampled_from(WORDS)), max_size=40))
def test_send_bool_is_the_same_as_before(con, texts):
    differ = con.execute(
        f"SELECT v FROM (SELECT unnest($texts::VARCHAR[]) AS v) WHERE send_bool(v) IS DISTINCT FROM ({OLD_SEND_BOOL})",
        {"texts": texts + [w.title() for w in WORDS] + ["ıes", "yeſ", None, ""]},
    ).fetchall()
    assert differ == []
    old = f"v IS NOT NULL AND ({OLD_SEND_BOOL}) IS NULL"
    assert disagreements(con, old, is_bool("v").broken_when, texts) == []


def test_send_bool_agrees_with_every_one_character_text(con):
    differ = con.execute(
        f"SELECT c FROM {CODE_POINTS} WHERE send_bool(c) IS DISTINCT FROM ({OLD_SEND_BOOL.replace('v', 'c')}) LIMIT 5"
    ).fetchall()
    assert differ == []


# ---------- send_date: the forms the contracts accept, the year in four digits ----------

OLD_SEND_DATE = """coalesce(
    try_strptime(v, '%Y-%m-%d')::DATE, try_strptime(v, '%Y-%m-%d %H:%M:%S')::DATE,
    try_strptime(v, '%d/%m/%Y')::DATE, try_strptime(v, '%d/%m/%Y %H:%M:%S')::DATE,
    try_strptime(v, '%Y-%b-%d %H:%M:%S')::DATE, try_strptime(v, '%Y-%b-%d')::DATE)"""
DATE_FORMS = ("{y}-{m}-{d}", "{y}-{m}-{d} 00:00:00", "{d}/{m}/{y}", "{d}/{m}/{y} 00:00:00", "{y}-{b}-{d}",
              "{y}-{b}-{d} 00:00:00")  # fmt: skip


def send_dates(con, texts: list[str | None]) -> list:
    return [
        row[0] for row in con.execute("SELECT send_date(v) FROM unnest($t::VARCHAR[]) AS t(v)", {"t": texts}).fetchall()
    ]


@pytest.mark.parametrize(
    ("text", "date"),
    [("2023-01-19", "2023-01-19"), ("2023-1-9", "2023-01-09"), ("19/01/2023", "2023-01-19"), ("9/1/2023", "2023-01-09"),
     ("19/01/2023 00:00:00", "2023-01-19"), ("2023-01-19 00:00:00", "2023-01-19"), ("2023-Jan-19", "2023-01-19"),
     ("2023-jan-19 00:00:00", "2023-01-19"), ("19/01/23", None), ("23-01-19", None), ("19/01/123", None),
     ("19/01/02023", None), ("02023-01-19", None), ("31/02/2023", None), ("2023-01-19T00:00:00", None), ("", None),
     (None, None)],
)  # fmt: skip
def test_send_date_reads_the_accepted_forms_and_no_year_but_a_four_digit_one(con, text, date):
    assert send_dates(con, [text]) == [None if date is None else datetime.date.fromisoformat(date)]


@settings(max_examples=300, deadline=None)
@given(
    year=st.integers(0, 99999), width=st.integers(1, 5), month=st.integers(0, 14), day=st.integers(0, 33),
    form=st.sampled_from(DATE_FORMS), pad=st.booleans(),
)  # fmt: skip
def test_send_date_is_the_old_coalesce_for_a_four_digit_year_and_null_for_any_other(
    con, year, width, month, day, form, pad
):
    written_year = str(year).zfill(width)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    text = form.format(y=written_year, m=f"{month:02d}" if pad else str(month), d=f"{day:02d}" if pad else str(day),
                       b=months[month % 12])  # fmt: skip
    [old] = [row[0] for row in con.execute(f"SELECT {OLD_SEND_DATE} FROM (SELECT $v AS v)", {"v": text}).fetchall()]
    assert send_dates(con, [text]) == [old if len(written_year) == 4 else None]
