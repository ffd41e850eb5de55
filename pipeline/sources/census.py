"""School census SEN extract: contract, reader and Dagster asset.

Contract: README.md "Raw extract: school census" (from "School census SEN extract" of the project brief's
SOURCES.md, which is not in this repository), one row per pupil per census, files
``raw/census/<YYYY>_<term>*.csv|xlsx``. At ingest the UPN becomes a keyed pseudonym (``pupil_id``), the date of
birth is reduced to its month, FSM start and end dates (given instead of, or beside, ``fsm_eligible``) to
eligibility on the census date, postcode-level data is not kept, and codes are upper-cased. Recoding (AUT -> ASD,
legacy provision S -> E) and the "count C and M only" rule belong to dbt staging, so raw keeps what was sent.
``pupil_premium`` is a required column whose value may be empty (No): a file without it would read every pupil as
not attracting pupil premium.

The period a file replaces is its census: the academic year and term its rows' ``census_date`` falls in
(CENSUS_PERIOD_SQL, e.g. ``202223/Spring`` for any day of January or February 2023), not the date itself nor the
file's name. A corrected extract (``2023_spring (corrected).csv``, after ``2023_spring.csv`` in file order) replaces
the rows of every earlier file for the censuses it holds, even when it is dated another day of the term; the earlier
file's rows for other censuses stay. A file named for one census (``<YYYY>_<term>``: the calendar year and term of
its census date) holds that census alone: a row dated in another is quarantined
(``census_date_not_in_the_census_named``); a file named otherwise (``2022_and_2023.csv``) may hold several.
"""

import dagster as dg

from pipeline.ingest import Contract, Derived, Rule, is_bool, is_date, matches, one_of, required
from pipeline.pseudonymise import hmac_pads, hmac_sql
from pipeline.resources import SendWarehouse
from pipeline.settings import pseudonym_key
from pipeline.sources.asset_support import ingest_asset, raw_source_asset
from pipeline.upn import upn_rules

PHASES = ("PRIMARY", "SECONDARY", "SPECIAL", "AP", "NURSERY", "ALL-THROUGH", "POST16")
NC_YEARS = ("E1", "E2", "N1", "N2", "R", *(str(y) for y in range(1, 15)), "X")
ENROL_STATUSES = ("C", "M", "S", "F", "O")
ETHNICITIES = (
    "WBRI", "WOTH", "WIRI", "WIRT", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN", "AOTH",
    "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT",
)  # fmt: skip
SEN_PROVISIONS = ("N", "K", "E", "S")  # S: legacy statement, recoded to E in staging
SEN_NEEDS = (
    "SPLD",
    "MLD",
    "SLD",
    "PMLD",
    "SEMH",
    "SLCN",
    "HI",
    "VI",
    "MSI",
    "PD",
    "ASD",
    "AUT",
    "OTH",
    "NSA",
)

# FSM eligibility on the census date from the pupil's FSM period (CBDS FSMStartDate / FSMEndDate): started on or
# before it and not ended before it; no start date = no FSM period = not eligible.
FSM_ON_CENSUS_DATE = (
    "(fsm_start_date IS NOT NULL AND send_date(fsm_start_date) <= send_date(census_date) "
    "AND (fsm_end_date IS NULL OR send_date(fsm_end_date) >= send_date(census_date)))"
)
FSM_FROM_DATES = Derived(
    "fsm_eligible", ("fsm_start_date",), f"CASE WHEN {FSM_ON_CENSUS_DATE} THEN 'true' ELSE 'false' END"
)


# The months of each census term: dbt's census_term macro (dbt_project/macros/census_periods.sql) gives these the
# term and any other month none, so a row dated in another month is quarantined here rather than reach the marts
# without a term (the censuses are taken on the third Thursday of January and May and the first of October).
CENSUS_TERM_MONTHS = {"Spring": (1, 2), "Summer": (5, 6), "Autumn": (9, 10, 11)}
CENSUS_MONTHS = tuple(sorted(m for months in CENSUS_TERM_MONTHS.values() for m in months))


# The census a loaded row belongs to, its time_period and census_term as dbt's census_time_period and census_term
# macros give them from census_date, as text ('202223/Spring' for 19 January 2023): the period a file replaces, so a
# corrected extract dated another day of the same term replaces the original (tests/test_census_ingest.py renders
# the macros and compares every month).
def census_term_sql(date_sql: str) -> str:
    """SQL of the census term (Spring, Summer, Autumn) of a DATE expression; NULL outside the census months."""
    whens = " ".join(
        f"WHEN month({date_sql}) IN ({', '.join(map(str, months))}) THEN '{term}'"
        for term, months in CENSUS_TERM_MONTHS.items()
    )
    return f"CASE {whens} END"


def census_period_sql(date_sql: str) -> str:
    """SQL of the census (its academic year's time_period and term, '202223/Spring') of a DATE expression."""
    year = f"year({date_sql})"
    time_period = (
        f"CASE WHEN month({date_sql}) >= 9 THEN {year} * 100 + ({year} + 1) % 100 "
        f"ELSE ({year} - 1) * 100 + {year} % 100 END"
    )
    return f"(({time_period})::VARCHAR || '/' || {census_term_sql(date_sql)})"


CENSUS_PERIOD_SQL = census_period_sql("census_date")

# A file named for one census, <YYYY>_<term> (2023_spring.csv, 2022_autumn (corrected).xlsx: the calendar year and
# term of its census_date), holds that census only: a row dated in another census is quarantined
# (census_date_not_in_the_census_named) rather than make the file the holder of that census, which would take every
# row of the other census's own file out (a mistyped year in one row emptied Spring 2022). A file named otherwise
# (2022_and_2023.csv) may hold several censuses. named_census is '' for such a name.
# The columns a census row is read from: two rows of one pupil at one school in one census (a registration given
# twice) that differ in any of them cannot both be right, and which is cannot be told (an extract joining a pupil to
# each of two FSM periods gives two rows with different FSM flags): every row of such a registration is quarantined
# (registration_repeated_with_other_values). Rows repeated exactly (a school's return appended twice) load, and dbt
# counts the pupil once.
REQUIRED_COLUMNS = (
    "upn", "laestab", "census_date", "phase", "ncyear_actual", "enrol_status", "dob", "gender", "sen_provision",
    "fsm_eligible", "pupil_premium", "home_la_code",
)  # fmt: skip
OPTIONAL_COLUMNS = (
    "ethnicity", "first_language", "sen_primary_need", "sen_secondary_need", "fsm_start_date", "fsm_end_date",
)  # fmt: skip
REGISTRATION_SQL = f"upper(upn), laestab, {census_period_sql('send_date(census_date)')}"


def registration_repeated_with_other_values() -> Rule:
    window = f"OVER (PARTITION BY {REGISTRATION_SQL})"
    row = f"hash({', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)})"
    return Rule(
        "upn",
        "registration_repeated_with_other_values",
        f"upn IS NOT NULL AND laestab IS NOT NULL AND send_date(census_date) IS NOT NULL "
        f"AND min({row}) {window} <> max({row}) {window}",
    )


NAMED_CENSUS_PATTERN = r"(?i)(?P<named_census>(?:[0-9]{4}_(?:spring|summer|autumn)(?![a-z]))?)"
ROW_CENSUS_SQL = f"(year(send_date(census_date))::VARCHAR || '_' || lower({census_term_sql('send_date(census_date)')}))"


def census_rules() -> tuple[Rule, ...]:
    provision = "upper(sen_provision)"
    need = "upper(sen_primary_need)"
    return (
        required("upn"),
        *upn_rules(),
        required("laestab"),
        matches("laestab", "[0-9]{7}", "laestab_not_7_digits"),
        required("census_date"),
        is_date("census_date"),
        Rule("census_date", "census_date_not_in_a_census_month",
             f"month(send_date(census_date)) NOT IN ({', '.join(map(str, CENSUS_MONTHS))})"),
        Rule("census_date", "census_date_not_in_the_census_named",
             f"named_census <> '' AND {ROW_CENSUS_SQL} <> lower(named_census)"),
        required("phase"),
        one_of("phase", PHASES),
        required("ncyear_actual"),
        one_of("ncyear_actual", NC_YEARS),
        required("enrol_status"),
        one_of("enrol_status", ENROL_STATUSES),
        required("dob"),
        is_date("dob"),
        Rule("dob", "dob_after_census_date", "send_date(dob) > send_date(census_date)"),
        required("gender"),
        one_of("gender", ("M", "F")),
        one_of("ethnicity", ETHNICITIES),
        matches("first_language", "[A-Z]{3,4}", "language_code_not_3_or_4_letters"),
        required("sen_provision"),
        Rule("sen_provision", "provision_a_or_p_not_accepted", f"{provision} IN ('A', 'P')"),
        one_of("sen_provision", (*SEN_PROVISIONS, "A", "P")),
        one_of("sen_primary_need", SEN_NEEDS),
        Rule("sen_primary_need", "required_with_sen_provision",
             f"{provision} IN ('K', 'E', 'S') AND sen_primary_need IS NULL"),
        Rule("sen_primary_need", "given_without_sen_provision",
             f"{provision} = 'N' AND sen_primary_need IS NOT NULL"),
        Rule("sen_primary_need", "nsa_only_with_sen_support", f"{need} = 'NSA' AND {provision} <> 'K'"),
        one_of("sen_secondary_need", SEN_NEEDS),
        required("fsm_eligible"),
        is_bool("fsm_eligible"),
        is_date("fsm_start_date"),
        is_date("fsm_end_date"),
        Rule("fsm_end_date", "given_without_fsm_start_date", "fsm_end_date IS NOT NULL AND fsm_start_date IS NULL"),
        Rule("fsm_end_date", "fsm_end_before_start", "send_date(fsm_end_date) < send_date(fsm_start_date)"),
        Rule("fsm_eligible", "disagrees_with_fsm_dates",
             f"fsm_start_date IS NOT NULL AND send_bool(fsm_eligible) <> {FSM_ON_CENSUS_DATE}"),
        is_bool("pupil_premium"),
        required("home_la_code"),
        matches("home_la_code", "[0-9]{3}", "home_la_code_not_3_digits"),
        registration_repeated_with_other_values(),
    )  # fmt: skip


LOAD_SELECT = f"""
    {hmac_sql("upper(upn)")} AS pupil_id,
    laestab,
    send_date(census_date) AS census_date,
    upper(phase) AS phase,
    upper(ncyear_actual) AS ncyear_actual,
    upper(enrol_status) AS enrol_status,
    date_trunc('month', send_date(dob))::DATE AS birth_month,
    upper(gender) AS gender,
    upper(ethnicity) AS ethnicity,
    upper(first_language) AS first_language,
    upper(sen_provision) AS sen_provision,
    upper(sen_primary_need) AS sen_primary_need,
    upper(sen_secondary_need) AS sen_secondary_need,
    send_bool(fsm_eligible) AS fsm_eligible,
    coalesce(send_bool(pupil_premium), false) AS pupil_premium,
    home_la_code
"""


def census_contract(key: bytes) -> Contract:
    return Contract(
        source="census",
        target_table="raw.census_pupils",
        file_glob="*",
        required_columns=REQUIRED_COLUMNS,
        optional_columns=OPTIONAL_COLUMNS,
        rules=census_rules(),
        load_select=LOAD_SELECT,
        params=hmac_pads(key),
        period_column=CENSUS_PERIOD_SQL,
        derived=(FSM_FROM_DATES,),
        name_pattern=NAMED_CENSUS_PATTERN,
    )  # fmt: skip


@raw_source_asset(
    "census_pupils",
    "census",
    "School census pupils (pseudonymised), loaded from raw/census; bad rows go to raw.quarantine.",
)
def census_pupils(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    return ingest_asset(context, warehouse, lambda: census_contract(pseudonym_key()))
