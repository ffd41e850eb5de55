"""Census ingest: contract, quarantine, ledger, idempotence. Small hand-made files in tmp_path."""

import hashlib
import hmac
from array import array
from pathlib import Path

import duckdb
import jinja2
import pytest

from pipeline.ingest import ExtractError, ingest_source
from pipeline.pseudonymise import pseudonym
from pipeline.settings import REPO_ROOT
from pipeline.sources.census import CENSUS_MONTHS, CENSUS_TERM_MONTHS, census_contract
from pipeline.upn import check_letter

import source_support
from source_support import QUARANTINE_TEXT, quarantine

KEY = b"test-key-0123456789abcdef"
HEADER = [
    "upn", "laestab", "census_date", "phase", "ncyear_actual", "enrol_status", "dob", "gender", "ethnicity",
    "first_language", "sen_provision", "sen_primary_need", "sen_secondary_need", "fsm_eligible", "pupil_premium",
    "home_la_code",
]  # fmt: skip


def upn(serial: int) -> str:
    digits = f"857200122{serial:03d}"
    return check_letter(digits) + digits


def pupil(serial: int, **changes) -> dict:
    row = {
        "upn": upn(serial), "laestab": "8572001", "census_date": "2023-01-19", "phase": "PRIMARY",
        "ncyear_actual": "3", "enrol_status": "C", "dob": "2015-05-03", "gender": "M", "ethnicity": "WBRI",
        "first_language": "ENG", "sen_provision": "K", "sen_primary_need": "MLD", "sen_secondary_need": "",
        "fsm_eligible": "false", "pupil_premium": "false", "home_la_code": "857",
    }  # fmt: skip
    row.update(changes)
    return row


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    return source_support.write_csv(path, rows, header, encoding)


def ingest(raw: Path, con):
    return ingest_source(con, census_contract(KEY), raw)


def test_valid_rows_load_pseudonymised_with_birth_month(tmp_path, con):
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1), pupil(2, dob="19/06/2014", gender="F")])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 2, 0)
    rows = con.execute("SELECT pupil_id, birth_month::VARCHAR FROM raw.census_pupils ORDER BY source_row").fetchall()
    expected = pseudonym(KEY, upn(1))
    assert rows[0] == (expected, "2015-05-01")
    assert rows[1][1] == "2014-06-01"
    columns = [r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE raw.census_pupils)").fetchall()]
    assert not {"upn", "dob", "home_postcode"} & set(columns)


BAD_ROWS = [
    ({"upn": ("B" if upn(3)[0] == "A" else "A") + upn(3)[1:]}, "upn", "upn_check_letter_invalid"),
    ({"upn": "A85720012200"}, "upn", "upn_not_13_characters_letter_then_digits"),
    ({"sen_provision": "A"}, "sen_provision", "provision_a_or_p_not_accepted"),
    ({"sen_provision": "P"}, "sen_provision", "provision_a_or_p_not_accepted"),
    ({"sen_provision": "E", "sen_primary_need": "NSA"}, "sen_primary_need", "nsa_only_with_sen_support"),
    ({"sen_provision": "S", "sen_primary_need": "NSA"}, "sen_primary_need", "nsa_only_with_sen_support"),
    ({"sen_primary_need": ""}, "sen_primary_need", "required_with_sen_provision"),
    ({"sen_provision": "E", "sen_primary_need": ""}, "sen_primary_need", "required_with_sen_provision"),
    ({"sen_provision": "S", "sen_primary_need": ""}, "sen_primary_need", "required_with_sen_provision"),
    ({"dob": "31/02/2015"}, "dob", "not_a_date"),
    ({"dob": "21/09/15"}, "dob", "not_a_date"),  # a two-digit year (Excel's short date): not the year 15
    ({"gender": "X"}, "gender", "code_not_allowed"),
    ({"fsm_eligible": "maybe"}, "fsm_eligible", "not_true_or_false"),
    ({"home_la_code": "85"}, "home_la_code", "home_la_code_not_3_digits"),
    ({"laestab": ""}, "laestab", "required"),
    ({"upn": ""}, "upn", "required"),
    ({"laestab": "857200"}, "laestab", "laestab_not_7_digits"),
    ({"census_date": ""}, "census_date", "required"),
    ({"census_date": "2023-13-19"}, "census_date", "not_a_date"),
    ({"census_date": "2023-03-16"}, "census_date", "census_date_not_in_a_census_month"),
    ({"phase": ""}, "phase", "required"),
    ({"phase": "MIDDLE"}, "phase", "code_not_allowed"),
    ({"ncyear_actual": ""}, "ncyear_actual", "required"),
    ({"ncyear_actual": "15"}, "ncyear_actual", "code_not_allowed"),
    ({"enrol_status": ""}, "enrol_status", "required"),
    ({"enrol_status": "Z"}, "enrol_status", "code_not_allowed"),
    ({"dob": "2023-01-20"}, "dob", "dob_after_census_date"),
    ({"gender": ""}, "gender", "required"),
    ({"ethnicity": "WXYZ"}, "ethnicity", "code_not_allowed"),
    ({"first_language": "EN"}, "first_language", "language_code_not_3_or_4_letters"),
    ({"sen_provision": ""}, "sen_provision", "required"),
    ({"sen_provision": "Q"}, "sen_provision", "code_not_allowed"),
    ({"sen_primary_need": "DYS"}, "sen_primary_need", "code_not_allowed"),
    ({"sen_provision": "N"}, "sen_primary_need", "given_without_sen_provision"),
    ({"sen_secondary_need": "DYS"}, "sen_secondary_need", "code_not_allowed"),
    ({"fsm_eligible": ""}, "fsm_eligible", "required"),
    ({"pupil_premium": "perhaps"}, "pupil_premium", "not_true_or_false"),
    ({"home_la_code": ""}, "home_la_code", "required"),
]


@pytest.mark.parametrize(("change", "column", "rule"), BAD_ROWS, ids=[f"{r[1]}-{r[2]}" for r in BAD_ROWS])
def test_bad_row_is_quarantined_with_its_rule(tmp_path, con, change, column, rule):
    bad = pupil(3, **change)
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1), bad, pupil(4)])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert ("census/2023_spring.csv", 3, column, rule) in quarantine(con)
    assert {r[1] for r in quarantine(con)} == {3}
    # the quarantine names the problem, never the value
    stored = " ".join(str(v) for row in con.execute(QUARANTINE_TEXT).fetchall() for v in row)
    assert bad["upn"] not in stored or not bad["upn"]  # (an empty UPN is in every text)


GOOD_ROWS = [
    {"ethnicity": "REFU"}, {"ethnicity": "NOBT"}, {"ethnicity": ""}, {"sen_primary_need": "AUT"},
    {"sen_primary_need": "NSA"}, {"sen_provision": "S", "sen_primary_need": "ASD"}, {"ncyear_actual": "X"},
    {"ncyear_actual": "N1"}, {"ncyear_actual": "E2"}, {"ncyear_actual": "R"}, {"ncyear_actual": "14"},
    {"dob": "2023-01-19"}, {"sen_provision": "N", "sen_primary_need": ""}, {"phase": "ALL-THROUGH"},
    {"enrol_status": "M"}, {"first_language": "ENGB"}, {"fsm_eligible": "true", "pupil_premium": ""},
]  # fmt: skip


@pytest.mark.parametrize("change", GOOD_ROWS, ids=["-".join(f"{k}={v}" for k, v in c.items()) for c in GOOD_ROWS])
def test_a_row_councils_send_as_the_census_codes_it_is_loaded(tmp_path, con, change):
    """Codes of the school census a stricter rule would quarantine: refused and not obtained ethnicity, the older
    autism code, NC year X, a child born on the census day, a legacy statement (S) with its need, SEN support with
    no specific assessment (NSA), no SEN and no need."""
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1, **change)])
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0), quarantine(con)


def test_a_row_dated_outside_the_census_months_is_quarantined_and_dbt_gives_every_loaded_month_a_term(tmp_path, con):
    """A census_date in March would reach dbt with no census_term (its not_null test would stop every census mart)."""
    write_csv(tmp_path / "census" / "2022_census.csv", [pupil(m, census_date=f"2022-{m:02d}-15") for m in range(1, 13)])
    [result] = ingest(tmp_path, con)
    loaded = [m for (m,) in con.execute("SELECT month(census_date) FROM raw.census_pupils ORDER BY 1").fetchall()]
    assert loaded == list(CENSUS_MONTHS) == [1, 2, 5, 6, 9, 10, 11]
    others = [m for m in range(1, 13) if m not in CENSUS_MONTHS]
    rule = "census_date_not_in_a_census_month"
    assert sorted(quarantine(con)) == [("census/2022_census.csv", m + 1, "census_date", rule) for m in others]
    assert result.rows_quarantined == len(others)
    macros = (REPO_ROOT / "dbt_project" / "macros" / "census_periods.sql").read_text()
    term_sql = jinja2.Environment().from_string(macros + "{{ census_term('census_date') }}").render()
    terms = con.execute(f"SELECT month(census_date), {term_sql} FROM (SELECT make_date(2022, m, 15) AS census_date "
                        "FROM range(1, 13) AS t(m))").fetchall()  # fmt: skip
    assert {m: term for m, term in terms if term} == {m: t for t, months in CENSUS_TERM_MONTHS.items() for m in months}


def test_the_period_a_census_file_replaces_is_the_census_dbt_gives_its_date(con):
    """The contract's period of a census_date is dbt's census_time_period and census_term of it, for every month
    (a census month gives both; any other month neither), in years whose academic-year code wraps a century too."""
    macros = (REPO_ROOT / "dbt_project" / "macros" / "census_periods.sql").read_text()
    dbt_period = (
        jinja2.Environment()
        .from_string(
            macros + "({{ census_time_period('census_date') }})::VARCHAR || '/' || {{ census_term('census_date') }}"
        )
        .render()
    )
    dates = (
        "SELECT make_date(y, m, d) AS census_date "
        "FROM range(1999, 2002) AS y(y), range(1, 13) AS m(m), (VALUES (1), (19), (28)) AS d(d)"
    )
    period = census_contract(KEY).period_column
    pairs = con.execute(f"SELECT census_date, {dbt_period}, {period} FROM ({dates})").fetchall()
    assert len(pairs) == 3 * 12 * 3 and {theirs for _, theirs, _ in pairs} >= {"199899/Spring", "199900/Autumn", None}
    assert [(day, theirs, ours) for day, theirs, ours in pairs if ours != theirs] == []


def test_a_correction_dated_another_day_of_the_term_replaces_the_original_and_other_terms_stay(tmp_path, con):
    """The original says 26 January 2023, its correction 19 January: the same Spring 2023 census (dbt counts both
    files' rows in it), so the correction's rows alone remain; Autumn 2022 (the same academic year) and Spring 2022
    stay."""
    write_csv(
        tmp_path / "census" / "2023_spring.csv",
        [pupil(1, census_date="2023-01-26"), pupil(2, census_date="2023-01-26")],
    )
    write_csv(tmp_path / "census" / "2022_autumn.csv", [pupil(4, census_date="2022-10-06")])
    write_csv(tmp_path / "census" / "2022_spring.csv", [pupil(5, census_date="2022-01-20")])
    ingest(tmp_path, con)
    write_csv(tmp_path / "census" / "2023_spring (corrected).csv", [pupil(1, census_date="2023-01-19")])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results["census/2023_spring (corrected).csv"].superseded_files == ("census/2023_spring.csv",)
    rows = con.execute("SELECT source_file, census_date::VARCHAR, count(*) FROM raw.census_pupils GROUP BY ALL "
                       "ORDER BY ALL").fetchall()  # fmt: skip
    assert rows == [
        ("census/2022_autumn.csv", "2022-10-06", 1),
        ("census/2022_spring.csv", "2022-01-20", 1),
        ("census/2023_spring (corrected).csv", "2023-01-19", 1),
    ]


def test_structural_errors_are_quarantined_and_later_rows_keep_their_line_numbers(tmp_path, con):
    path = write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1), pupil(2), pupil(3), pupil(4)])
    lines = path.read_text().splitlines()
    lines[2] = lines[2] + ",surplus"  # line 3 (pupil 2) has one value too many
    path.write_text("\n".join(lines) + "\n")
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 3, 1)
    assert [r[1:] for r in quarantine(con)] == [(3, "*", "csv_too_many_columns")]
    assert [r[0] for r in con.execute("SELECT source_row FROM raw.census_pupils ORDER BY 1").fetchall()] == [
        2,
        4,
        5,
    ]


def test_without_rejected_lines_each_row_keeps_its_line_number(tmp_path, con):
    """No structural rejects: row numbers are rowid + 2 (header on line 1), in file order, quarantine included."""
    rows = [pupil(n) for n in range(1, 6)]
    rows[3]["gender"] = "Q"  # line 5 breaks a rule
    write_csv(tmp_path / "census" / "2023_spring.csv", rows)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 4, 1)
    assert [r[1:3] for r in quarantine(con)] == [(5, "gender")]
    loaded = con.execute("SELECT source_row FROM raw.census_pupils ORDER BY 1").fetchall()
    assert [r[0] for r in loaded] == [2, 3, 4, 6]


def test_rerun_on_same_files_loads_nothing_twice(tmp_path, con):
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1), pupil(2), pupil(3, gender="Q")])
    first = ingest(tmp_path, con)
    second = ingest(tmp_path, con)
    assert [r.status for r in first] == ["loaded"] and [r.status for r in second] == ["unchanged"]
    assert con.execute("SELECT count(*) FROM raw.census_pupils").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 1


def test_a_large_file_is_named_in_the_log_before_its_ingest_starts(tmp_path, con, monkeypatch):
    import pipeline.ingest

    write_csv(tmp_path / "census" / "2022_spring.csv", [pupil(1)])
    large = write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(2), pupil(3)])
    monkeypatch.setattr(pipeline.ingest, "ANNOUNCE_FROM_BYTES", large.stat().st_size)  # the 2022 file is smaller
    logged = []
    ingest_source(con, census_contract(KEY), tmp_path, log=logged.append)
    assert [line.split(":")[0] for line in logged] == ["[1/2] census/2022_spring.csv", "[2/2] census/2023_spring.csv",
                                                       "[2/2] census/2023_spring.csv"]  # fmt: skip
    assert "MiB, hashing and (if new) checking and loading" in logged[1]
    # never the rows read or loaded
    assert logged[2].startswith("[2/2] census/2023_spring.csv: loaded, rows quarantined 0")


def test_a_corrected_file_replaces_its_earlier_rows(tmp_path, con):
    path = tmp_path / "census" / "2023_spring.csv"
    write_csv(path, [pupil(1), pupil(2, gender="Q")])
    ingest(tmp_path, con)
    write_csv(path, [pupil(1), pupil(2), pupil(3)])
    [result] = ingest(tmp_path, con)
    assert result.status == "loaded" and result.rows_loaded == 3
    assert con.execute("SELECT count(*) FROM raw.census_pupils").fetchone()[0] == 3
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 0
    ledger = con.execute("SELECT rows_loaded, rows_quarantined FROM raw.file_ledger ORDER BY ingested_at").fetchall()
    assert ledger == [(1, 1), (3, 0)]


def test_missing_required_column_names_file_and_column(tmp_path, con):
    header = [h for h in HEADER if h != "sen_provision"]
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1)], header=header)
    with pytest.raises(ExtractError, match=r"census/2023_spring.csv: row 1 \(header\).*sen_provision"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0


def test_unreadable_file_fails_naming_the_file(tmp_path, con):
    path = tmp_path / "census" / "2023_spring.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b'upn,laestab\n"unterminated,' + bytes(range(256)) * 4)
    with pytest.raises(ExtractError, match=r"census/2023_spring.csv"):
        ingest(tmp_path, con)


def test_headers_dates_and_encodings_as_councils_export_them(tmp_path, con):
    header = [h.upper() + ("  " if i % 2 else "") for i, h in enumerate(HEADER)] + ["Teacher Notes"]
    rows = [
        {k.upper() + ("  " if i % 2 else ""): v for i, (k, v) in enumerate(pupil(n, census_date=d).items())}
        | {"Teacher Notes": "£ café"}
        for n, d in [(1, "2023-01-19"), (2, "19/01/2023"), (3, "2023-Jan-19 00:00:00")]
    ]
    write_csv(tmp_path / "census" / "2023_spring.csv", rows, header=header, encoding="cp1252")
    [result] = ingest(tmp_path, con)
    assert result.rows_loaded == 3 and result.extra_columns == ("teacher_notes",)
    dates = con.execute("SELECT DISTINCT census_date::VARCHAR FROM raw.census_pupils").fetchall()
    assert dates == [("2023-01-19",)]


def test_a_windows_1252_file_whose_only_tell_is_one_pound_sign_below_the_header_is_read_whole(tmp_path, con):
    """One byte that is not UTF-8 is enough: the file is read as Windows-1252, not its row quarantined. The byte is
    far below the header (past the first block the header is decoded from), so DuckDB's read is what finds it."""
    rows = [pupil(n) | {"Note": "none"} for n in range(1, 400)] + [pupil(400) | {"Note": "£5 lunch debt"}]
    path = write_csv(tmp_path / "census" / "2023_spring.csv", rows, header=[*HEADER, "Note"], encoding="cp1252")
    data = path.read_bytes()
    assert sum(byte >= 0x80 for byte in data) == 1 and data.index(b"\xa3") > 32_768
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (400, 0)


def test_utf8_bom_and_xlsx_are_read(tmp_path, con):
    import openpyxl

    write_csv(tmp_path / "census" / "2022_spring.csv", [pupil(1, census_date="2022-01-20")], encoding="utf-8-sig")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])  # the header is on the first non-empty row
    sheet.append(HEADER)
    sheet.append(list(pupil(2).values()))
    sheet.append(list(pupil(3, gender="Z").values()))
    book.save(tmp_path / "census" / "2023_spring.xlsx")
    results = ingest(tmp_path, con)
    assert [(r.rows_loaded, r.rows_quarantined) for r in results] == [(1, 0), (1, 1)]
    assert ("census/2023_spring.xlsx", 4, "gender", "code_not_allowed") in quarantine(con)


def test_a_failure_mid_file_leaves_no_partial_load(tmp_path, con):
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1)])
    ingest(tmp_path, con)
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1), pupil(2)])
    broken = census_contract(KEY)
    object.__setattr__(broken, "load_select", broken.load_select + ", error('simulated crash') AS broken_column")
    with pytest.raises(duckdb.Error):
        ingest_source(con, broken, tmp_path)
    assert con.execute("SELECT count(*) FROM raw.census_pupils").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 1


def test_a_corrected_extract_under_a_new_name_replaces_the_same_census(tmp_path, con):
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1), pupil(2)])
    write_csv(tmp_path / "census" / "2022_spring.csv", [pupil(1, census_date="2022-01-20")])
    ingest(tmp_path, con)
    write_csv(tmp_path / "census" / "2023_spring_resubmitted.csv", [pupil(1), pupil(2), pupil(3)])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results["census/2023_spring_resubmitted.csv"].superseded_files == ("census/2023_spring.csv",)
    counts = dict(con.execute("SELECT census_date::VARCHAR, count(*) FROM raw.census_pupils GROUP BY 1").fetchall())
    assert counts == {"2023-01-19": 3, "2022-01-20": 1}
    ledger = con.execute(
        "SELECT superseded_files FROM raw.file_ledger WHERE file_name = 'census/2023_spring_resubmitted.csv'"
    ).fetchone()[0]
    assert ledger == ["census/2023_spring.csv"]


def test_strict_contract_names_unexpected_columns(tmp_path, con):
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1)], header=[*HEADER, "surprise"])
    strict = census_contract(KEY)
    object.__setattr__(strict, "strict_columns", True)
    with pytest.raises(
        ExtractError, match=r"census/2023_spring.csv: row 1 \(header\) has unexpected column\(s\) surprise"
    ):
        ingest_source(con, strict, tmp_path)


@pytest.mark.parametrize("name", ["2023_spring.csv", "2023_Spring (corrected).csv", "2023_SPRING_v2.csv"])
def test_a_row_dated_outside_the_census_its_file_is_named_for_is_quarantined_not_taking_that_census(
    tmp_path, con, name
):
    """One row of 2023_spring.csv mistyped 2022-01-19 made the file hold Spring 2022 too, and every row of
    2022_spring.csv was taken out, neither loaded nor quarantined (Spring 2022's roll became 1)."""
    write_csv(tmp_path / "census" / "2022_spring.csv", [pupil(n, census_date="2022-01-20") for n in (1, 2, 3)])
    ingest(tmp_path, con)
    write_csv(tmp_path / "census" / name, [pupil(1), pupil(2, census_date="2022-01-19"), pupil(3)])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results[f"census/{name}"].superseded_files == ()
    assert [r[1:] for r in quarantine(con)] == [(3, "census_date", "census_date_not_in_the_census_named")]
    counts = con.execute("SELECT source_file, count(*) FROM raw.census_pupils GROUP BY 1 ORDER BY 1").fetchall()
    assert counts == [("census/2022_spring.csv", 3), (f"census/{name}", 2)]


def test_a_correction_for_one_period_keeps_the_other_periods_of_the_earlier_file(tmp_path, con):
    write_csv(tmp_path / "census" / "2022_and_2023.csv", [pupil(1, census_date="2022-01-20"), pupil(2)])
    ingest(tmp_path, con)
    write_csv(tmp_path / "census" / "2023_spring_corrected.csv", [pupil(2), pupil(3)])
    results = {r.file_name: r for r in ingest(tmp_path, con)}
    assert results["census/2023_spring_corrected.csv"].superseded_files == ("census/2022_and_2023.csv",)
    counts = dict(con.execute("SELECT census_date::VARCHAR, count(*) FROM raw.census_pupils GROUP BY 1").fetchall())
    assert counts == {"2022-01-20": 1, "2023-01-19": 2}


def test_windows_1252_punctuation_and_undefined_bytes_load(tmp_path, con):
    header = [*HEADER, "note"]
    path = tmp_path / "census" / "2023_spring.csv"
    write_csv(path, [pupil(1) | {"note": "£5 – “quoted” €"}], header=header, encoding="cp1252")
    path.write_bytes(path.read_bytes().replace(b"\\x80", b"\\x80\\x81"))  # 0x81: undefined in cp1252
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)


def test_a_large_file_is_staged_in_a_scratch_database_that_is_removed_afterwards(tmp_path, monkeypatch):
    from pipeline import extract_reader
    from pipeline.extract_reader import STAGING, drop_staged
    from pipeline.ingest import stage_extract

    monkeypatch.setattr(extract_reader, "STAGE_ON_DISK_FROM_BYTES", 1)  # every file counts as large
    spill = tmp_path / "spill"
    con = duckdb.connect(str(tmp_path / "send.duckdb"), config={"temp_directory": str(spill)})
    path = write_csv(tmp_path / "raw" / "census" / "2023_spring.csv", [pupil(1), pupil(2)])

    def attached():
        sql = "SELECT count(*) FROM duckdb_databases() WHERE database_name = $n"
        return con.execute(sql, {"n": STAGING}).fetchone()

    stale = spill / "send-ingest-killed-run"  # left by a run killed mid-file
    (stale / "staging.duckdb").parent.mkdir(parents=True)
    (stale / "staging.duckdb").write_bytes(b"raw rows")
    stage_extract(con, path, "census/2023_spring.csv", census_contract(KEY))
    [folder] = spill.glob("send-ingest-*")  # the raw rows (UPNs in clear) live here while the file is ingested
    assert folder != stale and not stale.exists()
    assert attached() == (1,) and con.execute("SELECT count(*) FROM _extract").fetchone() == (2,)
    drop_staged(con)
    assert attached() == (0,) and not folder.exists()

    assert ingest_source(con, census_contract(KEY), tmp_path / "raw")[0].rows_loaded == 2
    header = [h for h in HEADER if h != "gender"]
    write_csv(tmp_path / "raw" / "census" / "2024_spring.csv", [pupil(3)], header=header)
    with pytest.raises(ExtractError, match="gender"):
        ingest_source(con, census_contract(KEY), tmp_path / "raw")
    assert attached() == (0,) and list(spill.glob("send-ingest-*")) == []
    con.close()


def test_a_small_file_is_staged_in_memory(tmp_path):
    from pipeline.extract_reader import STAGING, drop_staged
    from pipeline.ingest import stage_extract

    spill = tmp_path / "spill"
    con = duckdb.connect(str(tmp_path / "send.duckdb"), config={"temp_directory": str(spill)})
    path = write_csv(tmp_path / "raw" / "census" / "2023_spring.csv", [pupil(1), pupil(2)])
    sql = "SELECT path FROM duckdb_databases() WHERE database_name = $n"
    stage_extract(con, path, "census/2023_spring.csv", census_contract(KEY))
    assert con.execute(sql, {"n": STAGING}).fetchall() == [(None,)]  # attached, with no file
    assert con.execute("SELECT count(*) FROM _extract").fetchone() == (2,) and not spill.exists()
    drop_staged(con)
    assert con.execute(sql, {"n": STAGING}).fetchall() == []
    assert ingest_source(con, census_contract(KEY), tmp_path / "raw")[0].rows_loaded == 2
    con.close()


def test_a_row_neither_loaded_nor_quarantined_fails_the_file(tmp_path, con, monkeypatch):
    import pipeline.extract_reader

    # A bug that gives two lines the same row number: the load (every row less the quarantined ones) loses one.
    monkeypatch.setattr(pipeline.extract_reader, "csv_row_number_sql", lambda rejects: "2")
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1), pupil(2, gender="Z")])
    with pytest.raises(RuntimeError, match=r"do not add up to the rows read: nothing loaded$"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 0


class KeepsEarlierLoad:
    """A connection whose re-ingest does not clear the file's earlier rows (a bug in the DELETE before the load)."""

    def __init__(self, con):
        self._con = con

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, sql, *args):
        if sql.startswith("DELETE FROM raw.census_pupils WHERE source_file"):
            return self._con.execute("SELECT 0")
        return self._con.execute(sql, *args)


def test_rows_left_from_the_files_earlier_load_fail_the_file(tmp_path, con):
    """A corrected file of the same name replaces its rows: stored rows that are not the ones just loaded (an earlier
    load left in place) would count its pupils twice, so the file fails and its earlier load stays as it was."""
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1), pupil(2)])
    ingest(tmp_path, con)
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1), pupil(2), pupil(3)])
    with pytest.raises(RuntimeError, match=r"do not add up to the rows read: nothing loaded$"):
        ingest(tmp_path, KeepsEarlierLoad(con))
    assert con.execute("SELECT count(*) FROM raw.census_pupils").fetchone() == (2,)
    assert con.execute("SELECT rows_loaded FROM raw.file_ledger").fetchall() == [(2,)]


def test_pseudonyms_stored_as_hex_text_by_an_earlier_version_are_upgraded_and_keep_linking(tmp_path, con):
    # What the previous version stored: the whole HMAC as 64 hex characters.
    write_csv(tmp_path / "census" / "2022_spring.csv", [pupil(1, census_date="2022-01-20")])
    ingest(tmp_path, con)
    con.execute("ALTER TABLE raw.census_pupils ALTER pupil_id SET DATA TYPE VARCHAR USING NULL")
    old_text = hmac.new(KEY, upn(1).encode(), hashlib.sha256).hexdigest()
    con.execute("UPDATE raw.census_pupils SET pupil_id = $p", {"p": old_text})

    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1)])
    ingest(tmp_path, con)
    kind = con.execute(
        "SELECT data_type FROM duckdb_columns() WHERE table_name = 'census_pupils' AND column_name = 'pupil_id'"
    )
    assert kind.fetchone() == ("UHUGEINT",)
    ids = con.execute("SELECT census_date::VARCHAR, pupil_id FROM raw.census_pupils ORDER BY 1").fetchall()
    assert ids == [("2022-01-20", pseudonym(KEY, upn(1))), ("2023-01-19", pseudonym(KEY, upn(1)))]


def test_a_quoted_value_keeps_its_commas_and_doubled_quotes(tmp_path, con):
    rows = [pupil(1) | {"notes": 'said "no", then "yes"'}, pupil(2) | {"notes": ""}]
    path = write_csv(tmp_path / "census" / "2023_spring.csv", rows, header=[*HEADER, "notes"])
    assert '"said ""no"", then ""yes"""' in path.read_text()  # RFC 4180, as the csv module writes it
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.extra_columns) == (2, 2, ("notes",))


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_file_not_separated_by_commas_fails_naming_the_file(tmp_path, con, delimiter):
    path = tmp_path / "census" / "2023_spring.csv"
    path.parent.mkdir(parents=True)
    path.write_text(delimiter.join(HEADER) + "\n" + delimiter.join(pupil(1).values()) + "\n")
    with pytest.raises(ExtractError, match=r"census/2023_spring.csv: row 1 \(header\) is not separated by commas"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0


def test_the_failure_lists_are_built_only_for_a_file_with_a_broken_row(tmp_path, con, monkeypatch):
    from pipeline import ingest as engine

    built = []
    failures_sql = engine.failures_sql
    monkeypatch.setattr(engine, "failures_sql", lambda rules: built.append(len(rules)) or failures_sql(rules))
    write_csv(tmp_path / "census" / "2022_spring.csv", [pupil(n, census_date="2022-01-20") for n in (1, 2)])
    [clean] = ingest(tmp_path, con)
    assert built == [] and (clean.rows_loaded, clean.rows_quarantined) == (2, 0)
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(3), pupil(4, gender="X"), pupil(5, dob="")])
    [_, broken] = ingest(tmp_path, con)
    assert len(built) == 1 and (broken.rows_loaded, broken.rows_quarantined) == (1, 2)
    assert {(r[1], r[3]) for r in quarantine(con)} == {(3, "code_not_allowed"), (4, "required")}


@pytest.mark.parametrize(
    ("rules", "broken"),
    [((), []), (("a IS NULL",), [2]), (("a IS NULL", "b > 1"), [2, 3]), (("a > b",), [1, 3])],  # NULL: not broken
)
def test_broken_sql_is_true_for_a_row_breaking_any_rule(rules, broken):
    from pipeline.ingest import Rule, broken_sql

    sql = broken_sql(tuple(Rule("a", f"r{i}", condition) for i, condition in enumerate(rules)))
    rows = duckdb.sql(f"SELECT n FROM (VALUES (1, 1, 0), (2, NULL, 1), (3, 3, 2)) t(n, a, b) WHERE {sql} ORDER BY n")
    assert [r[0] for r in rows.fetchall()] == broken


# ---------- reading files: every row loaded or quarantined, each at its own line (the ingest audit's cases) ----------


def csv_lines(rows: list[dict], header: list[str] = HEADER) -> list[str]:
    return [",".join(header)] + [",".join(str(row[h]) for h in header) for row in rows]


def write_lines(tmp_path: Path, lines: list[str], name: str = "2023_spring.csv", ending: str = "\n") -> Path:
    path = tmp_path / "census" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(ending.join(lines).encode() + ending.encode())
    return path


def loaded_rows(con) -> list[int]:
    return [r[0] for r in con.execute("SELECT source_row FROM raw.census_pupils ORDER BY 1").fetchall()]


def test_a_quote_opened_and_not_closed_fails_the_file_naming_its_row_not_the_rows_after_it_lost(tmp_path, con):
    rows = [pupil(n % 999 + 1) for n in range(3000)]  # beyond any sample a CSV reader guesses its dialect from
    lines = csv_lines(rows)
    lines[2100] = lines[2100].replace(",8572001,", ',"8572001,', 1)  # line 2101: the quote never closes
    write_lines(tmp_path, lines)
    with pytest.raises(ExtractError, match=r"2023_spring.csv: row 2101, column laestab: a quoted value is not closed"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0


def test_a_line_starting_with_a_hash_is_a_row_not_a_comment(tmp_path, con):
    lines = csv_lines([pupil(1), pupil(2), pupil(3), pupil(4)])
    lines[2] = "#" + lines[2]  # a UPN that starts with '#': broken, quarantined, never skipped unseen
    write_lines(tmp_path, lines)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 3, 1)
    assert [r[1:3] for r in quarantine(con)] == [(3, "upn")]
    assert loaded_rows(con) == [2, 4, 5]


def test_a_file_without_the_pupil_premium_column_fails_rather_than_reading_every_pupil_as_no(tmp_path, con):
    """pupil_premium was optional: a file without it loaded every pupil as not attracting pupil premium (Spring
    2023's pupil premium pupils with SEN published as 0). An empty value is still No; the column must be there."""
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1)], header=[h for h in HEADER if h != "pupil_premium"])
    with pytest.raises(ExtractError, match=r"row 1 \(header\) is missing required column\(s\) pupil_premium"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone() == (0,)


def test_a_registration_given_twice_with_other_values_is_quarantined_and_one_repeated_exactly_loads(tmp_path, con):
    """One pupil at one school in one census as two rows (an extract joining the pupil to each of two FSM periods):
    the first row was kept by the de-duplication's order, the FSM flag of the other dropped unseen. Which is right
    cannot be told: both rows are quarantined. A row repeated exactly loads (dbt counts the pupil once); the same
    pupil at another school is another registration, and a row of another census another pupil-census."""
    rows = [
        pupil(1, fsm_eligible="false"),
        pupil(1, fsm_eligible="true"),  # the same registration, another FSM flag
        pupil(2),
        pupil(2),  # repeated exactly
        pupil(3, enrol_status="M"),
        pupil(3, enrol_status="S", laestab="8574001", sen_provision="N", sen_primary_need=""),  # another school
        pupil(4),
    ]
    write_csv(tmp_path / "census" / "2022_and_2023.csv", [*rows, pupil(4, census_date="2022-01-20", ncyear_actual="2")])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (8, 6, 2)
    assert [r[1:] for r in quarantine(con)] == [
        (2, "upn", "registration_repeated_with_other_values"),
        (3, "upn", "registration_repeated_with_other_values"),
    ]
    assert loaded_rows(con) == [4, 5, 6, 7, 8, 9]


def test_a_comment_line_above_the_header_is_not_skipped_but_named(tmp_path, con):
    write_lines(tmp_path, ["# exported by SIMS", *csv_lines([pupil(1)])])
    with pytest.raises(ExtractError, match=r"row 1 \(header\) is missing required column\(s\) upn"):
        ingest(tmp_path, con)


def test_row_numbers_are_file_lines_with_blank_lines_and_values_over_several_lines(tmp_path, con):
    rows = [pupil(1), pupil(2, gender="Q"), pupil(3) | {"notes": "two\nlines"}, pupil(4, gender="Q"), pupil(5)]
    header = [*HEADER, "notes"]
    lines = [",".join(header)] + [
        ",".join(f'"{row.get(h, "")}"' if h == "notes" else str(row.get(h, "")) for h in header) for row in rows
    ]
    # line 1 header, 2 blank, 3 pupil 1, 4 pupil 2 (broken), 5-6 pupil 3 (two lines), 7 blank, 8 pupil 4 (broken),
    # 9 pupil 5
    write_lines(tmp_path, [lines[0], "", lines[1], lines[2], lines[3], "", lines[4], lines[5]])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 3, 2)
    assert [r[1:3] for r in quarantine(con)] == [(4, "gender"), (8, "gender")]
    assert loaded_rows(con) == [3, 5, 9]


def test_blank_lines_above_the_header_keep_the_rows_at_their_lines(tmp_path, con):
    write_lines(tmp_path, ["", "", *csv_lines([pupil(1), pupil(2, gender="Q")]), "1,2"])
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 1, 2)
    assert {r[1] for r in quarantine(con)} == {5, 6} and loaded_rows(con) == [4]


@pytest.mark.parametrize("second", ["UPN", " upn ", "upn"])
def test_a_column_named_twice_fails_naming_it_even_when_the_reader_would_rename_it(tmp_path, con, second):
    write_lines(tmp_path, csv_lines([pupil(1) | {"second": upn(2)}], [*HEADER, "second"]))
    path = tmp_path / "census" / "2023_spring.csv"
    path.write_text(path.read_text().replace(",second\n", f",{second}\n", 1))
    with pytest.raises(ExtractError, match=r"2023_spring.csv: column 'upn' appears twice in the header"):
        ingest(tmp_path, con)


def test_crlf_and_lf_mixed_fails_naming_the_first_row_that_differs(tmp_path, con):
    lines = csv_lines([pupil(n) for n in range(1, 6)])
    path = tmp_path / "census" / "2023_spring.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(("\r\n".join(lines[:4]) + "\n" + "\r\n".join(lines[4:]) + "\r\n").encode())
    with pytest.raises(ExtractError, match=r"2023_spring.csv: row 4 ends its line differently"):
        ingest(tmp_path, con)


def test_windows_1252_in_the_header_alone_is_read_as_windows_1252(tmp_path, con):
    rows = [pupil(1) | {"Cost £": "12"}, pupil(2) | {"Cost £": "13"}]
    write_csv(tmp_path / "census" / "2023_spring.csv", rows, header=[*HEADER, "Cost £"], encoding="cp1252")
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.extra_columns) == (2, ("cost_£",))


def test_a_csv_error_carries_no_line_of_the_file_even_as_its_context(tmp_path, con):
    lines = csv_lines([pupil(1), pupil(2)])
    path = tmp_path / "census" / "2023_spring.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(("\r\n".join(lines[:2]) + "\n" + lines[2] + "\r\n").encode())
    with pytest.raises(ExtractError) as failure:
        ingest(tmp_path, con)
    assert failure.value.__context__ is None and failure.value.__cause__ is None
    assert upn(1) not in str(failure.value) and upn(2) not in str(failure.value)


@pytest.mark.parametrize("corrected", ["2023_spring (corrected).csv", "2023_spring-v2.csv", "2023_spring_v2.csv"])
def test_a_correction_named_after_the_original_wins_a_rebuild(tmp_path, con, corrected):
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1), pupil(2)])
    write_csv(tmp_path / "census" / corrected, [pupil(1), pupil(2), pupil(3)])
    ingest(tmp_path, con)
    stored = con.execute("SELECT source_file, count(*) FROM raw.census_pupils GROUP BY 1").fetchall()
    assert stored == [(f"census/{corrected}", 3)]


def workbook_with_sheets(path: Path, sheets: dict[str, list[list]], hidden: tuple[str, ...] = ()) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if name in hidden:
            sheet.sheet_state = "hidden"
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def test_a_workbook_with_rows_on_two_sheets_fails_naming_them(tmp_path, con):
    primary = [HEADER, *(list(pupil(n).values()) for n in (1, 2, 3))]
    secondary = [HEADER, *(list(pupil(n).values()) for n in (4, 5, 6))]
    workbook_with_sheets(tmp_path / "census" / "2023_spring.xlsx", {"Draft": [HEADER, list(pupil(9).values())],
                         "Primary": primary, "Secondary": secondary}, hidden=("Draft",))  # fmt: skip
    with pytest.raises(ExtractError, match=r"sheets 'Draft', 'Primary', 'Secondary' all hold rows"):
        ingest(tmp_path, con)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("2023_spring.pdf", b"%PDF-1.7\n", r"census/2023_spring\.pdf: unsupported file type .\.pdf."),
        ("2023_spring.xlsx", b"PK\x03\x04 not a workbook", r"census/2023_spring\.xlsx: cannot be read as XLSX"),
        ("2023_spring.xlsx", None, r"census/2023_spring\.xlsx: the workbook has no rows"),
    ],
    ids=["not-csv-txt-or-xlsx", "corrupt-xlsx", "empty-workbook"],
)
def test_a_file_that_is_not_an_extract_fails_naming_it_and_loads_nothing(tmp_path, con, name, content, message):
    path = tmp_path / "census" / name
    if content is None:
        workbook_with_sheets(path, {"Sheet1": [], "Sheet2": []})
    else:
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
    with pytest.raises(ExtractError, match=message):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone() == (0,)


def test_a_workbook_reads_its_one_sheet_of_rows_whatever_its_place_and_a_quote_in_a_header(tmp_path, con):
    header = [*HEADER, 'notes "x"']
    rows = [header, list(pupil(1).values()) + ["a"], list(pupil(2, gender="Q").values()) + ["b"]]
    workbook_with_sheets(tmp_path / "census" / "2023_spring.xlsx", {"Cover": [], "Pupils": rows})
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.extra_columns) == (2, 1, ('notes_"x"',))
    assert [r[1:3] for r in quarantine(con)] == [(3, "gender")]


def test_a_file_of_one_line_per_row_is_numbered_without_a_second_reading(tmp_path, con, monkeypatch):
    from pipeline import extract_reader

    def second_reading(*args):
        raise AssertionError("the file was read again to number its rows")

    monkeypatch.setattr(extract_reader, "csv_record_lines", second_reading)
    lines = csv_lines([pupil(1), pupil(2, gender="Q"), pupil(3)])
    write_lines(tmp_path, [lines[0], lines[1], lines[2] + ",surplus", lines[3]], ending="\r\n")
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert loaded_rows(con) == [2, 4]


def test_readers_that_disagree_on_the_rows_fail_the_file(tmp_path, con, monkeypatch):
    from pipeline import extract_reader

    monkeypatch.setattr(extract_reader, "csv_record_lines", lambda path, encoding, rejected: (array("q", [3]), {}))
    write_lines(tmp_path, ["", *csv_lines([pupil(1), pupil(2)])])  # a blank line: numbered by the second reading
    with pytest.raises(ExtractError, match=r"rows cannot be numbered: DuckDB.s reader and Python.s csv module"):
        ingest(tmp_path, con)


def test_file_sha256_and_lines_counts_a_last_line_without_its_newline(tmp_path):
    from pipeline.drop_zone import file_sha256_and_lines

    for data, lines in [(b"", 0), (b"a\n", 1), (b"a\nb", 2), (b"a\r\nb\r\n", 2), (b"\n\n", 2)]:
        path = tmp_path / "f.csv"
        path.write_bytes(data)
        assert file_sha256_and_lines(path) == (hashlib.sha256(data).hexdigest(), lines)


def test_csv_record_lines_gives_the_line_each_record_starts_on(tmp_path):
    from pipeline.extract_reader import UTF8, csv_record_lines, mixed_line_ending

    path = tmp_path / "f.csv"
    path.write_bytes(b'\na,b\n1,2\n\n3,"x\ny"\nbad,line,here\n5,6\n')
    # reader items: 1 blank, 2 header, 3 '1,2', 4 blank, 5 '3,x y' (lines 5-6), 6 bad (line 7), 7 '5,6' (line 8)
    assert csv_record_lines(path, UTF8, {6}) == (array("q", [3, 5, 8]), {6: 7})
    assert mixed_line_ending(path) is None
    path.write_bytes(b"a,b\n1,2\r\n3,4\n")
    assert mixed_line_ending(path) == 2


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_an_empty_file_fails_naming_it(tmp_path, con, data):
    path = tmp_path / "census" / "2023_spring.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    with pytest.raises(ExtractError, match=r"census/2023_spring.csv: the file is empty \(no header row\)"):
        ingest(tmp_path, con)


def test_a_windows_1252_copy_is_written_beside_the_warehouse_and_a_killed_runs_copy_removed(tmp_path, monkeypatch):
    from pipeline import extract_reader

    spill = tmp_path / "spill"
    con = duckdb.connect(str(tmp_path / "send.duckdb"), config={"temp_directory": str(spill)})
    killed = spill / "send-ingest-cp1252-killed" / "2022_spring.csv.utf8"  # UPNs in clear, left by a killed run
    killed.parent.mkdir(parents=True)
    killed.write_text("upn\n")
    copies = []
    transcode = extract_reader.transcode_cp1252
    monkeypatch.setattr(
        extract_reader, "transcode_cp1252", lambda path, folder: copies.append(folder) or transcode(path, folder)
    )
    rows = [pupil(1) | {"notes": "£5"}, pupil(2) | {"notes": "café"}]
    write_csv(tmp_path / "raw" / "census" / "2023_spring.csv", rows, header=[*HEADER, "notes"], encoding="cp1252")
    [result] = ingest_source(con, census_contract(KEY), tmp_path / "raw")
    assert result.rows_loaded == 2
    assert [folder.parent for folder in copies] == [spill] and not killed.parent.exists()
    assert list(spill.glob("send-ingest-*")) == []
    con.close()


def test_a_file_without_its_header_row_fails_naming_the_contracts_columns_never_a_value(tmp_path, con):
    rows = csv_lines([pupil(1, fsm_eligible="true", pupil_premium="true"), pupil(2)])[1:]  # values twice in row 1
    write_lines(tmp_path, rows)
    with pytest.raises(ExtractError) as failure:
        ingest(tmp_path, con)
    assert "row 1 (header) is missing required column(s) upn, laestab" in str(failure.value)
    assert "true" not in str(failure.value) and upn(1) not in str(failure.value)


FSM_DATES_HEADER = [h for h in HEADER if h != "fsm_eligible"] + ["fsm_start_date", "fsm_end_date"]


def fsm_pupil(serial: int, start: str, end: str = "", **changes) -> dict:
    row = {k: v for k, v in pupil(serial, **changes).items() if k != "fsm_eligible"}
    return {**row, "fsm_start_date": start, "fsm_end_date": end}


def test_fsm_eligibility_on_the_census_date_is_derived_from_the_fsm_period_and_the_dates_are_not_kept(tmp_path, con):
    """Census 19 January 2023. Eligible when the period started on or before it and had not ended before it."""
    periods = [  # (start, end, eligible on 19 January 2023)
        ("2022-09-01", "", True),  # open period
        ("", "", False),  # no FSM period
        ("2021-09-01", "2022-12-31", False),  # ended before the census
        ("2023-02-01", "", False),  # starts after it
        ("2022-01-01", "2023-01-19", True),  # ends on the census day
        ("19/01/2023", "", True),  # starts on it, UK date
        ("2023-01-19", "2023-01-19", True),  # one day: the census day
    ]
    rows = [fsm_pupil(n, start, end) for n, (start, end, _) in enumerate(periods, start=1)]
    write_csv(tmp_path / "census" / "2023_spring.csv", rows, header=FSM_DATES_HEADER)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (7, 7, 0)
    loaded = con.execute("SELECT fsm_eligible FROM raw.census_pupils ORDER BY source_row").fetchall()
    assert [r[0] for r in loaded] == [eligible for _, _, eligible in periods]
    columns = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE raw.census_pupils)").fetchall()}
    assert not {"fsm_start_date", "fsm_end_date"} & columns


FSM_BAD_ROWS = [
    ({"fsm_start_date": "2022-09-01", "fsm_end_date": "2022-08-31"}, "fsm_end_date", "fsm_end_before_start"),
    ({"fsm_start_date": "", "fsm_end_date": "2022-08-31"}, "fsm_end_date", "given_without_fsm_start_date"),
    ({"fsm_start_date": "2022-13-01"}, "fsm_start_date", "not_a_date"),
    ({"fsm_end_date": "2023-02-30"}, "fsm_end_date", "not_a_date"),
    ({"fsm_eligible": "true", "fsm_start_date": "2021-09-01", "fsm_end_date": "2022-12-31"}, "fsm_eligible",
     "disagrees_with_fsm_dates"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "column", "rule"), FSM_BAD_ROWS, ids=[f"{r[1]}-{r[2]}" for r in FSM_BAD_ROWS])
def test_an_fsm_period_that_cannot_be_right_is_quarantined_with_its_rule(tmp_path, con, change, column, rule):
    header = [*HEADER, "fsm_start_date", "fsm_end_date"]  # the flag and the period side by side
    good = {"fsm_eligible": "", "fsm_start_date": "2022-09-01", "fsm_end_date": ""}
    rows = [pupil(1, **good), pupil(2, **{**good, **change}), pupil(3, fsm_eligible="false")]
    write_csv(tmp_path / "census" / "2023_spring.csv", rows, header=header)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert {r[1:] for r in quarantine(con)} == {(3, column, rule)}
    assert [r[0] for r in con.execute("SELECT fsm_eligible FROM raw.census_pupils ORDER BY source_row").fetchall()] == [
        True,
        False,
    ]


def test_the_fsm_flag_without_a_period_beside_it_is_taken_as_given(tmp_path, con):
    """A census with both the flag and the period columns: a row with the flag and no dates is loaded as flagged."""
    header = [*HEADER, "fsm_start_date", "fsm_end_date"]
    rows = [pupil(1, fsm_eligible="true", fsm_start_date="", fsm_end_date=""), pupil(2, fsm_eligible="false")]
    write_csv(tmp_path / "census" / "2023_spring.csv", rows, header=header)
    [result] = ingest(tmp_path, con)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 0)
    loaded = con.execute("SELECT fsm_eligible FROM raw.census_pupils ORDER BY source_row").fetchall()
    assert [r[0] for r in loaded] == [True, False]


def test_a_census_with_neither_fsm_eligible_nor_fsm_dates_fails_naming_both(tmp_path, con):
    header = [h for h in HEADER if h != "fsm_eligible"]
    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1)], header=header)
    with pytest.raises(ExtractError, match=r"missing required column\(s\) fsm_eligible \(or fsm_start_date\)"):
        ingest(tmp_path, con)


def test_a_file_that_cannot_be_read_fails_naming_it_without_a_traceback(tmp_path, con, monkeypatch):
    """No permission (or gone mid-read): an ExtractError naming the file (not retried, one line), not an OSError."""
    import pipeline.ingest

    write_csv(tmp_path / "census" / "2023_spring.csv", [pupil(1)])

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pipeline.ingest, "file_sha256_and_lines", denied)
    with pytest.raises(ExtractError, match=r"^census/2023_spring.csv: cannot be read \(Permission denied\)$"):
        ingest(tmp_path, con)


def test_what_a_killed_run_left_in_the_scratch_folder_goes_even_when_no_file_is_loaded(tmp_path):
    """The scratch folder of a run killed mid-file holds UPNs in clear: the next ingest removes it even when every
    file is unchanged (it used to wait for a night with a file to load)."""
    spill = tmp_path / "spill"
    con = duckdb.connect(str(tmp_path / "send.duckdb"), config={"temp_directory": str(spill)})
    write_csv(tmp_path / "raw" / "census" / "2023_spring.csv", [pupil(1)])
    assert ingest_source(con, census_contract(KEY), tmp_path / "raw")[0].status == "loaded"
    stale = spill / "send-ingest-killed-run"
    stale.mkdir(parents=True)
    (stale / "staging.duckdb").write_bytes(b"raw rows")
    assert ingest_source(con, census_contract(KEY), tmp_path / "raw")[0].status == "unchanged"
    assert not stale.exists()
    con.close()


def test_a_value_under_a_column_without_a_name_is_quarantined_not_dropped(tmp_path, con):
    """A header cell left empty (ethnicity's): its values were dropped without a trace (not loaded, not quarantined,
    not in the ledger). A row with a value in a column without a name is quarantined, the column named by its letter
    as a sheet shows it; a column without a name that holds nothing (a trailing comma) still loses nothing."""
    import openpyxl

    header = ["" if name == "ethnicity" else name for name in HEADER] + [""]  # ethnicity is column I
    lines = [",".join(header)] + [line + "," for line in csv_lines([pupil(1), pupil(2, ethnicity="")])[1:]]
    write_lines(tmp_path, lines)
    book = openpyxl.Workbook()
    book.active.append(header[:-1])
    for serial, ethnicity in ((3, ""), (4, "WBRI")):
        book.active.append(list(pupil(serial, ethnicity=ethnicity, census_date="2022-01-20").values()))
    book.save(tmp_path / "census" / "2022_spring.xlsx")
    results = ingest(tmp_path, con)
    assert [(r.file_name, r.rows_read, r.rows_loaded, r.rows_quarantined) for r in results] == [
        ("census/2022_spring.xlsx", 2, 1, 1),
        ("census/2023_spring.csv", 2, 1, 1),
    ]
    assert sorted(quarantine(con)) == [
        ("census/2022_spring.xlsx", 3, "I", "value_in_column_without_name"),
        ("census/2023_spring.csv", 2, "I", "value_in_column_without_name"),
    ]
    assert con.execute("SELECT source_file, source_row FROM raw.census_pupils ORDER BY 1").fetchall() == [
        ("census/2022_spring.xlsx", 2),
        ("census/2023_spring.csv", 3),
    ]


def test_a_quote_closed_rows_later_fails_the_file_naming_its_row_and_a_note_over_lines_loads(tmp_path, con):
    """Two stray quotes (a note opened with one, a later note closed with one) read the rows between as one value of a
    record of the header's width: nothing rejected it, and those pupils were neither loaded nor quarantined. The file
    now fails naming the row the quote opens in; a note over several lines with a few commas still loads."""
    header = [*HEADER, "notes"]
    notes = ["ok", '"EHCP pending, see file', "ok", "ok", 'moved school"', "ok"]
    lines = [",".join(header)] + [
        line + "," + note for line, note in zip(csv_lines([pupil(n) for n in range(1, 7)])[1:], notes, strict=True)
    ]
    write_lines(tmp_path, lines)
    with pytest.raises(ExtractError, match=r"2023_spring.csv: row 3, column notes: a quoted value runs over several"):
        ingest(tmp_path, con)
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 0
    notes = ["ok", '"called mum, no answer\nletter sent, 3 Jan"', "ok"]
    lines = [",".join(header)] + [
        line + "," + note for line, note in zip(csv_lines([pupil(n) for n in range(1, 4)])[1:], notes, strict=True)
    ]
    write_lines(tmp_path, lines)
    [result] = ingest(tmp_path, con)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    assert loaded_rows(con) == [2, 3, 5]  # the note's second line is line 4


def test_a_header_below_blank_rows_is_named_by_its_own_row(tmp_path, con):
    """The header is the first line (row of a sheet) that is not blank: an error about it names that row, not row 1."""
    import openpyxl

    header = [name for name in HEADER if name != "gender"]
    write_lines(tmp_path, ["", "", "", *csv_lines([pupil(1)], header)])
    with pytest.raises(ExtractError, match=r"2023_spring.csv: row 4 \(header\) is missing required column\(s\) gender"):
        ingest(tmp_path, con)
    (tmp_path / "census" / "2023_spring.csv").unlink()
    book = openpyxl.Workbook()
    book.active.append([])
    book.active.append([])
    book.active.append(header)
    book.save(tmp_path / "census" / "2023_spring.xlsx")
    with pytest.raises(ExtractError, match=r"spring.xlsx: row 3 \(header\) is missing required column\(s\) gender"):
        ingest(tmp_path, con)
