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


def quarantine(con) -> list[tuple]:
    """(file, row, column, rule) of every quarantined cell, in row order."""
    return con.execute(
        "SELECT file_name, row_number, column_name, rule FROM raw.quarantine ORDER BY row_number, column_name, rule"
    ).fetchall()
