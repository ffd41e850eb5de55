"""A sensor on the raw drop zone: a run when an extract lands or changes, nothing when a file is only touched.

The cursor maps each file (path under raw/) to [size, mtime_ns, sha256]. A file whose size and mtime are unchanged
keeps its recorded hash (no re-read of a large census on every tick); any other file is hashed again, and only a
new hash — a new file or new content — requests a run.
"""

import hashlib
import json
from pathlib import Path

import dagster as dg

from pipeline.ingest import file_sha256
from pipeline.schedules import nightly_job
from pipeline.settings import load_settings

Snapshot = dict[str, list]  # path -> [size, mtime_ns, sha256]


def snapshot_drop_zone(raw_dir: Path, previous: Snapshot) -> Snapshot:
    current: Snapshot = {}
    if not raw_dir.exists():
        return current
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file()):
        name = str(path.relative_to(raw_dir))
        if any(part.startswith(".") or part.startswith("~$") for part in path.relative_to(raw_dir).parts):
            continue  # hidden files and editors' lock files are not extracts
        if name == "README.md":
            continue
        stat = path.stat()
        known = previous.get(name)
        if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            current[name] = known
        else:
            current[name] = [stat.st_size, stat.st_mtime_ns, file_sha256(path)]
    return current


def changed_files(previous: Snapshot, current: Snapshot) -> list[str]:
    """Files that are new or whose content changed (a removed file loads nothing, so it requests nothing)."""
    return [name for name, entry in current.items() if name not in previous or previous[name][2] != entry[2]]


@dg.sensor(
    job=nightly_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a nightly-job run when a new or changed extract lands in the raw drop zone "
    "(content hashes, so a touched but unchanged file triggers nothing).",
)
def raw_drop_zone_sensor(context: dg.SensorEvaluationContext):
    previous: Snapshot = json.loads(context.cursor) if context.cursor else {}
    current = snapshot_drop_zone(load_settings().raw_dir, previous)
    changed = changed_files(previous, current)
    context.update_cursor(json.dumps(current, sort_keys=True))
    if not changed:
        return dg.SkipReason("no new or changed extracts")
    run_key = hashlib.sha256(json.dumps([[n, current[n][2]] for n in changed]).encode()).hexdigest()[:16]
    return dg.RunRequest(
        run_key=run_key, tags={"send/trigger": "raw_drop_zone", "send/changed_files": str(len(changed))}
    )
