"""Has anything changed since the last good build? One answer for `send-pipeline run` and the nightly schedule.

A night with no new extracts and no new code must cost almost nothing, so this module imports neither Dagster nor
dbt (DuckDB only, lazily, to read the ledger). It compares three things:

* the drop zone's content hashes (``pipeline.drop_zone.drop_zone_hashes``; a file whose size, mtime, ctime and
  inode are unchanged keeps its cached hash, as the drop-zone sensor does, so a national census is not re-read every
  night);
* the ingest ledger (``raw.file_ledger``: the sha256 of the version of each file last ingested);
* the build record (``warehouse/state/last_build.json``): the ledger and the code version (the ``pipeline``
  package, the dbt project and SEND_LA_CODE) at the moment the current release was published, written by the
  nightly job's success hook on the release step (pipeline/schedules.py).

``reasons_to_run`` (pure) lists what differs; an empty list means the current release was built from exactly
these files with exactly this code, and the night can be skipped.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.drop_zone import drop_zone_hashes, write_json
from pipeline.settings import REPO_ROOT, STAGING_PREFIX, Settings

BUILD_RECORD = Path("state") / "last_build.json"
HASH_CACHE = Path("state") / "drop_zone_hashes.json"
PACKAGE_DIR = REPO_ROOT / "pipeline"
# What of a dbt project changes what it builds (target/, logs/ and dbt_packages/ are its outputs).
DBT_PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "seeds", "tests",
                     "snapshots", "analyses")  # fmt: skip
MAX_REASONS_LISTED = 10
REMOVED = "removed"  # raw.file_ledger's sha256 for a file gone from raw/ whose rows the ingest deleted
RELEASE_INPUTS = ("expectations", "report")  # beside the package: GX suites, the analysts' narrative
# Each file's version last ingested (a corrected extract is ingested again under its name: the later row counts).
LATEST_LEDGER_HASHES = "SELECT file_name, arg_max(sha256, ingested_at) FROM raw.file_ledger GROUP BY file_name"


@dataclass(frozen=True)
class BuildRecord:
    """What the current release was built from: the ledger's file hashes and the code version."""

    code_version: str
    files: dict[str, str]  # file name under raw/ -> sha256 of the version ingested
    release: str | None = None
    recorded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def reasons_to_run(
    drop_zone: Mapping[str, str],
    ledger: Mapping[str, str] | None,
    built: BuildRecord | None,
    code_version: str,
) -> list[str]:
    """Why tonight's run is needed; empty when nothing changed since the current release was built.

    ``drop_zone`` and ``ledger`` map a file name under raw/ to its sha256 (``ledger`` is None when the warehouse
    has none yet). A file removed from the drop zone is a reason until the ingest has deleted its rows (the ledger
    then records it REMOVED).
    """
    if built is None:
        return ["no successful build is recorded for this warehouse"]
    if ledger is None:
        return ["the warehouse has no ingest ledger"]
    reasons = []
    if code_version != built.code_version:
        reasons.append("the code or the dbt project changed since the current release was built")
    # A file outside every folder a source has ingested from (a note in raw/, a folder no source reads) is not an
    # extract: it would otherwise make every night run. A new source arrives with new code, which runs anyway.
    source_folders = {_folder(name) for name in ledger}
    for name, sha256 in sorted(drop_zone.items()):
        if name not in ledger:
            if _folder(name) in source_folders:
                reasons.append(f"{name} is new")
        elif ledger[name] != sha256:
            reasons.append(f"{name} changed")
    for name, sha256 in sorted(ledger.items()):
        if sha256 != REMOVED and name not in drop_zone:
            reasons.append(f"{name} was removed")
    for name, sha256 in sorted(ledger.items()):
        if built.files.get(name) != sha256:
            reasons.append(f"{name} was ingested after the current release was built")
    return reasons


def _folder(name: str) -> str | None:
    """The source folder of a file name under raw/ (None for a file directly in raw/)."""
    parts = Path(name).parts
    return parts[0] if len(parts) > 1 else None


def describe(reasons: list[str]) -> str:
    """The reasons as one line, the first few named."""
    shown = "; ".join(reasons[:MAX_REASONS_LISTED])
    more = len(reasons) - MAX_REASONS_LISTED
    return shown + (f"; and {more} more" if more > 0 else "")


# ---------- the code ----------


def tree_files(root: Path, parts: Iterable[str] | None = None, suffixes: tuple[str, ...] = ()) -> list[Path]:
    """Files under root (or under root/<part> for each part), skipping caches and hidden folders."""
    tops = [root] if parts is None else [root / part for part in parts]
    found = []
    for top in tops:
        candidates = [top] if top.is_file() else (top.rglob("*") if top.is_dir() else [])
        for path in candidates:
            relative = path.relative_to(root).parts
            if not path.is_file() or any(p.startswith(".") or p == "__pycache__" for p in relative):
                continue
            if suffixes and path.suffix not in suffixes:
                continue
            found.append(path)
    return sorted(found)


def files_digest(root: Path, files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def dbt_project_version(project_dir: Path, la_code: str) -> str:
    """The dbt project's files and the configuration its SQL reads (var la_code)."""
    files = tree_files(project_dir, DBT_PROJECT_PARTS)
    return hashlib.sha256(f"{files_digest(project_dir, files)}|la_code={la_code}".encode()).hexdigest()


def code_version(settings: Settings, package_dir: Path = PACKAGE_DIR) -> str:
    """What turns files into a release: the pipeline package (Python and the report template), the GX suites, the
    analysts' narrative, and the dbt project (with SEND_LA_CODE)."""
    package = files_digest(package_dir, tree_files(package_dir, suffixes=(".py", ".html")))
    root = package_dir.parent
    package += "|" + files_digest(root, tree_files(root, RELEASE_INPUTS))
    dbt = dbt_project_version(settings.dbt_project_dir, settings.la_code)
    return hashlib.sha256(f"{package}|{dbt}".encode()).hexdigest()


# ---------- the warehouse's records ----------


class LedgerLocked(Exception):
    """send.duckdb is open for writing in another process, so its ledger cannot be read; ``holder``: that process, in
    DuckDB's words."""

    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder


def lock_holder(error: BaseException) -> str | None:
    """The process whose lock on send.duckdb made a connect fail, as DuckDB names it (`/usr/bin/python3 (PID 4242)`),
    or "another process" when it names none; None for an error that is no lock conflict."""
    message = str(error)
    if "Could not set lock on file" not in message:
        return None
    found = re.search(r"Conflicting lock is held in (.+?)(?:\. See also|\.?$)", message)
    return found[1] if found else "another process"


def raise_if_locked(duckdb_path: Path, *, to_write: bool = False) -> None:
    """Raise LedgerLocked when another process has send.duckdb open for writing (a read-only connect fails on its
    lock), or with ``to_write`` open at all (a reader's shared lock stops every writer: a run would fail each ingest
    step on it after its retries); any other error is left for the run to report."""
    if not duckdb_path.exists():
        return
    import duckdb

    try:
        duckdb.connect(str(duckdb_path), read_only=not to_write).close()
    except duckdb.Error as error:
        if holder := lock_holder(error):
            raise LedgerLocked(holder) from None


def ledger_hashes(duckdb_path: Path) -> dict[str, str] | None:
    """File name -> sha256 of the version last ingested, from raw.file_ledger; None without a ledger.

    Opened read-only; a warehouse another process is writing cannot be opened, which raises duckdb.Error.
    """
    if not duckdb_path.exists():
        return None
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' AND table_name = 'file_ledger'"
        ).fetchone()[0]
        if not exists:
            return None
        rows = con.execute(LATEST_LEDGER_HASHES).fetchall()
    return dict(rows)


def read_build_record(warehouse_dir: Path) -> BuildRecord | None:
    path = warehouse_dir / BUILD_RECORD
    try:
        data = json.loads(path.read_text())
        return BuildRecord(**data)
    except (OSError, ValueError, TypeError):
        return None


def write_build_record(warehouse_dir: Path, record: BuildRecord) -> Path:
    path = warehouse_dir / BUILD_RECORD
    write_json(path, asdict(record))
    return path


def forget_build(warehouse_dir: Path) -> None:
    """The next run must not be skipped (e.g. a release that failed after the record was written)."""
    (warehouse_dir / BUILD_RECORD).unlink(missing_ok=True)


def record_build(settings: Settings, release: str | None, con=None) -> BuildRecord:
    """Write the build record for the release just published: the ledger as it is now and this code's version.

    ``con``: an open connection to send.duckdb (the release step's own), else the file is opened read-only.
    """
    if con is not None:
        rows = con.execute(LATEST_LEDGER_HASHES).fetchall()
        files = dict(rows)
    else:
        files = ledger_hashes(settings.duckdb_path) or {}
    record = BuildRecord(code_version=code_version(settings), files=files, release=release)
    write_build_record(settings.warehouse_dir, record)
    return record


def nightly_reasons(settings: Settings, *, stop_when_locked: bool = False) -> list[str]:
    """reasons_to_run for this warehouse and drop zone now (hashes cached under warehouse/state/).

    ``stop_when_locked``: raise LedgerLocked when another process has send.duckdb open for writing (`send-pipeline
    run` then says which run or process), instead of giving it as a reason to run."""
    built = read_build_record(settings.warehouse_dir)
    if built is None:  # nothing to compare with: skip the hashing
        if stop_when_locked:
            raise_if_locked(settings.duckdb_path)
        return reasons_to_run({}, None, None, "")
    try:
        ledger = ledger_hashes(settings.duckdb_path)
    except Exception as error:  # noqa: BLE001 - a locked or unreadable warehouse means: run, and let the run report it
        if stop_when_locked and (holder := lock_holder(error)):
            raise LedgerLocked(holder) from None
        return [f"the ingest ledger cannot be read ({type(error).__name__})"]
    drop_zone = drop_zone_hashes(settings.raw_dir, settings.warehouse_dir / HASH_CACHE)
    reasons = reasons_to_run(drop_zone, ledger, built, code_version(settings))
    if not settings.reporting_path.exists():  # a release folder removed or moved: the link names nothing
        reasons.append(f"the published release {settings.reporting_path} is missing")
    if not reasons:
        clear_stale_scratch(settings)
    return reasons


def clear_stale_scratch(settings: Settings) -> list[Path]:
    """Remove the staging folders a run killed mid-file left beside send.duckdb (they hold raw identifiers): the
    ingest removes them when it next stages a file, which a night with nothing to load never does. Removed only
    while this process holds send.duckdb's write lock, so no ingest is staging a file then; when another process has
    the warehouse open they are left (for that run, or the next night). Returns the folders removed."""
    import shutil

    folder = settings.duckdb_temp_dir
    stale = sorted(folder.glob(f"{STAGING_PREFIX}*")) if folder.is_dir() else []
    if not stale or not settings.duckdb_path.exists():
        return []
    import duckdb

    try:
        con = duckdb.connect(str(settings.duckdb_path), config=settings.duckdb_config())
    except duckdb.Error:
        return []
    with con:
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)
    return stale
