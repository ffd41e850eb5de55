"""Has anything changed since the last good build? One answer for `send-pipeline run` and the nightly schedule.

A night with no new extracts and no new code must cost almost nothing, so this module imports neither Dagster nor
dbt (DuckDB only, lazily, to read the ledger). It compares three things:

* the drop zone's content hashes (``drop_zone_hashes``; a file whose size and mtime are unchanged keeps its cached
  hash, as the drop-zone sensor does, so a national census is not re-read every night);
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
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.settings import REPO_ROOT, Settings

BUILD_RECORD = Path("state") / "last_build.json"
HASH_CACHE = Path("state") / "drop_zone_hashes.json"
PACKAGE_DIR = REPO_ROOT / "pipeline"
# What of a dbt project changes what it builds (target/, logs/ and dbt_packages/ are its outputs).
DBT_PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "packages.yml", "models", "macros", "seeds", "tests",
                     "snapshots", "analyses")  # fmt: skip
MAX_REASONS_LISTED = 10
REMOVED = "removed"  # raw.file_ledger's sha256 for a file gone from raw/ whose rows the ingest deleted
RELEASE_INPUTS = ("expectations", "report")  # beside the package: GX suites, the analysts' narrative


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


# ---------- the drop zone ----------


# The folders of raw/ a source reads (each source's Contract.source; tests/test_pipeline_e2e.py checks the generator
# writes exactly these).
SOURCE_FOLDERS = ("attainment", "census", "child_health", "deprivation", "dfe", "disability_register", "ehcna",
                  "exclusions", "finance", "placements", "population")  # fmt: skip


def unread_extracts(raw_dir: Path) -> list[str]:
    """Extracts under raw/ in no source's folder (raw/Census/..., raw/transport/..., a file at the top): no source
    would ever read them, so a run with them would lose them without a word."""
    return [
        str(path.relative_to(raw_dir))
        for path in drop_zone_files(raw_dir)
        if len(path.relative_to(raw_dir).parts) == 1 or path.relative_to(raw_dir).parts[0] not in SOURCE_FOLDERS
    ]


def first_and_more(names: Sequence[str]) -> str:
    """The first name and how many more, for a one-line message: `census/a.csv and 2 more`."""
    return names[0] + (f" and {len(names) - 1} more" if len(names) > 1 else "")


def unread_message(unread: list[str]) -> str:
    return (
        f"{first_and_more(unread)} is in no source's folder, so no run would read it: move it into raw/<source>/ "
        f"({', '.join(SOURCE_FOLDERS)}), or out of raw/; no run until then"
    )


SETTLE_SECONDS = 120  # an extract not written to for this long is taken as completely copied in


def settling(mtimes: Mapping[str, int], now_ns: int) -> list[str]:
    """The files (name -> mtime in ns) written to in the last SETTLE_SECONDS: possibly still being copied in."""
    return [name for name, mtime in mtimes.items() if now_ns - mtime < SETTLE_SECONDS * 10**9]


def settling_message(names: Sequence[str], then: str) -> str:
    return f"{first_and_more(names)} written to in the last {SETTLE_SECONDS} s (a copy in progress?): {then}"


def recently_written(raw_dir: Path, now_ns: int) -> list[str]:
    """The extracts under raw/ that may still be being copied in (``settling``)."""
    files = drop_zone_files(raw_dir)
    return settling({str(path.relative_to(raw_dir)): path.stat().st_mtime_ns for path in files}, now_ns)


def drop_zone_files(raw_dir: Path) -> list[Path]:
    """Every extract under raw/ (hidden files, editors' lock files and README.md are not extracts)."""
    if not raw_dir.exists():
        return []
    files = []
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file()):
        parts = path.relative_to(raw_dir).parts
        if any(part.startswith((".", "~$")) for part in parts) or parts == ("README.md",):
            continue
        files.append(path)
    return files


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes (the ingest ledger records the same hash)."""
    return file_sha256_and_lines(path)[0]


UNREADABLE = "unreadable"  # the hash of a file that cannot be read: never a ledger's, so the file counts as changed


def readable_sha256(path: Path) -> str:
    """file_sha256, or UNREADABLE (no permission, gone mid-read): the run is then started and the ingest fails
    naming the file, instead of the check before the run failing with a traceback."""
    try:
        return file_sha256(path)
    except OSError:
        return UNREADABLE


def file_sha256_and_lines(path: Path) -> tuple[str, int]:
    """The sha256 of a file's bytes and its number of lines (LF-terminated, plus a last one without LF), in one
    read in 1 MiB chunks (the ingest numbers rows by the count: ~0.15 s more a 800 MB census than the hash)."""
    digest, lines, last = hashlib.sha256(), 0, b"\n"
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return digest.hexdigest(), lines + (last != b"\n")


Snapshot = dict[str, list]  # file name under raw/ -> [size, mtime_ns, sha256]


def drop_zone_snapshot(raw_dir: Path, previous: Snapshot) -> Snapshot:
    """Every extract of the drop zone with its size, mtime and sha256. A file whose size and mtime are those of
    ``previous`` keeps its recorded hash (no re-read of a large census); any other file is hashed."""
    snapshot: Snapshot = {}
    for path in drop_zone_files(raw_dir):
        name = str(path.relative_to(raw_dir))
        stat = path.stat()
        known = previous.get(name)
        unchanged = bool(known) and known[0] == stat.st_size and known[1] == stat.st_mtime_ns and known[2] != UNREADABLE
        snapshot[name] = known if unchanged else [stat.st_size, stat.st_mtime_ns, readable_sha256(path)]
    return snapshot


def drop_zone_hashes(raw_dir: Path, cache_path: Path | None = None) -> dict[str, str]:
    """File name under raw/ -> sha256. With ``cache_path``, a file whose size and mtime are those cached keeps its
    cached hash (the cache is rewritten); any other file is hashed."""
    cache: Snapshot = {}
    if cache_path is not None and cache_path.exists():
        try:
            cache = json.loads(cache_path.read_text())
        except ValueError:
            cache = {}
    fresh = drop_zone_snapshot(raw_dir, cache)
    if cache_path is not None and fresh != cache:
        _write_json(cache_path, fresh)
    return {name: entry[2] for name, entry in fresh.items()}


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
        rows = con.execute(
            "SELECT file_name, arg_max(sha256, ingested_at) FROM raw.file_ledger GROUP BY file_name"
        ).fetchall()
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
    _write_json(path, asdict(record))
    return path


def forget_build(warehouse_dir: Path) -> None:
    """The next run must not be skipped (e.g. a release that failed after the record was written)."""
    (warehouse_dir / BUILD_RECORD).unlink(missing_ok=True)


def record_build(settings: Settings, release: str | None, con=None) -> BuildRecord:
    """Write the build record for the release just published: the ledger as it is now and this code's version.

    ``con``: an open connection to send.duckdb (the release step's own), else the file is opened read-only.
    """
    if con is not None:
        rows = con.execute(
            "SELECT file_name, arg_max(sha256, ingested_at) FROM raw.file_ledger GROUP BY file_name"
        ).fetchall()
        files = dict(rows)
    else:
        files = ledger_hashes(settings.duckdb_path) or {}
    record = BuildRecord(code_version=code_version(settings), files=files, release=release)
    write_build_record(settings.warehouse_dir, record)
    return record


def nightly_reasons(settings: Settings) -> list[str]:
    """reasons_to_run for this warehouse and drop zone now (hashes cached under warehouse/state/)."""
    built = read_build_record(settings.warehouse_dir)
    if built is None:  # nothing to compare with: skip the hashing
        return reasons_to_run({}, None, None, "")
    try:
        ledger = ledger_hashes(settings.duckdb_path)
    except Exception as error:  # noqa: BLE001 - a locked or unreadable warehouse means: run, and let the run report it
        return [f"the ingest ledger cannot be read ({type(error).__name__})"]
    drop_zone = drop_zone_hashes(settings.raw_dir, settings.warehouse_dir / HASH_CACHE)
    return reasons_to_run(drop_zone, ledger, built, code_version(settings))


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)
