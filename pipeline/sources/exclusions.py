"""Suspensions and permanent exclusions of pupils, as the local authority's system exports them.

Contract, files ``raw/exclusions/*.csv|xlsx``: one row per suspension or permanent exclusion, one extract per
academic year for the whole authority (schools' own exports are combined into one file first: a second file for the
same year is taken for a correction and replaces the first's rows, as the run log says). Columns are matched
case-insensitively after trimming; extra columns are ignored and listed in the ledger.

* ``academic_year`` -- required: ``2021/22`` (also ``202122`` as DfE writes it, or ``2021-22``); the period. A
  corrected extract for an academic year replaces the rows loaded earlier for that year, whatever its file name.
* ``upn`` -- required; 13 characters with a valid check letter; pseudonymised at ingest exactly as the census
  does (``pupil_id``), so the pupil links to the census of the same year. The UPN never enters the warehouse.
* ``exclusion_type`` -- required: ``suspension`` or ``permanent``; DfE's codes are accepted too: ``FIXED``,
  ``FIXD`` and ``Fixed period`` (a suspension was a "fixed-period exclusion" before 2021) and ``PERM``. Kept as
  sent (upper case); dbt staging reads it as suspension or permanent.
* ``start_date`` -- required date within the academic year (1 September to 31 August).
* ``sessions`` -- required: school sessions (half-days) missed, a positive number. A suspension may end at
  lunchtime, so halves are allowed for suspensions (``2.5``); a permanent exclusion counts whole sessions.
  A single suspension is at most 45 school days (90 sessions), the legal limit for a pupil in a school year.
* ``reason`` -- optional: DfE exclusion reason code (EXCLUSION_REASONS).

A row repeating another's pupil, type and start date in the same extract is quarantined, both rows (a system
that exports one event twice would otherwise double it). The SEN status of the pupil is not in this extract:
the marts take it from the Spring census of the same academic year.
"""

import dagster as dg

from pipeline.ingest import Contract, Rule, is_date, one_of, required, sql_list
from pipeline.pseudonymise import hmac_pads, hmac_sql
from pipeline.resources import SendWarehouse
from pipeline.settings import pseudonym_key
from pipeline.sources import academic_year
from pipeline.sources.asset_support import ingest_asset, raw_source_asset
from pipeline.upn import upn_rules

SUSPENSION_CODES = ("SUSPENSION", "FIXED", "FIXD", "FIXED PERIOD", "FIXED-PERIOD", "FIXED_PERIOD")
PERMANENT_CODES = ("PERMANENT", "PERM")
# DfE exclusion reason codes (school census exclusions module and the exclusions statistics), current and legacy.
EXCLUSION_REASONS: dict[str, str] = {
    "PP": "Physical assault against a pupil",
    "PA": "Physical assault against an adult",
    "VP": "Verbal abuse or threatening behaviour against a pupil",
    "VA": "Verbal abuse or threatening behaviour against an adult",
    "OW": "Use or threat of use of an offensive weapon or prohibited item",
    "BU": "Bullying",
    "RA": "Racist abuse",
    "LG": "Abuse against sexual orientation and gender identity",
    "DS": "Abuse relating to disability",
    "SM": "Sexual misconduct",
    "DA": "Drug and alcohol related",
    "DM": "Damage",
    "TH": "Theft",
    "PD": "Persistent disruptive behaviour",
    "MT": "Inappropriate use of social media or online technology",
    "PH": "Wilful and repeated transgression of protective measures in place to protect public health",
    "HO": "Homophobic abuse (before 2020/21)",
    "OT": "Other (before 2020/21)",
}
MAX_SUSPENSION_SESSIONS = 90  # 45 school days

MACROS = r"""
CREATE OR REPLACE TEMP MACRO exclusions_sessions(v) AS CASE
    WHEN regexp_full_match(v, '-?[0-9]+(\.[0-9]+)?') THEN try_cast(v AS DECIMAL(7, 2))
END;
CREATE OR REPLACE TEMP MACRO exclusions_type(v) AS CASE
    WHEN regexp_replace(upper(v), '\s+', ' ', 'g') IN ({suspensions}) THEN 'suspension'
    WHEN upper(v) IN ({permanent}) THEN 'permanent'
END;
"""


def exclusions_macros() -> str:
    return academic_year.MACROS + MACROS.format(
        suspensions=sql_list(SUSPENSION_CODES), permanent=sql_list(PERMANENT_CODES)
    )


def exclusions_rules() -> tuple[Rule, ...]:
    sessions = "exclusions_sessions(sessions)"
    kind = "exclusions_type(exclusion_type)"
    return (
        required("academic_year"),
        Rule("academic_year", "not_an_academic_year", academic_year.academic_year_broken()),
        required("upn"),
        *upn_rules(),
        required("exclusion_type"),
        Rule("exclusion_type", "code_not_allowed", f"exclusion_type IS NOT NULL AND {kind} IS NULL"),
        required("start_date"),
        is_date("start_date"),
        Rule("start_date", "start_date_outside_academic_year",
             academic_year.outside_academic_year("send_date(start_date)")),
        required("sessions"),
        Rule("sessions", "sessions_not_a_number", f"sessions IS NOT NULL AND {sessions} IS NULL"),
        Rule("sessions", "sessions_not_positive", f"{sessions} <= 0"),
        # on the text as sent: the number is read as DECIMAL(7, 2), which would round 2.001 to 2
        Rule("sessions", "sessions_not_whole_or_half",
             rf"{sessions} IS NOT NULL AND NOT regexp_full_match(sessions, '-?[0-9]+(\.(0+|50*))?')"),
        Rule("sessions", "permanent_exclusion_sessions_not_whole",
             f"{kind} = 'permanent' AND {sessions} <> floor({sessions})"),
        Rule("sessions", "suspension_over_45_school_days",
             f"{kind} = 'suspension' AND {sessions} > {MAX_SUSPENSION_SESSIONS}"),
        one_of("reason", EXCLUSION_REASONS),
        Rule(
            "upn",
            "exclusion_repeated_in_extract",
            f"upn IS NOT NULL AND start_date IS NOT NULL AND {kind} IS NOT NULL AND (SELECT count(*) FROM _extract "
            "AS _other WHERE upper(_other.upn) = upper(_extract.upn) "
            "AND send_date(_other.start_date) = send_date(_extract.start_date) "
            "AND exclusions_type(_other.exclusion_type) = exclusions_type(_extract.exclusion_type)) > 1",
        ),
    )  # fmt: skip


LOAD_SELECT = f"""
    {hmac_sql("upper(upn)")} AS pupil_id,
    outcome_time_period(academic_year) AS time_period,
    regexp_replace(upper(exclusion_type), '\\s+', ' ', 'g') AS exclusion_type,
    send_date(start_date) AS start_date,
    exclusions_sessions(sessions)::DECIMAL(6, 1) AS sessions,
    upper(reason) AS reason
"""


def exclusions_contract(key: bytes) -> Contract:
    return Contract(
        source="exclusions",
        target_table="raw.exclusions",
        file_glob="*",
        required_columns=("academic_year", "upn", "exclusion_type", "start_date", "sessions"),
        optional_columns=("reason",),
        rules=exclusions_rules(),
        load_select=LOAD_SELECT,
        params=hmac_pads(key),
        period_column="time_period",
        macros=exclusions_macros(),
    )


@raw_source_asset(
    "exclusions",
    "outcomes",
    "Suspensions and permanent exclusions (pseudonymised), one row per event, loaded from raw/exclusions; "
    "bad rows go to raw.quarantine.",
)
def exclusions(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    return ingest_asset(context, warehouse, lambda: exclusions_contract(pseudonym_key()))
