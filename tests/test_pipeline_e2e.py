"""The whole path as a user meets it: generate the Rutland extracts, `send-pipeline run` in a subprocess,
read the marts and the published release. One generated data set and one warehouse per test session."""

import csv
import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.drop_zone import SOURCE_FOLDERS
from pipeline.ees import EES_FOUR_DIGIT_TIME_IDENTIFIERS, EES_TIME_IDENTIFIERS

from support import pipeline_env as pipeline_env_for
from support import send_pipeline

FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())


@pytest.fixture(scope="session")
def pipeline_env(tmp_path_factory) -> dict:
    env = pipeline_env_for(tmp_path_factory.mktemp("e2e"))
    generated = send_pipeline(env, "generate", "--scale", "rutland", "--seed", "2023", "--out", env["SEND_RAW_DIR"])
    assert generated.returncode == 0, generated.stderr
    return env


@pytest.fixture(scope="session")
def first_run(pipeline_env) -> subprocess.CompletedProcess:
    result = send_pipeline(pipeline_env, "run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture
def marts(pipeline_env, first_run):
    con = duckdb.connect(str(Path(pipeline_env["SEND_WAREHOUSE_DIR"]) / "send.duckdb"), read_only=True)
    yield con
    con.close()


def published_path(env) -> Path:
    return Path(env["SEND_WAREHOUSE_DIR"]) / "published" / "send_reporting.duckdb"


def test_run_prints_where_the_release_is(first_run, pipeline_env):
    assert f"published release:  {published_path(pipeline_env)}" in first_run.stdout
    assert "quarantined" in first_run.stdout and "checks:" in first_run.stdout


def test_primary_need_january_2022_matches_the_seed(marts):
    seed = FIGURES["primary_need_6_1"]
    rows = dict(
        marts.execute(
            "SELECT primary_need, pupils FROM marts.fct_send_primary_need "
            "WHERE time_period = 202122 AND census_term = 'Spring'"
        ).fetchall()
    )
    expected = {need: counts[0] for need, counts in seed.items() if need not in ("time_period", "missing", "total")}
    assert rows == expected
    assert sum(rows.values()) == seed["total"][0]


def test_provision_spring_2023_matches_the_seed(marts):
    seed = FIGURES["send_profile_6_1"]
    rows = {
        r[0]: r[1:]
        for r in marts.execute(
            "SELECT sen_provision, pupils, pupils_pupil_premium, pupils_fsm FROM marts.fct_send_provision "
            "WHERE time_period = 202223 AND census_term = 'Spring'"
        ).fetchall()
    }
    assert rows["E"] == (seed["ehcp"], seed["pupil_premium"]["ehcp"], seed["fsm"]["ehcp"])
    assert rows["K"] == (
        seed["sen_support"],
        seed["pupil_premium"]["sen_support"],
        seed["fsm"]["sen_support"],
    )
    assert rows["E"][0] + rows["K"][0] == seed["send_pupils"]


def test_spring_2023_profile_from_staging(marts):
    """The seed's 6.1 bullets and 6.4 residence table, counted from the pseudonymised rows."""
    seed = FIGURES["send_profile_6_1"]
    # one row per pupil: C and M registrations only (the generated census registers no pupil twice as C or M)
    census = "FROM staging.stg_census__pupils WHERE census_date = '2023-01-19' AND enrol_status IN ('C', 'M')"
    sen = f"{census} AND sen_provision IN ('E', 'K')"
    roll = marts.execute(f"SELECT count(*) {census}").fetchone()[0]
    phase_sql = """CASE WHEN ncyear_actual IN ('E1', 'E2', 'N1', 'N2', 'R', '1', '2', '3', '4', '5', '6') THEN 'primary'
                    WHEN ncyear_actual = 'X' THEN 'not followed' ELSE 'secondary' END"""
    assert roll == marts.execute(f"SELECT count(DISTINCT pupil_id) {census}").fetchone()[0]
    assert round(100 * seed["send_pupils"] / roll, 1) == seed["send_pct_of_roll"]
    assert marts.execute(f"SELECT count(*) {sen} AND ethnicity = 'WBRI'").fetchone()[0] == seed["white_british"]
    not_english = marts.execute(f"SELECT count(*) {sen} AND first_language NOT IN ('ENG', 'ENB')").fetchone()[0]
    assert not_english == seed["first_language_not_english"]
    male = marts.execute(f"SELECT avg((gender = 'M')::INT) {sen}").fetchone()[0]
    assert round(100 * male) == seed["male_pct"]
    residence = FIGURES["placements_6_4"]["residence_spring_2023"]
    got = dict(
        (tuple(r[:3]), r[3])
        for r in marts.execute(
            f"SELECT {phase_sql}, sen_provision, home_la_code = '857', count(*) {sen} GROUP BY ALL"
        ).fetchall()
    )
    for phase, by_provision in residence.items():
        for provision, (resident, out_of_county) in by_provision.items():
            code = "E" if provision == "ehcp" else "K"
            assert got[(phase, code, True)] == resident and got[(phase, code, False)] == out_of_county


def test_dual_registrations_are_not_second_pupils(marts):
    registrations, pupils = marts.execute(
        """SELECT count(*), count(DISTINCT pupil_id) FROM staging.stg_census__pupils
           WHERE census_date = '2023-01-19' AND enrol_status IN ('C', 'M', 'S')"""
    ).fetchone()
    assert registrations > pupils  # the extract has S rows...
    counted = marts.execute(
        "SELECT count(*) FROM intermediate.int_census_pupils_profiled WHERE time_period = 202223"
    ).fetchone()[0]
    assert counted == pupils  # ...and each pupil counts once


def test_published_release_is_suppressed_and_has_no_identifiers(first_run, pipeline_env):
    with duckdb.connect(str(published_path(pipeline_env)), read_only=True) as reader:
        tables = reader.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'reporting'"
        ).fetchall()
        assert {t[0] for t in tables} >= {"send_primary_need", "send_provision", "release"}
        columns = reader.execute("SELECT table_name, column_name FROM information_schema.columns").fetchall()
        for _, column in columns:
            assert not any(f in column.lower() for f in ("upn", "pupil_id", "dob", "birth", "postcode"))
        values = reader.execute(
            """SELECT pupils FROM reporting.send_primary_need
               UNION ALL SELECT pupils FROM reporting.send_provision
               UNION ALL SELECT pupils_fsm FROM reporting.send_provision
               UNION ALL SELECT pupils_pupil_premium FROM reporting.send_provision"""
        ).fetchall()
        cells = [v[0] for v in values]
        assert not set(cells) & {"1", "2", "3", "4", "5"}
        assert "c" in cells  # MSI 3 and SLD 5 in January 2022 are suppressed


def test_the_ld_health_checks_table_hides_a_small_count_and_a_complement_in_each_of_its_totals(
    marts, first_run, pipeline_env
):
    """Seed 7.2 in the demo release: the figure (80%) is published, every count of 1 to 5 is c, and in each total it
    is part of (its age band, and its outcome across the bands) another part is c too, so no subtraction gives it."""
    exact = {}
    for year, band, people, done in marts.execute(
        "SELECT time_period, age_band, people_on_register, health_checks_done FROM marts.fct_ld_health_checks"
    ).fetchall():
        exact |= {(str(year), band, "Had a health check"): done, (str(year), band, "No health check"): people - done,
                  (str(year), band, "Total"): people}  # fmt: skip
    with duckdb.connect(str(published_path(pipeline_env)), read_only=True) as reader:
        rows = reader.execute(
            "SELECT time_period, age_band, health_check, young_people, pct_of_age_band "
            "FROM reporting.send_ld_health_checks"
        ).fetchall()
    shown = {(year, band, check): n for year, band, check, n, _ in rows}
    assert shown.keys() == exact.keys()
    assert all(text == "c" or int(text) == exact[key] for key, text in shown.items())
    [pct] = [p for y, b, c, _, p in rows if (y, b, c) == ("202223", "Total", "Had a health check")]
    assert round(float(pct)) == FIGURES["ehcna_timescales_7_1"]["health_assessments_ld_pct"]
    small = [key for key, n in exact.items() if 1 <= n <= 5]
    assert all(shown[key] == "c" for key in small)
    bands, checks = ("14 to 17", "18 to 25"), ("Had a health check", "No health check")
    parts = [(year, band, check) for year, band, check in small if band in bands and check in checks]
    assert parts  # the demo has one: 2022-23, aged 14 to 17, no health check
    for year, band, check in parts:
        for total, others in (
            ((year, band, "Total"), [(year, band, c) for c in checks if c != check]),
            ((year, "Total", check), [(year, b, check) for b in bands if b != band]),
        ):
            assert shown[total] == "c" or any(shown[other] == "c" for other in others), (year, band, check, total)
    assert shown[("202223", "Total", "Total")] != "c" and shown[("202223", "Total", "Had a health check")] != "c"


def test_second_run_on_the_same_files_loads_nothing_twice(first_run, pipeline_env):
    warehouse = Path(pipeline_env["SEND_WAREHOUSE_DIR"]) / "send.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows_before = con.execute("SELECT count(*) FROM raw.census_pupils").fetchone()[0]
    skipped = send_pipeline(pipeline_env, "run")
    assert skipped.returncode == 0 and "nothing changed" in skipped.stdout, skipped.stdout[-2000:]
    again = send_pipeline(pipeline_env, "run", "--force")
    assert again.returncode == 0, again.stdout[-2000:]
    assert "0 loaded" in again.stdout and "rows quarantined 0" in again.stdout
    # no count of rows read or loaded in what the run prints (its Dagster log lines included): the ledger has them
    printed = "".join(run.stdout + run.stderr for run in (first_run, again))
    assert re.search(r"census/\S+\.csv: (loaded|unchanged), rows quarantined", printed)  # the ingest's log lines
    assert not re.search(r"\b(read|loaded) [0-9]", printed), re.findall(r".*\b(?:read|loaded) [0-9].*", printed)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.census_pupils").fetchone()[0] == rows_before
        duplicates = con.execute(
            "SELECT count(*) FROM (SELECT source_file, source_row FROM raw.census_pupils "
            "GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()[0]
        assert duplicates == 0
        ledger = con.execute("SELECT count(*), count(DISTINCT file_name) FROM raw.file_ledger").fetchone()
        assert ledger[0] == ledger[1]


def test_a_broken_mart_fails_the_run_and_keeps_the_release(first_run, pipeline_env, tmp_path):
    """A mart that loses pupils (a bug in its SQL) fails the blocking GX totals check: exit 1, nothing swapped."""
    broken_project = tmp_path / "dbt_project"
    source = Path(pipeline_env["SEND_DBT_PROJECT_DIR"])
    shutil.copytree(source, broken_project, ignore=shutil.ignore_patterns("target", "logs"))
    [mart] = (broken_project / "models" / "marts").rglob("fct_send_provision.sql")
    sql = mart.read_text()
    assert "where sen_provision in ('E', 'K')" in sql
    mart.write_text(
        sql.replace("where sen_provision in ('E', 'K')", "where sen_provision in ('E', 'K') and fsm = 'Not eligible'")
    )
    before = hashlib.sha256(published_path(pipeline_env).read_bytes()).hexdigest()
    result = send_pipeline({**pipeline_env, "SEND_DBT_PROJECT_DIR": str(broken_project)}, "run")
    assert result.returncode == 1, result.stdout[-2000:]
    assert "FAILED marts/fct_send_provision :: gx_census_totals" in result.stdout
    assert "NOT published" in result.stdout
    assert hashlib.sha256(published_path(pipeline_env).read_bytes()).hexdigest() == before


def test_an_independent_attacker_on_the_demo_release_recovers_no_suppressed_cell(first_run, pipeline_env):
    """The attacker of tests/test_publish.py (written apart from the library) on the demo's published EES files."""
    from test_publish import independent_attack, read_ees

    folder = published_path(pipeline_env).parent
    attacks = [
        ("send_primary_need", "primary_need", "pupils", ("time_period", "time_identifier")),
        ("send_ehcp_caseload", "primary_need", "ehcps_maintained", ("time_period", "reference_date")),
        ("send_exclusions", "sen_provision", "children_permanently_excluded", ("time_period",)),
        ("send_attainment_standard", "outcome", "pupils", ("key_stage", "measure", "sen_provision")),
    ]
    for table, filter_column, count, group_by in attacks:
        found = independent_attack(read_ees(folder, table), filter_column, count, group_by)
        assert found, table  # each has suppressed cells in the demo
        assert all(high - low >= 5 for low, high in found.values()), (table, found)


def test_gx_data_docs_of_every_suite_are_written_to_quality_not_published(first_run, pipeline_env):
    warehouse = Path(pipeline_env["SEND_WAREHOUSE_DIR"])
    index = warehouse / "quality" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    html = index.read_text()
    for suite in ("census_totals", "published_counts", "published_ees", "published_matches_marts"):
        assert suite in html, suite
    assert not list(published_path(pipeline_env).parent.rglob("*data_docs*"))
    assert not published_path(pipeline_env).resolve().is_relative_to(index.parent.resolve())


def test_every_published_percentage_of_a_suppressed_count_is_suppressed(first_run, pipeline_env):
    """Rule 5 over the demo release: a percentage beside a `c` count (or over a `c` whole) is `c` too."""
    from pipeline.ees import COUNT
    from pipeline.published_tables import PUBLISHED_TABLES

    from test_publish import read_ees

    checked = 0
    for spec in PUBLISHED_TABLES:
        kinds = {i.column: i.kind for i in spec.indicators}
        for indicator in spec.percent_indicators:
            if kinds[indicator.numerator] != COUNT:
                continue
            for row in read_ees(published_path(pipeline_env).parent, spec.name):
                if row[indicator.numerator] == "c":
                    assert row[indicator.column] == "c", (spec.name, indicator.column)
                    checked += 1
    assert checked > 0


def test_the_attainment_tables_publish_no_percentage_or_average_over_too_few_pupils(first_run, pipeline_env):
    """Issue 9: tiny cohorts. A percentage shows only over 10 or more pupils with a result (rule 5), an average
    only over 8 or more pupils with a score (rule 6); the EHC plan cohorts of the demo are below that somewhere."""
    from test_publish import read_ees

    folder = published_path(pipeline_env).parent
    standard = read_ees(folder, "send_attainment_standard")
    cohorts = {(r["key_stage"], r["measure"], r["sen_provision"]): r["pupils"]
               for r in standard if r["outcome"] == "Total"}  # fmt: skip
    shown = [r for r in standard if r["pct_of_pupils"] not in ("c", "x", "z")]
    assert shown and any(r["pct_of_pupils"] == "c" for r in standard)
    for row in shown:
        cohort = cohorts[(row["key_stage"], row["measure"], row["sen_provision"])]
        assert cohort.isdigit() and int(cohort) >= 10, row
        assert row["pupils"].isdigit(), row  # never beside a suppressed count
    # an average shows over 8 pupils or more; their number may be `c` (a complement: the model knows it is 8+)
    with duckdb.connect(str(Path(pipeline_env["SEND_WAREHOUSE_DIR"]) / "send.duckdb"), read_only=True) as con:
        exact = dict(con.execute(
            "SELECT concat_ws('|', time_period, key_stage, measure, sen_provision), pupils_with_score "
            "FROM marts.fct_send_attainment WHERE measure_type = 'average_score'"
        ).fetchall())  # fmt: skip
    scores = read_ees(folder, "send_attainment_scores")
    averages = [r for r in scores if r["average_score"] not in ("c", "x")]
    assert averages  # else the loop below checks nothing (rule 6's suppressed case: tests/test_ees.py)
    for row in averages:
        key = "|".join(row[c] for c in ("time_period", "key_stage", "measure", "sen_provision"))
        assert row["pupils_with_score"] in ("c", str(exact[key])) and exact[key] >= 8, row


def test_every_column_of_the_demo_release_is_described_where_a_bi_tool_looks(first_run, pipeline_env):
    with duckdb.connect(str(published_path(pipeline_env)), read_only=True) as reader:
        columns = reader.execute(
            "SELECT table_name, column_name, column_comment FROM information_schema.columns "
            "WHERE table_schema = 'reporting'"
        ).fetchall()
        tables = reader.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'reporting'")
        tables = dict(tables.fetchall())
    assert len(tables) >= 20 and [t for t, text in tables.items() if not text] == []
    assert {t for t, _, _ in columns} == set(tables)
    assert [(t, c) for t, c, text in columns if not text] == []


def test_the_demo_release_files_use_ees_time_identifiers_and_dates_without_a_time(first_run, pipeline_env):
    """What DfE's EES screener asks of the open-data files: a time identifier of its own, 4-digit time periods for
    calendar years and months, 6-digit for academic and financial years and terms; dates as YYYY-MM-DD."""
    wrong, seen = [], set()
    for path in sorted((Path(pipeline_env["SEND_WAREHOUSE_DIR"]) / "published" / "ees").glob("*.csv")):
        if path.name.endswith(".meta.csv"):
            continue
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                identifier, period = row["time_identifier"], row["time_period"]
                seen.add(identifier)
                digits = 4 if identifier in EES_FOUR_DIGIT_TIME_IDENTIFIERS else 6
                if identifier not in EES_TIME_IDENTIFIERS or not re.fullmatch(rf"\d{{{digits}}}", period):
                    wrong.append((path.name, identifier, period))
                dates = [v for k, v in row.items() if k.endswith("_date") and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)]
                wrong += [(path.name, d) for d in dates]
    assert sorted(set(wrong)) == []
    assert {"Spring term", "Academic year", "April", "Calendar year", "Financial year"} <= seen


def test_the_year_the_ehcna_extract_covers_in_part_says_where_it_stops(first_run, pipeline_env):
    """The audit's case: 2023 counted to the extract's date (the seed's "2023 YTD": 27 requests) beside whole years
    (58 in 2022) must not read as a year. The extract's date is read from its file name here, not from the code."""
    raw = Path(pipeline_env["SEND_RAW_DIR"])
    [name] = [p.stem for p in (raw / "ehcna").glob("request_*.csv")]
    extract = dt.date.fromisoformat(name.removeprefix("request_"))
    assert extract < dt.date(extract.year, 12, 31)  # the demo's extract ends mid-year
    with duckdb.connect(str(published_path(pipeline_env)), read_only=True) as reader:
        counted = dict(reader.execute(
            "SELECT DISTINCT time_period, counted_to FROM reporting.send_ehcna_timeliness"
        ).fetchall())  # fmt: skip
    assert counted.pop(str(extract.year)) == extract.isoformat()
    assert counted and all(to == f"{year}-12-31" for year, to in counted.items())
    report = (Path(pipeline_env["SEND_WAREHOUSE_DIR"]) / "published" / "report" / "index.html").read_text()
    months = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")  # fmt: skip
    assert (
        f'{extract.year}</time> (to <time datetime="{extract.isoformat()}">{extract.day} {months[extract.month - 1]}'
        in report
    )
    assert not re.search(rf"\b\d+</[a-z]+> in <time[^>]*>{extract.year}</time>(?! \(to )", report)


def test_annual_reviews_are_published_by_academic_year_as_the_seed_counts_them(first_run, pipeline_env):
    """Seed 7.1's "% Annual Reviews completed in timescale (academic year)": its columns 2021, 2022 and 2023 YTD are
    the academic years ending in them (1 September to 31 August), the one still running counted to the extract's
    date (read from the file's name here)."""
    raw = Path(pipeline_env["SEND_RAW_DIR"])
    [name] = [p.stem for p in (raw / "ehcna").glob("annual_review_*.csv")]
    extract = dt.date.fromisoformat(name.removeprefix("annual_review_"))
    with duckdb.connect(str(published_path(pipeline_env)), read_only=True) as reader:
        rows = reader.execute(
            "SELECT time_period, time_identifier, counted_to, timeliness, reviews FROM reporting.send_annual_reviews"
        ).fetchall()
    assert rows and {identifier for _, identifier, *_ in rows} == {"Academic year"}
    for year, _, counted_to, _, _ in rows:
        first = int(year[:4])
        assert year == f"{first}{(first + 1) % 100:02d}"
        assert counted_to == min(dt.date(first + 1, 8, 31), extract).isoformat(), year
    reviews = {(year, timeliness): n for year, _, _, timeliness, n in rows}
    seed = FIGURES["ehcna_timescales_7_1"]["annual_reviews_in_time_pct"]
    for column, pct in seed.items():
        year = f"{column - 1}{column % 100:02d}"
        in_time, due = reviews[(year, "In time")], reviews[(year, "Total")]
        assert round(100 * int(in_time) / int(due)) == pct, (column, year, in_time, due)
    # the seed's last column (YTD) is the latest year, the one running at the extract's date
    last = max(seed)
    assert max(y for y, _ in reviews) == f"{last - 1}{last % 100:02d}"
    assert dt.date(last - 1, 9, 1) <= extract <= dt.date(last, 8, 31)


def test_the_generator_writes_the_folders_the_sources_read(first_run, pipeline_env):
    """SOURCE_FOLDERS is what a run refuses to work without reading: every folder the demo writes is one."""
    written = {p.name for p in Path(pipeline_env["SEND_RAW_DIR"]).iterdir() if p.is_dir()}
    assert written == set(SOURCE_FOLDERS)


def test_the_dbt_docs_describe_the_built_marts(first_run, pipeline_env):
    docs = Path(pipeline_env["SEND_WAREHOUSE_DIR"]) / "docs"
    assert f"dbt docs:           {docs / 'static_index.html'}" in first_run.stdout
    catalog = json.loads((docs / "catalog.json").read_text())
    provision = catalog["nodes"]["model.send_warehouse.fct_send_provision"]
    assert {"time_period", "sen_provision", "pupils"} <= set(provision["columns"])
    assert "fct_send_provision" in (docs / "static_index.html").read_text()


def test_dbt_in_process_leaves_the_warehouse_free_for_other_settings(first_run, pipeline_env, tmp_path, monkeypatch):
    """`dbt docs generate` runs in the run's process (pipeline/dbt_docs.py): after it, the next step opens send.duckdb
    with its own settings, which DuckDB refuses while dbt-duckdb's connection is open."""
    from pipeline.dbt_assets import BUILT_MANIFEST_DIR
    from pipeline.dbt_docs import dbt_in_process, docs_generate_args

    warehouse = Path(pipeline_env["SEND_WAREHOUSE_DIR"])
    for name in ("SEND_WAREHOUSE_DIR", "SEND_RAW_DIR", "SEND_PSEUDONYM_KEY"):
        monkeypatch.setenv(name, pipeline_env[name])
    monkeypatch.setenv("SEND_DUCKDB_PATH", str(warehouse / "send.duckdb"))
    project = Path(__file__).parents[1] / "dbt_project"
    dbt_in_process(docs_generate_args(tmp_path, warehouse / BUILT_MANIFEST_DIR), project, tmp_path)
    assert "fct_send_provision" in (tmp_path / "catalog.json").read_text()
    log = (tmp_path / "dbt.log").read_text()  # dbt_project.yml keeps dbt's file log at info
    assert "Running with dbt" in log and "[debug]" not in log and '"level": "debug"' not in log
    con = duckdb.connect(str(warehouse / "send.duckdb"), config={"memory_limit": "123MB", "threads": 1})
    assert con.execute("SELECT count(*) FROM marts.fct_send_provision").fetchone()[0] > 0
    con.close()


def test_a_failed_dbt_in_process_names_its_log(first_run, pipeline_env, tmp_path, monkeypatch):
    import dagster as dg

    from pipeline.dbt_docs import dbt_in_process

    monkeypatch.setenv("SEND_DUCKDB_PATH", str(Path(pipeline_env["SEND_WAREHOUSE_DIR"]) / "send.duckdb"))
    project = Path(__file__).parents[1] / "dbt_project"
    with pytest.raises(dg.Failure, match=r"(?s)dbt run-operation no_such_macro failed: .*dbt log: .*dbt\.log"):
        dbt_in_process(["run-operation", "no_such_macro"], project, tmp_path)


def test_every_code_a_filter_hint_explains_is_a_value_the_table_publishes(first_run, pipeline_env):
    """A filter's hint (its .meta.csv filter_hint and its column description) explains codes as `CODE = meaning`:
    each code it explains must be one the table's file holds, or the analyst looks for rows that cannot exist."""
    from pipeline.ees import TOTAL
    from pipeline.published_tables import PUBLISHED_TABLES

    from test_publish import read_ees

    folder, explained, absent = published_path(pipeline_env).parent, 0, []
    for spec in PUBLISHED_TABLES:
        rows = read_ees(folder, spec.name)
        for f in spec.filters:
            values = {row[f.column] for row in rows}
            for code in re.findall(r"(?:^|[;,] )(\w+) = ", f.hint):
                explained += 1
                if code != TOTAL and code not in values:
                    absent.append((spec.name, f.column, code))
    assert absent == []
    assert explained >= 5


def test_a_geography_a_row_is_not_about_is_null_in_every_table(first_run, pipeline_env):
    """The region of a national row, the LA of a regional one: NULL in send_reporting (blank in the EES CSVs), as
    the column descriptions say ("empty on national rows"). send_child_health wrote '' where the others wrote
    NULL, so `region_code IS NULL` found England's rows in one table and not in the other."""
    from pipeline.ees import GEOGRAPHY_COLUMNS

    with duckdb.connect(str(published_path(pipeline_env)), read_only=True) as reader:
        tables = [t for (t,) in reader.execute("SHOW TABLES FROM reporting").fetchall() if t != "release"]
        blank = {
            (table, column): n
            for table in tables
            for column in GEOGRAPHY_COLUMNS
            if (n := reader.execute(f"SELECT count(*) FROM reporting.{table} WHERE {column} = ''").fetchone()[0])
        }
        national_regions = reader.execute(
            "SELECT count(*) FROM reporting.send_child_health WHERE geographic_level = 'National' "
            "AND region_code IS NULL AND new_la_code IS NULL"
        ).fetchone()[0]
    assert blank == {}
    assert national_regions > 0


def test_every_code_of_a_column_that_separates_rows_is_explained_where_it_has_a_hint(first_run, pipeline_env):
    """A `by` column's description and .meta.csv filter_hint explain its codes (DfE's measure names, the attainment
    measures, setting types): every value the demo release holds is among them, and the .meta.csv gives the label
    and hint, not the column's name ("Sen provision" with no key to E, K and N)."""
    from pipeline.ees import by_label
    from pipeline.published_tables import PUBLISHED_TABLES

    from test_publish import read_ees

    folder, unexplained, hinted = published_path(pipeline_env).parent, [], 0
    for spec in PUBLISHED_TABLES:
        rows = read_ees(folder, spec.name)
        meta = {row["col_name"]: row for row in read_ees(folder, f"{spec.name}.meta")}
        for column in spec.by:
            label, hint = by_label(spec, column)
            assert (meta[column]["label"], meta[column]["filter_hint"]) == (label, hint), (spec.name, column)
            values = {row[column] for row in rows} - {"Total", ""}
            if not hint or all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in values):
                continue
            hinted += 1
            named = [v for v in values if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", hint)]
            unexplained += [(spec.name, column, v) for v in sorted(values - set(named))]
    assert unexplained == []
    assert hinted >= 8
