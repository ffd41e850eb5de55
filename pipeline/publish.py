"""The BI-facing release: warehouse/published/send_reporting.duckdb, schema `reporting`.

Built from the exact marts with every count suppressed and validated (GX suite published_counts, no identifier
column) before anything is written; then written to warehouse/releases/.building-<id>/, renamed to
releases/<id>/, and swapped in by replacing the symlink warehouse/published with os.replace. A reader that opens
published/send_reporting.duckdb sees the last good release, never half of one, and a failed build leaves it
byte-identical.
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
KEEP_RELEASES = 3  # the live release and the two before it (a BI session may still hold one open)


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
    """The release's DuckDB file. Every table carries release_id, so a reader can check it saw one release."""
    with duckdb.connect(str(path)) as out:
        out.execute("CREATE SCHEMA reporting")
        for table, frame in frames.items():
            out.register("_frame", frame)
            out.execute(
                f"CREATE TABLE reporting.{table} AS SELECT *, $release_id AS release_id FROM _frame",
                {"release_id": release_id},
            )
            out.unregister("_frame")
        out.execute(
            "CREATE TABLE reporting.release AS SELECT $release_id AS release_id, $built_at::TIMESTAMPTZ AS built_at, "
            "$tables::VARCHAR[] AS tables",
            {"release_id": release_id, "built_at": built_at, "tables": sorted(frames)},
        )
        out.execute("CHECKPOINT")


def write_parquet(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    folder.mkdir()
    with duckdb.connect() as con:
        for table, frame in frames.items():
            con.register("_frame", frame)
            con.execute(f"COPY _frame TO '{folder / (table + '.parquet')}' (FORMAT parquet)")
            con.unregister("_frame")


def releases_dir(published: Path) -> Path:
    return published.parent / "releases"


def swap_in(published: Path, release_folder: Path) -> None:
    """Point `published` at the new release folder in one rename (a symlink replaced atomically).

    A reader resolves the link when it opens a file, so it gets the old release or the new one, never a mix.
    A `published` left as a real folder by an older version is moved into releases/ once.
    """
    if published.exists() and not published.is_symlink():
        # "00000000-" sorts before every release id, so pruning treats it as the oldest
        os.replace(published, releases_dir(published) / f"00000000-legacy-{uuid.uuid4().hex[:8]}")
    link = published.with_name(f".{published.name}.{uuid.uuid4().hex[:8]}")
    link.symlink_to(os.path.relpath(release_folder, published.parent), target_is_directory=True)
    os.replace(link, published)


def prune_releases(published: Path, keep: int = KEEP_RELEASES) -> None:
    """Keep the live release and the newest few before it; remove abandoned builds and older releases."""
    live = published.resolve() if published.is_symlink() else None
    folders = sorted((p for p in releases_dir(published).iterdir() if p.is_dir()), key=lambda p: p.name)
    for folder in folders:
        if folder.name.startswith(BUILDING_PREFIX) and folder != live:
            shutil.rmtree(folder, ignore_errors=True)
    finished = [p for p in folders if not p.name.startswith(BUILDING_PREFIX) and p.exists()]
    for folder in finished[:-keep]:
        if folder != live:
            shutil.rmtree(folder, ignore_errors=True)


def publish(internal: duckdb.DuckDBPyConnection, published: Path) -> Release:
    """Build, check and swap in a new release. `published` is the BI-facing path (a link to releases/<id>/)."""
    releases = releases_dir(published)
    releases.mkdir(parents=True, exist_ok=True)
    prune_releases(published)
    built_at = datetime.now(UTC)
    release_id = built_at.strftime("%Y%m%dT%H%M%S%fZ-") + uuid.uuid4().hex[:6]
    frames = build_published_frames(internal)
    checks = check_frames(frames)
    building = releases / f"{BUILDING_PREFIX}{release_id}"
    building.mkdir()
    try:
        write_reporting_db(building / "send_reporting.duckdb", frames, release_id, built_at)
        write_parquet(building / "parquet", frames)
        final = releases / release_id
        os.replace(building, final)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    swap_in(published, final)
    prune_releases(published)
    return Release(release_id, published / "send_reporting.duckdb", {t: len(f) for t, f in frames.items()}, checks)
