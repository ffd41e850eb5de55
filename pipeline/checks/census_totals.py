"""Blocking Great Expectations check on the census marts: their totals reconcile with staging, each of the five
by each of its breakdowns (a characteristics group, phase and residence, need, provision).

The independent side is counted straight from staging.stg_census__pupils with its own SQL (not through the
intermediate model the marts use), so a bug in the marts' path cannot agree with itself. It applies the marts' rule
for a pupil registered twice in a census (one registration counts: INDEPENDENT_SEN_TOTALS), written apart.
"""

import dagster as dg
import pandas as pd

from pipeline.checks.gx import QUALITY_DIR, run_suite, write_data_docs
from pipeline.resources import DUCKDB_WRITER_POOL, SendWarehouse

# Each census mart's SEN pupils per census are summed by each of its breakdowns whose parts hold every pupil once:
# mart -> the breakdown (a column, or one name for a mart of one breakdown), and whether its rows hold N (no SEN)
# pupils too. The characteristics mart has one breakdown per characteristic group (sex, ethnicity, ...): each must add
# up to the census's SEN pupils.
MART_BREAKDOWNS = {
    "fct_send_primary_need": ("'primary_need'", False),
    "fct_send_provision": ("'sen_provision'", False),
    "fct_send_characteristics": ("characteristic_group", True),
    "fct_school_residence": ("'phase, residence'", True),
    "fct_send_trend": ("'sen_provision'", True),
}
# The censuses each mart holds (the trend, the needs assessment's 6.2, is of the Spring censuses only).
MART_CENSUSES = {"fct_send_trend": "census_term = 'Spring'"}
CENSUS_MARTS = tuple(MART_BREAKDOWNS)


def mart_totals_sql(mart: str) -> str:
    """(time_period, census_term, breakdown, mart_total): the mart's SEN pupils per census and breakdown."""
    breakdown, all_provisions = MART_BREAKDOWNS[mart]
    sen_only = "WHERE sen_provision IN ('E', 'K')" if all_provisions else ""
    return (
        f"SELECT time_period, census_term, {breakdown} AS breakdown, sum(pupils) AS mart_total "
        f"FROM marts.{mart} {sen_only} GROUP BY ALL"
    )


STAGING_KEY = dg.AssetKey(["staging", "stg_census__pupils"])

# A pupil is counted once per census, by the provision of one registration: of the pupil's C and M registrations in
# the census, the first by enrol status (C before M), then laestab, then source file and row (a file and row is one
# registration, so the order is total). int_census_pupils_profiled keeps the same registration (its comment states
# the rule); this is the rule written again, with arg_min instead of its window, so the two agree: counting a pupil
# as SEN when any registration is E or K disagreed with the marts whenever the first one was N. arg_min runs over
# the pupils registered twice only (none in a clean census): over all 18 M registrations of a national bench it
# took 7 s against 1.5-2 s for the distinct count it replaced; this way ~3 s. registrations is read three times:
# NOT MATERIALIZED keeps DuckDB from writing a copy of its 18 M rows first (which it does by default for a CTE read
# more than once).
INDEPENDENT_SEN_TOTALS = """
WITH registrations AS NOT MATERIALIZED (
    SELECT
        CASE WHEN month(census_date) >= 9 THEN year(census_date) * 100 + (year(census_date) + 1) % 100
             ELSE (year(census_date) - 1) * 100 + year(census_date) % 100 END AS time_period,
        CASE WHEN month(census_date) <= 2 THEN 'Spring' WHEN month(census_date) <= 6 THEN 'Summer'
             ELSE 'Autumn' END AS census_term,
        pupil_id, sen_provision, enrol_status, laestab, source_file, source_row
    FROM staging.stg_census__pupils
    WHERE enrol_status IN ('C', 'M')
),
twice AS (
    SELECT time_period, census_term, pupil_id FROM registrations GROUP BY ALL HAVING count(*) > 1
),
counted AS (
    SELECT time_period, census_term, sen_provision FROM registrations
    ANTI JOIN twice USING (time_period, census_term, pupil_id)
    UNION ALL
    SELECT time_period, census_term,
           arg_min(sen_provision, (enrol_status, laestab, source_file, source_row)) AS sen_provision
    FROM registrations SEMI JOIN twice USING (time_period, census_term, pupil_id)
    GROUP BY time_period, census_term, pupil_id
)
SELECT time_period, census_term, count(*) FILTER (WHERE sen_provision IN ('E', 'K')) AS independent_total
FROM counted
GROUP BY ALL
"""


def reconciliation_frames(con, marts=CENSUS_MARTS) -> dict[str, pd.DataFrame]:
    """Per mart, one row per census and breakdown found on either side (a census the mart lacks: one row, its
    breakdown and total empty): the mart's total and the independent total (counted once from staging for all the
    marts: at national scale it aggregates 18 M registrations)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _independent_sen_totals AS {INDEPENDENT_SEN_TOTALS}")
    try:
        return {
            mart: con.execute(
                f"""
                WITH mart AS ({mart_totals_sql(mart)}),
                independent AS (SELECT * FROM _independent_sen_totals WHERE {MART_CENSUSES.get(mart, "true")})
                SELECT coalesce(mart.time_period, independent.time_period) AS time_period,
                       coalesce(mart.census_term, independent.census_term) AS census_term,
                       mart.breakdown, mart.mart_total, independent.independent_total
                FROM mart FULL OUTER JOIN independent
                    ON mart.time_period = independent.time_period AND mart.census_term = independent.census_term
                ORDER BY 1, 2, 3
                """
            ).df()
            for mart in marts
        }
    finally:
        con.execute("DROP TABLE IF EXISTS _independent_sen_totals")


@dg.multi_asset_check(
    pool=DUCKDB_WRITER_POOL,
    specs=[
        dg.AssetCheckSpec(
            "gx_census_totals",
            asset=dg.AssetKey(["marts", mart]),
            additional_deps=[STAGING_KEY],
            blocking=True,
            description="GX suite census_totals: the mart's SEN pupils per census (by each of its breakdowns) equal "
            "the SEN pupils counted independently from staging. Blocks publication when it fails.",
        )
        for mart in CENSUS_MARTS
    ],
)
def census_totals_checks(context: dg.AssetCheckExecutionContext, warehouse: SendWarehouse):
    with warehouse.connect(read_only=True) as con:
        frames = reconciliation_frames(con)
    results = {mart: run_suite("census_totals", frame) for mart, frame in frames.items()}
    write_data_docs(warehouse.settings.warehouse_dir / QUALITY_DIR, context.run.run_id, results.items())
    for mart, frame in frames.items():
        result = results[mart]
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey(["marts", mart]),
            check_name="gx_census_totals",
            passed=result.success,
            severity=dg.AssetCheckSeverity.ERROR,
            description=result.summary(),
            metadata={
                "censuses": len(frame[["time_period", "census_term"]].drop_duplicates()),
                "censuses_not_reconciled": int(
                    frame.loc[frame["mart_total"] != frame["independent_total"], ["time_period", "census_term"]]
                    .drop_duplicates()
                    .shape[0]
                ),
                "expectations_failed": len(result.failures),
            },
        )
