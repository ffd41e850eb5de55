"""pipeline.drop_zone: which files under raw/ a run would read, asked before anything heavy is imported."""

import subprocess
import sys

import pytest

from pipeline.drop_zone import (
    EHCNA_MODULES,
    ehcna_extract_date,
    ehcna_name_error,
    unread_extracts,
    unread_message,
    unread_source_file_error,
)
from pipeline.settings import REPO_ROOT


@pytest.mark.parametrize(
    "name",
    ["ehcna/person_2023-06-30.csv", "ehcna/request_2023-09-30_corrected.xlsx", "ehcna/annual_review_2024-02-29.csv",
     "ehcna/plan_2023-06-30 (1).csv"],
)  # fmt: skip
def test_a_module_file_with_its_extract_date_is_read(name):
    assert ehcna_name_error(name) is None


@pytest.mark.parametrize(
    ("name", "said"),
    [("ehcna/plans_2023-06-30.csv", "matches no EHCNA module"),
     ("ehcna/annual_reviews_2023-06-30.csv", "matches no EHCNA module"),
     ("ehcna/annual_review_2023-02-29.csv", "no extract date: name the module's files annual_review_<YYYY-MM-DD>"),
     ("ehcna/person_30-06-2023.csv", "no extract date: name the module's files person_<YYYY-MM-DD>"),
     ("ehcna/old/person_2023-06-30.csv", "in a subfolder of ehcna/")],
)  # fmt: skip
def test_a_file_no_module_reads_is_named_with_what_is_wrong(name, said):
    assert ehcna_name_error(name).startswith(f"{name}: ") and said in ehcna_name_error(name)


def test_the_extract_date_is_the_names_and_a_real_day():
    assert str(ehcna_extract_date("plan", "plan_2024-02-29_v2.csv")) == "2024-02-29"
    assert ehcna_extract_date("plan", "plan_2023-02-29.csv") is None
    assert ehcna_extract_date("person", "plan_2023-06-30.csv") is None
    assert EHCNA_MODULES[0] == "person"  # parents first, as the set is loaded


def test_the_message_names_each_kind_of_unread_file_once():
    message = unread_message(
        ["notes.txt", "dfe/caseload.csv", "ehcna/request_latest.csv", "ehcna/plans_2023-06-30.csv"]
    )
    assert message.startswith("notes.txt is in no source's folder")
    assert "dfe/caseload.csv: no file of DfE's EHC plans release" in message
    assert "ehcna/request_latest.csv: its name gives no extract date" in message
    assert "and 1 more file(s) under raw/ehcna/ that no EHCNA module reads" in message
    assert message.endswith("; no run until then")


def test_a_file_in_a_source_folder_that_no_run_reads_is_listed_with_why(tmp_path):
    """A subfolder of census/ (an archive), a PDF or a README beside the extracts: the census ingest would fail on
    them mid-run (or never read them); the run, the schedule and the sensor stop first, naming them."""
    for name in ["census/2023_spring.csv", "census/2024_Spring.CSV", "census/2022_spring.xlsx", "finance/2023.txt",
                 "census/archive/2021_spring.csv", "census/notes.pdf", "placements/README.md", "census/.hidden.pdf",
                 "ehcna/person_2023-06-30.csv", "dfe/ehcp_2025/caseload.csv"]:  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("upn\n")
    assert unread_extracts(tmp_path) == ["census/archive/2021_spring.csv", "census/notes.pdf", "placements/README.md"]
    archived = unread_source_file_error("census/archive/2021_spring.csv")
    assert archived.startswith("census/archive/2021_spring.csv: in a subfolder of census/, which is never read")
    assert unread_source_file_error("census/notes.pdf").startswith("census/notes.pdf: not a CSV (.csv, .txt) or XLSX")
    message = unread_message(unread_extracts(tmp_path))
    assert message.startswith("census/archive/2021_spring.csv: in a subfolder of census/")
    assert message.endswith("; and 2 more such file(s); no run until then")


def test_the_drop_zone_imports_no_dagster_dbt_or_duckdb():
    """send-pipeline run, the schedule and the sensor consult it before anything heavy is imported."""
    heavy = ("dagster", "dbt", "duckdb", "pandas")
    code = f"import sys, pipeline.drop_zone; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert done.stdout.strip() == "[]"
