"""Placements of children with SEN (mostly EHC plans) as a council's case-management system exports them.

Contract (the brief's SOURCES.md "Placements", not in this repository, completed where it is silent), files
``raw/placements/*.csv|xlsx``: one row per child placement that was open at any time in the 12 months up to the
extract date, so an extract holds the placements current on its date and the ones that ended during the year
before it.

Columns (matched case-insensitively after trimming; extra columns are ignored and listed in the ledger):

* ``extract_date`` -- required date: the period. A corrected extract for the same extract_date replaces the
  earlier one, whatever its file name; extracts of other dates are kept side by side.
* ``placement_id`` -- required; appears once per extract (a repeat is quarantined, both rows); pseudonymised
  (a case-system key leads straight to the child).
* ``person_id`` -- required case-management person id; pseudonymised with the same keyed HMAC as every
  identifier.
* ``upn`` -- optional; 13 characters with a valid check letter; pseudonymised exactly as the census does
  (``pupil_id``), so a child links to the census.
* ``dob`` -- required date, not after the extract date; reduced to the month (``birth_month``).
* ``has_ehcp`` -- required Y/N (also true/false, 1/0).
* ``primary_need`` -- SEN type as the census codes it (AUT accepted; staging reads it as ASD); required with an
  EHC plan; NSA only without one.
* ``setting_type`` -- required, one of SETTING_TYPES.
* ``in_county`` -- required Y/N: the setting lies in the local authority's own area.
* ``start_date`` -- required date, not before the date of birth; ``end_date`` -- a required column whose value may
  be empty (open), not before start_date: a file without the column (or with it under another name) would read as
  every placement still open.
* ``annual_cost_gbp`` -- optional amount as finance reads one (``pipeline/sources/amounts.py``: ``£``, thousands
  grouped by commas or spaces, at most two decimals; a decimal comma or a mis-grouped number is rejected, never read
  as another amount); ``c``, ``x``, ``z`` read as missing (NULL), never 0; a negative amount is rejected.

What counts as "at the extract date" (current) is decided in dbt staging: start_date <= extract_date and
(end_date empty or >= extract_date). The setting groups the needs assessment reports (special school, post-16
college or alternative provision) are also staging's (``stg_placements__placements``).
"""

import dagster as dg

from pipeline.ingest import Contract, Rule, is_bool, is_date, one_of, required
from pipeline.pseudonymise import hmac_pads, hmac_sql
from pipeline.resources import SendWarehouse
from pipeline.settings import pseudonym_key
from pipeline.sources.amounts import AMOUNT_MACROS
from pipeline.sources.asset_support import ingest_asset, raw_source_asset
from pipeline.sources.census import SEN_NEEDS
from pipeline.upn import upn_rules

# The placement types a case-management system records (SEN2 placement categories, as codes).
SETTING_TYPES: dict[str, str] = {
    "EARLY_YEARS": "Early years setting (private, voluntary or independent nursery, childminder)",
    "MAINSTREAM": "Mainstream school (maintained, academy or free school), including a school sixth form",
    "ERP": "Enhanced resourced provision, designated special provision or SEN unit in a mainstream school",
    "LA_SPECIAL": "Special school maintained by a local authority, or a special academy or free school",
    "INMSS": "Independent or non-maintained special school",
    "AP": "Alternative provision or pupil referral unit",
    "FE_COLLEGE": "General further education or sixth form college",
    "SPI": "Specialist post-16 institution",
    "APPRENTICESHIP": "Apprenticeship, traineeship or supported internship",
    "RESIDENTIAL": "Residential provision (residential college or care placement with education)",
    "EHE": "Elective home education",
    "OTHER": "Other arrangements (education otherwise than at school, hospital education, not in education)",
}

# Amounts as finance and case systems print them ("£12,345.00", "12345", "12 000": pipeline/sources/amounts.py,
# finance's parser); the symbols c, x and z (suppressed, not available, not applicable) are a missing amount, never 0.
MACROS = (
    AMOUNT_MACROS
    + """
CREATE OR REPLACE TEMP MACRO placements_amount(v) AS TRY_CAST(send_gbp(v) AS DECIMAL(12, 2));
"""
)


def placements_rules() -> tuple[Rule, ...]:
    ehcp = "send_bool(has_ehcp)"
    return (
        required("placement_id"),
        Rule(
            "placement_id",
            "placement_id_repeated_in_extract",
            "placement_id IS NOT NULL AND (SELECT count(*) FROM _extract AS _other "
            "WHERE _other.placement_id = _extract.placement_id) > 1",
        ),
        required("person_id"),
        *upn_rules(),
        required("extract_date"),
        is_date("extract_date"),
        required("dob"),
        is_date("dob"),
        Rule("dob", "dob_after_extract_date", "send_date(dob) > send_date(extract_date)"),
        required("has_ehcp"),
        is_bool("has_ehcp"),
        one_of("primary_need", SEN_NEEDS),
        Rule("primary_need", "required_with_ehcp", f"{ehcp} AND primary_need IS NULL"),
        Rule("primary_need", "nsa_only_without_ehcp", f"{ehcp} AND upper(primary_need) = 'NSA'"),
        required("setting_type"),
        one_of("setting_type", SETTING_TYPES, "setting_type_not_allowed"),
        required("in_county"),
        is_bool("in_county"),
        required("start_date"),
        is_date("start_date"),
        Rule("start_date", "start_date_before_dob", "send_date(start_date) < send_date(dob)"),
        is_date("end_date"),
        Rule("end_date", "end_date_before_start_date", "send_date(end_date) < send_date(start_date)"),
        Rule(
            "annual_cost_gbp",
            "annual_cost_not_an_amount",
            "annual_cost_gbp IS NOT NULL AND send_gbp_symbol(annual_cost_gbp) IS NULL "
            "AND placements_amount(annual_cost_gbp) IS NULL",
        ),
        Rule("annual_cost_gbp", "annual_cost_negative", "placements_amount(annual_cost_gbp) < 0"),
    )


LOAD_SELECT = f"""
    {hmac_sql("placement_id")} AS placement_id,
    {hmac_sql("person_id")} AS person_id,
    CASE WHEN upn IS NOT NULL THEN {hmac_sql("upper(upn)")} END AS pupil_id,
    send_date(extract_date) AS extract_date,
    date_trunc('month', send_date(dob))::DATE AS birth_month,
    send_bool(has_ehcp) AS has_ehcp,
    upper(primary_need) AS primary_need,
    upper(setting_type) AS setting_type,
    send_bool(in_county) AS in_county,
    send_date(start_date) AS start_date,
    send_date(end_date) AS end_date,
    placements_amount(annual_cost_gbp) AS annual_cost_gbp
"""


def placements_contract(key: bytes) -> Contract:
    return Contract(
        source="placements",
        target_table="raw.placements",
        file_glob="*",
        required_columns=(
            "extract_date", "placement_id", "person_id", "dob", "has_ehcp", "setting_type", "in_county",
            "start_date", "end_date",
        ),
        optional_columns=("upn", "primary_need", "annual_cost_gbp"),
        rules=placements_rules(),
        load_select=LOAD_SELECT,
        params=hmac_pads(key),
        period_column="extract_date",
        macros=MACROS,
    )  # fmt: skip


@raw_source_asset(
    "placements",
    "placements",
    "Placements of children with SEN (pseudonymised), one row per placement per extract, loaded "
    "from raw/placements; bad rows go to raw.quarantine.",
)
def placements(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    return ingest_asset(context, warehouse, lambda: placements_contract(pseudonym_key()))
