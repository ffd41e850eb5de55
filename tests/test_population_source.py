"""ONS population estimates: contract, LA codes, quarantine, ledger, generator and the dbt staging model.

Small hand-made files in tmp_path; the seed figures come from tests/fixtures/figures.yaml and the shape checks
from the words of seed section 5.1, written literally below.
"""

import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from pipeline.generate.population import generate_population
from pipeline.ingest import ExtractError, ingest_source
from pipeline.resources import SendWarehouse
from pipeline.sources.la_codes import NEW_TO_OLD_LA_CODE, OLD_TO_NEW_LA_CODE
from pipeline.sources.population import population_contract, population_estimates

import source_support
from source_support import assert_ingest_metadata, quarantine
from support import dbt, dbt_statuses, dbt_test_failures

FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
LA = FIGURES["la"]  # Rutland: new_la_code E06000017, old_la_code 857
HEADER = ["year", "la_code", "age", "sex", "population"]
FILE = "population/mid_2021.csv"


def person_row(**changes) -> dict:
    row = {"year": "2021", "la_code": LA["new_la_code"], "age": "7", "sex": "1", "population": "210"}
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    return source_support.write_csv(path, rows, header, encoding)


def ingest(raw: Path, con):
    return ingest_source(con, population_contract(), raw)


def stored(con) -> list[tuple]:
    return con.execute(
        "SELECT year, new_la_code, old_la_code, age, sex, population FROM raw.population_estimates "
        "ORDER BY source_file, source_row"
    ).fetchall()


# ---------- a good file ----------


def test_both_code_forms_and_both_sex_codings_load(tmp_path, con):
    rows = [
        person_row(),  # ONS: GSS code, sex 1 = male
        person_row(age="90+", sex="2", population="1,204"),  # 90 and over; thousands separator
        person_row(la_code=LA["old_la_code"], age="0", sex="F", population="0"),  # a council's re-keyed copy
        person_row(la_code="e06000017", age="90", sex="m"),  # case does not matter
        person_row(la_code="E92000001", age="5", sex="M", population="650000"),  # England, as a comparator
    ]
    write_csv(tmp_path / FILE, rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 5, 0)
    rutland = (LA["new_la_code"], LA["old_la_code"])
    assert stored(con) == [
        (2021, *rutland, 7, "M", 210),
        (2021, *rutland, 90, "F", 1204),
        (2021, *rutland, 0, "F", 0),
        (2021, *rutland, 90, "M", 210),
        (2021, "E92000001", None, 5, "M", 650000),
    ]


def test_la_code_lookup_maps_both_ways_and_prefers_the_live_code():
    assert NEW_TO_OLD_LA_CODE[LA["new_la_code"]] == LA["old_la_code"]
    assert OLD_TO_NEW_LA_CODE[LA["old_la_code"]] == LA["new_la_code"]
    # North Yorkshire became a unitary authority in 2023 under a new GSS code and the same DfE code
    assert NEW_TO_OLD_LA_CODE["E10000023"] == NEW_TO_OLD_LA_CODE["E06000065"] == "815"
    assert OLD_TO_NEW_LA_CODE["815"] == "E06000065"
    # every English upper-tier authority (about 150 at any time, more counting retired ones) has a DfE code
    assert len(OLD_TO_NEW_LA_CODE) >= 150
    assert all(len(old) == 3 and old.isdigit() for old in OLD_TO_NEW_LA_CODE)
    assert all(new[0] == "E" and len(new) == 9 for new in NEW_TO_OLD_LA_CODE)


# ---------- bad rows ----------

BAD_ROWS = [
    ({"age": "91"}, "age", "age_not_0_to_90"),
    ({"age": "-1"}, "age", "age_not_0_to_90"),
    ({"age": "7.5"}, "age", "age_not_0_to_90"),
    ({"age": ""}, "age", "required"),
    ({"sex": "3"}, "sex", "sex_not_m_f_1_or_2"),
    ({"sex": "persons"}, "sex", "sex_not_m_f_1_or_2"),
    ({"population": "-5"}, "population", "population_not_a_whole_number"),
    ({"population": "12.5"}, "population", "population_not_a_whole_number"),
    ({"population": "1,2345"}, "population", "population_not_a_whole_number"),
    ({"population": "99999999999"}, "population", "population_not_a_whole_number"),
    ({"la_code": "E0600001"}, "la_code", "la_code_not_ons_or_dfe_code"),
    ({"la_code": "85"}, "la_code", "la_code_not_ons_or_dfe_code"),
    ({"la_code": "999"}, "la_code", "old_la_code_unknown"),
    ({"year": "21"}, "year", "year_not_yyyy"),
    ({"year": ""}, "year", "required"),
    ({"la_code": ""}, "la_code", "required"),
    ({"sex": ""}, "sex", "required"),
    ({"population": ""}, "population", "required"),
]


@pytest.mark.parametrize(("change", "column", "rule"), BAD_ROWS, ids=[f"{r[2]}-{r[0]}" for r in BAD_ROWS])
def test_bad_row_is_quarantined_with_its_rule(tmp_path, con, change, column, rule):
    write_csv(tmp_path / FILE, [person_row(), person_row(**{"age": "8", **change}), person_row(age="9")])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert result.rows_read == result.rows_loaded + result.rows_quarantined
    assert quarantine(con) == [(FILE, 3, column, rule)]
    assert [age for _, _, _, age, _, _ in stored(con)] == [7, 9]
    # the quarantine names the problem, never the value
    stored_text = " ".join(
        v for row in con.execute("SELECT column_name, rule FROM raw.quarantine").fetchall() for v in row
    )
    value = next(iter(change.values()))
    assert not value or value not in stored_text


def test_a_broken_header_fails_naming_file_and_column_and_loads_nothing(tmp_path, con):
    header = ["year", "la_code", "age", "sex", "obs_value"]  # ONS's API name instead of population
    write_csv(tmp_path / FILE, [{**person_row(), "obs_value": "210"}], header=header)
    with pytest.raises(ExtractError, match=r"population/mid_2021.csv: row 1 \(header\) is missing .*population"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0
    tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'population_estimates'").fetchone()
    assert tables == (0,)


def test_bom_and_xlsx_variants_load(tmp_path, con):
    import openpyxl

    write_csv(tmp_path / "population" / "mid_2020.csv", [person_row(year="2020")], encoding="utf-8-sig")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])  # the header is on the first non-empty row
    sheet.append(HEADER)
    sheet.append([2022, LA["old_la_code"], 90, "F", 260])  # number cells
    sheet.append([2022, LA["old_la_code"], 91, "F", 10])
    book.save(tmp_path / "population" / "mid_2022.xlsx")
    results = ingest(tmp_path, con)
    assert [(r.rows_loaded, r.rows_quarantined) for r in results] == [(1, 0), (1, 1)]
    assert ("population/mid_2022.xlsx", 4, "age", "age_not_0_to_90") in quarantine(con)
    assert stored(con)[-1] == (2022, LA["new_la_code"], LA["old_la_code"], 90, "F", 260)


# ---------- re-drops and corrections ----------


def test_re_dropping_the_same_file_is_skipped(tmp_path, con):
    write_csv(tmp_path / FILE, [person_row(), person_row(sex="X")])
    first = ingest(tmp_path, con)
    second = ingest(tmp_path, con)
    assert [r.status for r in first] == ["loaded"] and [r.status for r in second] == ["unchanged"]
    counts = con.execute(
        "SELECT (SELECT count(*) FROM raw.population_estimates), (SELECT count(*) FROM raw.quarantine), "
        "(SELECT count(*) FROM raw.file_ledger)"
    ).fetchone()
    assert counts == (1, 1, 1)


def test_a_corrected_file_for_the_same_year_and_authority_replaces_the_earlier_one(tmp_path, con):
    leicestershire = "E10000018"
    write_csv(tmp_path / "population" / "a_rutland_2021.csv", [person_row(population="100")])
    write_csv(tmp_path / "population" / "a_rutland_2022.csv", [person_row(year="2022", population="300")])
    write_csv(tmp_path / "population" / "b_leics_2021.csv", [person_row(la_code=leicestershire, population="900")])
    ingest(tmp_path, con)
    # the correction uses the other code form and another name: it is still Rutland's 2021 estimate
    write_csv(tmp_path / "population" / "c_rutland_2021_v2.csv", [person_row(la_code="857", population="101")])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results["population/c_rutland_2021_v2.csv"].superseded_files == ("population/a_rutland_2021.csv",)
    rows = con.execute(
        "SELECT year, old_la_code, population, source_file FROM raw.population_estimates ORDER BY 1, 2"
    ).fetchall()
    assert rows == [
        (2021, "855", 900, "population/b_leics_2021.csv"),
        (2021, "857", 101, "population/c_rutland_2021_v2.csv"),
        (2022, "857", 300, "population/a_rutland_2022.csv"),
    ]


# ---------- the Dagster asset ----------


def test_the_asset_loads_the_drop_zone_and_fails_on_an_empty_one(tmp_path):
    write_csv(tmp_path / "raw" / FILE, [person_row(), person_row(age="200")])
    warehouse = SendWarehouse(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "warehouse"))
    result = dg.materialize([population_estimates], resources={"warehouse": warehouse})
    assert result.success
    [event] = result.get_asset_materialization_events()
    assert event.asset_key == dg.AssetKey(["raw", "population_estimates"])
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert_ingest_metadata(meta, quarantined=1)

    empty = SendWarehouse(raw_dir=str(tmp_path / "empty"), warehouse_dir=str(tmp_path / "warehouse"))
    failed = dg.materialize([population_estimates], resources={"warehouse": empty}, raise_on_error=False)
    assert not failed.success
    [failure] = [e for e in failed.all_events if e.is_step_failure]
    assert "no population extracts" in failure.step_failure_data.error.message


# ---------- the generator and the dbt staging model ----------


def run_dbt(db: Path, work: Path, select: str, command: str = "build") -> subprocess.CompletedProcess:
    return dbt(db, work, command, "--select", select)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, duckdb.DuckDBPyConnection]:
    root = tmp_path_factory.mktemp("population")
    paths = generate_population(root / "raw")
    db = root / "send.duckdb"
    with duckdb.connect(str(db)) as con:
        results = ingest_source(con, population_contract(), root / "raw")
    assert [r.rows_quarantined for r in results] == [0] * len(paths)
    built = run_dbt(db, root, "+stg_population__estimates")
    assert built.returncode == 0, built.stdout[-3000:]
    assert set(dbt_statuses(root, "test").values()) == {"pass"}
    con = duckdb.connect(str(db), read_only=True)
    yield root, con
    con.close()


def test_generated_mid_2021_matches_the_seed(generated):
    _, con = generated
    seed = FIGURES["population_5_1"]
    row = con.execute(
        """
        SELECT sum(population), sum(population) FILTER (WHERE sex = 'M'), sum(population) FILTER (WHERE sex = 'F'),
               sum(population) FILTER (WHERE age <= 19), sum(population) FILTER (WHERE age <= 4),
               sum(population) FILTER (WHERE age BETWEEN 5 AND 19)
        FROM staging.stg_population__estimates WHERE year = $year AND old_la_code = $la
        """,
        {"year": seed["year"], "la": LA["old_la_code"]},
    ).fetchone()
    assert row == (
        seed["total"],
        seed["male"],
        seed["female"],
        seed["aged_0_19"],
        seed["aged_0_4"],
        seed["aged_5_19"],
    )


def test_generated_years_cover_every_age_and_sex(generated):
    _, con = generated
    grid = con.execute(
        "SELECT year, new_la_code, count(*), count(DISTINCT age), min(age), max(age), count(DISTINCT sex) "
        "FROM staging.stg_population__estimates GROUP BY 1, 2 ORDER BY 1"
    ).fetchall()
    assert grid == [(year, LA["new_la_code"], 182, 91, 0, 90, 2) for year in (2020, 2021, 2022)]


def test_generated_ages_spike_at_15_to_18_for_boys_and_dip_at_19_to_24(generated):
    _, con = generated
    by_age = {
        (age, sex): people
        for age, sex, people in con.execute(
            "SELECT age, sex, population FROM staging.stg_population__estimates WHERE year = 2021"
        ).fetchall()
    }

    def mean(first: int, last: int, sexes: str = "MF") -> float:
        return sum(by_age[(a, s)] for a in range(first, last + 1) for s in sexes) / (last - first + 1)

    # seed 5.1: "a particular spike in the population between the ages of 15 to 18 ... especially pronounced for
    # males" and "the next age banding of 19 to 24 years shows a significantly lower population"
    male_spike, female_spike = mean(15, 18, "M") / mean(10, 14, "M"), mean(15, 18, "F") / mean(10, 14, "F")
    assert male_spike > 1.3 and female_spike > 1.1 and male_spike > female_spike
    assert mean(19, 24) < 0.7 * mean(15, 18) and mean(19, 24) < mean(10, 14) and mean(19, 24) < mean(25, 34)


def test_the_generator_is_deterministic(generated, tmp_path):
    root, _ = generated
    first = sorted((root / "raw" / "population").iterdir())
    again = generate_population(tmp_path / "again")
    assert [p.name for p in first] == [p.name for p in again]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, again, strict=True))
    other = generate_population(tmp_path / "other", seed=7)
    assert any(a.read_bytes() != b.read_bytes() for a, b in zip(first, other, strict=True))


def test_dbt_tests_of_the_staging_model_fail_on_bad_rows(tmp_path):
    write_csv(tmp_path / "raw" / FILE, [person_row(), person_row(sex="2")])
    db = tmp_path / "send.duckdb"
    with duckdb.connect(str(db)) as con:
        ingest_source(con, population_contract(), tmp_path / "raw")
        # rows the contract never lets in, written past it: what the dbt tests are there to catch
        con.execute(
            """
            INSERT INTO raw.population_estimates VALUES
                (2021, 'E06000017', '857', 7, 'M', 5, 'x.csv', 1),  -- duplicate key
                (2021, 'E06000017', '857', 8, 'X', 5, 'x.csv', 2),  -- unknown sex
                (NULL, 'E06000017', '857', 9, 'M', 5, 'x.csv', 3),  -- no year
                (2021, NULL, NULL, 10, 'M', 5, 'x.csv', 4),  -- no area
                (2021, 'E06000017', '857', NULL, 'M', NULL, 'x.csv', 5)  -- no age, no count
            """
        )
    assert run_dbt(db, tmp_path, "+stg_population__estimates", "run").returncode == 0
    tested = run_dbt(db, tmp_path, "+stg_population__estimates", "test")  # every test, none skipped
    assert tested.returncode != 0
    failures = dbt_test_failures(db, tmp_path)
    failed = {name.split("population__estimates_")[-1] for name in failures}
    assert failed >= {"year__new_la_code__age__sex", "sex__M__F"}, failed  # unique_combination, accepted_values
    assert failures["not_null_stg_population__estimates"] == {"year", "new_la_code", "age", "population"}
