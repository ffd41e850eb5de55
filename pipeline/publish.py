"""The BI-facing release: warehouse/published/send_reporting.duckdb, schema `reporting`.

Built from the exact marts in a temporary folder beside the live file, with every count suppressed, validated
(GX suite published_counts, no identifier column), then swapped in with os.replace: a reader that opens the
published file sees the last good release, never half of one, and a failed build leaves it byte-identical.
"""

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.checks.gx import SuiteResult, run_suite
from pipeline.suppression.primary import suppress_counts

# mart -> its count columns (every other column is a filter or label). The BI contract: keep these names.
PUBLISHED_TABLES: dict[str, tuple[str, ...]] = {
    "fct_send_primary_need": ("pupils",),
    "fct_send_provision": ("pupils", "pupils_pupil_premium", "pupils_fsm"),
}
# Column-name fragments that mean a pupil-level identifier; none may reach a published table.
IDENTIFIER_FRAGMENTS = ("upn", "pupil_id", "person_id", "register_id", "dob", "birth", "postcode", "surname",
                        "forename")  # fmt: skip
BUILDING_PREFIX = ".building-"


class PublicationError(RuntimeError):
    """The new release failed a blocking check; the previous release is untouched."""


@dataclass(frozen=True)
class Release:
    release_id: str
    path: Path
    tables: dict[str, int]
    checks: tuple[SuiteResult, ...]


def identifier_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if any(fragment in c.lower() for fragment in IDENTIFIER_FRAGMENTS)]


def build_published_frames(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    frames = {}
    for table, counts in PUBLISHED_TABLES.items():
        exact = con.execute(f"SELECT * FROM marts.{table}").df()
        frames[table] = suppress_counts(exact, counts)
    return frames


def check_frames(frames: dict[str, pd.DataFrame]) -> tuple[SuiteResult, ...]:
    """Every blocking check of the release; raises PublicationError naming the failures."""
    results = []
    problems = []
    for table, frame in frames.items():
        leaked = identifier_columns(frame)
        if leaked:
            problems.append(f"{table}: identifier column(s) {', '.join(leaked)}")
        result = run_suite("published_counts", frame, count_columns=list(PUBLISHED_TABLES[table]))
        results.append(result)
        if not result.success:
            problems.append(f"{table}: {result.summary()}")
    if problems:
        raise PublicationError("release not published, previous release left in place: " + " | ".join(problems))
    return tuple(results)


def write_reporting_db(path: Path, frames: dict[str, pd.DataFrame], release_id: str, built_at: datetime) -> None:
    with duckdb.connect(str(path)) as out:
        out.execute("CREATE SCHEMA reporting")
        for table, frame in frames.items():
            out.register("_frame", frame)
            out.execute(f"CREATE TABLE reporting.{table} AS SELECT * FROM _frame")
            out.unregister("_frame")
        out.execute(
            "CREATE TABLE reporting.release AS SELECT $release_id AS release_id, $built_at::TIMESTAMPTZ AS built_at, "
            "$tables::VARCHAR[] AS tables",
            {"release_id": release_id, "built_at": built_at, "tables": sorted(frames)},
        )
        out.execute("CHECKPOINT")


def clear_abandoned_builds(published_dir: Path) -> None:
    """A crashed run may leave a half-built folder; it was never live, so it is safe to remove."""
    for folder in published_dir.glob(BUILDING_PREFIX + "*"):
        shutil.rmtree(folder, ignore_errors=True)


def publish(internal: duckdb.DuckDBPyConnection, published_dir: Path) -> Release:
    published_dir.mkdir(parents=True, exist_ok=True)
    clear_abandoned_builds(published_dir)
    built_at = datetime.now(UTC)
    release_id = built_at.strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
    frames = build_published_frames(internal)
    checks = check_frames(frames)
    building = published_dir / f"{BUILDING_PREFIX}{release_id}"
    building.mkdir()
    try:
        candidate = building / "send_reporting.duckdb"
        write_reporting_db(candidate, frames, release_id, built_at)
        live = published_dir / "send_reporting.duckdb"
        os.replace(candidate, live)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return Release(release_id, live, {t: len(f) for t, f in frames.items()}, checks)
