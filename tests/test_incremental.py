"""The census intermediate int_census_pupils_profiled is incremental by census term: a new term adds its rows and
leaves the earlier terms' rows untouched (their built_at stays), a corrected term replaces its own rows only, and
after either the table equals a full rebuild.

One warehouse per module: the generated Rutland census for two years is ingested with the real contract and built
with `dbt build`; then a third year is dropped, then a corrected extract of the second year.
"""

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.generate.census import generate_census
from pipeline.ingest import ingest_source
from pipeline.sources.census import census_contract

from support import dbt

KEY = b"test-key-not-secret-0123456789"
MODELS = ("int_census_pupils_profiled",)
FIRST, SECOND, THIRD = 2021, 2022, 2023  # Spring censuses: time_period 202021, 202122, 202223
TERMS = {FIRST: 202021, SECOND: 202122, THIRD: 202223}


def run_dbt(db: Path, work: Path, *args: str) -> None:
    done = dbt(db, work, *args, "--select", *(f"+{m}" for m in MODELS), "--indirect-selection", "cautious")
    assert done.returncode == 0, done.stdout[-4000:]


def ingest(db: Path, raw: Path) -> None:
    with duckdb.connect(str(db)) as con:
        ingest_source(con, census_contract(KEY), raw)


def rows(db: Path, model: str) -> dict[tuple, tuple]:
    """(time_period, pupil_id) -> the whole row, built_at included."""
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute(f"SELECT * FROM intermediate.{model}")
        names = [d[0] for d in cursor.description]
        found = cursor.fetchall()
    tp, pupil = names.index("time_period"), names.index("pupil_id")
    return {(r[tp], r[pupil]): dict(zip(names, r, strict=True)) for r in found}


def without_build_columns(table: dict) -> set[tuple]:
    return {tuple(sorted((k, str(v)) for k, v in row.items() if k != "built_at")) for row in table.values()}


def rebuilt_from_scratch(db: Path, work: Path, model: str) -> dict:
    """The same model built by `dbt build --full-refresh` on a copy of the warehouse."""
    copy = work / "full_refresh.duckdb"
    shutil.copy(db, copy)
    run_dbt(copy, work / "full_refresh", "run", "--full-refresh")
    return rows(copy, model)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    generated = root / "generated"
    generate_census(generated, "rutland", 2023, years=[FIRST, SECOND, THIRD])
    raw = root / "raw"
    (raw / "census").mkdir(parents=True)
    for year in (FIRST, SECOND):
        shutil.copy(generated / "census" / f"{year}_spring.csv", raw / "census")
    db = root / "send.duckdb"
    ingest(db, raw)
    run_dbt(db, root, "build")
    return {"root": root, "generated": generated, "raw": raw, "db": db}


@pytest.fixture(scope="module")
def after_new_term(warehouse):
    before = {m: rows(warehouse["db"], m) for m in MODELS}
    shutil.copy(warehouse["generated"] / "census" / f"{THIRD}_spring.csv", warehouse["raw"] / "census")
    ingest(warehouse["db"], warehouse["raw"])
    run_dbt(warehouse["db"], warehouse["root"], "build")
    return before, {m: rows(warehouse["db"], m) for m in MODELS}


@pytest.fixture(scope="module")
def after_correction(warehouse, after_new_term):
    """A corrected extract of the second census under a new name: its first 100 pupils' provision changed to E
    (so a characteristic changes) and its last 50 rows dropped (so a term can shrink)."""
    _, before = after_new_term
    source = warehouse["generated"] / "census" / f"{SECOND}_spring.csv"
    with source.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields, lines = reader.fieldnames, list(reader)
    for line in lines[:100]:
        line["sen_provision"] = "E"
        line["sen_primary_need"] = line["sen_primary_need"] or "ASD"
    corrected = warehouse["raw"] / "census" / f"{SECOND}_spring_corrected.csv"
    with corrected.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(lines[:-50])
    ingest(warehouse["db"], warehouse["raw"])
    run_dbt(warehouse["db"], warehouse["root"], "build")
    return before, {m: rows(warehouse["db"], m) for m in MODELS}


def term_rows(table: dict, year: int) -> dict:
    return {key: row for key, row in table.items() if key[0] == TERMS[year]}


@pytest.mark.parametrize("model", MODELS)
def test_a_new_term_leaves_the_earlier_terms_rows_untouched(after_new_term, model):
    before, after = (state[model] for state in after_new_term)
    for year in (FIRST, SECOND):
        assert term_rows(before, year), f"{year} was built"
        assert term_rows(after, year) == term_rows(before, year)  # every column, built_at included
    added = term_rows(after, THIRD)
    assert added and not term_rows(before, THIRD)
    assert min(r["built_at"] for r in added.values()) > max(r["built_at"] for r in before.values())


@pytest.mark.parametrize("model", MODELS)
def test_a_corrected_term_replaces_its_rows_and_only_those(after_correction, model):
    before, after = (state[model] for state in after_correction)
    for year in (FIRST, THIRD):
        assert term_rows(after, year) == term_rows(before, year)
    old, new = term_rows(before, SECOND), term_rows(after, SECOND)
    assert len(new) < len(old)  # the dropped rows are gone
    assert min(r["built_at"] for r in new.values()) > max(r["built_at"] for r in old.values())
    assert {r["term_fingerprint"] for r in new.values()} != {r["term_fingerprint"] for r in old.values()}


@pytest.mark.parametrize("model", MODELS)
def test_the_incremental_tables_equal_a_full_rebuild(warehouse, after_correction, model):
    _, after = (state[model] for state in after_correction)
    full = rebuilt_from_scratch(warehouse["db"], warehouse["root"], model)
    assert without_build_columns(after) == without_build_columns(full)


def terms_and_rows(db: Path, model: str) -> dict[tuple, int]:
    """(time_period, census_term) -> rows (rows() keys by period and pupil, so two terms of a year would collapse)."""
    with duckdb.connect(str(db), read_only=True) as con:
        found = con.execute(f"SELECT time_period, census_term, count(*) FROM intermediate.{model} GROUP BY ALL")
        return {(period, term): n for period, term, n in found.fetchall()}


@pytest.fixture(scope="module")
def after_term_moved(warehouse, after_correction):
    """The first census's extract corrected with another census date (May instead of January) and named for it: its
    rows move from the Spring term to the Summer term, and no extract holds that Spring term any more."""
    path = warehouse["raw"] / "census" / f"{FIRST}_spring.csv"
    with path.open(newline="") as handle:
        census_date = next(csv.DictReader(handle))["census_date"]
    text = path.read_text().replace(f",{census_date},", f",{census_date.replace('-01-', '-05-')},")
    path.unlink()
    path.with_name(f"{FIRST}_summer.csv").write_text(text)
    ingest(warehouse["db"], warehouse["raw"])
    run_dbt(warehouse["db"], warehouse["root"], "build")
    return {m: terms_and_rows(warehouse["db"], m) for m in MODELS}


@pytest.mark.parametrize("model", MODELS)
def test_a_term_no_extract_holds_any_more_is_gone_as_in_a_full_rebuild(warehouse, after_term_moved, model):
    after = after_term_moved[model]
    assert (TERMS[FIRST], "Summer") in after and (TERMS[FIRST], "Spring") not in after
    copy = warehouse["root"] / "full_refresh.duckdb"
    shutil.copy(warehouse["db"], copy)
    run_dbt(copy, warehouse["root"] / "full_refresh", "run", "--full-refresh")
    assert after == terms_and_rows(copy, model)
