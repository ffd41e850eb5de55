"""A BI reader, run as its own process by tests/test_operations.py: open the published DuckDB read-only in a loop
and check that every snapshot shows one release across all tables. Writes a JSON summary when the stop file
appears."""

import json
import sys
import time
from pathlib import Path

import duckdb

published, stop_file, out_file = (Path(a) for a in sys.argv[1:4])
reads, errors, releases, inconsistent = 0, [], set(), 0
while not stop_file.exists():
    try:
        with duckdb.connect(str(published / "send_reporting.duckdb"), read_only=True) as con:
            tables = [r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'reporting'"
            ).fetchall()]  # fmt: skip
            seen = set()
            for table in tables:
                seen |= {r[0] for r in con.execute(f"SELECT DISTINCT release_id FROM reporting.{table}").fetchall()}
            con.execute("SELECT count(*) FROM reporting.send_primary_need WHERE pupils = 'c'").fetchone()
        if len(seen) != 1:
            inconsistent += 1
        releases |= seen
        reads += 1
    except Exception as error:  # every error is a failure of the test, so record it rather than die
        errors.append(f"{type(error).__name__}: {error}"[:300])
    time.sleep(0.05)
out_file.write_text(json.dumps({"reads": reads, "errors": errors, "releases": sorted(releases),
                                "inconsistent": inconsistent}))  # fmt: skip
