"""ONS mid-year population estimates: contract, reader and Dagster asset.

Contract (the brief's SOURCES.md "ONS population", not in this repository: this docstring is the contract), one
row per year x area x single year of age x sex, files
``raw/population/*.csv`` (an XLSX in the same layout is read too). No person identifiers. A key given twice in one
file (the area as 857 and as E06000017, age 90 and 90+ are one key) quarantines every row of it
(``row_repeated_in_file``).

* ``year``: the mid-year (30 June) of the estimate, four digits.
* ``la_code``: the ONS 9-character GSS code (``E06000017``) or the DfE old 3-digit LA code (``857``), as the file
  has it. The warehouse stores BOTH, as DfE's statistics do: ``new_la_code`` (the GSS code as given, or for a
  3-digit code the current GSS code of that authority) and ``old_la_code`` (the 3-digit code as given, or looked
  up from the GSS code; NULL for an area that is not a DfE local authority, e.g. a district, a region
  ``E12...`` or England ``E92000001``, which are kept as comparators). ``old_la_code`` is the code the rest of the
  warehouse joins on (census ``home_la_code``, ``SEND_LA_CODE``). A 3-digit code that is not an English local
  authority is quarantined.
* ``age``: single year 0..90, where 90 means 90 and over (``90+`` is read as 90).
* ``sex``: ``M``/``F``, or ONS's ``1`` (male) / ``2`` (female); stored as ``M``/``F``.
* ``population``: a whole number of people (thousands separators allowed).

The period is (year, local authority): a corrected file for the same year and authority replaces the earlier
one, whichever code form either file used (the key is the old code when there is one, else the GSS code).
"""

import dagster as dg

from pipeline.ingest import Contract, Rule, matches, one_of, repeated_in_file, required, sql_list
from pipeline.resources import SendWarehouse
from pipeline.sources.asset_support import ingest_asset, raw_source_asset
from pipeline.sources.la_codes import LA_CODE_MACROS, la_code_rules, la_key_sql

SEXES = ("M", "F", "1", "2", "MALE", "FEMALE")
MALE = ("M", "1", "MALE")


MACROS = f"""
{LA_CODE_MACROS}
CREATE OR REPLACE TEMP MACRO send_population_age(v) AS CASE
    WHEN v = '90+' THEN 90
    WHEN regexp_full_match(v, '[0-9]{{1,2}}') AND TRY_CAST(v AS INTEGER) <= 90 THEN TRY_CAST(v AS INTEGER)
END;
CREATE OR REPLACE TEMP MACRO send_population_count(v) AS CASE
    WHEN regexp_full_match(v, '[0-9]{{1,3}}(,[0-9]{{3}})+|[0-9]+') THEN TRY_CAST(replace(v, ',', '') AS INTEGER)
END;
"""


SEX_SQL = f"CASE WHEN upper(sex) IN ({sql_list(MALE)}) THEN 'M' ELSE 'F' END"


def population_rules() -> tuple[Rule, ...]:
    return (
        required("year"),
        matches("year", "(19|20)[0-9]{2}", "year_not_yyyy"),
        *la_code_rules(),
        required("age"),
        Rule("age", "age_not_0_to_90", "age IS NOT NULL AND send_population_age(age) IS NULL"),
        required("sex"),
        one_of("sex", SEXES, name="sex_not_m_f_1_or_2"),
        required("population"),
        Rule("population", "population_not_a_whole_number",
             "population IS NOT NULL AND send_population_count(population) IS NULL"),
        repeated_in_file("age", ("TRY_CAST(year AS INTEGER)", la_key_sql(), "send_population_age(age)", SEX_SQL)),
    )  # fmt: skip


LOAD_SELECT = f"""
    CAST(year AS INTEGER) AS year,
    send_new_la_code(la_code) AS new_la_code,
    send_old_la_code(la_code) AS old_la_code,
    send_population_age(age) AS age,
    {SEX_SQL} AS sex,
    send_population_count(population) AS population
"""

# The period is (year, authority), a text key over the warehouse table's columns, e.g. '2021/857'.
PERIOD_COLUMN = "(year::VARCHAR || '/' || coalesce(old_la_code, new_la_code))"


def population_contract() -> Contract:
    return Contract(
        source="population",
        target_table="raw.population_estimates",
        file_glob="*",
        required_columns=("year", "la_code", "age", "sex", "population"),
        optional_columns=(),
        rules=population_rules(),
        load_select=LOAD_SELECT,
        period_column=PERIOD_COLUMN,
        macros=MACROS,
    )


@raw_source_asset(
    "population_estimates",
    "population",
    "ONS mid-year population estimates by single year of age and sex, loaded from raw/population "
    "(GSS and old LA codes both kept); bad rows go to raw.quarantine.",
)
def population_estimates(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    return ingest_asset(context, warehouse, population_contract)
