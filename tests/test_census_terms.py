"""The school census is taken every term: a council's drop zone may hold an Autumn census beside the Spring ones.

A night that adds one publishes its rows in every table published by census term, and the report, which (as the
needs assessment and DfE's "Special educational needs in England") reads the Spring census, says what it said
before. Before 3 December 2026 an Autumn census stopped publication: the report found two rows where it expected one.
The whole pipeline runs twice here (`send-pipeline run`), on the generated Rutland extracts.
"""

import csv
import re
from pathlib import Path

import duckdb
import pytest

from pipeline.report import build as report_build

from support import generated_and_published, send_pipeline

AUTUMN_DATE = "2022-10-06"  # the Autumn 2022 census day: academic year 2022/23, as the Spring 2023 census
SPRING_ONLY = {"send_trend"}  # the needs assessment's 6.2: one row per Spring census (fct_send_trend)


def release_rows(published: Path) -> dict[str, list[tuple]]:
    """Every table of the live release as the report reads it (a census-term table's Spring rows), without the
    release id."""
    release = report_build.load_release(published / report_build.REPORTING_DB)
    return {name: release[name].frame.drop(columns="_row").to_records(index=False).tolist() for name in release.tables}


def census_terms(published: Path, name: str) -> set[tuple[str, str]]:
    with duckdb.connect(str(published / report_build.REPORTING_DB), read_only=True) as con:
        return set(con.execute(f"SELECT DISTINCT time_period, time_identifier FROM reporting.{name}").fetchall())


def as_autumn_census(spring: Path, autumn: Path) -> None:
    with spring.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        rows = [{**row, "census_date": AUTUMN_DATE} for row in reader]
        fields = reader.fieldnames
    with autumn.open("w", newline="", encoding="utf-8") as target:
        writer = csv.DictWriter(target, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def two_nights(tmp_path_factory):
    env = generated_and_published(tmp_path_factory.mktemp("census_terms"))
    published = Path(env["SEND_WAREHOUSE_DIR"]) / "published"
    before = {
        "id": published.resolve().name,
        "rows": release_rows(published),
        "html": (published / "report" / "index.html").read_text(encoding="utf-8"),
    }
    census = Path(env["SEND_RAW_DIR"]) / "census"
    as_autumn_census(census / "2023_spring.csv", census / "2022_autumn.csv")
    night = send_pipeline(env, "run")
    return before, published, night


def test_a_night_with_an_autumn_census_publishes_it_in_the_tables_by_census_term(two_nights):
    before, published, night = two_nights
    assert night.returncode == 0, night.stdout[-3000:] + night.stderr[-3000:]
    assert published.resolve().name != before["id"]
    for name in sorted(report_build.CENSUS_TERM_TABLES):
        terms = census_terms(published, name)
        assert ("202223", "Spring term") in terms, name
        assert (("202223", "Autumn term") in terms) == (name not in SPRING_ONLY), name


def as_read(html: str, release_id: str) -> str:
    """The report without what differs between two releases of the same figures: the release's id and build time,
    and the rowids its numbers name (the Autumn rows come between the Spring ones)."""
    html = re.sub(r"<time [^>]*>[^<]*</time>", "<time/>", html.replace(release_id, "<release id>"))
    return re.sub(r"\b(send_\w+):\d+:(\w+)", r"\1:<row>:\2", html)  # a cell reference: table:rowid:column


def test_the_report_reads_the_spring_census_as_before(two_nights):
    before, published, night = two_nights
    assert night.returncode == 0, night.stdout[-3000:] + night.stderr[-3000:]
    assert release_rows(published) == before["rows"]  # the report's view of the release: Spring rows only
    html = (published / "report" / "index.html").read_text(encoding="utf-8")
    assert as_read(html, published.resolve().name) == as_read(before["html"], before["id"])
