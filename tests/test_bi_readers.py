"""The README's "Connect a BI tool" routes, as written, against a published release."""

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import sqlalchemy

from pipeline.publish import publish

from test_publish import census_tables_only, internal_warehouse  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("census_tables_only")


def test_readme_routes_read_the_release(tmp_path):
    release = publish(internal_warehouse(tmp_path / "send.duckdb"), tmp_path / "published", "857")
    path = Path(release.path).resolve()

    engine = sqlalchemy.create_engine(f"duckdb:///{path}?access_mode=read_only")
    with engine.connect() as connection:
        rows = connection.execute(sqlalchemy.text("SELECT sen_provision, pupils FROM reporting.send_provision")).all()
    engine.dispose()  # one process may not hold the file with two configurations
    assert ("Total", "805") in [tuple(r) for r in rows]

    python = (
        "import duckdb; con = duckdb.connect('published/send_reporting.duckdb', read_only=True); "
        "print(con.sql('SELECT time_period, sen_provision, pupils, pupils_fsm FROM reporting.send_provision'))"
    )
    shown = subprocess.run([sys.executable, "-c", python], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "805" in shown.stdout

    parquet_file = tmp_path / "published" / "parquet" / "send_provision.parquet"
    parquet = duckdb.connect().execute(f"SELECT pupils FROM '{parquet_file}'").fetchall()
    ees = pd.read_csv(tmp_path / "published" / "ees" / "send_provision.csv", dtype=str)
    assert [p[0] for p in parquet] == ees["pupils"].tolist()
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM reporting.send_provision").fetchone()[0] == len(ees)
