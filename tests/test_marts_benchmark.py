"""fct_benchmark_ehcp: the home LA, its statistical neighbours, its region and England from the real DfE release.

Expected figures are read from the committed DfE CSVs with the csv module (or are literal figures of the seed and of
DfE's statistical-neighbour tool), never from the code under test. dbt runs as a subprocess against a tmp DuckDB file
built from the committed release copied into a tmp drop zone.
"""

import csv
import io
import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.generate.dfe import REFERENCE_DIR, copy_dfe_release
from pipeline.ingest import ingest_source
from pipeline.release import RELEASE_KEY, REPORT_KEY
from pipeline.sources.dfe import dfe_contracts

from support import dbt

REPO = Path(__file__).resolve().parent.parent
FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
HOME = FIGURES["la"]  # Rutland: new_la_code E06000017, old_la_code 857, region East Midlands E12000004
# The dbt project to build: the repo's, or a private copy (SEND_DBT_PROJECT_DIR, as the pipeline reads it).
PROJECT_DIR = Path(os.environ.get("SEND_DBT_PROJECT_DIR", REPO / "dbt_project")).resolve()
MART = "fct_benchmark_ehcp"
RECONCILED = "int_dfe_ehcp_aggregates_reconciled"
RECONCILE_CHECK = "fct_benchmark_ehcp_region_and_england_reconcile_with_las"
BOM = b"\xef\xbb\xbf"
# Rutland's statistical neighbours as DfE's Children's Services Statistical Neighbour Benchmarking Tool lists them
# (groupings of April 2021), nearest first.
RUTLAND_NEIGHBOURS = ["815", "869", "895", "865", "823", "825", "931", "850", "937", "873"]
# Another LA to switch the warehouse to: Wiltshire, South West (a different region from Rutland's).
OTHER_LA = "865"
# (file, measure, all-children total label) of every measure the mart holds
MEASURES = [
    ("caseload", "ehcplans", "All EHC plans"),
    ("requests", "requests_received_in_year", "All requests for EHC needs assessments"),
    ("newplans", "new_ehc_plans", "New EHC plans"),
    ("timeliness_20_week", "plans_issued_den", "All EHC plans issued"),
    ("timeliness_20_week", "plans_issued_within_20_weeks", "All EHC plans issued"),
    ("timeliness_20_week", "plans_issued_den_ex", "All EHC plans issued"),
    ("timeliness_20_week", "plans_issued_20_weeks_ex", "All EHC plans issued"),
]


# ---------- helpers (independent of the code under test) ----------


def read_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def set_cell(path: Path, column: str, value: str, **where: str) -> str:
    """Set one cell of the one row matching ``where`` in a published file (kept BOM + CRLF); returns the old value."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle))
    header, rows = records[0], records[1:]
    at = {name: i for i, name in enumerate(header)}
    hits = [r for r in rows if all(r[at[k]] == v for k, v in where.items())]
    assert len(hits) == 1, where
    old = hits[0][at[column]]
    hits[0][at[column]] = value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(BOM + buffer.getvalue().encode("utf-8"))
    return old


def la_rows(rows: list[dict], old_la_code: str) -> dict[str, dict]:
    return {
        r["time_period"]: r
        for r in rows
        if r["geographic_level"] == "Local authority" and r["old_la_code"] == old_la_code
    }


def aggregate_rows(rows: list[dict], level: str, region_code: str = "") -> dict[str, dict]:
    return {r["time_period"]: r for r in rows if r["geographic_level"] == level and r["region_code"] == region_code}


def as_value(text: str):
    """(value, symbol) as the mart should hold a published cell: a count, or NULL beside its symbol."""
    return (int(text), None) if text.isdigit() else (None, text)


def warehouse_from(raw: Path, database: Path) -> None:
    con = duckdb.connect(str(database))
    try:
        for contract in dfe_contracts():
            for result in ingest_source(con, contract, raw):
                assert result.rows_quarantined == 0, result.file_name
    finally:
        con.close()


def run_dbt(tmp: Path, database: Path, *args: str, la_code: str = HOME["old_la_code"]):
    return dbt(database, tmp, *args, la_code=la_code)


def failed_nodes(tmp: Path) -> dict[str, str]:
    """Node name -> status of every node that did not pass in the last dbt command (from run_results.json)."""
    results = json.loads((tmp / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: r["status"] for r in results if r["status"] not in ("pass", "success")}


def mart(con, where: str = "true", params: dict | None = None) -> list[tuple]:
    return con.execute(
        f"SELECT geography_role, time_period, value, value_symbol FROM marts.{MART} WHERE {where} ORDER BY 1, 2",
        params or {},
    ).fetchall()


def published_marts() -> set[str]:
    """The marts the BI release publishes (PUBLISHED_TABLES: mart names, or tables naming their .mart)."""
    from pipeline.publish import PUBLISHED_TABLES

    return {table if isinstance(table, str) else table.mart for table in PUBLISHED_TABLES}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The committed release ingested and built by dbt up to the mart, once for the module (home LA Rutland)."""
    tmp = tmp_path_factory.mktemp("benchmark_built")
    raw = tmp / "raw"
    copy_dfe_release(raw)
    database = tmp / "send.duckdb"
    warehouse_from(raw, database)
    result = run_dbt(tmp, database, "build", "--select", f"+{MART}")
    con = duckdb.connect(str(database), read_only=True)
    yield result, con, tmp
    con.close()


@pytest.fixture(scope="module")
def switched(tmp_path_factory):
    """The release with three of OTHER_LA's 2024 timeliness cells published as c / low / z, built with SEND_LA_CODE
    = OTHER_LA."""
    tmp = tmp_path_factory.mktemp("benchmark_switched")
    raw = tmp / "raw"
    copy_dfe_release(raw)
    path = raw / "dfe" / "ehcp_2025" / "timeliness_20_week.csv"
    symbols = {"plans_issued_within_20_weeks": "c", "plans_issued_20_weeks_ex": "low", "plans_issued_den_ex": "z"}
    for column, symbol in symbols.items():
        set_cell(path, column, symbol, time_period="2024", old_la_code=OTHER_LA)
    database = tmp / "send.duckdb"
    warehouse_from(raw, database)
    result = run_dbt(tmp, database, "build", "--select", f"+{MART}", la_code=OTHER_LA)
    con = duckdb.connect(str(database), read_only=True)
    yield result, con, tmp, symbols
    con.close()


# ---------- the mart on the published release ----------


def test_dbt_build_of_the_mart_passes_every_check(built):
    result, _, tmp = built
    assert result.returncode == 0, result.stdout[-3000:]
    assert failed_nodes(tmp) == {}


def test_home_la_region_and_england_caseload_equal_the_committed_csv(built):
    _, con, _ = built
    rows = read_rows(REFERENCE_DIR / "caseload.csv")
    periods = ["201819", "201920", "202021", "202122", "202223", "202324", "202425"]
    expected = []
    for role, by_period in (
        ("england", aggregate_rows(rows, "National")),
        ("home_la", la_rows(rows, HOME["old_la_code"])),
        ("region", aggregate_rows(rows, "Regional", HOME["region_code"])),
    ):
        assert sorted(by_period) == periods
        expected += [(role, int(p), int(by_period[p]["ehcplans"]), None) for p in periods]
    got = mart(con, "measure = 'ehcplans' AND geography_role <> 'statistical_neighbour'")
    assert got == expected
    # the seed document's endpoints: Rutland 197 in 2018/19 ... 376 in 2024/25
    home = {period: value for role, period, value, _ in got if role == "home_la"}
    assert (home[201819], home[202425]) == (197, 376)


def test_geography_is_coded_as_dfe_codes_it(built):
    _, con, _ = built
    got = set(
        con.execute(
            "SELECT geography_role, geographic_level, country_code, region_code, region_name, new_la_code,"
            f" old_la_code, geography_name FROM marts.{MART} WHERE geography_role <> 'statistical_neighbour'"
        ).fetchall()
    )
    assert got == {
        ("england", "National", "E92000001", None, None, None, None, "England"),
        ("region", "Regional", "E92000001", HOME["region_code"], HOME["region"], None, None, HOME["region"]),
        ("home_la", "Local authority", "E92000001", HOME["region_code"], HOME["region"], HOME["new_la_code"],
         HOME["old_la_code"], HOME["name"]),
    }  # fmt: skip


def test_every_measure_of_every_geography_equals_the_csv(built):
    """Requests, new plans and 20-week timeliness too, for every geography of the mart, symbols as symbols."""
    _, con, _ = built
    for dfe_file, measure, total in MEASURES:
        rows = [
            r
            for r in read_rows(REFERENCE_DIR / f"{dfe_file}.csv")
            if r["breakdown_topic"] == total and r["breakdown"] == total
        ]
        expected = {}
        for r in rows:
            if r["geographic_level"] == "National":
                key = ("england", None)
            elif r["geographic_level"] == "Regional" and r["region_code"] == HOME["region_code"]:
                key = ("region", None)
            elif r["old_la_code"] == HOME["old_la_code"]:
                key = ("home_la", r["old_la_code"])
            elif r["old_la_code"] in RUTLAND_NEIGHBOURS:
                key = ("statistical_neighbour", r["old_la_code"])
            else:
                continue
            expected[(*key, int(r["time_period"]))] = as_value(r[measure])
        got = {
            (role, code, period): (value, symbol)
            for role, code, period, value, symbol in con.execute(
                f"SELECT geography_role, old_la_code, time_period, value, value_symbol FROM marts.{MART} "
                "WHERE dfe_file = $file AND measure = $measure",
                {"file": dfe_file, "measure": measure},
            ).fetchall()
        }
        assert got == expected, measure


def test_statistical_neighbours_are_rutlands_ten_in_dfe_order(built):
    _, con, _ = built
    rows = read_rows(REFERENCE_DIR / "caseload.csv")
    latest = max(r["time_period"] for r in rows)
    got = con.execute(
        f"SELECT neighbour_rank, old_la_code, new_la_code, la_name, value FROM marts.{MART} "
        "WHERE geography_role = 'statistical_neighbour' AND measure = 'ehcplans' AND time_period = $period "
        "ORDER BY neighbour_rank",
        {"period": int(latest)},
    ).fetchall()
    expected = []
    for rank, code in enumerate(RUTLAND_NEIGHBOURS, start=1):
        row = la_rows(rows, code)[latest]
        expected.append((rank, code, row["new_la_code"], row["la_name"], int(row["ehcplans"])))
    assert got == expected


def test_20_week_percentages_are_computed_from_the_counts_unrounded(built):
    _, con, _ = built
    rows = la_rows(read_rows(REFERENCE_DIR / "timeliness_20_week.csv"), HOME["old_la_code"])
    got = dict(
        con.execute(
            f"SELECT time_period, percentage FROM marts.{MART} "
            "WHERE geography_role = 'home_la' AND measure = 'plans_issued_within_20_weeks'"
        ).fetchall()
    )
    expected = {
        int(p): 100 * int(r["plans_issued_within_20_weeks"]) / int(r["plans_issued_den"]) for p, r in rows.items()
    }
    assert got == pytest.approx(expected, rel=1e-12)
    # DfE rounds to one decimal place; the mart does not (2020: 32 of 44 = 72.7272..., published 72.7)
    assert any(round(v, 1) != v for v in got.values())


def test_a_published_x_stays_a_symbol_and_its_share_has_none(built):
    """West Berkshire (a neighbour of Rutland) published x for its 2022 20-week timeliness."""
    _, con, _ = built
    rows = [
        r
        for r in read_rows(REFERENCE_DIR / "timeliness_20_week.csv")
        if r["old_la_code"] in RUTLAND_NEIGHBOURS and r["plans_issued_within_20_weeks"] == "x"
    ]
    assert rows, "the committed release has an x for a neighbour"
    for row in rows:
        got = con.execute(
            f"SELECT value, value_symbol, percentage, percentage_symbol FROM marts.{MART} "
            "WHERE old_la_code = $code AND time_period = $period AND measure = 'plans_issued_within_20_weeks'",
            {"code": row["old_la_code"], "period": int(row["time_period"])},
        ).fetchall()
        assert got == [(None, "x", None, "x")]


def test_region_and_england_are_recomputed_from_every_la_and_reconcile(built):
    _, con, _ = built
    for dfe_file, measure, _ in MEASURES:
        rows = read_rows(REFERENCE_DIR / f"{dfe_file}.csv")
        las = [r for r in rows if r["geographic_level"] == "Local authority"]
        got = {
            (role, period): (value, la_sum, status)
            for role, period, value, la_sum, status in con.execute(
                f"SELECT geography_role, time_period, value, la_sum, reconciliation_status FROM marts.{MART} "
                "WHERE measure = $measure AND geography_role IN ('region', 'england')",
                {"measure": measure},
            ).fetchall()
        }
        for role, by_period in (
            ("england", aggregate_rows(rows, "National")),
            ("region", aggregate_rows(rows, "Regional", HOME["region_code"])),
        ):
            for period, aggregate in by_period.items():
                covered = [
                    r[measure]
                    for r in las
                    if r["time_period"] == period and (role == "england" or r["region_code"] == HOME["region_code"])
                ]
                la_sum = sum(int(v) for v in covered if v.isdigit())
                value, got_sum, status = got[(role, int(period))]
                assert (value, got_sum) == (int(aggregate[measure]), la_sum), (measure, role, period)
                if not all(v.isdigit() for v in covered):
                    assert status == "la_value_is_symbol"
                elif la_sum == int(aggregate[measure]):
                    assert status == "reconciles"
                else:  # only the footnoted exception: Wakefield's aggregate 2022 new-plans return
                    assert (measure, role, period, status) == ("new_ehc_plans", "england", "2022", "known_exception")


def test_caseload_region_and_england_agree_exactly_every_year(built):
    _, con, _ = built
    statuses = con.execute(
        f"SELECT DISTINCT reconciliation_status, difference FROM marts.{MART} "
        "WHERE measure = 'ehcplans' AND geography_role IN ('region', 'england')"
    ).fetchall()
    assert statuses == [("reconciles", 0)]


def test_la_rows_that_carry_their_regions_total_say_so(built):
    """newplans 2022: every Yorkshire and The Humber LA row carries the regional total (Wakefield's aggregate return);
    a neighbour there (North Yorkshire) carries the footnote, no other row of that measure does."""
    _, con, _ = built
    rows = read_rows(REFERENCE_DIR / "newplans.csv")
    regional = {
        (r["time_period"], r["region_code"]): r["new_ehc_plans"] for r in rows if r["geographic_level"] == "Regional"
    }
    carrying = {
        (r["old_la_code"], int(r["time_period"]))
        for r in rows
        if r["geographic_level"] == "Local authority"
        and r["new_ehc_plans"] == regional[(r["time_period"], r["region_code"])]
    }
    expected = {c for c in carrying if c[0] in (HOME["old_la_code"], *RUTLAND_NEIGHBOURS)}
    assert expected, "a neighbour of Rutland is among the LA rows that carry their region's total"
    got = set(
        con.execute(
            f"SELECT old_la_code, time_period FROM marts.{MART} WHERE measure = 'new_ehc_plans' "
            "AND geographic_level = 'Local authority' AND exception_note IS NOT NULL"
        ).fetchall()
    )
    assert got == expected


# ---------- the reconciliation check fails on a tampered copy ----------


def test_reconciliation_check_fails_when_one_la_row_is_altered(tmp_path):
    """Another East Midlands LA's latest caseload goes up by one in raw: DfE's region and England figures no longer
    equal the sum of their LAs, so the build fails, and the mart's own check fails on the rebuilt mart."""
    raw = tmp_path / "raw"
    copy_dfe_release(raw)
    path = raw / "dfe" / "ehcp_2025" / "caseload.csv"
    rows = read_rows(path)
    latest = max(r["time_period"] for r in rows)
    target = next(
        r
        for r in rows
        if r["time_period"] == latest
        and r["geographic_level"] == "Local authority"
        and r["region_code"] == HOME["region_code"]
        and r["old_la_code"] not in (HOME["old_la_code"], *RUTLAND_NEIGHBOURS)
    )
    published = int(target["ehcplans"])
    set_cell(path, "ehcplans", str(published + 1), time_period=latest, old_la_code=target["old_la_code"])
    database = tmp_path / "send.duckdb"
    warehouse_from(raw, database)

    build = run_dbt(tmp_path, database, "build", "--select", f"+{MART}")
    assert build.returncode != 0
    failed = failed_nodes(tmp_path)
    not_skipped = {name: status for name, status in failed.items() if status != "skipped"}
    [(name, status)] = not_skipped.items()
    assert name.startswith(f"accepted_values_{RECONCILED}_reconciliation_status") and status == "fail", not_skipped
    assert failed[MART] == "skipped"  # the failed upstream check holds the mart back

    assert run_dbt(tmp_path, database, "run", "--select", f"+{MART}").returncode == 0
    test = run_dbt(tmp_path, database, "test", "--select", MART)
    assert test.returncode != 0
    assert failed_nodes(tmp_path) == {RECONCILE_CHECK: "fail"}, test.stdout[-3000:]

    con = duckdb.connect(str(database), read_only=True)
    failing = con.execute(
        f"SELECT geography_role, time_period, value, la_sum, difference FROM marts.{MART} "
        "WHERE reconciliation_status = 'does_not_reconcile' ORDER BY 1"
    ).fetchall()
    con.close()
    national = int(aggregate_rows(rows, "National")[latest]["ehcplans"])
    regional = int(aggregate_rows(rows, "Regional", HOME["region_code"])[latest]["ehcplans"])
    assert failing == [
        ("england", int(latest), national, national + 1, -1),
        ("region", int(latest), regional, regional + 1, -1),
    ]


# ---------- the home LA is configuration ----------


def test_changing_send_la_code_moves_the_mart_to_that_la(switched):
    result, con, tmp, _ = switched
    assert result.returncode == 0, result.stdout[-3000:]
    assert failed_nodes(tmp) == {}
    rows = read_rows(REFERENCE_DIR / "caseload.csv")
    home = la_rows(rows, OTHER_LA)
    region_code = {r["region_code"] for r in home.values()}.pop()
    assert region_code != HOME["region_code"]
    got = mart(con, "measure = 'ehcplans' AND geography_role IN ('home_la', 'region')")
    regional = aggregate_rows(rows, "Regional", region_code)
    assert got == [("home_la", int(p), int(r["ehcplans"]), None) for p, r in sorted(home.items())] + [
        ("region", int(p), int(r["ehcplans"]), None) for p, r in sorted(regional.items())
    ]
    assert con.execute(
        f"SELECT count(*) FROM marts.{MART} WHERE old_la_code = $code", {"code": HOME["old_la_code"]}
    ).fetchone() == (0,)
    with (PROJECT_DIR / "seeds" / "statistical_neighbours.csv").open(newline="") as handle:
        neighbours = [(int(r["neighbour_rank"]), r["neighbour_old_la_code"]) for r in csv.DictReader(handle)
                      if r["old_la_code"] == OTHER_LA]  # fmt: skip
    assert len(neighbours) == 10
    got_neighbours = con.execute(
        f"SELECT DISTINCT neighbour_rank, old_la_code FROM marts.{MART} WHERE geography_role = 'statistical_neighbour'"
        " ORDER BY 1"
    ).fetchall()
    assert got_neighbours == sorted(neighbours)


def test_c_low_and_z_stay_symbols_never_zero(switched):
    _, con, _, symbols = switched
    got = dict(
        con.execute(
            f"SELECT measure, value_symbol FROM marts.{MART} WHERE geography_role = 'home_la' AND time_period = 2024 "
            "AND value IS NULL"
        ).fetchall()
    )
    assert got == symbols
    shares = con.execute(
        f"SELECT measure, percentage, percentage_symbol FROM marts.{MART} WHERE geography_role = 'home_la' "
        "AND time_period = 2024 AND denominator_measure IS NOT NULL ORDER BY 1"
    ).fetchall()
    assert shares == [("plans_issued_20_weeks_ex", None, "low"), ("plans_issued_within_20_weeks", None, "c")]
    # the LA's symbols leave its region and England not testable for those measures, which is not a failure
    statuses = con.execute(
        f"SELECT DISTINCT reconciliation_status FROM marts.{MART} WHERE time_period = 2024 "
        "AND geography_role IN ('region', 'england') AND measure IN ('plans_issued_within_20_weeks', "
        "'plans_issued_20_weeks_ex', 'plans_issued_den_ex')"
    ).fetchall()
    assert statuses == [("la_value_is_symbol",)]


def test_an_la_code_the_release_does_not_have_fails_a_check(switched, tmp_path):
    _, _, built_tmp, _ = switched
    database = tmp_path / "send.duckdb"
    shutil.copyfile(built_tmp / "send.duckdb", database)
    result = run_dbt(tmp_path, database, "build", "--select", "int_benchmark_comparators_selected", la_code="999")
    assert result.returncode != 0
    failed = failed_nodes(tmp_path)
    assert list(failed.values()) == ["fail"] and next(iter(failed)).startswith(
        "relationships_int_benchmark_comparators_selected_old_la_code"
    ), failed


# ---------- exposures ----------


def test_exposures_declare_the_bi_release_and_the_report(built):
    _, _, tmp = built
    manifest = json.loads((tmp / "target" / "manifest.json").read_text())
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    release = exposures["send_reporting_release"]
    assert release["type"] in ("application", "dashboard")
    # the BI release depends on exactly the marts pipeline.publish publishes
    assert {n.split(".")[-1] for n in release["depends_on"]["nodes"]} == published_marts()
    report = exposures["send_needs_assessment_report"]
    assert report["type"] == "analysis"
    # each is a Dagster asset already (the lineage in Dagster's UI ends at them, not at a copy of the exposure)
    assert release["meta"]["dagster_asset_key"] == RELEASE_KEY.path
    assert report["meta"]["dagster_asset_key"] == REPORT_KEY.path
    # the report is made from the whole release, so of every mart it publishes, the issue-9 ones included
    assert {n.split(".")[-1] for n in report["depends_on"]["nodes"]} == published_marts()
    assert {"fct_send_exclusions", "fct_send_attainment", "fct_deprivation", "fct_child_health", MART} <= (
        published_marts()
    )
