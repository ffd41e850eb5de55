"""A sensor on the raw drop zone: a run when an extract lands, changes or is removed, nothing when a file is only
touched.

The cursor maps each file (path under raw/) to [size, mtime_ns, sha256, ctime_ns, inode]
(pipeline.drop_zone.drop_zone_snapshot, the same snapshot `send-pipeline run` compares with the ingest ledger). A
file whose size, mtime, ctime and inode are unchanged keeps its recorded hash (no re-read of a large census on every
tick); any other file is hashed again, and only a new hash (a new file or new content) or a file gone requests a
run. On the first tick (no cursor yet: a new
daemon, or the sensor first turned on) every file is new to the cursor: it requests a run only when the nightly
schedule would (pipeline.nightly_state.nightly_reasons: something changed since the current release was built).

A file written to in the last SETTLE_SECONDS may still be being copied in (a census copied slowly was ingested
half-read and published): while any changed file is that recent, the tick requests nothing and keeps its cursor, so
the next tick sees the change again. The run key names the changed versions and the tick the change is measured from
(the last completed tick), so an extract removed and put back as it was gets a run of its own, while the same tick
evaluated twice still requests one run.

While any run of the instance is queued or in progress (a nightly run, assets materialized from the UI: each writes
send.duckdb), the tick requests nothing and keeps its cursor (it opens nothing: reading send.duckdb's ledger while that
run writes it can fail the run's dbt step), so the changes made meanwhile, however many, are seen together once the
run has finished and get one run.

Each tick first releases the runs of `send-pipeline run` on this host whose process was killed outright
(pipeline/abandoned_runs.py): left STARTED, such a run would keep every daemon run QUEUED (one run at a time).
"""

import hashlib
import json
import time

import dagster as dg

from pipeline.drop_zone import Snapshot, drop_zone_snapshot, settling, settling_message, unread_extracts, unread_message
from pipeline.nightly_state import REMOVED, nightly_reasons
from pipeline.schedules import nightly_job, release_killed_cli_runs, run_queued_or_in_progress
from pipeline.settings import load_settings


def changed_files(previous: Snapshot, current: Snapshot) -> list[str]:
    """Files that are new, whose content changed, or that were removed (the run deletes a removed file's rows)."""
    changed = [name for name, entry in current.items() if name not in previous or previous[name][2] != entry[2]]
    return changed + [name for name in previous if name not in current]


@dg.sensor(
    job=nightly_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a nightly-job run when a new or changed extract lands in the raw drop zone, or one is "
    "removed (content hashes, so a touched but unchanged file triggers nothing).",
)
def raw_drop_zone_sensor(context: dg.SensorEvaluationContext):
    release_killed_cli_runs(context)
    if busy := run_queued_or_in_progress(context, "changes are looked at once it has finished"):  # cursor kept
        return busy
    settings = load_settings()
    if unread := unread_extracts(settings.raw_dir):  # cursor kept: the change is seen once the file is moved
        return dg.SkipReason(unread_message(unread))
    previous: Snapshot = json.loads(context.cursor) if context.cursor else {}
    current = drop_zone_snapshot(settings.raw_dir, previous)
    changed = changed_files(previous, current)
    # the changed files' mtimes, in the snapshot; while one is recent the cursor is kept: the change is seen again
    # once the copy has finished
    if writing := settling({n: current[n][1] for n in changed if n in current}, time.time_ns()):
        return dg.SkipReason(settling_message(writing, "waiting for it to settle"))
    context.update_cursor(json.dumps(current, sort_keys=True))
    if not changed:
        return dg.SkipReason("no new or changed extracts")
    if not previous and not nightly_reasons(settings):  # first tick: every file is new to an empty cursor
        return dg.SkipReason("first tick: no new or changed extracts since the current release was built")
    versions = [[n, current[n][2] if n in current else REMOVED] for n in changed]
    since = context.last_tick_completion_time  # the tick whose cursor the change is measured from
    run_key = hashlib.sha256(json.dumps([versions, since]).encode()).hexdigest()[:16]
    return dg.RunRequest(
        run_key=run_key, tags={"send/trigger": "raw_drop_zone", "send/changed_files": str(len(changed))}
    )
