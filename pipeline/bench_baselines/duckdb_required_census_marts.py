"""Baseline (e) of `send-pipeline bench`: the census marts with bare DuckDB doing the row work this project's rules
require, and nothing else.

    python -m pipeline.bench_baselines.duckdb_required_census_marts --raw-dir RAW --out result.json

What baseline (b) does (:mod:`pipeline.bench_baselines.duckdb_census_marts`, the same SQL), plus what no pipeline of
this project may skip: every UPN becomes its keyed pseudonym as the files are read (HMAC-SHA-256, the SQL of
:mod:`pipeline.pseudonymise`, keyed by SEND_PSEUDONYM_KEY), and the registrations and the one row per pupil per
census are written to a DuckDB file on disk (the warehouse's raw table and its incremental intermediate), within
the pipeline's memory limit (SEND_DUCKDB_MEMORY_LIMIT, default 2GB). Not done: contract rules and quarantine, the
ledger, dbt and its tests, the checks, suppression, publication, report, Dagster. So (a)/(e) is what those cost
at a scale, and (e)/(b) what pseudonymising and keeping the rows on disk cost on their own.
"""

import os
import sys
import tempfile
from pathlib import Path

import duckdb

from pipeline.bench import baseline_main
from pipeline.bench_baselines.duckdb_census_marts import EXTRACT, PUPILS, census_files, marts_of_pupils
from pipeline.pseudonymise import hmac_pads, hmac_sql
from pipeline.settings import DEFAULT_DUCKDB_MEMORY_LIMIT, pseudonym_key

DATABASE = "required.duckdb"


def census_marts(raw_dir: Path, seeds_dir: Path, folder: Path | None = None) -> tuple[dict, int]:
    """Both marts as a marts document, and the number of pupil rows counted, through two tables written to a DuckDB
    file in ``folder`` (kept), or in a temporary folder (removed)."""
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="send-bench-required-") as temporary:
            return census_marts(raw_dir, seeds_dir, Path(temporary))
    files = census_files(raw_dir)
    memory_limit = os.environ.get("SEND_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT
    con = duckdb.connect(str(Path(folder) / DATABASE), config={"memory_limit": memory_limit})
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(
            f"CREATE TABLE registrations AS {EXTRACT.format(pupil=hmac_sql('upn'))}",
            {"files": files, **hmac_pads(pseudonym_key())},
        )
        con.execute(f"CREATE TABLE pupils AS {PUPILS.format(extract='registrations')}")
        return marts_of_pupils(con, seeds_dir, "duckdb_required")
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    return baseline_main(
        "duckdb_required", "pipeline.bench_baselines.duckdb_required_census_marts", __doc__, census_marts, argv
    )


if __name__ == "__main__":
    sys.exit(main())
