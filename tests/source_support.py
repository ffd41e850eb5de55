"""Helpers shared by the source tests (tests/test_<source>_source.py): write an extract, read the quarantine."""

import csv
from pathlib import Path


def write_csv(path: Path, rows: list[dict], header: list[str], encoding: str = "utf-8") -> Path:
    """rows as a CSV file with this header (keys not in it are left out), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


# Every stored column of the quarantine that could carry a value of the file, as one text: all but the file's sha256
# and the time the row was recorded (a timestamp such as 00:51:42.251203 holds the text "2.25" by chance).
QUARANTINE_TEXT = "SELECT * EXCLUDE (file_sha256, recorded_at) FROM raw.quarantine"


# What a source asset's materialization shows in Dagster (pipeline.sources.asset_support.ingest_metadata): files and
# quarantined rows, never a count of rows read or loaded (with the published figures it could give a `c` away).
INGEST_METADATA_KEYS = {"files", "files_loaded", "files_unchanged", "rows_quarantined", "row_counts"}


def assert_ingest_metadata(meta: dict, quarantined: int) -> None:
    assert set(meta) == INGEST_METADATA_KEYS, set(meta) ^ INGEST_METADATA_KEYS
    assert meta["rows_quarantined"] == quarantined


def quarantine(con) -> list[tuple]:
    """(file, row, column, rule) of every quarantined cell, in row order."""
    return con.execute(
        "SELECT file_name, row_number, column_name, rule FROM raw.quarantine ORDER BY row_number, column_name, rule"
    ).fetchall()


# figures.yaml child_health_5_3 key -> (indicator, period, the figure is the count rather than the value): the
# seed's table 5.3, checked in the child-health extract (test_child_health_source) and the marts (test_marts_context)
CHILD_HEALTH_SEED_CELLS = {
    "live_births_2021": ("live_births", "2021", False),
    "aged_0_4_2021": ("children_aged_0_4", "2021", True),
    "aged_0_4_2021_pct": ("children_aged_0_4", "2021", False),
    "aged_0_19_2021": ("children_aged_0_19", "2021", True),
    "aged_0_19_2021_pct": ("children_aged_0_19", "2021", False),
    "aged_0_19_2031_projected": ("children_aged_0_19_projected", "2031", True),
    "aged_0_19_2031_projected_pct": ("children_aged_0_19_projected", "2031", False),
    "pupils_minority_ethnic_2022": ("pupils_minority_ethnic", "2021/22", True),
    "pupils_minority_ethnic_2022_pct": ("pupils_minority_ethnic", "2021/22", False),
    "pupils_semh_2022": ("pupils_semh", "2021/22", True),
    "pupils_semh_2022_pct": ("pupils_semh", "2021/22", False),
    "children_in_poverty_2021_pct": ("children_in_poverty", "2020/21", False),
    "life_expectancy_boys_2018_2020": ("life_expectancy_boys", "2018-2020", False),
    "life_expectancy_girls_2018_2020": ("life_expectancy_girls", "2018-2020", False),
}
