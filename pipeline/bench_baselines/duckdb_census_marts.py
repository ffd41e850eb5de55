"""Baseline (b) of `send-pipeline bench`: the census marts with bare DuckDB, straight from the raw census CSVs.

    python -m pipeline.bench_baselines.duckdb_census_marts --raw-dir RAW --out result.json

No Dagster, no dbt, no contract checks, no pseudonymisation, no ledger: one DuckDB connection (in memory) reads
``RAW/census/*.csv`` and computes marts.fct_send_primary_need and marts.fct_send_provision with the logic of
``dbt_project/models`` (stg_census__pupils -> int_census_pupils_profiled -> marts/census):

* a later file for the same census date replaces an earlier one, files in name order (the ingest replaces by
  census term, a correction dated another day of the term included: the generator writes one file a census, each
  on the census day, so the two rules keep the same files here);
* only enrol_status C and M count; S (subsidiary registration) is the same pupil at a second school;
* legacy provision S is recoded to E and AUT to ASD;
* one row per pupil (UPN) per census: the first by enrol_status, laestab, file (the marts then order by the row
  in the file too: the generator never writes one pupil twice at one school in one file);
* every code of the dbt seeds listed for every census, 0 when no pupil has it.

The result (the columns of pipeline.bench.MART_COLUMNS: the counts, codes and labels; not the geography and
England columns, which come from seeds) is written as JSON in the shape of :func:`pipeline.bench.marts_document`,
which the bench compares with the pipeline's marts and the pandas baseline.
"""

import sys
from pathlib import Path

import duckdb

from pipeline.bench import baseline_main, census_csv_files, marts_document

# One row per registration as read, with its period and recoded codes; {pupil}: the pupil's identifier (SQL over
# the upper-cased UPN column `upn`). The required-work baseline reads the same rows with the HMAC pseudonym instead.
EXTRACT = """
    SELECT
        list_position($files, filename) AS file_index,  -- the files are in name order: the ingest's order
        {pupil} AS pupil,
        laestab,
        census_date,
        CASE
            WHEN month(census_date) >= 9 THEN year(census_date) * 100 + (year(census_date) + 1) % 100
            ELSE (year(census_date) - 1) * 100 + year(census_date) % 100
        END AS time_period,
        CASE
            WHEN month(census_date) IN (1, 2) THEN 'Spring'
            WHEN month(census_date) IN (5, 6) THEN 'Summer'
            WHEN month(census_date) IN (9, 10, 11) THEN 'Autumn'
        END AS census_term,
        upper(enrol_status) AS enrol_status,
        CASE upper(sen_provision) WHEN 'S' THEN 'E' ELSE upper(sen_provision) END AS sen_provision,
        CASE upper(sen_primary_need) WHEN 'AUT' THEN 'ASD' ELSE upper(sen_primary_need) END AS primary_need,
        upper(fsm_eligible) IN ('TRUE', 'T', 'Y', 'YES', '1') AS fsm_eligible,
        coalesce(upper(pupil_premium) IN ('TRUE', 'T', 'Y', 'YES', '1'), false) AS pupil_premium
    FROM (
        SELECT * REPLACE (coalesce(
            try_strptime(census_date, '%Y-%m-%d'), try_strptime(census_date, '%Y-%m-%d %H:%M:%S'),
            try_strptime(census_date, '%d/%m/%Y'), try_strptime(census_date, '%d/%m/%Y %H:%M:%S'),
            try_strptime(census_date, '%Y-%b-%d %H:%M:%S'), try_strptime(census_date, '%Y-%b-%d')
        )::DATE AS census_date, upper(upn) AS upn)
        FROM read_csv($files, header = true, all_varchar = true, filename = true, union_by_name = true)
    )
"""

# One row per pupil per census from {extract} (a relation of EXTRACT's columns): the registration first by enrol
# status, laestab, file; a later extract of the same census date replaces the earlier one.
PUPILS = """
SELECT
    time_period,
    census_term,
    pupil,
    arg_min(
        {{'sen_provision': sen_provision, 'primary_need': primary_need, 'fsm_eligible': fsm_eligible,
         'pupil_premium': pupil_premium}},
        (enrol_status, laestab, file_index)
    ) AS pupil_record
FROM {extract}
JOIN (SELECT census_date, max(file_index) AS file_index FROM {extract} GROUP BY census_date) AS latest_file
    USING (census_date, file_index)
WHERE enrol_status IN ('C', 'M')  -- S (subsidiary registration) is the same pupil at a second school
GROUP BY time_period, census_term, pupil
"""

PERIODS_AND_PUPILS = f"""
CREATE TEMP TABLE pupils AS
WITH extract AS MATERIALIZED ({EXTRACT.format(pupil="upn")})
{PUPILS.format(extract="extract")}
"""

PRIMARY_NEED = """
WITH censuses AS (SELECT DISTINCT time_period, census_term FROM pupils),
counts AS (
    SELECT time_period, census_term, pupil_record.primary_need AS primary_need, count(*) AS pupils
    FROM pupils WHERE pupil_record.sen_provision IN ('E', 'K') GROUP BY ALL
)
SELECT c.time_period, c.census_term, codes.primary_need, codes.primary_need_label,
       CAST(codes.display_order AS INTEGER) AS display_order, coalesce(counts.pupils, 0) AS pupils
FROM censuses AS c
CROSS JOIN read_csv($codes, header = true, all_varchar = true) AS codes
LEFT JOIN counts
    ON counts.time_period = c.time_period AND counts.census_term = c.census_term
    AND counts.primary_need = codes.primary_need
"""

PROVISION = """
WITH censuses AS (SELECT DISTINCT time_period, census_term FROM pupils),
counts AS (
    SELECT time_period, census_term, pupil_record.sen_provision AS sen_provision, count(*) AS pupils,
           count(*) FILTER (WHERE pupil_record.pupil_premium) AS pupils_pupil_premium,
           count(*) FILTER (WHERE pupil_record.fsm_eligible) AS pupils_fsm
    FROM pupils WHERE pupil_record.sen_provision IN ('E', 'K') GROUP BY ALL
)
SELECT c.time_period, c.census_term, codes.sen_provision, codes.sen_provision_label,
       coalesce(counts.pupils, 0) AS pupils, coalesce(counts.pupils_pupil_premium, 0) AS pupils_pupil_premium,
       coalesce(counts.pupils_fsm, 0) AS pupils_fsm
FROM censuses AS c
CROSS JOIN read_csv($codes, header = true, all_varchar = true) AS codes
LEFT JOIN counts
    ON counts.time_period = c.time_period AND counts.census_term = c.census_term
    AND counts.sen_provision = codes.sen_provision
"""


def census_files(raw_dir: Path) -> list[str]:
    files = [str(p) for p in census_csv_files(raw_dir)]
    if not files:
        raise SystemExit(f"no census CSV files in {raw_dir / 'census'}")
    return files


def marts_of_pupils(con: duckdb.DuckDBPyConnection, seeds_dir: Path, implementation: str) -> tuple[dict, int]:
    """Both marts from the connection's ``pupils`` (PUPILS' columns) as a marts document, and its row count."""
    pupils = con.execute("SELECT count(*) FROM pupils").fetchone()[0]
    need_rows = con.execute(PRIMARY_NEED, {"codes": str(seeds_dir / "sen_primary_need_codes.csv")}).fetchall()
    provision_rows = con.execute(PROVISION, {"codes": str(seeds_dir / "sen_provision_codes.csv")}).fetchall()
    return marts_document(implementation, need_rows, provision_rows), pupils


def census_marts(raw_dir: Path, seeds_dir: Path) -> tuple[dict, int]:
    """Both marts as a marts document, and the number of pupil rows counted (after C/M and de-duplication)."""
    files = census_files(raw_dir)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(PERIODS_AND_PUPILS, {"files": files})
        return marts_of_pupils(con, seeds_dir, "duckdb")
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    return baseline_main("duckdb", "pipeline.bench_baselines.duckdb_census_marts", __doc__, census_marts, argv)


if __name__ == "__main__":
    sys.exit(main())
