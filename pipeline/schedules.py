"""The nightly job and its schedule: a night with no new extracts and no new code is skipped.

The job's success hook records, once the release step has published, what the release was built from
(pipeline/nightly_state.py); the schedule compares tonight's drop zone, ingest ledger and code with that record
and returns a SkipReason when nothing changed, as `send-pipeline run` does.

While a nightly run is queued or in progress (one the drop-zone sensor or the UI launched), the schedule and the
sensor skip before they open anything: that run builds the release from the drop zone and the code as it finds them,
a second one would only repeat it, and reading send.duckdb's ledger while the run writes it can fail the run's dbt
step (DuckDB: one writing process, and no reader beside it).
"""

import time

import dagster as dg

from pipeline.abandoned_runs import job_runs_pending, release_abandoned_runs
from pipeline.drop_zone import first_and_more, recently_written, settling_message, unread_extracts, unread_message
from pipeline.nightly_state import describe, nightly_reasons, record_build
from pipeline.release import RELEASE_STEP
from pipeline.settings import load_settings


@dg.success_hook(required_resource_keys={"warehouse"})
def record_release_build(context: dg.HookContext) -> None:
    """After the release step succeeds: write warehouse/state/last_build.json (ledger + code version)."""
    if context.step_key != RELEASE_STEP:
        return
    warehouse = context.resources.warehouse
    with warehouse.connect(read_only=True) as con:
        record = record_build(warehouse.settings, release=context.run_id, con=con)
    context.log.info(f"build recorded: {len(record.files)} ingested file(s), code {record.code_version[:12]}")


# In-process: one process, steps in order, so only one step ever writes send.duckdb (DuckDB has one writer)
# and no per-step process start-up (measured on 2 cores: a 3-asset ingest -> dbt build -> publish job took 9 s
# in-process against 18 s with Dagster's default multiprocess executor).
nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    hooks={record_release_build},
    description="Ingest every raw extract, build the dbt marts, run the checks and publish the release.",
)


def release_killed_cli_runs(context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext) -> None:
    """Mark failed (and free the writer slot of) each run of `send-pipeline run` on this host whose process died."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a context built without an instance (unit tests)
        return
    for run_id in release_abandoned_runs(instance):
        context.log.info(f"run {run_id} of send-pipeline run had been killed mid-run: marked failed, slot freed")


def nightly_run_pending(
    context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext, then: str
) -> dg.SkipReason | None:
    """A SkipReason while a run of the nightly job is queued, starting, started or being canceled, else None.

    Asks the Dagster instance only: call it before anything opens send.duckdb, and after release_killed_cli_runs (a
    killed run left STARTED would skip every tick). ``then``: what happens instead."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a context built without an instance (unit tests)
        return None
    if pending := job_runs_pending(instance, nightly_job.name):
        return dg.SkipReason(f"nightly run {first_and_more(pending)} is queued or in progress: {then}")
    return None


def nightly_run_or_skip(reasons: list[str], settling: list[str] = ()) -> dg.RunRequest | dg.SkipReason:
    """A run request naming why, or a SkipReason when there is no reason to run, or when an extract may still be
    being copied in (``settling``: written to in the last SETTLE_SECONDS; read half way, its figures would be
    published and their suppression carried forward)."""
    if not reasons:
        return dg.SkipReason("no new or changed extracts and no code change since the current release was built")
    if settling:
        return dg.SkipReason(
            settling_message(settling, "not run now; the drop-zone sensor runs the job once every extract has settled")
        )
    return dg.RunRequest(tags={"send/trigger": "nightly_schedule", "send/reasons": describe(reasons)[:1000]})


@dg.schedule(
    name="nightly_at_2am",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 2am: the nightly job, unless nothing changed since the current release was built.",
)
def nightly_schedule(context: dg.ScheduleEvaluationContext):
    release_killed_cli_runs(context)
    if busy := nightly_run_pending(context, "not run again tonight; that run builds the release"):
        return busy
    settings = load_settings()
    if unread := unread_extracts(settings.raw_dir):
        return dg.SkipReason(unread_message(unread))
    reasons = nightly_reasons(settings)
    return nightly_run_or_skip(reasons, recently_written(settings.raw_dir, time.time_ns()) if reasons else [])
