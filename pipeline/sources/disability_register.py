"""Disability register (the Aiming High register): contract, reader and Dagster asset.

Contract (the brief's SOURCES.md "Disability register", not in this repository, completed where it is silent), files
``raw/disability_register/*.csv|xlsx``: one file per snapshot, one row per child on the register at the
snapshot date.

Columns (matched case-insensitively after trimming; extra columns such as names are ignored, never stored):

* ``register_id`` -- required; appears once per file (a repeat is quarantined, both rows); pseudonymised with
  the same keyed HMAC as every identifier.
* ``snapshot_date`` -- required date: the period. A corrected file for the same snapshot_date replaces the
  earlier one, whatever its name.
* ``upn`` -- optional; 13 characters with a valid check letter; pseudonymised exactly as the census does
  (``pupil_id``), so a child links to the census.
* ``dob`` -- required date, not after the snapshot date; reduced to the month (``birth_month``).
* ``gender`` -- required: M, F or U (not known / not recorded).
* ``home_postcode`` -- optional UK postcode, reduced to its district (outward code) at ingest; the full
  postcode is never stored.
* ``in_area`` -- optional Y/N: the child lives in the local authority's area. A row needs in_area or
  home_postcode.
* ``has_ehcp`` -- required Y/N (also true/false, 1/0).
* ``disability_codes`` (or ``disability_code``) -- required: one or more CIN census disability codes
  (DISABILITY_CODES) separated by ``;``, ``,``, ``|``, ``/`` or spaces. A file with both columns: a row whose two
  values are not the same codes is quarantined (``disability_code_differs_from_disability_codes``).
* ``aiming_high_positive_activities``, ``aiming_high_short_breaks`` -- the child used Aiming High positive
  activities / had a short breaks grant in the 12 months up to the snapshot date; ``parent_support`` -- a
  parent/carer of the child had support, information or advice (ADHD/ASD) in those 12 months. Y/N; an empty
  value reads as N (no use recorded).

Residence ("out of area") is decided by the ``in_area`` flag, which the register holds from the full address.
A postcode district cannot decide it: districts straddle the county boundary (PE9 is both Stamford in
Lincolnshire and Rutland villages; LE15 and LE16 reach into Leicestershire). The district is kept for geography
only; a row that has a postcode but no flag loads with ``in_area`` NULL (residence not recorded).

Service use is modelled as flags on the snapshot row (the Aiming High year ends with the March snapshot), so
"used positive activities April 2022 to March 2023" is a count of flagged rows of the 31 March 2023 snapshot.
"""

import dagster as dg

from pipeline.ingest import Contract, Rule, is_bool, is_date, one_of, required
from pipeline.postcode import POSTCODE_REGEX, postcode_district_sql
from pipeline.pseudonymise import hmac_pads, hmac_sql
from pipeline.resources import SendWarehouse
from pipeline.settings import pseudonym_key
from pipeline.sources.asset_support import ingest_asset, raw_source_asset
from pipeline.upn import upn_rules

# Disability codes of the DfE children in need census (the coding children's social care systems hold).
DISABILITY_CODES: dict[str, str] = {
    "MOB": "Mobility",
    "MAN": "Hand function",
    "PC": "Personal care",
    "CON": "Incontinence",
    "COMM": "Communication",
    "LD": "Learning",
    "HEAR": "Hearing",
    "VIS": "Vision",
    "BEH": "Behaviour",
    "CONS": "Consciousness",
    "AUT": "Autism or Asperger syndrome",
    "DDA": "Other disability (Equality Act 2010)",
}
GENDERS = ("M", "F", "U")
SERVICE_FLAGS = ("aiming_high_positive_activities", "aiming_high_short_breaks", "parent_support")

# The codes given (either header spelling), split into a sorted list without repeats.
MACROS = r"""
CREATE OR REPLACE TEMP MACRO disability_register_codes(codes, code) AS list_sort(list_distinct(list_filter(
    regexp_split_to_array(upper(coalesce(codes, code)), '[;,|/\s]+'), lambda c: c <> '')));
"""


def disability_register_rules() -> tuple[Rule, ...]:
    codes = "disability_register_codes(disability_codes, disability_code)"
    allowed = ", ".join(f"'{c}'" for c in DISABILITY_CODES)
    postcode = "upper(regexp_replace(home_postcode, '\\s+', '', 'g'))"
    return (
        required("register_id"),
        Rule(
            "register_id",
            "register_id_repeated_in_file",
            "register_id IS NOT NULL AND (SELECT count(*) FROM _extract AS _other "
            "WHERE _other.register_id = _extract.register_id) > 1",
        ),
        required("snapshot_date"),
        is_date("snapshot_date"),
        *upn_rules(),
        required("dob"),
        is_date("dob"),
        Rule("dob", "dob_after_snapshot_date", "send_date(dob) > send_date(snapshot_date)"),
        required("gender"),
        one_of("gender", GENDERS),
        Rule(
            "home_postcode",
            "postcode_not_valid",
            f"home_postcode IS NOT NULL AND NOT regexp_full_match({postcode}, '{POSTCODE_REGEX.replace(' ?', '')}')",
        ),
        is_bool("in_area"),
        Rule("in_area", "in_area_or_home_postcode_required", "in_area IS NULL AND home_postcode IS NULL"),
        required("has_ehcp"),
        is_bool("has_ehcp"),
        Rule("disability_codes", "required", f"len(coalesce({codes}, [])) = 0"),
        Rule(
            "disability_codes",
            "disability_code_not_allowed",
            f"len(list_filter({codes}, lambda c: NOT list_contains([{allowed}], c))) > 0",
        ),
        # a file with both columns: the row is loaded only when they hold the same codes (which is right cannot be
        # told, and the load reads disability_codes first)
        Rule(
            "disability_code",
            "disability_code_differs_from_disability_codes",
            "disability_codes IS NOT NULL AND disability_code IS NOT NULL AND "
            "disability_register_codes(disability_codes, NULL) IS DISTINCT FROM "
            "disability_register_codes(disability_code, NULL)",
        ),
        *(is_bool(flag) for flag in SERVICE_FLAGS),
    )


LOAD_SELECT = f"""
    {hmac_sql("register_id")} AS register_id,
    CASE WHEN upn IS NOT NULL THEN {hmac_sql("upper(upn)")} END AS pupil_id,
    send_date(snapshot_date) AS snapshot_date,
    date_trunc('month', send_date(dob))::DATE AS birth_month,
    upper(gender) AS gender,
    {postcode_district_sql("home_postcode")} AS home_postcode_district,
    send_bool(in_area) AS in_area,
    send_bool(has_ehcp) AS has_ehcp,
    disability_register_codes(disability_codes, disability_code) AS disability_codes,
    coalesce(send_bool(aiming_high_positive_activities), false) AS aiming_high_positive_activities,
    coalesce(send_bool(aiming_high_short_breaks), false) AS aiming_high_short_breaks,
    coalesce(send_bool(parent_support), false) AS parent_support
"""


def disability_register_contract(key: bytes) -> Contract:
    return Contract(
        source="disability_register",
        target_table="raw.disability_register",
        file_glob="*",
        required_columns=("register_id", "snapshot_date", "dob", "gender", "has_ehcp", *SERVICE_FLAGS),
        optional_columns=("upn", "home_postcode", "in_area", "disability_codes", "disability_code"),
        rules=disability_register_rules(),
        load_select=LOAD_SELECT,
        params=hmac_pads(key),
        period_column="snapshot_date",
        macros=MACROS,
    )


@raw_source_asset(
    "disability_register",
    "disability_register",
    "Disability (Aiming High) register snapshots (pseudonymised), one row per child per snapshot, "
    "loaded from raw/disability_register; bad rows go to raw.quarantine.",
)
def disability_register(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    return ingest_asset(context, warehouse, lambda: disability_register_contract(pseudonym_key()))
