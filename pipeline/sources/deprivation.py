"""English Indices of Deprivation, local authority district ranks: contract, reader and Dagster asset.

Contract: one row per area x edition of the indices, files ``raw/deprivation/*.csv|xlsx``, in the shape of MHCLG's
"File 10: local authority district summaries" cut down to what the needs assessment quotes (seed 5.2). No person
identifiers: nothing is pseudonymised. An area given twice for one edition (as 857 and as E06000017, say)
quarantines every row of it (``row_repeated_in_file``).

* ``year``: the edition of the indices (2010, 2015, 2019, ...), four digits. With the area, it is the period: a
  corrected file for an edition replaces the rows of the areas it gives again, whatever its name, and leaves the
  other areas and editions alone, so files for one edition that cover different areas (one per region) sit side by
  side rather than the later taking the earlier's rows out.
* ``la_code``: the area as the file codes it: an ONS 9-character GSS code (``E06000017``, a district ``E07...``)
  or a DfE old 3-digit LA code (``857``). Both forms are stored, as the population source stores them:
  ``new_la_code`` (the GSS code as given, or the current GSS code of the 3-digit code) and ``old_la_code`` (the
  3-digit code as given or looked up; NULL for a lower-tier district, which has no DfE code). A 3-digit code that
  is not an English local authority is quarantined.
* ``la_name`` (optional): the area's name as the file spells it.
* ``region_code`` (optional): the ONS code of the area's region (``E12000004`` East Midlands). The ranks are of
  local authority *districts* (317 lower-tier areas in 2019) while the warehouse's ``la_geography`` seed is
  upper-tier, so the region of a district can only come from the extract; the mart ranks areas within the region
  the extract gives (see fct_deprivation).
* ``rank``: the district's rank of average rank, 1 = most deprived; a whole number from 1 to ``districts_ranked``.
* ``districts_ranked``: how many areas that edition ranks (317 in 2019; 326 in 2010 and 2015).
"""

import dagster as dg

from pipeline.ingest import Contract, Rule, matches, repeated_in_file, required
from pipeline.resources import SendWarehouse
from pipeline.sources.asset_support import ingest_asset, raw_source_asset
from pipeline.sources.la_codes import LA_CODE_MACROS, la_code_rules, la_key_sql

REGION_CODE_REGEX = "E12[0-9]{6}"
WHOLE_NUMBER_REGEX = "[1-9][0-9]{0,5}"

MACROS = f"""
{LA_CODE_MACROS}
CREATE OR REPLACE TEMP MACRO send_deprivation_whole(v) AS CASE
    WHEN regexp_full_match(v, '{WHOLE_NUMBER_REGEX}') THEN TRY_CAST(v AS INTEGER)
END;
"""


def deprivation_rules() -> tuple[Rule, ...]:
    return (
        required("year"),
        matches("year", "(19|20)[0-9]{2}", "year_not_yyyy"),
        *la_code_rules(),
        matches("region_code", REGION_CODE_REGEX, "region_code_not_e12"),
        required("rank"),
        Rule("rank", "rank_not_a_positive_whole_number", "rank IS NOT NULL AND send_deprivation_whole(rank) IS NULL"),
        required("districts_ranked"),
        Rule("districts_ranked", "districts_ranked_not_a_positive_whole_number",
             "districts_ranked IS NOT NULL AND send_deprivation_whole(districts_ranked) IS NULL"),
        Rule("rank", "rank_above_districts_ranked",
             "send_deprivation_whole(rank) > send_deprivation_whole(districts_ranked)"),
        repeated_in_file("la_code", ("TRY_CAST(year AS INTEGER)", la_key_sql())),
    )  # fmt: skip


LOAD_SELECT = """
    CAST(year AS INTEGER) AS year,
    send_new_la_code(la_code) AS new_la_code,
    send_old_la_code(la_code) AS old_la_code,
    la_name,
    upper(region_code) AS region_code,
    send_deprivation_whole(rank) AS rank,
    send_deprivation_whole(districts_ranked) AS districts_ranked
"""


# The period is (edition, area), a text key over the warehouse table's columns, e.g. '2019/857' (as population's).
PERIOD_COLUMN = "(year::VARCHAR || '/' || coalesce(old_la_code, new_la_code))"


def deprivation_contract() -> Contract:
    return Contract(
        source="deprivation",
        target_table="raw.deprivation_ranks",
        file_glob="*",
        required_columns=("year", "la_code", "rank", "districts_ranked"),
        optional_columns=("la_name", "region_code"),
        rules=deprivation_rules(),
        load_select=LOAD_SELECT,
        period_column=PERIOD_COLUMN,
        macros=MACROS,
    )


@raw_source_asset(
    "deprivation_ranks",
    "deprivation",
    "English Indices of Deprivation: rank of each local authority district (1 = most deprived) per edition, "
    "loaded from raw/deprivation; bad rows go to raw.quarantine.",
)
def deprivation_ranks(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    return ingest_asset(context, warehouse, deprivation_contract)
