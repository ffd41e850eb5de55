"""EHCNA / SEN2 events: contracts, referential quarantine, ledger, dbt timeliness and the calibrated generator.

Small hand-made extract sets in tmp_path for the contract; the generated Rutland set (with the census of the same
seed) for the seed figures, which are read from tests/fixtures/figures.yaml.
"""

import csv
import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
import yaml

from pipeline import drop_zone
from pipeline.generate.census import generate_census
from pipeline.generate.dfe import copy_dfe_release
from pipeline.generate.ehcna import generate_ehcna, in_time_count
from pipeline.ingest import ExtractError, ingest_source
from pipeline.pseudonymise import pseudonym as keyed_pseudonym
from pipeline.resources import SendWarehouse
from pipeline.sources.census import census_contract
from pipeline.sources.dfe import dfe_contracts
from pipeline.sources.ehcna import MODULES, ehcna_contracts, ehcna_extracts, ingest_ehcna
from pipeline.upn import check_letter

from source_support import QUARANTINE_TEXT, assert_ingest_metadata
from support import dbt

KEY = b"test-key-0123456789abcdef"
FIGURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "figures.yaml").read_text())
TABLES = ("ehcna_persons", "ehcna_requests", "ehcna_assessments", "ehcna_plans", "ehcna_annual_reviews")
# The contract (the brief's SOURCES.md, not in this repository, plus primary_need on the plan: the docstring of
# pipeline/sources/ehcna.py), written out here rather than imported.
HEADERS = {
    "person": ["person_id", "upn", "dob", "sex", "ethnicity", "postcode"],
    "request": ["request_id", "person_id", "received_date", "request_outcome", "request_outcome_date"],
    "assessment": ["assessment_id", "request_id", "assessment_outcome", "assessment_outcome_date", "week20_exception"],
    "plan": ["plan_id", "assessment_id", "start_date", "cease_date", "cease_reason", "primary_need"],
    "annual_review": ["plan_id", "review_date", "due_date"],
}


def upn(serial: int) -> str:
    digits = f"857200122{serial:03d}"
    return check_letter(digits) + digits


def pseudonym(value: str) -> int:
    return keyed_pseudonym(KEY, value)


def good_set() -> dict[str, list[dict]]:
    """Three children. Days from request: decisions 42 (R1), 43 (R2); plans 140 (E1), 141 (E2, exception)."""
    return {
        "person": [
            {"person_id": "P1", "upn": upn(1), "dob": "2015-05-03", "sex": "M", "ethnicity": "WBRI",
             "postcode": "LE15 6HA"},
            {"person_id": "P2", "upn": "", "dob": "19/06/2012", "sex": "F", "ethnicity": "", "postcode": "pe9 3ab"},
            {"person_id": "P3", "upn": upn(3), "dob": "2010-Jan-04 00:00:00", "sex": "M", "ethnicity": "WOTH",
             "postcode": ""},
        ],
        "request": [
            {"request_id": "R1", "person_id": "P1", "received_date": "2022-01-10", "request_outcome": "Y",
             "request_outcome_date": "2022-02-21"},
            {"request_id": "R2", "person_id": "P2", "received_date": "2022-01-10", "request_outcome": "y",
             "request_outcome_date": "22/02/2022"},
            {"request_id": "R3", "person_id": "P3", "received_date": "2022-03-01", "request_outcome": "N",
             "request_outcome_date": "2022-03-20"},
            {"request_id": "R4", "person_id": "P3", "received_date": "2023-06-01", "request_outcome": "A",
             "request_outcome_date": ""},
        ],
        "assessment": [
            {"assessment_id": "A1", "request_id": "R1", "assessment_outcome": "Y",
             "assessment_outcome_date": "2022-05-30", "week20_exception": "0"},
            {"assessment_id": "A2", "request_id": "R2", "assessment_outcome": "Y",
             "assessment_outcome_date": "2022-05-31", "week20_exception": "1"},
        ],
        "plan": [
            {"plan_id": "E1", "assessment_id": "A1", "start_date": "2022-05-30", "cease_date": "", "cease_reason": "",
             "primary_need": "ASD"},
            {"plan_id": "E2", "assessment_id": "A2", "start_date": "2022-05-31", "cease_date": "2023-03-31",
             "cease_reason": "5", "primary_need": "AUT"},
        ],
        "annual_review": [
            {"plan_id": "E1", "review_date": "2023-05-30", "due_date": "2023-05-30"},
            {"plan_id": "E2", "review_date": "2023-06-01", "due_date": "2023-05-31"},
            {"plan_id": "E1", "review_date": "", "due_date": "2024-05-30"},
        ],
    }  # fmt: skip


def write_csv(path: Path, rows: list[dict], header: list[str], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_set(raw: Path, modules: dict[str, list[dict]], date: str = "2023-06-30") -> dict[str, Path]:
    return {m: write_csv(raw / "ehcna" / f"{m}_{date}.csv", rows, HEADERS[m]) for m, rows in modules.items()}


def ingest(raw: Path, con) -> dict:
    return ingest_ehcna(con, raw, KEY)


def quarantine(con) -> list[tuple]:
    return con.execute(
        "SELECT file_name, row_number, column_name, rule FROM raw.quarantine ORDER BY file_name, row_number, rule"
    ).fetchall()


def count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]


def raw_table_rows(con) -> int:
    """Rows in every table of schema raw (0 when nothing was ever created)."""
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()]
    return sum(count(con, t) for t in tables)


# ---------- contract ----------


def test_a_good_extract_set_loads_pseudonymised(tmp_path, con):
    write_set(tmp_path, good_set())
    results = ingest(tmp_path, con)
    assert {m: [(r.rows_read, r.rows_loaded, r.rows_quarantined) for r in rs] for m, rs in results.items()} == {
        "person": [(3, 3, 0)],
        "request": [(4, 4, 0)],
        "assessment": [(2, 2, 0)],
        "plan": [(2, 2, 0)],
        "annual_review": [(3, 3, 0)],
    }
    persons = con.execute(
        "SELECT person_id, pupil_id, birth_month::VARCHAR, sex, ethnicity, postcode_district FROM raw.ehcna_persons "
        "ORDER BY source_row"
    ).fetchall()
    assert persons == [
        (pseudonym("P1"), pseudonym(upn(1)), "2015-05-01", "M", "WBRI", "LE15"),
        (pseudonym("P2"), None, "2012-06-01", "F", None, "PE9"),
        (pseudonym("P3"), pseudonym(upn(3)), "2010-01-01", "M", "WOTH", None),
    ]
    requests = con.execute(
        "SELECT request_id, person_id, request_outcome, request_outcome_date::VARCHAR FROM raw.ehcna_requests "
        "ORDER BY source_row"
    ).fetchall()
    assert requests[1] == (pseudonym("R2"), pseudonym("P2"), "Y", "2022-02-22")
    assert con.execute("SELECT week20_exception FROM raw.ehcna_assessments ORDER BY source_row").fetchall() == [
        (False,),
        (True,),
    ]
    # no raw identifier, name, full postcode or date of birth in any table; no timeliness flag stored
    for table in TABLES:
        columns = {r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE raw.{table})").fetchall()}
        assert not {"upn", "dob", "postcode", "name"} & columns
        assert not any("within" in c or "timely" in c for c in columns)
        values = " ".join(str(v) for row in con.execute(f"SELECT * FROM raw.{table}").fetchall() for v in row)
        for raw_value in ("P1", "R1", "A1", "E1", upn(1), "LE15 6HA", "2015-05-03"):
            assert raw_value not in values.split()


BAD_ROWS = [
    # (module, row index in good_set, change, column, rule)
    ("person", 0, {"upn": ("B" if upn(1)[0] == "A" else "A") + upn(1)[1:]}, "upn", "upn_check_letter_invalid"),
    ("person", 0, {"upn": "A85720012200"}, "upn", "upn_not_13_characters_letter_then_digits"),
    ("person", 0, {"dob": "31/02/2015"}, "dob", "not_a_date"),
    ("person", 0, {"sex": "X"}, "sex", "code_not_allowed"),
    ("person", 0, {"postcode": "LE15"}, "postcode", "postcode_not_a_uk_postcode"),
    ("person", 0, {"ethnicity": "ZZZZ"}, "ethnicity", "code_not_allowed"),
    ("person", 0, {"person_id": "P2"}, "person_id", "duplicate_in_file"),
    ("request", 0, {"person_id": "P9"}, "person_id", "person_not_in_person_module"),
    ("request", 0, {"received_date": ""}, "received_date", "required"),
    ("request", 0, {"request_outcome": "Q"}, "request_outcome", "code_not_allowed"),
    ("request", 0, {"request_outcome_date": ""}, "request_outcome_date", "required_with_outcome_y_or_n"),
    ("request", 3, {"request_outcome_date": "2023-06-20"}, "request_outcome_date", "given_while_decision_pending"),
    ("request", 0, {"request_outcome_date": "2022-01-09"}, "request_outcome_date", "before_received_date"),
    ("assessment", 0, {"request_id": "R9"}, "request_id", "request_not_in_request_module"),
    ("assessment", 0, {"request_id": "R3"}, "request_id", "request_did_not_proceed_to_assessment"),
    ("assessment", 0, {"week20_exception": "2"}, "week20_exception", "not_true_or_false"),
    ("assessment", 0, {"week20_exception": ""}, "week20_exception", "required_with_outcome_y_or_n"),
    ("assessment", 0, {"assessment_outcome": "N", "assessment_outcome_date": ""}, "assessment_outcome_date",
     "required_with_outcome_n"),
    ("assessment", 0, {"assessment_outcome_date": "2021-12-31"}, "assessment_outcome_date",
     "before_request_received_date"),
    ("assessment", 0, {"assessment_outcome_date": "2022-02-20"}, "assessment_outcome_date",
     "before_request_outcome_date"),  # decided before it was decided to assess
    ("plan", 0, {"assessment_id": "A9"}, "assessment_id", "assessment_not_in_assessment_module"),
    ("plan", 0, {"start_date": "2022-01-09"}, "start_date", "before_request_received_date"),
    # issued before it was decided to issue it: the 20-week measure would count the plan as issued in time
    ("plan", 0, {"start_date": "2022-05-29"}, "start_date", "before_assessment_outcome_date"),
    ("plan", 0, {"cease_reason": "5"}, "cease_reason", "given_without_cease_date"),
    ("plan", 1, {"cease_reason": ""}, "cease_reason", "required_with_cease_date"),
    ("plan", 1, {"cease_reason": "10"}, "cease_reason", "code_not_allowed"),
    ("plan", 1, {"cease_date": "2022-05-30"}, "cease_date", "before_start_date"),
    ("plan", 0, {"primary_need": "NSA"}, "primary_need", "nsa_is_not_an_ehc_plan_need"),
    ("plan", 0, {"primary_need": ""}, "primary_need", "required"),
    ("annual_review", 0, {"plan_id": "E9"}, "plan_id", "plan_not_in_plan_module"),
    ("annual_review", 0, {"due_date": "2022-05-29"}, "due_date", "before_plan_start_date"),
    ("annual_review", 0, {"review_date": "2022-05-01"}, "review_date", "before_plan_start_date"),
    ("annual_review", 0, {"due_date": "2024-05-30"}, "due_date", "duplicate_in_file"),
    ("person", 0, {"person_id": ""}, "person_id", "required"),
    ("person", 0, {"dob": ""}, "dob", "required"),
    ("person", 0, {"sex": ""}, "sex", "required"),
    ("request", 0, {"request_id": ""}, "request_id", "required"),
    ("request", 0, {"request_id": "R2"}, "request_id", "duplicate_in_file"),
    ("request", 0, {"person_id": ""}, "person_id", "required"),
    ("request", 0, {"received_date": "2022-02-30"}, "received_date", "not_a_date"),
    ("request", 0, {"request_outcome": ""}, "request_outcome", "required"),
    ("request", 0, {"request_outcome_date": "2022-02-30"}, "request_outcome_date", "not_a_date"),
    ("assessment", 0, {"assessment_id": ""}, "assessment_id", "required"),
    ("assessment", 0, {"assessment_id": "A2"}, "assessment_id", "duplicate_in_file"),
    ("assessment", 0, {"request_id": ""}, "request_id", "required"),
    ("assessment", 0, {"assessment_outcome": ""}, "assessment_outcome", "required"),
    ("assessment", 0, {"assessment_outcome": "Q"}, "assessment_outcome", "code_not_allowed"),
    ("assessment", 0, {"assessment_outcome_date": "2022-05-32"}, "assessment_outcome_date", "not_a_date"),
    ("assessment", 0, {"assessment_outcome": "A"}, "assessment_outcome_date", "given_while_decision_pending"),
    ("plan", 0, {"plan_id": ""}, "plan_id", "required"),
    ("plan", 0, {"plan_id": "E2"}, "plan_id", "duplicate_in_file"),
    ("plan", 0, {"assessment_id": ""}, "assessment_id", "required"),
    ("plan", 0, {"start_date": ""}, "start_date", "required"),
    ("plan", 0, {"start_date": "2022-05-32"}, "start_date", "not_a_date"),
    ("plan", 1, {"cease_date": "2023-02-30"}, "cease_date", "not_a_date"),
    ("plan", 0, {"primary_need": "DYS"}, "primary_need", "code_not_allowed"),
    ("annual_review", 0, {"plan_id": ""}, "plan_id", "required"),
    ("annual_review", 0, {"due_date": ""}, "due_date", "required"),
    ("annual_review", 0, {"due_date": "2023-05-32"}, "due_date", "not_a_date"),
    ("annual_review", 0, {"review_date": "2023-05-32"}, "review_date", "not_a_date"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("module", "index", "change", "column", "rule"), BAD_ROWS, ids=[f"{r[0]}-{r[3]}-{r[4]}" for r in BAD_ROWS]
)
def test_a_bad_row_is_quarantined_with_its_rule(tmp_path, con, module, index, change, column, rule):
    modules = good_set()
    modules[module][index] = modules[module][index] | change
    write_set(tmp_path, modules)
    results = ingest(tmp_path, con)
    [result] = results[module]
    file_name = f"ehcna/{module}_2023-06-30.csv"
    assert (file_name, index + 2, column, rule) in quarantine(con)
    assert result.rows_read == result.rows_loaded + result.rows_quarantined == len(modules[module])
    ledger = con.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined FROM raw.file_ledger WHERE file_name = $f", {"f": file_name}
    ).fetchone()
    assert ledger == (result.rows_read, result.rows_loaded, result.rows_quarantined)
    assert result.rows_quarantined >= 1
    # the quarantine names the problem, never the value
    stored = " ".join(str(v) for row in con.execute(QUARANTINE_TEXT).fetchall() for v in row)
    for value in change.values():
        if len(value) > 2:
            assert value not in stored


def test_a_plan_of_an_assessment_that_decided_not_to_issue_is_quarantined(tmp_path, con):
    modules = good_set()
    modules["assessment"][1]["assessment_outcome"] = "N"  # A2 (plan E2's): decided not to issue a plan
    write_set(tmp_path, modules)
    results = ingest(tmp_path, con)
    assert [(r.rows_loaded, r.rows_quarantined) for r in results["assessment"]] == [(2, 0)]
    assert [r for r in quarantine(con) if r[0] == "ehcna/plan_2023-06-30.csv"] == [
        ("ehcna/plan_2023-06-30.csv", 3, "assessment_id", "assessment_did_not_decide_to_issue")
    ]


def test_a_quarantined_parent_takes_its_children_with_it(tmp_path, con):
    modules = good_set()
    modules["person"][0]["dob"] = "not a date"
    write_set(tmp_path, modules)
    ingest(tmp_path, con)
    assert quarantine(con) == [
        ("ehcna/annual_review_2023-06-30.csv", 2, "plan_id", "plan_not_in_plan_module"),
        ("ehcna/annual_review_2023-06-30.csv", 4, "plan_id", "plan_not_in_plan_module"),
        ("ehcna/assessment_2023-06-30.csv", 2, "request_id", "request_not_in_request_module"),
        ("ehcna/person_2023-06-30.csv", 2, "dob", "not_a_date"),
        ("ehcna/plan_2023-06-30.csv", 2, "assessment_id", "assessment_not_in_assessment_module"),
        ("ehcna/request_2023-06-30.csv", 2, "person_id", "person_not_in_person_module"),
    ]
    assert [count(con, t) for t in TABLES] == [2, 3, 1, 1, 1]


def test_a_broken_header_fails_naming_file_and_column_and_loads_nothing(tmp_path, con):
    paths = write_set(tmp_path, good_set())
    rows = good_set()["request"]
    write_csv(paths["request"], rows, [h for h in HEADERS["request"] if h != "received_date"])
    with pytest.raises(ExtractError, match=r"ehcna/request_2023-06-30.csv: row 1 \(header\).*received_date"):
        ingest(tmp_path, con)
    assert raw_table_rows(con) == 0  # not even the person module, read before the broken file


def test_a_file_of_no_module_fails_the_set(tmp_path, con):
    write_set(tmp_path, good_set())
    write_csv(tmp_path / "ehcna" / "requests_2023-06-30.csv", good_set()["request"], HEADERS["request"])
    with pytest.raises(ExtractError, match=r"ehcna/requests_2023-06-30.csv: matches no EHCNA module"):
        ingest(tmp_path, con)
    assert raw_table_rows(con) == 0


def test_the_contracts_refuse_to_run_without_the_referential_key(tmp_path, con):
    write_set(tmp_path, good_set())
    with pytest.raises(duckdb.Error, match="ingest_ehcna"):
        ingest_source(con, ehcna_contracts(KEY)[0], tmp_path)


def test_cp1252_and_xlsx_extracts_are_read(tmp_path, con):
    import openpyxl

    modules = good_set()
    paths = write_set(tmp_path, modules)
    # the person module as Windows-1252 with an extra free-text column, headers in capitals
    header = [h.upper() for h in HEADERS["person"]] + ["Notes"]
    rows = [{k.upper(): v for k, v in row.items()} | {"Notes": "£ café"} for row in modules["person"]]
    write_csv(paths["person"], rows, header, encoding="cp1252")
    # the plan module as XLSX, the header on the first non-empty row, a bad row at row 5
    paths["plan"].unlink()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])
    sheet.append(HEADERS["plan"])
    for row in modules["plan"]:
        sheet.append([row[h] for h in HEADERS["plan"]])
    sheet.append(["E3", "A2", "2022-06-01", "", "", "ASD"])  # a second plan for assessment A2
    book.save(tmp_path / "ehcna" / "plan_2023-06-30.xlsx")
    results = ingest(tmp_path, con)
    assert results["person"][0].rows_loaded == 3 and results["person"][0].extra_columns == ("notes",)
    assert [(r.rows_loaded, r.rows_quarantined) for r in results["plan"]] == [(1, 2)]
    assert ("ehcna/plan_2023-06-30.xlsx", 5, "assessment_id", "duplicate_in_file") in quarantine(con)
    assert ("ehcna/plan_2023-06-30.xlsx", 4, "assessment_id", "duplicate_in_file") in quarantine(con)
    assert con.execute("SELECT start_date::VARCHAR FROM raw.ehcna_plans").fetchall() == [("2022-05-30",)]


def test_a_re_dropped_set_is_skipped(tmp_path, con):
    modules = good_set()
    modules["request"][3]["request_outcome"] = "Q"
    write_set(tmp_path, modules)
    first = ingest(tmp_path, con)
    second = ingest(tmp_path, con)
    assert {r.status for rs in first.values() for r in rs} == {"loaded"}
    assert {r.status for rs in second.values() for r in rs} == {"unchanged"}
    assert [count(con, t) for t in TABLES] == [3, 3, 2, 2, 3]
    assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM raw.file_ledger").fetchone()[0] == 5


def test_a_corrected_or_later_extract_replaces_the_earlier_one(tmp_path, con):
    modules = good_set()
    modules["request"][3]["request_outcome"] = "Q"
    write_set(tmp_path, modules)
    ingest(tmp_path, con)
    assert count(con, "ehcna_requests") == 3
    # a corrected request file under a new name, and a later full extract of the person module
    corrected = write_csv(tmp_path / "ehcna" / "request_2023-06-30_corrected.csv", good_set()["request"],
                          HEADERS["request"])  # fmt: skip
    later_people = good_set()["person"] + [{"person_id": "P4", "upn": "", "dob": "2016-01-01", "sex": "F",
                                            "ethnicity": "", "postcode": ""}]  # fmt: skip
    write_csv(tmp_path / "ehcna" / "person_2023-07-31.csv", later_people, HEADERS["person"])
    results = ingest(tmp_path, con)
    by_file = {r.file_name: r for rs in results.values() for r in rs}
    assert by_file["ehcna/request_2023-06-30_corrected.csv"].superseded_files == ("ehcna/request_2023-06-30.csv",)
    assert by_file["ehcna/person_2023-07-31.csv"].superseded_files == ("ehcna/person_2023-06-30.csv",)
    assert con.execute("SELECT DISTINCT source_file FROM raw.ehcna_requests").fetchall() == [
        (str(corrected.relative_to(tmp_path)),)
    ]
    assert count(con, "ehcna_requests") == 4 and count(con, "ehcna_persons") == 4


def test_a_set_whose_load_stopped_between_modules_is_loaded_again_whole(tmp_path, con, monkeypatch):
    """A corrected person file without P1 loaded, then the run stopped before the request module (killed, or a step
    retried): the next run found every file unchanged, so R1 stayed loaded with no person. The set's load is marked
    started; the next run loads it again whole and ends as a build from raw/ would."""
    from pipeline.sources import ehcna

    write_set(tmp_path, good_set())
    ingest(tmp_path, con)
    people = [person for person in good_set()["person"] if person["person_id"] != "P1"]
    write_csv(tmp_path / "ehcna" / "person_2023-06-30_corrected.csv", people, HEADERS["person"])

    def stopped_at_requests(connection, contract, *args, **kwargs):
        if contract.target_table == "raw.ehcna_requests":
            raise KeyboardInterrupt
        return ingest_source(connection, contract, *args, **kwargs)

    monkeypatch.setattr(ehcna, "ingest_source", stopped_at_requests)
    with pytest.raises(KeyboardInterrupt):
        ingest(tmp_path, con)
    monkeypatch.undo()
    said = []
    ingest_ehcna(con, tmp_path, KEY, log=said.append)
    assert "the last load of the EHCNA set did not finish: every module is loaded again" in said
    fresh = duckdb.connect()
    ingest(tmp_path, fresh)
    assert ("ehcna/request_2023-06-30.csv", 2, "person_id", "person_not_in_person_module") in quarantine(con)
    assert quarantine(con) == quarantine(fresh)
    assert [count(con, t) for t in TABLES] == [count(fresh, t) for t in TABLES]
    assert count(con, "sets_in_progress") == 0
    said.clear()
    ingest_ehcna(con, tmp_path, KEY, log=said.append)  # finished: the next night finds the set unchanged
    assert all(": unchanged" in line for line in said)


# ---------- the extract date the file names give ----------


@pytest.mark.parametrize(
    ("module", "index", "column", "value"),
    [
        ("person", 0, "dob", "2023-07-01"),
        ("request", 3, "received_date", "2023-07-01"),
        ("request", 0, "request_outcome_date", "2023-07-01"),
        ("assessment", 0, "assessment_outcome_date", "2023-07-01"),
        ("plan", 0, "start_date", "2023-07-01"),
        ("plan", 0, "cease_date", "2023-07-31"),
        ("annual_review", 0, "review_date", "2023-07-01"),
    ],
)
def test_an_event_after_its_files_extract_date_is_quarantined(tmp_path, con, module, index, column, value):
    """request_2023-06-30.csv cannot have seen an event of July (a cease date entered ahead): it moved the
    extract's "data as at" to July and counted July as complete."""
    modules = good_set()
    modules[module][index][column] = value
    if column == "cease_date":
        modules[module][index]["cease_reason"] = "1"
    write_set(tmp_path, modules)
    ingest(tmp_path, con)
    assert (f"ehcna/{module}_2023-06-30.csv", index + 2, column, f"{column}_after_extract_date") in quarantine(con)
    on_the_date = good_set()
    on_the_date[module][index][column] = "2023-06-30"  # the extract date itself is not after it
    if column == "cease_date":
        on_the_date[module][index]["cease_reason"] = "1"
    write_set(tmp_path, on_the_date)
    ingest(tmp_path, con)
    assert not [r for r in quarantine(con) if r[3].endswith("_after_extract_date")]


def test_every_row_keeps_its_files_extract_date_and_a_due_date_may_be_after_it(tmp_path, con):
    write_set(tmp_path, good_set())
    write_csv(tmp_path / "ehcna" / "request_2023-09-30_corrected.csv", good_set()["request"], HEADERS["request"])
    ingest(tmp_path, con)
    dates = {t: con.execute(f"SELECT DISTINCT extract_date::VARCHAR FROM raw.{t}").fetchall() for t in TABLES}
    assert dates == {t: [("2023-09-30",)] if t == "ehcna_requests" else [("2023-06-30",)] for t in TABLES}
    assert quarantine(con) == []  # the review due 2024-05-30 is not an event


@pytest.mark.parametrize("name", ["request_20230630.csv", "request_2023-02-30.csv", "request_latest.csv"])
def test_a_file_whose_name_gives_no_extract_date_fails_the_set_naming_it(tmp_path, con, name):
    write_set(tmp_path, good_set())
    (tmp_path / "ehcna" / "request_2023-06-30.csv").rename(tmp_path / "ehcna" / name)
    with pytest.raises(ExtractError, match=rf"^ehcna/{name}: its name gives no extract date: .*request_<YYYY-MM-DD>"):
        ingest(tmp_path, con)
    assert raw_table_rows(con) == 0


# ---------- a file under raw/ehcna/ that no module reads ----------


def test_the_drop_zone_knows_the_modules_and_the_names_the_contracts_read():
    """pipeline.drop_zone (no Dagster, no DuckDB) says which files under raw/ehcna/ a run reads, before anything
    heavy is imported; the contracts read <module>_* and take the date from drop_zone.ehcna_name_pattern."""
    assert tuple(m.name for m in MODULES) == drop_zone.EHCNA_MODULES
    contracts = ehcna_contracts(KEY)
    assert [c.file_glob for c in contracts] == [f"{m}_*" for m in drop_zone.EHCNA_MODULES]
    assert [c.name_pattern for c in contracts] == [drop_zone.ehcna_name_pattern(m) for m in drop_zone.EHCNA_MODULES]


NO_MODULE = "matches no EHCNA module (file names start person_*, request_*"
NO_DATE = "its name gives no extract date: name the module's files request_<YYYY-MM-DD>[...].csv|xlsx"


@pytest.mark.parametrize(
    ("name", "said"),
    [("requests_2023-06-30.csv", NO_MODULE), ("Request_2023-06-30.csv", NO_MODULE), ("notes.pdf", NO_MODULE),
     ("request_latest.csv", NO_DATE), ("request_2023-02-30.csv", NO_DATE), ("request_20230630.csv", NO_DATE),
     ("2023/request_2023-06-30.csv", "in a subfolder of ehcna/, which is never read")],
)  # fmt: skip
def test_a_file_no_module_reads_stops_the_run_before_it_starts_as_it_fails_the_set(tmp_path, con, name, said):
    """A misnamed module, a name without a date or with no such day, a file of no module, one in a subfolder: each
    failed the set during the run, while the drop zone's check (send-pipeline run, the schedule, the sensor: before
    Dagster is imported) let it through. Both now name it, in the same words, with the name it must have."""
    write_set(tmp_path, good_set())
    write_csv(tmp_path / "ehcna" / "request_2023-09-30_corrected.csv", good_set()["request"], HEADERS["request"])
    assert drop_zone.unread_extracts(tmp_path) == []  # the set and a correction: every file is read
    stray = tmp_path / "ehcna" / name
    stray.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "ehcna" / "request_2023-06-30.csv", stray)
    assert drop_zone.unread_extracts(tmp_path) == [f"ehcna/{name}"]
    message = drop_zone.unread_message([f"ehcna/{name}"])
    assert message.startswith(f"ehcna/{name}: {said}")
    with pytest.raises(ExtractError) as failed:
        ingest(tmp_path, con)
    assert message == f"{failed.value}; no run until then"
    assert raw_table_rows(con) == 0
    stray.unlink()
    assert drop_zone.unread_extracts(tmp_path) == []


def test_a_warehouse_loaded_before_the_extract_date_was_kept_loads_the_set_again(tmp_path, con):
    """raw.ehcna_* of an earlier version have no extract_date: the set is loaded again (a row after its extract date
    quarantined) as a build from raw/ would load it, and a run stopped half way still loads it the next time."""
    modules = good_set()
    modules["plan"][0].update(cease_date="2023-07-31", cease_reason="1")
    write_set(tmp_path, modules)
    ingest(tmp_path, con)
    fresh = {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY ALL").fetchall() for t in TABLES}
    for table in TABLES:  # as an earlier version left them: no extract_date, every row loaded
        con.execute(f"ALTER TABLE raw.{table} DROP COLUMN extract_date")
    con.execute("DELETE FROM raw.quarantine")
    results = ingest(tmp_path, con)
    assert {r.status for rs in results.values() for r in rs} == {"loaded"}
    assert {t: con.execute(f"SELECT * FROM raw.{t} ORDER BY ALL").fetchall() for t in TABLES} == fresh
    assert ("ehcna/plan_2023-06-30.csv", 2, "cease_date", "cease_date_after_extract_date") in quarantine(con)
    assert {r.status for rs in ingest(tmp_path, con).values() for r in rs} == {"unchanged"}


# ---------- dbt: timeliness from the dates ----------


def dbt_build(duckdb_path: Path, tmp: Path) -> subprocess.CompletedProcess:
    select = ("+path:models/intermediate/ehcna", "path:models/staging/ehcna", "sen_primary_need_codes")
    return dbt(duckdb_path, tmp, "build", "--select", *select, "--indirect-selection", "cautious")


def test_timeliness_is_computed_from_the_dates_at_the_boundaries(tmp_path):
    raw = tmp_path / "raw"
    write_set(raw, good_set())
    path = tmp_path / "send.duckdb"
    with duckdb.connect(str(path)) as connection:
        ingest_ehcna(connection, raw, KEY)
    built = dbt_build(path, tmp_path)
    assert built.returncode == 0, built.stdout[-3000:]
    with duckdb.connect(str(path), read_only=True) as connection:
        requests = connection.execute(
            "SELECT request_id, is_decision, decision_year, days_to_decision, decided_within_6_weeks "
            "FROM intermediate.int_ehcna_requests_timed ORDER BY received_date, days_to_decision"
        ).fetchall()
        plans = connection.execute(
            "SELECT plan_id, primary_need, issue_year, days_to_issue, issued_within_20_weeks, "
            "issued_within_20_weeks_excluding_exceptions, person_id FROM intermediate.int_ehcna_plans_timed "
            "ORDER BY days_to_issue"
        ).fetchall()
        reviews = connection.execute(
            "SELECT due_date::VARCHAR, held_in_time, days_after_due FROM intermediate.int_ehcna_annual_reviews_timed "
            "ORDER BY due_date"
        ).fetchall()
    assert requests == [
        (pseudonym("R1"), True, 2022, 42, True),
        (pseudonym("R2"), True, 2022, 43, False),
        (pseudonym("R3"), True, 2022, 19, True),
        (pseudonym("R4"), False, None, None, None),
    ]
    assert plans == [
        (pseudonym("E1"), "ASD", 2022, 140, True, True, pseudonym("P1")),
        (pseudonym("E2"), "ASD", 2022, 141, False, None, pseudonym("P2")),  # AUT -> ASD; exception: left out
    ]
    assert reviews == [("2023-05-30", True, 0), ("2023-05-31", False, 1), ("2024-05-30", False, None)]


def test_an_orphan_is_flagged_by_dbt(tmp_path):
    raw = tmp_path / "raw"
    write_set(raw, good_set())
    path = tmp_path / "send.duckdb"
    with duckdb.connect(str(path)) as connection:
        ingest_ehcna(connection, raw, KEY)
        # P3 gone from under its requests (the ingest re-checks children when a parent changes, so only a
        # hand-edited warehouse gets here): dbt's relationships tests are the guard behind the quarantine rules
        connection.execute("DELETE FROM raw.ehcna_persons WHERE person_id = $p", {"p": pseudonym("P3")})
    built = dbt_build(path, tmp_path)
    assert built.returncode == 0, built.stdout[-3000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    warned = {r["unique_id"].split(".")[2] for r in results if r["status"] == "warn"}
    assert warned == {"relationships_stg_ehcna__requests_person_id__person_id__ref_stg_ehcna__persons_"}


def build_marts_of_the_set(raw: Path, tmp: Path) -> duckdb.DuckDBPyConnection:
    """The set in raw/ (and DfE's release, for the home LA's geography) ingested and the EHCP marts built."""
    copy_dfe_release(raw)
    path = tmp / "send.duckdb"
    with duckdb.connect(str(path)) as connection:
        ingest_ehcna(connection, raw, KEY)
        for contract in dfe_contracts():
            ingest_source(connection, contract, raw)
    select = ("+fct_ehcna_timeliness", "+fct_ehcp_annual_reviews", "+fct_ehcp_caseload")
    built = dbt(path, tmp, "build", "--select", *select, "--indirect-selection", "cautious")
    assert built.returncode == 0, built.stdout[-3000:]
    return duckdb.connect(str(path), read_only=True)


def counted(connection) -> tuple:
    """data_as_at, the last month, and 2023's counted_to, requests, decisions, reviews due (in 2022/23) and caseload
    requests."""
    [(data_as_at, last_month)] = connection.execute(
        "SELECT max(data_as_at)::VARCHAR, max(period_start)::VARCHAR FROM intermediate.int_ehcp_reporting_periods "
        "WHERE period_type = 'Month'"
    ).fetchall()
    [year] = connection.execute(
        "SELECT years.counted_to::VARCHAR, years.is_complete_period, requests_received, decisions, annual_reviews_due "
        "FROM marts.fct_ehcna_timeliness AS years, marts.fct_ehcp_annual_reviews AS reviews "
        "WHERE years.time_period = 2023 AND reviews.time_period = 202223"
    ).fetchall()
    [(caseload_requests,)] = connection.execute(
        "SELECT requests_received FROM marts.fct_ehcp_caseload "
        "WHERE period_type = 'Calendar year' AND time_period = 2023 AND primary_need = 'Total'"
    ).fetchall()
    return data_as_at, last_month, *year, caseload_requests


def test_a_cease_date_entered_ahead_is_quarantined_and_the_year_is_counted_to_the_extract_date(tmp_path):
    """Extract of 30 June 2023, one plan's cease date entered ahead as 31 July: July counted as complete and every
    annual review due in July as due and not held (the in-time percentage dropped)."""
    raw = tmp_path / "raw"
    modules = good_set()
    modules["plan"][1].update(cease_date="2023-07-31")  # E2 (transferred, 5), so its reviews go with it
    modules["annual_review"].append({"plan_id": "E1", "review_date": "", "due_date": "2023-07-15"})
    write_set(raw, modules)
    connection = build_marts_of_the_set(raw, tmp_path)
    try:
        quarantined = connection.execute("SELECT file_name, row_number, rule FROM raw.quarantine ORDER BY ALL")
        assert quarantined.fetchall() == [
            ("ehcna/annual_review_2023-06-30.csv", 3, "plan_not_in_plan_module"),
            ("ehcna/plan_2023-06-30.csv", 3, "cease_date_after_extract_date"),
        ]
        # 2023: R4 received; no decision; one review due by 30 June (E1's of 30 May; July's not yet due)
        assert counted(connection) == ("2023-06-30", "2023-06-01", "2023-06-30", False, 1, 0, 1, 1)
    finally:
        connection.close()


def test_a_module_extracted_again_alone_is_counted_to_the_earliest_extract_date(tmp_path):
    """Only request_2023-09-30.csv extracted again: the periods ran to September (a request received in August,
    a decision of July) while plans and reviews were as at June."""
    raw = tmp_path / "raw"
    write_set(raw, good_set())
    requests = good_set()["request"]
    requests[3].update(request_outcome="N", request_outcome_date="2023-07-20")  # R4 decided after 30 June
    requests.append({"request_id": "R5", "person_id": "P1", "received_date": "2023-08-01", "request_outcome": "A",
                     "request_outcome_date": ""})  # fmt: skip
    write_csv(raw / "ehcna" / "request_2023-09-30.csv", requests, HEADERS["request"])
    connection = build_marts_of_the_set(raw, tmp_path)
    try:
        assert connection.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM raw.ehcna_requests").fetchone()[0] == 5
        # as at 30 June: R4 received and not yet decided, R5 not yet received; the review of 31 May held late
        assert counted(connection) == ("2023-06-30", "2023-06-01", "2023-06-30", False, 1, 0, 2, 1)
    finally:
        connection.close()


# ---------- the generated Rutland set reproduces the seed ----------


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ehcna_generated")
    raw = tmp / "raw"
    generate_census(raw, "rutland", 2023, [2023])
    paths = generate_ehcna(raw, 2023)
    path = tmp / "send.duckdb"
    with duckdb.connect(str(path)) as connection:
        ingest_source(connection, census_contract(KEY), raw)
        results = ingest_ehcna(connection, raw, KEY)
    built = dbt_build(path, tmp)
    assert built.returncode == 0, built.stdout[-3000:]
    connection = duckdb.connect(str(path), read_only=True)
    yield {"con": connection, "paths": paths, "results": results, "raw": raw}
    connection.close()


def test_generated_set_is_clean_and_named_by_module_and_extract_date(generated):
    assert [p.name for p in generated["paths"]] == [
        f"{m}_2023-06-30.csv" for m in ("person", "request", "assessment", "plan", "annual_review")
    ]
    assert all(r.rows_quarantined == 0 and r.rows_loaded > 0 for rs in generated["results"].values() for r in rs)


def test_generated_requests_and_decisions_match_the_seed(generated):
    con = generated["con"]
    seed = FIGURES["ehcna_timescales_7_1"]
    requests = dict(
        con.execute("SELECT received_year, count(*) FROM intermediate.int_ehcna_requests_timed GROUP BY 1").fetchall()
    )
    assert {y: requests[y] for y in seed["requests"]} == seed["requests"]
    assert requests[2019] == FIGURES["ehcp_demand_6_3"]["requests_by_year_section_6_3"][2019]
    decisions = {
        year: [within, total]
        for year, within, total in con.execute(
            "SELECT decision_year, count(*) FILTER (WHERE decided_within_6_weeks), count(*) "
            "FROM intermediate.int_ehcna_requests_timed WHERE is_decision GROUP BY 1"
        ).fetchall()
    }
    assert {y: decisions[y] for y in seed["decisions_within_6_weeks"]} == seed["decisions_within_6_weeks"]


def test_generated_plans_within_20_weeks_match_the_seed(generated):
    seed = FIGURES["ehcna_timescales_7_1"]["plans_within_20_weeks"]
    plans = {
        year: [within, total]
        for year, within, total in generated["con"]
        .execute(
            "SELECT issue_year, count(*) FILTER (WHERE issued_within_20_weeks), count(*) "
            "FROM intermediate.int_ehcna_plans_timed WHERE is_new_plan GROUP BY 1"
        )
        .fetchall()
    }
    assert {y: plans[y] for y in seed} == seed
    # without exceptions: never fewer in time, never more plans counted
    without = dict(
        generated["con"]
        .execute(
            "SELECT issue_year, count(issued_within_20_weeks_excluding_exceptions) "
            "FROM intermediate.int_ehcna_plans_timed WHERE is_new_plan GROUP BY 1"
        )
        .fetchall()
    )
    assert all(without[y] <= seed[y][1] for y in seed) and sum(without[y] for y in seed) < sum(
        t for _, t in seed.values()
    )


def academic_year(day: dt.date) -> int:
    """The academic year (1 September to 31 August) of a day, coded as EES codes it: 202021 = 2020/21."""
    first = day.year - (day.month < 9)
    return first * 100 + (first + 1) % 100


def seed_academic_year(column: int) -> int:
    """Seed 7.1's annual reviews row is "(academic year)": its column for year Y (2021, 2022, 2023 YTD) is the
    academic year ending in Y, 1 September Y-1 to 31 August Y (the last to the extract date)."""
    return academic_year(dt.date(column, 8, 31))


def extract_date(paths) -> dt.date:
    """The extract date the generated files' names give (annual_review_2023-06-30.csv)."""
    [day] = {Path(p).stem.rsplit("_", 1)[1] for p in paths}
    return dt.date.fromisoformat(day)


def test_generated_annual_reviews_in_time_match_the_seed(generated):
    seed = FIGURES["ehcna_timescales_7_1"]["annual_reviews_in_time_pct"]
    extracted = extract_date(generated["paths"])
    rows = (
        generated["con"]
        .execute("SELECT due_date, due_academic_year, held_in_time FROM intermediate.int_ehcna_annual_reviews_timed")
        .fetchall()
    )
    # the model's academic year is the one the dates give
    assert all(year == academic_year(due) for due, year, _ in rows)
    counted = [(due, held) for due, _, held in rows if due <= extracted]

    def in_time_pct(year_of, year) -> int:
        held = [h for due, h in counted if year_of(due) == year]
        return round(100 * sum(held) / len(held))

    assert {column: in_time_pct(academic_year, seed_academic_year(column)) for column in seed} == seed
    # the seed's last column is the academic year still running at the extract date, counted to it ("YTD")
    assert seed_academic_year(max(seed)) == academic_year(extracted)
    # counted by the calendar year of the due date, the same reviews do not give the seed's figures
    assert {column: in_time_pct(lambda due: due.year, column) for column in seed} != seed


def test_generated_plans_maintained_and_presenting_need_match_the_seed(generated):
    seed = FIGURES["ehcp_demand_6_3"]
    days = {"2019-01": "2019-01-17", "2023-04": "2023-04-01"}  # SEN2 January census day; 1 April 2023
    maintained = {
        month: generated["con"]
        .execute(
            "SELECT count(*) FROM intermediate.int_ehcna_plans_timed "
            "WHERE start_date <= $d AND (cease_date IS NULL OR cease_date > $d)",
            {"d": day},
        )
        .fetchone()[0]
        for month, day in days.items()
    }
    assert maintained == seed["ehcps_maintained"]
    needs = dict(
        generated["con"]
        .execute(
            "SELECT primary_need, count(*) FROM intermediate.int_ehcna_plans_timed "
            "WHERE start_date <= DATE '2023-04-01' AND (cease_date IS NULL OR cease_date > DATE '2023-04-01') "
            "GROUP BY 1"
        )
        .fetchall()
    )
    total = sum(needs.values())
    assert {n: round(100 * needs[n] / total, 1) for n in seed["presenting_need_pct_2023_04"]} == seed[
        "presenting_need_pct_2023_04"
    ]


def test_the_upn_pseudonym_equals_the_census_one(generated):
    con = generated["con"]
    linked = con.execute(
        """
        SELECT count(DISTINCT e.pupil_id),
               count(DISTINCT e.pupil_id) FILTER (WHERE c.sen_provision = 'E' AND c.home_la_code = '857'),
               count(*) FILTER (WHERE e.birth_month <> c.birth_month OR e.sex <> c.gender)
        FROM raw.ehcna_persons e JOIN raw.census_pupils c ON c.pupil_id = e.pupil_id
        """
    ).fetchone()
    residents = con.execute(
        "SELECT count(DISTINCT pupil_id) FROM raw.census_pupils "
        "WHERE sen_provision = 'E' AND home_la_code = '857' AND enrol_status IN ('C', 'M')"
    ).fetchone()[0]
    assert residents > 100
    # every EHCP pupil living in Rutland links, to the same birth month and sex; no other census pupil links
    assert linked == (residents, residents, 0)
    # and the pseudonym is the plain keyed HMAC of the UPN, in both sources
    census_upn = pd.read_csv(generated["raw"] / "census" / "2023_spring.csv", dtype=str)["upn"].iloc[0]
    assert (
        con.execute(
            "SELECT count(*) FROM raw.census_pupils WHERE pupil_id = $p", {"p": pseudonym(census_upn)}
        ).fetchone()[0]
        >= 1
    )


def _figures_from_csv(folder: Path) -> dict:
    """The 7.1 figures computed straight from the generated CSVs with pandas (independent of the dbt models)."""

    def read(module: str, dates: list[str]) -> pd.DataFrame:
        frame = pd.read_csv(next(folder.glob(f"{module}_*.csv")), dtype=str, keep_default_na=False)
        for column in dates:
            frame[column] = pd.to_datetime(frame[column].replace("", None))
        return frame

    requests = read("request", ["received_date", "request_outcome_date"])
    plans = (
        read("plan", ["start_date", "cease_date"])
        .merge(read("assessment", ["assessment_outcome_date"]), on="assessment_id")
        .merge(requests, on="request_id")
    )
    decided = requests[requests["request_outcome"].isin(["Y", "N"])]
    decided_in_time = (decided["request_outcome_date"] - decided["received_date"]).dt.days <= 42
    new = plans[plans["assessment_outcome"] == "Y"]
    new_in_time = (new["start_date"] - new["received_date"]).dt.days <= 140
    reviews = read("annual_review", ["review_date", "due_date"])
    held = reviews["review_date"].notna() & (reviews["review_date"] <= reviews["due_date"])
    extracted = pd.Timestamp(extract_date(folder.glob("annual_review_*.csv")))

    def academic_year_to_date(column: int) -> pd.Series:
        """Reviews due in the academic year ending in the seed's column year (1 September to 31 August), up to the
        extract date: the seed's 2023 is 2022/23 to date."""
        due = reviews["due_date"]
        return (due >= pd.Timestamp(column - 1, 9, 1)) & (due <= min(pd.Timestamp(column, 8, 31), extracted))

    cohort = plans[
        (plans["start_date"] <= "2023-04-01")
        & (plans["cease_date"].isna() | (plans["cease_date"] > pd.Timestamp("2023-04-01")))
    ]
    years = (2021, 2022, 2023)
    return {
        "requests": {y: int((requests["received_date"].dt.year == y).sum()) for y in years},
        "decisions_within_6_weeks": {
            y: [int(decided_in_time[decided["request_outcome_date"].dt.year == y].sum()),
                int((decided["request_outcome_date"].dt.year == y).sum())]
            for y in years
        },
        "plans_within_20_weeks": {
            y: [int(new_in_time[new["start_date"].dt.year == y].sum()), int((new["start_date"].dt.year == y).sum())]
            for y in years
        },
        "annual_reviews_in_time_pct": {y: round(100 * held[academic_year_to_date(y)].mean()) for y in years},
        "maintained_2023_04": len(cohort),
        "asd_pct": round(100 * (cohort["primary_need"] == "ASD").mean(), 1),
    }  # fmt: skip


def test_another_seed_moves_the_dates_but_keeps_the_figures(tmp_path):
    generate_ehcna(tmp_path / "a", 2023)
    generate_ehcna(tmp_path / "b", 7)
    figures_a, figures_b = _figures_from_csv(tmp_path / "a" / "ehcna"), _figures_from_csv(tmp_path / "b" / "ehcna")
    seed = FIGURES["ehcna_timescales_7_1"]
    for figures in (figures_a, figures_b):
        assert {k: figures[k] for k in seed if k in figures} == {k: v for k, v in seed.items() if k in figures}
        assert figures["maintained_2023_04"] == FIGURES["ehcp_demand_6_3"]["ehcps_maintained"]["2023-04"]
        assert figures["asd_pct"] == FIGURES["ehcp_demand_6_3"]["presenting_need_pct_2023_04"]["ASD"]
    a = (tmp_path / "a" / "ehcna" / "request_2023-06-30.csv").read_bytes()
    assert a != (tmp_path / "b" / "ehcna" / "request_2023-06-30.csv").read_bytes()
    generate_ehcna(tmp_path / "c", 2023)
    for path in (tmp_path / "a" / "ehcna").iterdir():
        assert path.read_bytes() == (tmp_path / "c" / "ehcna" / path.name).read_bytes(), path.name


def test_in_time_count_rounds_to_the_percentage():
    assert in_time_count(245, 89) == 218  # 88.98% -> 89%
    assert in_time_count(8, 50) == 4
    with pytest.raises(ValueError, match="^no count of 3 reviews rounds to 50%$"):
        in_time_count(3, 50)  # 1/3 = 33%, 2/3 = 67%: nothing rounds to 50


# ---------- the Dagster asset ----------


def test_the_asset_materializes_every_module_and_fails_without_a_complete_set(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", KEY.decode())
    raw = tmp_path / "raw"
    paths = write_set(raw, good_set())
    warehouse = SendWarehouse(raw_dir=str(raw), warehouse_dir=str(tmp_path / "warehouse"))
    result = dg.materialize([ehcna_extracts], resources={"warehouse": warehouse})
    assert result.success
    materialized = {
        event.event_specific_data.materialization.asset_key.path[1]: event.event_specific_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert set(materialized) == set(TABLES)
    for metadata in materialized.values():
        assert_ingest_metadata({k: v.value for k, v in metadata.items()}, quarantined=0)
    paths["annual_review"].unlink()
    failed = dg.materialize([ehcna_extracts], resources={"warehouse": warehouse}, raise_on_error=False)
    assert not failed.success
    failure = next(e for e in failed.all_events if e.is_step_failure)
    assert "annual_review" in failure.step_failure_data.error.message


def test_the_asset_fails_without_retries_on_a_broken_header_or_a_missing_key(tmp_path, monkeypatch):
    """The asset's wrappers: an ExtractError (a file of the set with a broken header) and a missing pseudonym key are
    dg.Failure that no retry can fix, with the error's own message and no child's value."""
    raw = tmp_path / "raw"
    paths = write_set(raw, good_set())
    rows = good_set()["person"]
    write_csv(paths["person"], rows, [h for h in HEADERS["person"] if h != "dob"])
    warehouse = SendWarehouse(raw_dir=str(raw), warehouse_dir=str(tmp_path / "warehouse"))
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", KEY.decode())
    with pytest.raises(dg.Failure) as broken:
        dg.materialize([ehcna_extracts], resources={"warehouse": warehouse})
    assert broken.value.description == "ehcna/person_2023-06-30.csv: row 1 (header) is missing required column(s) dob"
    monkeypatch.delenv("SEND_PSEUDONYM_KEY")
    with pytest.raises(dg.Failure) as no_key:
        dg.materialize([ehcna_extracts], resources={"warehouse": warehouse})
    assert no_key.value.description.startswith("SEND_PSEUDONYM_KEY is not set or shorter than 16 bytes")
    for failure in (broken.value, no_key.value):
        assert failure.allow_retries is False
        identifying = [row[c] for row in rows for c in ("upn", "dob", "postcode") if row[c]]
        assert not any(value in failure.description for value in identifying)
