"""DfE EHC plans release 2025: committed subset, strict ingest, symbols, staging and the reconciliation test.

Expected figures are read from the committed CSVs with the csv module (or from tests/fixtures/figures.yaml), never
from the code under test. dbt runs as a subprocess against a tmp DuckDB file.
"""

import csv
import io
import re
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from pipeline import drop_zone
from pipeline.generate.dfe import (
    REFERENCE_DIR,
    SUBSET_TOTALS,
    SubsetError,
    copy_dfe_release,
    cut_lines,
)
from pipeline.ingest import ExtractError, ingest_source
from pipeline.resources import SendWarehouse
from pipeline.sources.dfe import (
    DFE_FILES,
    DFE_FILES_BY_STEM,
    check_no_unread_files,
    dfe_contract,
    dfe_contracts,
    dfe_ehcp_2025,
    is_percentage,
)

from source_support import QUARANTINE_TEXT
from support import dbt

REPO = Path(__file__).resolve().parent.parent
FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
HOME = FIGURES["la"]  # Rutland: new_la_code E06000017, old_la_code 857, region_code E12000004
RECONCILED = "int_dfe_ehcp_aggregates_reconciled"
BOM = b"\xef\xbb\xbf"


# ---------- helpers (independent of the code under test) ----------


def read_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def rewrite(path: Path, change) -> None:
    """Rewrite one published file: change(header, rows) edits lists in place; written back with BOM and CRLF."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle))
    header, rows = records[0], records[1:]
    change(header, rows)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(BOM + buffer.getvalue().encode("utf-8"))


def set_cell(path: Path, column: str, value: str, **where: str) -> str:
    """Set one cell of the row matching ``where``; returns the old value."""
    old = []

    def change(header, rows):
        at = {name: i for i, name in enumerate(header)}
        hits = [r for r in rows if all(r[at[k]] == v for k, v in where.items())]
        assert len(hits) == 1, where
        old.append(hits[0][at[column]])
        hits[0][at[column]] = value

    rewrite(path, change)
    return old[0]


def home_total(rows: list[dict], period: str, total: str) -> dict:
    [row] = [
        r
        for r in rows
        if r["time_period"] == period
        and r["geographic_level"] == "Local authority"
        and r["old_la_code"] == HOME["old_la_code"]
        and r["breakdown_topic"] == total
        and r["breakdown"] == total
    ]
    return row


def ingest_all(con, raw: Path) -> dict:
    return {r.file_name: r for c in dfe_contracts() for r in ingest_source(con, c, raw)}


def run_dbt(tmp: Path, database: Path, *args: str, la_code: str = HOME["old_la_code"]):
    return dbt(database, tmp, *args, la_code=la_code)


def warehouse_from(raw: Path, database: Path) -> None:
    con = duckdb.connect(str(database))
    try:
        results = ingest_all(con, raw)
        assert all(r.rows_quarantined == 0 for r in results.values())
    finally:
        con.close()


@pytest.fixture
def raw(tmp_path) -> Path:
    copy_dfe_release(tmp_path / "raw")
    return tmp_path / "raw"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The committed subset ingested and built by dbt (staging + reconciliation), once for the module."""
    tmp = tmp_path_factory.mktemp("dfe_built")
    raw = tmp / "raw"
    copy_dfe_release(raw)
    database = tmp / "send.duckdb"
    warehouse_from(raw, database)
    result = run_dbt(tmp, database, "build", "--select", f"+{RECONCILED}", "--indirect-selection", "cautious")
    con = duckdb.connect(str(database), read_only=True)
    yield result, con
    con.close()


# ---------- the committed subset ----------


def test_copy_is_byte_for_byte_with_the_published_header(tmp_path):
    written = copy_dfe_release(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{stem}.csv" for stem in SUBSET_TOTALS)
    for path in written:
        assert path.parent == tmp_path / "dfe" / "ehcp_2025"
        data = path.read_bytes()
        assert data == (REFERENCE_DIR / path.name).read_bytes()
        assert data.startswith(BOM)
        lines = data.splitlines(keepends=True)
        assert all(line.endswith(b"\r\n") for line in lines)
        # the contract's required columns are the file's published header, in published order and case
        assert lines[0] == BOM + ",".join(DFE_FILES_BY_STEM[path.stem].header).encode() + b"\r\n"
    assert sum(p.stat().st_size for p in written) < 3_000_000


def test_committed_subset_keeps_every_geography_of_the_total_breakdown_only():
    for stem, total in SUBSET_TOTALS.items():
        rows = read_rows(REFERENCE_DIR / f"{stem}.csv")
        assert {(r["breakdown_topic"], r["breakdown"]) for r in rows} == {(total, total)}
        for period in {r["time_period"] for r in rows}:
            levels = [r["geographic_level"] for r in rows if r["time_period"] == period]
            assert levels.count("National") == 1
            assert levels.count("Regional") >= 9  # the nine English regions (London split in two in one file)
            assert levels.count("Local authority") >= 150
        # the committed file is its own cut: nothing else was in it, and cutting changes no byte
        data = (REFERENCE_DIR / f"{stem}.csv").read_bytes()
        assert cut_lines(data, total, stem) == data


def test_cut_keeps_matching_lines_as_published_bytes():
    published = (
        BOM + b"time_period,la_name,breakdown_topic,breakdown,n\r\n"
        b'2024,"Bristol, City of",Total,Total,5\r\n'
        b"2024,York,Sex,Female,x\r\n"
        b"2024,York,Total,Total,z\r\n"
    )
    assert cut_lines(published, "Total") == (
        BOM + b"time_period,la_name,breakdown_topic,breakdown,n\r\n"
        b'2024,"Bristol, City of",Total,Total,5\r\n'
        b"2024,York,Total,Total,z\r\n"
    )
    with pytest.raises(SubsetError, match="CRLF"):
        cut_lines(published.replace(b"\r\n", b"\n"), "Total")
    with pytest.raises(SubsetError, match="byte-order mark"):
        cut_lines(published[len(BOM) :], "Total")


def test_cut_refuses_a_file_it_cannot_cut_line_by_line():
    header = BOM + b"time_period,la_name,breakdown_topic,breakdown,n\r\n"
    no_topic = header.replace(b"breakdown_topic", b"topic") + b"2024,York,Total,Total,5\r\n"
    with pytest.raises(SubsetError, match="^caseload.csv: header has no breakdown_topic/breakdown columns$"):
        cut_lines(no_topic, "Total", "caseload.csv")
    split = b'2024,York,Total,Total,5\r\n2024,"Bristol,\r\nCity of",Total,Total,5\r\n'  # a quoted line break
    with pytest.raises(SubsetError, match="^caseload.csv: row 3 has 2 fields, the header 5$"):
        cut_lines(header + split, "Total", "caseload.csv")
    with pytest.raises(SubsetError, match="^caseload.csv: row 2 has 6 fields, the header 5$"):
        cut_lines(header + b"2024,York,Total,Total,5,6\r\n", "Total", "caseload.csv")


# ---------- ingest ----------


def test_committed_subset_ingests_with_zero_quarantined_rows(raw, con):
    results = ingest_all(con, raw)
    assert set(results) == {f"dfe/ehcp_2025/{f.file_name}" for f in DFE_FILES}
    for dfe_file in DFE_FILES:
        expected_rows = len(read_rows(raw / "dfe" / "ehcp_2025" / dfe_file.file_name))
        result = results[f"dfe/ehcp_2025/{dfe_file.file_name}"]
        assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (expected_rows, expected_rows, 0)
        types = {r[1] for r in con.execute(f"DESCRIBE raw.{dfe_file.table}").fetchall()}
        assert types == {"VARCHAR", "BIGINT"}  # values as text; only source_row is a number
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 0


def test_bom_and_crlf_are_read_and_rows_keep_their_line_numbers(raw, con):
    path = raw / "dfe" / "ehcp_2025" / "caseload.csv"
    rows = read_rows(path)
    latest = max(r["time_period"] for r in rows)
    line = 2 + rows.index(home_total(rows, latest, "All EHC plans"))
    ingest_all(con, raw)
    columns = [r[0] for r in con.execute("DESCRIBE raw.dfe_ehcp_caseload").fetchall()]
    assert columns[0] == "time_period"  # not "\ufefftime_period"
    stored = con.execute(
        "SELECT time_period, perm_ex_2022, source_row FROM raw.dfe_ehcp_caseload WHERE source_row = $line",
        {"line": line},
    ).fetchone()
    assert stored == (latest, rows[line - 2]["perm_ex_2022"], line)
    assert con.execute(
        "SELECT count(*) FROM raw.dfe_ehcp_caseload WHERE perm_ex_2022 LIKE '%' || chr(13) || '%'"
    ).fetchone() == (0,)
    # the same file without BOM and with LF endings loads the same rows
    plain = raw.parent / "plain"
    (plain / "dfe" / "ehcp_2025").mkdir(parents=True)
    (plain / "dfe" / "ehcp_2025" / "caseload.csv").write_bytes(path.read_bytes()[len(BOM) :].replace(b"\r\n", b"\n"))
    other = duckdb.connect()
    [result] = ingest_source(other, dfe_contract(DFE_FILES_BY_STEM["caseload"]), plain)
    assert (result.rows_loaded, result.rows_quarantined) == (len(rows), 0)
    query = "SELECT * EXCLUDE (source_file) FROM raw.dfe_ehcp_caseload ORDER BY source_row"
    assert other.execute(query).fetchall() == con.execute(query).fetchall()
    other.close()


def test_symbols_are_kept_as_text_in_raw(raw, con):
    path = raw / "dfe" / "ehcp_2025" / "requests.csv"
    for column, symbol in [("requests_rya", "z"), ("mediation_related_request", "c"), ("requests_withdrawn", "low")]:
        set_cell(path, column, symbol, time_period="2024", old_la_code=HOME["old_la_code"])
    ingest_all(con, raw)
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 0
    row = con.execute(
        "SELECT requests_rya, mediation_related_request, requests_withdrawn FROM raw.dfe_ehcp_requests "
        "WHERE time_period = '2024' AND old_la_code = $la",
        {"la": HOME["old_la_code"]},
    ).fetchone()
    assert row == ("z", "c", "low")
    published_x = sum(v == "x" for r in read_rows(path) for v in r.values())
    stored_x = con.execute(
        "SELECT count(*) FROM (UNPIVOT raw.dfe_ehcp_requests ON COLUMNS(* EXCLUDE (source_row)) "
        "INTO NAME k VALUE v) WHERE v = 'x'"
    ).fetchone()[0]
    assert published_x > 0 and stored_x == published_x


@pytest.mark.parametrize(
    ("value", "rule"),
    [("1,234", "not_a_count_or_ees_symbol"), ("n/a", "not_a_count_or_ees_symbol"), ("", "blank_not_an_ees_symbol")],
)
def test_a_value_that_is_neither_number_nor_symbol_is_quarantined(raw, con, value, rule):
    path = raw / "dfe" / "ehcp_2025" / "caseload.csv"
    rows = read_rows(path)
    line = 2 + rows.index(home_total(rows, "202223", "All EHC plans"))
    set_cell(path, "ehcplans", value, time_period="202223", old_la_code=HOME["old_la_code"])
    results = ingest_all(con, raw)
    result = results["dfe/ehcp_2025/caseload.csv"]
    assert (result.rows_loaded, result.rows_quarantined) == (len(rows) - 1, 1)
    quarantined = con.execute("SELECT file_name, row_number, column_name, rule FROM raw.quarantine").fetchall()
    assert quarantined == [("dfe/ehcp_2025/caseload.csv", line, "ehcplans", rule)]
    stored = " ".join(str(v) for row in con.execute(QUARANTINE_TEXT).fetchall() for v in row)
    assert value == "" or value not in stored


# Each leading-column rule of the contract, broken on the home LA's row: (change, column, rule).
LEADING_BAD_ROWS = [
    ({"time_period": ""}, "time_period", "required"),
    ({"time_period": "2023/24"}, "time_period", "time_period_not_yyyy_or_yyyyyy"),
    ({"time_identifier": ""}, "time_identifier", "required"),
    ({"time_identifier": "Financial year"}, "time_identifier", "code_not_allowed"),
    ({"geographic_level": ""}, "geographic_level", "required"),
    ({"geographic_level": "Ward"}, "geographic_level", "code_not_allowed"),
    ({"country_code": ""}, "country_code", "required"),
    ({"country_code": "W92000004"}, "country_code", "not_england"),
    ({"region_code": ""}, "region_code", "required_for_regional_and_la_rows"),
    ({"region_code": "E10000018"}, "region_code", "region_code_not_e12_or_e13"),
    ({"new_la_code": ""}, "new_la_code", "required_for_la_rows"),
    ({"new_la_code": "857"}, "new_la_code", "new_la_code_not_gss_code"),
    ({"old_la_code": ""}, "old_la_code", "required_for_la_rows"),
    ({"old_la_code": "E06000017"}, "old_la_code", "old_la_code_not_3_digits"),
    ({"la_name": ""}, "la_name", "required_for_la_rows"),
    ({"breakdown_topic": ""}, "breakdown_topic", "required"),
    ({"breakdown": ""}, "breakdown", "required"),
]


@pytest.mark.parametrize("dfe_file", DFE_FILES, ids=[f.stem for f in DFE_FILES])
def test_every_rule_of_every_file_quarantines_the_row_that_breaks_it(tmp_path, con, dfe_file):
    """One good row (the home LA's latest total, as published), then a row per leading-column rule broken, a row
    with every measure blank and one with every measure neither a number nor a symbol: each bad row is quarantined
    with exactly the rules it breaks, and together they break every rule of the file's contract."""
    published = REFERENCE_DIR / dfe_file.file_name
    with published.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    records = [dict(zip(header, row, strict=True)) for row in rows]
    latest = max(r["time_period"] for r in records)
    total = SUBSET_TOTALS[dfe_file.stem]
    good = home_total(records, latest, total)
    measures = header[len(header) - len(dfe_file.measures) :]
    # each bad row beside the (column, rule) pairs it breaks
    broken = [({**good, **change}, {(column, rule)}) for change, column, rule in LEADING_BAD_ROWS]
    broken.append(({**good, **dict.fromkeys(measures, "")}, {(m.lower(), "blank_not_an_ees_symbol") for m in measures}))
    broken.append((
        {**good, **dict.fromkeys(measures, "n/a")},
        {(m.lower(), f"not_a_{'percentage' if is_percentage(m) else 'count'}_or_ees_symbol") for m in measures},
    ))  # fmt: skip
    bad = [row for row, _ in broken]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *([r[c] for c in header] for r in [good, *bad])])
    path = tmp_path / "dfe" / "ehcp_2025" / dfe_file.file_name
    path.parent.mkdir(parents=True)
    path.write_bytes(BOM + buffer.getvalue().encode("utf-8"))
    [result] = ingest_source(con, dfe_contract(dfe_file), tmp_path)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (1 + len(bad), 1, len(bad))
    expected = {(line, column, rule) for line, (_, rules) in enumerate(broken, start=3) for column, rule in rules}
    quarantined = con.execute("SELECT row_number, column_name, rule FROM raw.quarantine").fetchall()
    assert sorted(quarantined) == sorted(expected)
    assert {(column, rule) for _, column, rule in expected} == {
        (r.column, r.name) for r in dfe_contract(dfe_file).rules
    }
    stored = " ".join(str(v) for row in con.execute(QUARANTINE_TEXT).fetchall() for v in row)
    assert not [v for change, _, _ in LEADING_BAD_ROWS for v in change.values() if len(v) >= 4 and v in stored]


def _rename(old, new):
    return lambda header, rows: header.__setitem__(header.index(old), new)


def _drop(column):
    def change(header, rows):
        at = header.index(column)
        del header[at]
        for row in rows:
            del row[at]

    return change


def _add(column):
    def change(header, rows):
        header.append(column)
        for row in rows:
            row.append("1")

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_rename("ehcplans", "ehc_plans"), r"is missing required column\(s\) ehcplans"),
        (_drop("special_total_pc"), r"is missing required column\(s\) special_total_pc"),
        (_add("new_measure_2026"), r"has unexpected column\(s\) new_measure_2026"),
    ],
    ids=["renamed", "missing", "unexpected"],
)
def test_a_header_that_is_not_the_release_fails_naming_file_and_column_and_loads_nothing(raw, con, change, message):
    rewrite(raw / "dfe" / "ehcp_2025" / "caseload.csv", change)
    with pytest.raises(ExtractError, match=r"^dfe/ehcp_2025/caseload.csv: row 1 \(header\) " + message):
        ingest_source(con, dfe_contract(DFE_FILES_BY_STEM["caseload"]), raw)
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "dfe_ehcp_caseload" not in tables
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0


def test_a_file_of_another_shape_under_the_name_fails(raw, con):
    folder = raw / "dfe" / "ehcp_2025"
    (folder / "caseload.csv").write_bytes((folder / "requests.csv").read_bytes())
    with pytest.raises(ExtractError, match=r"^dfe/ehcp_2025/caseload.csv: row 1 \(header\) is missing .*ehcplans"):
        ingest_source(con, dfe_contract(DFE_FILES_BY_STEM["caseload"]), raw)


def test_redrop_is_skipped_and_a_corrected_file_replaces_its_rows(raw, con):
    first = ingest_all(con, raw)
    second = ingest_all(con, raw)
    assert {r.status for r in first.values()} == {"loaded"}
    assert {r.status for r in second.values()} == {"unchanged"}
    counts = con.execute("SELECT count(*) FROM raw.dfe_ehcp_caseload").fetchone()[0]
    assert counts == len(read_rows(raw / "dfe" / "ehcp_2025" / "caseload.csv"))
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == len(DFE_FILES)
    old = set_cell(raw / "dfe" / "ehcp_2025" / "caseload.csv", "ehcplans", "999999",
                   time_period="201819", old_la_code=HOME["old_la_code"])  # fmt: skip
    third = ingest_all(con, raw)
    assert third["dfe/ehcp_2025/caseload.csv"].status == "loaded"
    assert con.execute("SELECT count(*) FROM raw.dfe_ehcp_caseload").fetchone()[0] == counts
    values = con.execute(
        "SELECT ehcplans FROM raw.dfe_ehcp_caseload WHERE time_period = '201819' AND old_la_code = $la",
        {"la": HOME["old_la_code"]},
    ).fetchall()
    assert values == [("999999",)] and old != "999999"


def test_asset_materializes_every_file_and_fails_on_a_bad_release(raw, tmp_path):
    warehouse = SendWarehouse(raw_dir=str(raw), warehouse_dir=str(tmp_path / "warehouse"))
    result = dg.materialize([dfe_ehcp_2025], resources={"warehouse": warehouse})
    assert result.success
    keys = {e.asset_key for e in result.get_asset_materialization_events()}
    assert keys == {dg.AssetKey(["raw", f.table]) for f in DFE_FILES}

    rewrite(raw / "dfe" / "ehcp_2025" / "timeliness_20_week.csv", _rename("plans_issued_den", "den"))
    failed = dg.materialize([dfe_ehcp_2025], resources={"warehouse": warehouse}, raise_on_error=False)
    assert not failed.success
    [failure] = [e for e in failed.all_events if e.is_step_failure]
    assert "timeliness_20_week.csv: row 1 (header) is missing required column(s) plans_issued_den" in (
        failure.step_failure_data.error.message
    )

    empty = SendWarehouse(raw_dir=str(tmp_path / "nothing"), warehouse_dir=str(tmp_path / "warehouse2"))
    with pytest.raises(dg.Failure, match="lacks caseload.csv"):
        dg.materialize([dfe_ehcp_2025], resources={"warehouse": empty})


def test_dbt_sources_carry_the_asset_keys():
    sources = yaml.safe_load((REPO / "dbt_project/models/staging/dfe/_dfe__sources.yml").read_text())
    [dfe] = sources["sources"]
    keys = {tuple(t["meta"]["dagster"]["asset_key"]) for t in dfe["tables"]}
    assert keys == {("raw", f.table) for f in DFE_FILES} == {tuple(k.path) for k in dfe_ehcp_2025.keys}


# ---------- staging and reconciliation (dbt) ----------


def test_dbt_build_passes_on_the_published_release(built):
    result, _ = built
    assert result.returncode == 0, result.stdout[-3000:]


def test_home_la_caseload_for_the_latest_year_equals_the_csv(built):
    _, con = built
    rows = read_rows(REFERENCE_DIR / "caseload.csv")
    latest = max(rows, key=lambda r: int(r["time_period"]))["time_period"]
    expected = int(home_total(rows, latest, "All EHC plans")["ehcplans"])
    got = con.execute(
        "SELECT new_la_code, region_code, ehcplans, ehcplans_symbol FROM staging.stg_dfe__ehcp_caseload "
        "WHERE is_home_la AND time_period = $period",
        {"period": int(latest)},
    ).fetchall()
    assert got == [(HOME["new_la_code"], HOME["region_code"], expected, None)]


def test_home_la_requests_agree_with_the_seed_document(built):
    _, con = built
    seed = FIGURES["ehcp_demand_6_3"]["requests_by_year_section_6_3"]
    got = dict(
        con.execute(
            "SELECT time_period, requests_received_in_year FROM staging.stg_dfe__ehcp_requests "
            "WHERE is_home_la AND time_period IN (2019, 2021)"
        ).fetchall()
    )
    assert got == {2019: seed[2019], 2021: seed[2021]}


def test_x_stays_a_symbol_and_never_becomes_zero(built):
    _, con = built
    rows = read_rows(REFERENCE_DIR / "requests.csv")
    published_x = sum(r["requests_decided_to_assess"] == "x" for r in rows)
    published_zero = sum(r["requests_decided_to_assess"] == "0" for r in rows)
    got = con.execute(
        "SELECT count(*) FILTER (WHERE requests_decided_to_assess_symbol = 'x' AND requests_decided_to_assess IS NULL),"
        " count(*) FILTER (WHERE requests_decided_to_assess = 0) FROM staging.stg_dfe__ehcp_requests"
    ).fetchone()
    assert published_x > 0 and got == (published_x, published_zero)


def test_national_equals_the_sum_of_las_and_the_model_agrees(built):
    _, con = built
    rows = read_rows(REFERENCE_DIR / "caseload.csv")
    periods = sorted({r["time_period"] for r in rows})
    for period in periods:
        national = [
            int(r["ehcplans"]) for r in rows if r["time_period"] == period and r["geographic_level"] == "National"
        ]
        las = sum(
            int(r["ehcplans"])
            for r in rows
            if r["time_period"] == period and r["geographic_level"] == "Local authority"
        )
        assert national == [las]
        model = con.execute(
            f"SELECT published_value, la_sum, reconciliation_status FROM intermediate.{RECONCILED} "
            "WHERE dfe_file = 'caseload' AND measure = 'ehcplans' AND geographic_level = 'National' "
            "AND time_period = $period",
            {"period": int(period)},
        ).fetchall()
        assert model == [(las, las, "reconciles")]
    regional = con.execute(
        f"SELECT count(*) FROM intermediate.{RECONCILED} WHERE dfe_file = 'caseload' AND measure = 'ehcplans' "
        "AND geographic_level = 'Regional' AND reconciliation_status = 'reconciles'"
    ).fetchone()[0]
    assert regional == sum(r["geographic_level"] == "Regional" for r in rows)


def test_only_the_footnoted_aggregates_fail_to_add_up(built):
    """Every aggregate whose LAs are all numbers but do not sum to it, computed here from the CSVs, is exactly the
    set the model marks known_exception (Surrey 2024/25 needs, Wakefield 2022 new plans)."""
    _, con = built
    mismatches = set()
    for dfe_file in DFE_FILES:
        rows = read_rows(REFERENCE_DIR / dfe_file.file_name)
        counts = [c for c in rows[0] if not is_percentage(c) and c not in dfe_file.header[:12]]
        for aggregate in (r for r in rows if r["geographic_level"] in ("National", "Regional")):
            las = [
                r for r in rows
                if r["geographic_level"] == "Local authority" and r["time_period"] == aggregate["time_period"]
                and (aggregate["geographic_level"] == "National" or r["region_code"] == aggregate["region_code"])
            ]  # fmt: skip
            for column in counts:
                values = [r[column] for r in las]
                testable = aggregate[column].isdigit() and all(v.isdigit() for v in values)
                if testable and int(aggregate[column]) != sum(map(int, values)):
                    key = (
                        dfe_file.stem,
                        column.lower(),
                        int(aggregate["time_period"]),
                        aggregate["region_code"] or None,
                    )
                    mismatches.add(key)
    flagged = set(
        con.execute(
            f"SELECT dfe_file, measure, time_period, region_code FROM intermediate.{RECONCILED} "
            "WHERE reconciliation_status = 'known_exception'"
        ).fetchall()
    )
    assert flagged == mismatches
    assert {m[0] for m in mismatches} == {"sen_needs_all_plans", "newplans"}


def test_reconciliation_covers_every_count_measure(built):
    _, con = built
    covered = set(con.execute(f"SELECT DISTINCT dfe_file, measure FROM intermediate.{RECONCILED}").fetchall())
    assert covered == {(f.stem, m) for f in DFE_FILES for m in f.measures if not is_percentage(m)}


def test_reconciliation_test_fails_when_one_la_figure_is_altered(tmp_path):
    raw = tmp_path / "raw"
    copy_dfe_release(raw)
    path = raw / "dfe" / "ehcp_2025" / "caseload.csv"
    rows = read_rows(path)
    latest = max(int(r["time_period"]) for r in rows)
    published = int(home_total(rows, str(latest), "All EHC plans")["ehcplans"])
    set_cell(path, "ehcplans", str(published + 1), time_period=str(latest), old_la_code=HOME["old_la_code"])
    database = tmp_path / "send.duckdb"
    warehouse_from(raw, database)
    result = run_dbt(tmp_path, database, "build", "--select", f"+{RECONCILED}", "--indirect-selection", "cautious")
    assert result.returncode != 0
    failed = [line for line in result.stdout.splitlines() if " FAIL " in line and "START" not in line]
    assert len(failed) == 1 and f"accepted_values_{RECONCILED}_reconciliation_status" in failed[0], result.stdout
    con = duckdb.connect(str(database), read_only=True)
    failing = con.execute(
        f"SELECT dfe_file, measure, time_period, geographic_level, region_code, difference "
        f"FROM intermediate.{RECONCILED} WHERE reconciliation_status = 'does_not_reconcile' ORDER BY 4"
    ).fetchall()
    con.close()
    assert failing == [
        ("caseload", "ehcplans", latest, "National", None, -1),
        ("caseload", "ehcplans", latest, "Regional", HOME["region_code"], -1),
    ]


def test_staging_keeps_z_c_low_as_symbols_and_home_la_is_configuration(raw, tmp_path):
    path = raw / "dfe" / "ehcp_2025" / "timeliness_20_week.csv"
    symbols = {"plans_issued_den": "z", "plans_issued_within_20_weeks": "c", "plans_issued_gt_1_year": "low"}
    for column, symbol in symbols.items():
        set_cell(path, column, symbol, time_period="2024", old_la_code=HOME["old_la_code"])
    las = [r for r in read_rows(path) if r["geographic_level"] == "Local authority"]
    other = next(r for r in las if r["old_la_code"] != HOME["old_la_code"])
    database = tmp_path / "send.duckdb"
    warehouse_from(raw, database)
    result = run_dbt(tmp_path, database, "run", "--select", "stg_dfe__ehcp_timeliness_20_week",
                     la_code=other["old_la_code"])  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    con = duckdb.connect(str(database), read_only=True)
    row = con.execute(
        "SELECT plans_issued_den, plans_issued_den_symbol, plans_issued_within_20_weeks,"
        " plans_issued_within_20_weeks_symbol, plans_issued_gt_1_year, plans_issued_gt_1_year_symbol"
        " FROM staging.stg_dfe__ehcp_timeliness_20_week WHERE time_period = 2024 AND old_la_code = $la",
        {"la": HOME["old_la_code"]},
    ).fetchone()
    home = set(
        con.execute("SELECT DISTINCT la_name FROM staging.stg_dfe__ehcp_timeliness_20_week WHERE is_home_la").fetchall()
    )
    con.close()
    assert row == (None, "z", None, "c", None, "low")
    assert home == {(other["la_name"],)}  # SEND_LA_CODE picks the home LA, not a literal in the SQL


def test_every_column_of_every_model_is_described(built):
    _, con = built
    documented = {}
    for path in ["models/staging/dfe/_dfe__models.yml", "models/intermediate/dfe/_int_dfe__models.yml"]:
        for model in yaml.safe_load((REPO / "dbt_project" / path).read_text())["models"]:
            assert all(c.get("description") for c in model["columns"]), model["name"]
            documented[model["name"]] = [c["name"] for c in model["columns"]]
    schema = {"stg": "staging", "int": "intermediate"}
    assert set(documented) == {f"stg_dfe__ehcp_{f.stem}" for f in DFE_FILES} | {RECONCILED}
    for name, columns in documented.items():
        actual = [r[0] for r in con.execute(f"DESCRIBE {schema[name[:3]]}.{name}").fetchall()]
        assert actual == columns, name


def test_staging_carries_every_measure_of_the_contract_in_order_with_its_symbol(built):
    # the ingest contract (pipeline/sources/dfe.py) and the dbt measure lists (macros/dfe_measures.sql) are written
    # in two languages: a measure in one and not the other, or of another kind, fails here
    _, con = built
    for dfe_file in DFE_FILES:
        described = con.execute(f"DESCRIBE staging.stg_dfe__ehcp_{dfe_file.stem}").fetchall()
        types = {name: kind for name, kind, *_ in described}
        staged = [name for name, *_ in described if name in types and f"{name}_symbol" in types]
        assert staged == list(dfe_file.measures), dfe_file.stem
        for measure in dfe_file.measures:
            expected = "DOUBLE" if is_percentage(measure) else "BIGINT"
            assert types[measure] == expected, (dfe_file.stem, measure)


# ---------- a file under raw/dfe/ that no contract reads ----------

UNREAD = (
    "dfe/ehcp_2025/caseload (1).csv",
    "dfe/ehcp_2025/Caseload.CSV",
    "dfe/ehcp_2026/caseload.csv",
    "dfe/caseload.csv",
)


def test_the_drop_zone_knows_every_file_the_contracts_read():
    assert drop_zone.dfe_release_globs() == tuple(c.file_glob for c in dfe_contracts())


@pytest.mark.parametrize("name", UNREAD)
def test_a_file_no_contract_reads_fails_the_asset_and_the_drop_zone_check_naming_it(raw, tmp_path, name):
    """A corrected download, another case, the next release's folder, the top of dfe/: no contract reads them, and
    nothing said so (input lost without a word)."""
    (raw / name).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(raw / "dfe" / "ehcp_2025" / "caseload.csv", raw / name)
    assert drop_zone.unread_extracts(raw) == [name]
    message = drop_zone.unread_message([name])
    assert message.startswith(f"{name}: no file of DfE's EHC plans release ehcp_2025") and "caseload.csv" in message
    with pytest.raises(ExtractError, match=f"^{re.escape(name)}: no file of DfE's EHC plans release ehcp_2025"):
        check_no_unread_files(raw)
    warehouse = SendWarehouse(raw_dir=str(raw), warehouse_dir=str(tmp_path / "warehouse"))
    with pytest.raises(dg.Failure) as failed:
        dg.materialize([dfe_ehcp_2025], resources={"warehouse": warehouse})
    assert failed.value.description.startswith(f"{name}: no file of DfE's EHC plans release")
    assert "sen_needs_all_plans.csv" in failed.value.description and failed.value.allow_retries is False
    (raw / name).unlink()
    assert drop_zone.unread_extracts(raw) == []
    check_no_unread_files(raw)
