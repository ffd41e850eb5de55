"""The home local authority's geography is one dbt model, int_home_la_geography: DfE's latest published LA row for
the configured code (from the loaded release), else the la_geography seed's row. The census marts, the EHCP marts
and the release all name the LA from it, so a newer DfE release that renames the LA renames it everywhere at once.

One small warehouse per module: the real DfE caseload file, the generated ONS population and S251 finance extracts
(fct_population is a census mart, fct_high_needs_spend an EHCP one), ingested with the real contracts. Each test
changes DfE's raw rows of the home LA on a copy and builds the two marts with `dbt build`.
"""

import csv
import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey

from pipeline.generate.dfe import copy_dfe_release
from pipeline.generate.finance import generate_finance
from pipeline.generate.population import generate_population
from pipeline.ingest import ingest_source
from pipeline.publish import home_geography
from pipeline.sources.dfe import DFE_FILES_BY_STEM, dfe_contract
from pipeline.sources.finance import finance_contract
from pipeline.sources.population import population_contract

from support import REPO_ROOT, dbt

HOME = "857"  # Rutland
GEOGRAPHY = ("new_la_code", "old_la_code", "la_name", "region_code", "region_name")
MARTS = {"fct_population": GEOGRAPHY, "fct_high_needs_spend": GEOGRAPHY[:3]}  # census, EHCP (no region columns)
with (REPO_ROOT / "dbt_project" / "seeds" / "la_geography.csv").open(newline="") as seed:
    SEED = {row["old_la_code"]: row for row in csv.DictReader(seed)}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("home_la_geography")
    raw = root / "raw"
    copy_dfe_release(raw)
    generate_population(raw, 2023)
    generate_finance(raw, 2023)
    db = root / "send.duckdb"
    with duckdb.connect(str(db)) as con:
        for contract in (dfe_contract(DFE_FILES_BY_STEM["caseload"]), population_contract(), finance_contract()):
            results = ingest_source(con, contract, raw)
            assert results and all(r.rows_quarantined == 0 for r in results), contract.target_table
    return db


def built(loaded: Path, work: Path, change_dfe_rows: str) -> duckdb.DuckDBPyConnection:
    """A copy of the warehouse with DfE's raw rows changed, the two marts built (their tests and the model's too)."""
    db = work / "send.duckdb"
    shutil.copy(loaded, db)
    with duckdb.connect(str(db)) as con:
        con.execute(change_dfe_rows)
    build = dbt(db, work, "build", "--select", *(f"+{mart}" for mart in MARTS), "--indirect-selection", "cautious",
                la_code=HOME)  # fmt: skip
    assert build.returncode == 0, build.stdout[-4000:]
    return duckdb.connect(str(db), read_only=True)


def geography_everywhere(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Each mart's distinct geography, and the release's (pipeline.publish.home_geography) in the same columns."""
    found = {mart: con.execute(f"SELECT DISTINCT {', '.join(columns)} FROM marts.{mart}").fetchall()
             for mart, columns in MARTS.items()}  # fmt: skip
    release = home_geography(con, HOME)
    found["release"] = [tuple(release[column] for column in GEOGRAPHY)]
    return found


def expected(row: tuple) -> dict[str, list[tuple]]:
    return {**{mart: [row[: len(columns)]] for mart, columns in MARTS.items()}, "release": [row]}


def test_dfes_latest_row_renames_the_home_la_in_every_mart_and_the_release(loaded, tmp_path):
    """A newer DfE period (a release the council loaded after the seed was made) with the LA renamed and recoded:
    the census mart, the EHCP mart and the release all carry the new name and code, the seed's old ones nowhere."""
    con = built(loaded, tmp_path, f"""
        INSERT INTO raw.dfe_ehcp_caseload
        SELECT * REPLACE ('202526' AS time_period, 'E06000099' AS new_la_code, 'Rutland County' AS la_name)
        FROM raw.dfe_ehcp_caseload
        WHERE geographic_level = 'Local authority' AND old_la_code = '{HOME}' AND time_period = '202425'
    """)  # fmt: skip
    with con:
        assert geography_everywhere(con) == expected(
            ("E06000099", HOME, "Rutland County", SEED[HOME]["region_code"], SEED[HOME]["region_name"])
        )
        assert SEED[HOME]["la_name"] == "Rutland"  # the seed still says otherwise: the model preferred DfE


def test_without_a_dfe_row_for_the_code_the_seed_names_the_home_la(loaded, tmp_path):
    """A DfE release that publishes nothing for the code (an authority abolished before it, say): every mart and
    the release take the la_geography seed's row, rather than NULL names that fail the build."""
    con = built(loaded, tmp_path, f"DELETE FROM raw.dfe_ehcp_caseload WHERE old_la_code = '{HOME}'")
    with con:
        assert geography_everywhere(con) == expected(tuple(SEED[HOME][column] for column in GEOGRAPHY))


def test_the_release_step_depends_on_the_model_it_names_the_home_la_from():
    """Dagster runs the release after int_home_la_geography (a rebuilt geography is a changed input of the release)."""
    from pipeline.release import RELEASE_KEY, publish_release

    deps = {dep.asset_key for dep in publish_release.specs_by_key[RELEASE_KEY].deps}
    assert AssetKey(["intermediate", "int_home_la_geography"]) in deps
