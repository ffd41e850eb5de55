"""Context marts (needs assessment 5.2 and 5.3) after one pipeline run on the generated Rutland extracts: the seed's
figures from tests/fixtures/figures.yaml, and the region place recomputed when one raw rank changes."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from source_support import CHILD_HEALTH_SEED_CELLS
from support import REPO_ROOT, generated_and_published

FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
LA = FIGURES["la"]
DBT = str(Path(sys.executable).with_name("dbt"))
PROJECT = Path(os.environ.get("SEND_DBT_PROJECT_DIR", str(REPO_ROOT / "dbt_project")))
LEVELS = ("la", "region", "england")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    env = generated_and_published(tmp_path_factory.mktemp("context"))
    return Path(env["SEND_WAREHOUSE_DIR"]) / "send.duckdb"


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_deprivation_ranks_and_region_place_match_the_seed(warehouse):
    seed = FIGURES["deprivation_5_2"]
    rows = query(
        warehouse,
        "SELECT year, rank, districts_ranked, rank_in_region_least_deprived, region_name FROM marts.fct_deprivation "
        "WHERE is_home_la ORDER BY year",
    )
    by_year = {year: rest for year, *rest in rows}
    assert by_year[2019] == [seed["rank_2019"], seed["of"], seed["place_in_region_least_deprived"], LA["region"]]
    assert (by_year[2015][0], by_year[2010][0]) == (seed["rank_2015"], seed["rank_2010"])


def test_child_health_cells_match_the_seed_at_every_level(warehouse):
    rows = query(
        warehouse,
        "SELECT indicator, period, geographic_level, value::DOUBLE, count, source FROM marts.fct_child_health",
    )
    cells = {
        (indicator, period, level): (value, count, source) for indicator, period, level, value, count, source in rows
    }
    seed = FIGURES["child_health_5_3"]
    assert set(CHILD_HEALTH_SEED_CELLS) == set(seed)
    for key, (indicator, period, is_count) in CHILD_HEALTH_SEED_CELLS.items():
        for level, figure in zip(LEVELS, seed[key], strict=True):
            value, count, _ = cells[(indicator, period, level)]
            if is_count:
                assert count == figure, (key, level)
            else:  # the seed prints percentages and years to one decimal
                assert round(value, 1) == pytest.approx(figure), (key, level)
    # the LA's pupil cells are the LA's own census, the rest the public extract
    assert {source for (i, _, level), (*_, source) in cells.items() if level == "la" and i.startswith("pupils_")} == {
        "school census"
    }
    assert {source for (_, _, level), (*_, source) in cells.items() if level != "la"} == {"child health extract"}


def test_published_child_health_periods_say_which_kind_of_year(warehouse):
    """The seed's table 5.3 dates its cells: children living in poverty "financial year ending 2021" (Fingertips
    period 2020/21), pupils' cells "academic year ending 2022" (2021/22). The release's EES time_identifier must say
    the same: a financial year is not an academic year (April-March, not September-August)."""
    published = warehouse.parent / "published" / "send_reporting.duckdb"
    rows = query(published, "SELECT DISTINCT indicator, period, time_period, time_identifier FROM "
                 "reporting.send_child_health WHERE period LIKE '%/%'")  # fmt: skip
    got = {(indicator, period): (time_period, identifier) for indicator, period, time_period, identifier in rows}
    assert got[("children_in_poverty", "2020/21")] == ("202021", "Financial year")
    assert got[("pupils_minority_ethnic", "2021/22")] == ("202122", "Academic year")
    assert got[("pupils_semh", "2021/22")] == ("202122", "Academic year")


def test_the_region_place_follows_the_extract(warehouse, tmp_path):
    db = tmp_path / "send.duckdb"
    shutil.copy(warehouse, db)
    seed = FIGURES["deprivation_5_2"]
    with duckdb.connect(str(db)) as con:  # one more district of the region less deprived than the home LA
        con.execute(
            "UPDATE raw.deprivation_ranks SET rank = $rank WHERE year = 2019 AND new_la_code = "
            "(SELECT max(new_la_code) FROM raw.deprivation_ranks WHERE year = 2019 AND rank < $home)",
            {"rank": _free_rank_above(con, seed["rank_2019"]), "home": seed["rank_2019"]},
        )
    ran = subprocess.run(
        [DBT, "run", "--select", "fct_deprivation", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        env={**os.environ, "SEND_DUCKDB_PATH": str(db), "SEND_LA_CODE": LA["old_la_code"]},
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:]
    [(place,)] = query(
        db, "SELECT rank_in_region_least_deprived FROM marts.fct_deprivation WHERE is_home_la AND year = 2019"
    )
    assert place == seed["place_in_region_least_deprived"] + 1


def _free_rank_above(con, home_rank: int) -> int:
    """A 2019 rank above (less deprived than) the home LA's that no district of the extract holds."""
    taken = {r for (r,) in con.execute("SELECT rank FROM raw.deprivation_ranks WHERE year = 2019").fetchall()}
    return next(r for r in range(home_rank + 1, 10_000) if r not in taken)
