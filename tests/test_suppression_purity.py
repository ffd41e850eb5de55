"""The library is pure: suppressing and verifying a release imports no Dagster, no DuckDB and no pandas."""

import subprocess
import sys

SCRIPT = """
import sys
from pipeline.suppression import TableSet, suppress, two_way_table, verify, pattern_summary
tables = TableSet([two_way_table("t", "pupils", "need", ["A", "B"], "phase", ["P", "S"], [[3, 20], [12, 30]])])
result = suppress(tables)
assert verify(tables, result.suppressed).safe and len(result.reasons) == 4
pattern_summary(tables, result)
print(",".join(m for m in ("pandas", "dagster", "duckdb", "great_expectations") if m in sys.modules))
"""


def test_the_library_imports_no_dagster_duckdb_or_pandas():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_the_pandas_edge_is_still_exported():
    import pipeline.suppression as suppression

    assert callable(suppression.table_from_frame) and callable(suppression.publish_frame)
