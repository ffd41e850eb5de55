"""Learning disability annual health checks of young people aged 14 to 25: contract, reader and Dagster asset.

NHS England's Learning Disability Annual Health Check scheme offers everyone aged 14 and over on a GP practice's
learning disability register a health check every year. The integrated care board (ICB) sends the local authority's
SEND team a row-level extract of the young people living in its area aged 14 to 25 on a GP learning disability
register, one file per financial year (e.g. ``raw/health_checks/ld_health_checks_2022-23.csv|xlsx``), with the date
of each young person's annual health check in the year when they had one (seed 7.2, "Performance of health
assessments for CYP with LD").

Contract, one row per young person on a GP learning disability register per financial year. Columns are matched
case-insensitively after trimming; extra columns (a name, a GP practice code) are ignored, never stored, and listed
in the ledger. Every column named here must be in the header (a missing one fails the file, naming it): a file
without ``health_check_date`` would otherwise read as nobody checked.

* ``nhs_number`` -- required: 10 digits, spaces allowed anywhere (``943 476 5919``); the 10th digit must be the
  modulus-11 check digit of the nine before it (pipeline.nhs_number). Pseudonymised at ingest with the keyed HMAC
  every identifier gets (``person_id``, the same key as the census's pupils); the number never enters the warehouse.
* ``date_of_birth`` -- required date; reduced to its month (``birth_month``). The young person must be aged 14 to
  25 on 31 March, the last day of the financial year (the scheme's ages that the extract covers): a row outside them
  is quarantined (``not_aged_14_to_25_on_31_march``). Age on 31 March is exact from the month alone (everyone born
  in March has had their birthday by its last day), so the marts can band it after the day is dropped.
* ``financial_year`` -- required: ``2022-23`` (also ``2022/23``, ``2022-2023``, ``2022/2023`` and the EES
  ``202223``, the finance source's forms), stored as ``2022-23``. It is the period: a corrected file for a financial
  year replaces the rows loaded earlier for that year, whatever its name, and leaves the other years alone.
* ``health_check_date`` -- the date of the young person's annual health check in the year; empty when they had none.
  When given, a date from 1 April to 31 March of the financial year.

A young person appears once per financial year in a file: two rows with the same NHS number and financial year are
both quarantined (``person_repeated_in_financial_year``), as the other sources treat a repeated key (which of the two
is right cannot be told, and counting both would count the person twice).
"""

import dagster as dg

from pipeline.ingest import Contract, Rule, is_date, required
from pipeline.nhs_number import NHS_NUMBER_REGEX, digits_sql, invalid_check_digit_sql
from pipeline.pseudonymise import hmac_pads, hmac_sql
from pipeline.resources import SendWarehouse
from pipeline.settings import pseudonym_key
from pipeline.sources.asset_support import ingest_asset, raw_source_asset
from pipeline.sources.financial_year import FINANCIAL_YEAR_MACROS

MIN_AGE, MAX_AGE = 14, 25  # on 31 March, the last day of the financial year

MACROS = f"""
{FINANCIAL_YEAR_MACROS}
CREATE OR REPLACE TEMP MACRO health_checks_year_start(v) AS make_date(send_financial_year_start(v), 4, 1);
CREATE OR REPLACE TEMP MACRO health_checks_year_end(v) AS make_date(send_financial_year_start(v) + 1, 3, 31);
"""

NHS_DIGITS = digits_sql("nhs_number")


def health_checks_rules() -> tuple[Rule, ...]:
    year = "send_financial_year(financial_year)"
    age = "date_sub('year', send_date(date_of_birth), health_checks_year_end(financial_year))"
    checked = "send_date(health_check_date)"
    within = "health_checks_year_start(financial_year) AND health_checks_year_end(financial_year)"
    return (
        required("nhs_number"),
        Rule("nhs_number", "nhs_number_not_10_digits",
             f"nhs_number IS NOT NULL AND NOT regexp_full_match({NHS_DIGITS}, '{NHS_NUMBER_REGEX}')"),
        Rule("nhs_number", "nhs_number_check_digit_invalid", invalid_check_digit_sql("nhs_number")),
        required("date_of_birth"),
        is_date("date_of_birth"),
        required("financial_year"),
        Rule("financial_year", "not_a_financial_year", f"financial_year IS NOT NULL AND {year} IS NULL"),
        Rule("date_of_birth", f"not_aged_{MIN_AGE}_to_{MAX_AGE}_on_31_march",
             f"{age} NOT BETWEEN {MIN_AGE} AND {MAX_AGE}"),
        is_date("health_check_date"),
        Rule("health_check_date", "health_check_date_outside_financial_year",
             f"{checked} NOT BETWEEN {within}"),
        Rule("nhs_number", "person_repeated_in_financial_year",
             f"nhs_number IS NOT NULL AND {year} IS NOT NULL "
             f"AND count(*) OVER (PARTITION BY {NHS_DIGITS}, {year}) > 1"),
    )  # fmt: skip


LOAD_SELECT = f"""
    {hmac_sql(NHS_DIGITS)} AS person_id,
    send_financial_year(financial_year) AS financial_year,
    date_trunc('month', send_date(date_of_birth))::DATE AS birth_month,
    send_date(health_check_date) AS health_check_date
"""


def health_checks_contract(key: bytes) -> Contract:
    return Contract(
        source="health_checks",
        target_table="raw.ld_health_checks",
        file_glob="*",
        required_columns=("nhs_number", "date_of_birth", "financial_year", "health_check_date"),
        optional_columns=(),
        rules=health_checks_rules(),
        load_select=LOAD_SELECT,
        params=hmac_pads(key),
        period_column="financial_year",
        macros=MACROS,
    )


@raw_source_asset(
    "ld_health_checks",
    "health_checks",
    "Young people aged 14 to 25 on a GP learning disability register, per financial year, with the date of their "
    "annual health check (pseudonymised), loaded from raw/health_checks; bad rows go to raw.quarantine.",
)
def ld_health_checks(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    return ingest_asset(context, warehouse, lambda: health_checks_contract(pseudonym_key()))
