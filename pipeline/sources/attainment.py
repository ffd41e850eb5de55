"""Pupils' results at the end of each key stage, as the local authority's assessment data exports them.

Contract, files ``raw/attainment/*.csv|xlsx``: one row per pupil x key stage x measure (a long file: a pupil at
the end of KS1 has three rows, reading, writing and maths). Columns are matched case-insensitively after trimming;
extra columns are ignored and listed in the ledger.

* ``academic_year`` -- required: ``2021/22`` (also ``202122`` as DfE writes it, or ``2021-22``): the year the
  assessment was taken (the summer of 2022 for ``2021/22``). The period: a corrected extract for an academic
  year replaces the rows loaded earlier for that year, whatever its file name.
* ``upn`` -- required; 13 characters with a valid check letter; pseudonymised at ingest exactly as the census
  does (``pupil_id``), so the pupil links to the Spring census of the same year. The UPN never enters the
  warehouse.
* ``key_stage`` -- required: ``EYFS`` (end of reception), ``KS1`` (end of year 2), ``KS2`` (end of year 6),
  ``KS4`` (end of year 11).
* ``measure`` -- required, and one of its key stage's (MEASURES_BY_KEY_STAGE): EYFS ``GLD`` (a good level of
  development); KS1 ``READING``, ``WRITING``, ``MATHS`` (teacher assessment at the expected standard); KS2 ``RWM``
  (reading, writing and maths combined at the expected standard); KS4 ``ATT8`` (Attainment 8 score) and ``P8``
  (Progress 8 score).
* ``result`` -- required, checked per measure: for GLD, READING, WRITING, MATHS and RWM whether the pupil met the
  standard, ``Y`` or ``N`` (also true/false, 1/0); for ATT8 the pupil's Attainment 8 score, 0 to 90 (eight
  subject slots, English and maths counted twice, each graded 0-9), at most two decimals; for P8 the pupil's
  Progress 8 score, at most two decimals, between -10 and +10 (DfE's pupil scores lie within about -5 to +5: a
  value beyond 10 is not a Progress 8 score).

A pupil with no result for a measure (absent, disapplied, no KS2 baseline for Progress 8) has no row. A second row
for the same pupil, key stage and measure in one extract is quarantined, both rows. SEN status is not in this
extract: the marts take it from the Spring census of the same academic year.
"""

import dagster as dg

from pipeline.ingest import Contract, Rule, one_of, required, sql_list
from pipeline.pseudonymise import hmac_pads, hmac_sql
from pipeline.resources import SendWarehouse
from pipeline.settings import pseudonym_key
from pipeline.sources import academic_year
from pipeline.sources.asset_support import ingest_asset, raw_source_asset
from pipeline.upn import upn_rules

MEASURES_BY_KEY_STAGE: dict[str, tuple[str, ...]] = {
    "EYFS": ("GLD",),
    "KS1": ("READING", "WRITING", "MATHS"),
    "KS2": ("RWM",),
    "KS4": ("ATT8", "P8"),
}
BINARY_MEASURES = ("GLD", "READING", "WRITING", "MATHS", "RWM")
SCORE_RANGES: dict[str, tuple[int, int]] = {"ATT8": (0, 90), "P8": (-10, 10)}
MEASURES = (*BINARY_MEASURES, *SCORE_RANGES)

MACROS = r"""
CREATE OR REPLACE TEMP MACRO attainment_score(v) AS CASE
    WHEN regexp_full_match(v, '[-+]?[0-9]{1,2}(\.[0-9]{1,2})?') THEN try_cast(v AS DECIMAL(5, 2))
END;
"""


def _pairs_sql() -> str:
    return sql_list(f"{stage}|{measure}" for stage, measures in MEASURES_BY_KEY_STAGE.items() for measure in measures)


def _score_outside(measure: str) -> Rule:
    low, high = SCORE_RANGES[measure]
    name = f"{'attainment8' if measure == 'ATT8' else 'progress8'}_outside_{low}_to_{high}".replace("-", "minus_")
    return Rule(
        "result",
        name,
        f"upper(measure) = '{measure}' AND (attainment_score(result) < {low} OR attainment_score(result) > {high})",
    )


def attainment_rules() -> tuple[Rule, ...]:
    measure = "upper(measure)"
    return (
        required("academic_year"),
        Rule("academic_year", "not_an_academic_year", academic_year.academic_year_broken()),
        required("upn"),
        *upn_rules(),
        required("key_stage"),
        one_of("key_stage", MEASURES_BY_KEY_STAGE),
        required("measure"),
        one_of("measure", MEASURES),
        Rule(
            "measure",
            "measure_not_of_key_stage",
            f"upper(key_stage) IN ({sql_list(MEASURES_BY_KEY_STAGE)}) AND {measure} IN ({sql_list(MEASURES)}) "
            f"AND upper(key_stage) || '|' || {measure} NOT IN ({_pairs_sql()})",
        ),
        required("result"),
        Rule("result", "result_not_y_or_n",
             f"{measure} IN ({sql_list(BINARY_MEASURES)}) AND result IS NOT NULL AND send_bool(result) IS NULL"),
        Rule("result", "result_not_a_score",
             f"{measure} IN ({sql_list(SCORE_RANGES)}) AND result IS NOT NULL AND attainment_score(result) IS NULL"),
        *(_score_outside(m) for m in SCORE_RANGES),
        Rule(
            "measure",
            "result_repeated_in_extract",
            "upn IS NOT NULL AND key_stage IS NOT NULL AND measure IS NOT NULL AND (SELECT count(*) FROM _extract "
            "AS _other WHERE upper(_other.upn) = upper(_extract.upn) AND upper(_other.key_stage) = "
            "upper(_extract.key_stage) AND upper(_other.measure) = upper(_extract.measure) "
            # the year as loaded (2021/22, 202122 and 2021-22 are one year), its text when it is no year
            "AND coalesce(outcome_time_period(_other.academic_year)::VARCHAR, _other.academic_year) IS NOT DISTINCT "
            "FROM coalesce(outcome_time_period(_extract.academic_year)::VARCHAR, _extract.academic_year)) > 1",
        ),
    )  # fmt: skip


LOAD_SELECT = f"""
    {hmac_sql("upper(upn)")} AS pupil_id,
    outcome_time_period(academic_year) AS time_period,
    upper(key_stage) AS key_stage,
    upper(measure) AS measure,
    CASE WHEN upper(measure) IN ({sql_list(BINARY_MEASURES)}) THEN send_bool(result) END AS met_expected_standard,
    CASE WHEN upper(measure) IN ({sql_list(SCORE_RANGES)}) THEN attainment_score(result) END AS score
"""


def attainment_contract(key: bytes) -> Contract:
    return Contract(
        source="attainment",
        target_table="raw.attainment_results",
        file_glob="*",
        required_columns=("academic_year", "upn", "key_stage", "measure", "result"),
        optional_columns=(),
        rules=attainment_rules(),
        load_select=LOAD_SELECT,
        params=hmac_pads(key),
        period_column="time_period",
        macros=academic_year.MACROS + MACROS,
    )


@raw_source_asset(
    "attainment_results",
    "outcomes",
    "Pupils' key stage results (pseudonymised), one row per pupil, key stage and measure, loaded from "
    "raw/attainment; bad rows go to raw.quarantine.",
)
def attainment_results(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    return ingest_asset(context, warehouse, lambda: attainment_contract(pseudonym_key()))
