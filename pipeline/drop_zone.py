"""The drop zone raw/: which files are extracts, in which source's folder, settled or still being copied in, and
their sha256 (cached by size, mtime, ctime and inode, so a national census is not re-read every night).

No Dagster, no dbt, no DuckDB: `send-pipeline run`, the nightly schedule and the drop-zone sensor ask these questions
before anything heavy is imported (pipeline/nightly_state.py decides from the answers whether a night can be skipped).
"""

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

# The folders of raw/ a source reads (each source's Contract.source; tests/test_pipeline_e2e.py checks the generator
# writes exactly these).
SOURCE_FOLDERS = ("attainment", "census", "child_health", "deprivation", "dfe", "disability_register", "ehcna",
                  "exclusions", "finance", "health_checks", "placements", "population")  # fmt: skip


# DfE's EHC plans release: raw/dfe/ holds its files under their published names and nothing else (pipeline.sources.dfe
# reads each by that name, one strict contract per file; tests/test_dfe_source.py checks the two lists agree).
DFE_SOURCE = "dfe"
DFE_RELEASE = "ehcp_2025"
DFE_FILE_STEMS = ("caseload", "sen_needs_all_plans", "newplans", "sen_need_newplans", "requests", "assessments",
                  "timeliness_20_week")  # fmt: skip


def dfe_release_globs() -> tuple[str, ...]:
    """The globs (under raw/dfe/) of the DfE files a run reads: the release's folder, each file's published name."""
    return tuple(f"{DFE_RELEASE}/{stem}.csv" for stem in DFE_FILE_STEMS)


def unread_dfe_files(raw_dir: Path) -> list[str]:
    """Files under raw/dfe/ that are no file of the release (read as the contracts read them, by Path.glob): a
    corrected download ``caseload (1).csv``, ``Caseload.CSV``, the next release's folder, a file at the top of dfe/.
    No DfE contract reads them, so a run with them would lose them without a word."""
    folder = Path(raw_dir) / DFE_SOURCE
    read = {path for glob in dfe_release_globs() for path in folder.glob(glob) if path.is_file()}
    return [str(path.relative_to(raw_dir)) for path in drop_zone_files(folder) if path not in read]


def unread_dfe_message(unread: Sequence[str]) -> str:
    """What is wrong with unread_dfe_files' files and what to do (the DfE asset's error, and the drop zone's)."""
    names = ", ".join(f"{stem}.csv" for stem in DFE_FILE_STEMS)
    return (
        f"{first_and_more(unread)}: no file of DfE's EHC plans release {DFE_RELEASE}, so no run would read it: "
        f"raw/{DFE_SOURCE}/ holds only {DFE_RELEASE}/<file> under the release's published names ({names}); "
        "give it its published name (a corrected download replaces the file), or move it out of raw/ "
        f"(a new release needs its own contracts in pipeline/sources/{DFE_SOURCE}.py)"
    )


# The EHCNA extract set: raw/ehcna/<module>_<YYYY-MM-DD>[...].csv|xlsx, one file per module, the extract date taken
# from the name (pipeline.sources.ehcna reads them: its MODULES are these, its contracts' name_pattern is
# ehcna_name_pattern; tests/test_ehcna_source.py checks they agree).
EHCNA_SOURCE = "ehcna"
EHCNA_MODULES = ("person", "request", "assessment", "plan", "annual_review")


def ehcna_name_pattern(module: str) -> str:
    """A module's file names, matched (re.match) against the name: ``<module>_<YYYY-MM-DD>``, then anything
    (``_corrected``, the extension)."""
    return rf"{module}_(?P<extract_date>[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})"


def ehcna_extract_date(module: str, name: str) -> dt.date | None:
    """The extract date a file's name gives as one of the module's files (None: no date, or no such day)."""
    found = re.match(ehcna_name_pattern(module), name)
    try:
        return dt.date.fromisoformat(found["extract_date"]) if found else None
    except ValueError:
        return None


def ehcna_name_error(name: str) -> str | None:
    """What is wrong with a file under raw/ehcna/ (``name``: its path under raw/) that no EHCNA module reads, and
    what its name must be; None for a file a module reads. The EHCNA asset's error, and the drop zone's."""
    path = PurePosixPath(name)
    if len(path.parts) > 2:
        return (
            f"{name}: in a subfolder of {EHCNA_SOURCE}/, which is never read: move it into {EHCNA_SOURCE}/ itself "
            "(or out of raw/)"
        )
    module = next((m for m in EHCNA_MODULES if path.name.startswith(f"{m}_")), None)
    if module is None:
        prefixes = ", ".join(f"{m}_*" for m in EHCNA_MODULES)
        return (
            f"{name}: matches no EHCNA module (file names start {prefixes}, then the extract date: "
            "<module>_<YYYY-MM-DD>[...].csv|xlsx)"
        )
    if ehcna_extract_date(module, path.name) is None:
        return (
            f"{name}: its name gives no extract date: name the module's files {module}_<YYYY-MM-DD>[...].csv|xlsx, "
            f"the date the system exported it (e.g. {module}_2023-06-30.csv)"
        )
    return None


def unread_ehcna_files(raw_dir: Path) -> list[str]:
    """Files under raw/ehcna/ no EHCNA module would read (ehcna_name_error): a module misnamed (``requests_...``),
    a name without a date or with no such day (``request_latest.csv``, ``request_2023-02-30.csv``), a file of no
    module, a file in a subfolder. The EHCNA asset fails naming the first."""
    folder = Path(raw_dir) / EHCNA_SOURCE
    names = (str(path.relative_to(raw_dir)) for path in drop_zone_files(folder))
    return [name for name in names if ehcna_name_error(name) is not None]


def unread_ehcna_message(unread: Sequence[str]) -> str:
    """What is wrong with the first of unread_ehcna_files' files and what to do, and how many more there are."""
    more = len(unread) - 1
    return ehcna_name_error(unread[0]) + (
        f"; and {more} more file(s) under raw/{EHCNA_SOURCE}/ that no EHCNA module reads" if more else ""
    )


# What pipeline.extract_reader reads (CSV, then XLSX); a file of any other type fails its source's ingest.
CSV_SUFFIXES = (".csv", ".txt")
EXTRACT_SUFFIXES = (*CSV_SUFFIXES, ".xlsx")


def unread_source_file_error(name: str) -> str | None:
    """Why a file in the folder of a source that reads every file of its folder (not dfe/ or ehcna/, whose names are
    checked by their own rules) would not be read, or None: in a subfolder, or not CSV or XLSX."""
    parts = PurePosixPath(name).parts
    if len(parts) > 2:
        return (f"{name}: in a subfolder of {parts[0]}/, which is never read: move it into {parts[0]}/ itself "
                "(or out of raw/)")  # fmt: skip
    if PurePosixPath(name).suffix.lower() not in EXTRACT_SUFFIXES:
        return (f"{name}: not a CSV (.csv, .txt) or XLSX file, the only extracts a source reads: save it as one, or "
                "move it out of raw/")  # fmt: skip
    return None


def unread_extracts(raw_dir: Path) -> list[str]:
    """Extracts under raw/ no source would ever read, so a run with them would lose them without a word or fail on
    them: those in no source's folder (raw/Census/..., raw/transport/..., a file at the top), those in raw/dfe/ that
    are no file of the DfE release (unread_dfe_files), those in raw/ehcna/ no EHCNA module reads
    (unread_ehcna_files), and those in another source's folder that are in a subfolder or not CSV or XLSX
    (unread_source_file_error)."""
    names = [str(path.relative_to(raw_dir)) for path in drop_zone_files(raw_dir)]
    outside = [name for name in names if in_no_source_folder(name)]
    unreadable = [
        name
        for name in names
        if name not in outside
        and Path(name).parts[0] not in (DFE_SOURCE, EHCNA_SOURCE)
        and unread_source_file_error(name) is not None
    ]
    return outside + unread_dfe_files(raw_dir) + unread_ehcna_files(raw_dir) + unreadable


def in_no_source_folder(name: str) -> bool:
    """Whether a file (its path under raw/) is at the top of raw/ or in a folder no source reads."""
    parts = Path(name).parts
    return len(parts) == 1 or parts[0] not in SOURCE_FOLDERS


def first_and_more(names: Sequence[str]) -> str:
    """The first name and how many more, for a one-line message: `census/a.csv and 2 more`."""
    return names[0] + (f" and {len(names) - 1} more" if len(names) > 1 else "")


def in_source_folder(name: str, source: str) -> bool:
    """Whether a file (its path under raw/) is in the source's folder."""
    parts = Path(name).parts
    return len(parts) > 1 and parts[0] == source


def unread_message(unread: list[str]) -> str:
    """unread_extracts' files, those in no source's folder first, then DfE's, then EHCNA's, then the other sources'
    (unread_source_file_error): what is wrong and what to do."""
    dfe = [name for name in unread if in_source_folder(name, DFE_SOURCE)]
    ehcna = [name for name in unread if in_source_folder(name, EHCNA_SOURCE)]
    outside = [name for name in unread if in_no_source_folder(name)]
    unreadable = [name for name in unread if name not in (*dfe, *ehcna, *outside)]
    said = []
    if outside:
        said.append(
            f"{first_and_more(outside)} is in no source's folder, so no run would read it: move it into "
            f"raw/<source>/ ({', '.join(SOURCE_FOLDERS)}), or out of raw/"
        )
    if dfe:
        said.append(unread_dfe_message(dfe))
    if ehcna:
        said.append(unread_ehcna_message(ehcna))
    if unreadable:
        more = len(unreadable) - 1
        said.append(unread_source_file_error(unreadable[0]) + (f"; and {more} more such file(s)" if more else ""))
    return "; ".join(said) + "; no run until then"


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


Snapshot = dict[str, list]  # file name under raw/ -> [size, mtime_ns, sha256, ctime_ns, inode]


def file_identity(stat: os.stat_result) -> list[int]:
    """What a file's cached hash is kept for: its size, mtime, ctime and inode. Not size and mtime alone: an edit
    that keeps the length, with the mtime set back (touch -r), or a file copied over another with its mtime (cp -p,
    rsync -t, unzip) keeps both, while the ctime (which no program can set) and the inode change."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino]


def drop_zone_snapshot(raw_dir: Path, previous: Snapshot) -> Snapshot:
    """Every extract of the drop zone with its file_identity and sha256. A file whose identity is that recorded in
    ``previous`` keeps its recorded hash (no re-read of a large census); any other file is hashed (an entry recorded
    before the ctime and inode were, of three items, too: once)."""
    snapshot: Snapshot = {}
    for path in drop_zone_files(raw_dir):
        name = str(path.relative_to(raw_dir))
        size, mtime, ctime, inode = file_identity(path.stat())
        known = previous.get(name)
        unchanged = bool(known) and len(known) == 5 and known[2] != UNREADABLE
        if unchanged and [known[0], known[1], known[3], known[4]] == [size, mtime, ctime, inode]:
            snapshot[name] = known
        else:
            snapshot[name] = [size, mtime, readable_sha256(path), ctime, inode]
    return snapshot


def drop_zone_hashes(raw_dir: Path, cache_path: Path | None = None) -> dict[str, str]:
    """File name under raw/ -> sha256. With ``cache_path``, a file whose file_identity is that cached keeps its
    cached hash (the cache is rewritten); any other file is hashed."""
    cache: Snapshot = {}
    if cache_path is not None and cache_path.exists():
        try:
            cache = json.loads(cache_path.read_text())
        except ValueError:
            cache = {}
    fresh = drop_zone_snapshot(raw_dir, cache)
    if cache_path is not None and fresh != cache:
        write_json(cache_path, fresh)
    return {name: entry[2] for name, entry in fresh.items()}


def write_json(path: Path, data: object) -> None:
    """Write JSON by a rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)
