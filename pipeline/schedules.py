"""The nightly job and its schedule: a night with no new extracts and no new code is skipped.

The job's success hook records, once the release step has published, what the release was built from
(pipeline/nightly_state.py); the schedule compares tonight's drop zone, ingest ledger and code with that record
and returns a SkipReason when nothing changed, as `send-pipeline run` does.

The schedule ticks at 02:00, 02:20 and 02:40 (TICK_MINUTES) and runs the job at most once a night: a tick that
finds an extract written to in the last SETTLE_SECONDS (a copy in progress?) requests nothing, and the next tick
looks again. Leaving such a night to the drop-zone sensor alone lost it whenever the file's content had not changed
(an export job rewriting unchanged extracts at 01:59): the sensor runs on new content only, so a code change or a
release to retry waited for the next night with no recent write. A tick after a run was requested for the night
(tag send/night) requests nothing more; one that finds nothing changed skips as at 02:00.

While any run of the instance is queued or in progress (a nightly run the drop-zone sensor launched, assets
materialized from the UI, a `send-pipeline run` under the same DAGSTER_HOME), the schedule and the sensor skip before
they open anything: every run of this code location writes send.duckdb, and reading its ledger while a run writes it
can fail that run's dbt step (DuckDB: one writing process, and no reader beside it); a nightly run builds the release
from the drop zone and the code as it finds them, so a second one would only repeat it.
"""

import time
from zoneinfo import ZoneInfo

import dagster as dg

from pipeline.abandoned_runs import release_abandoned_runs, runs_pending
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


def instance_of(context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext) -> dg.DagsterInstance | None:
    """The tick's Dagster instance, or None for a context built without one (unit tests)."""
    try:
        return context.instance
    except dg.DagsterInvariantViolationError:
        return None


def release_killed_cli_runs(context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext) -> None:
    """Mark failed (and free the writer slot of) each run of `send-pipeline run` on this host whose process died."""
    if (instance := instance_of(context)) is None:
        return
    for run_id in release_abandoned_runs(instance):
        context.log.info(f"run {run_id} of send-pipeline run had been killed mid-run: marked failed, slot freed")


def run_queued_or_in_progress(
    context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext, then: str
) -> dg.SkipReason | None:
    """A SkipReason naming the run and who launched it while any run of the instance is queued, starting, started or
    being canceled (each writes send.duckdb), else None.

    Asks the Dagster instance only: call it before anything opens send.duckdb, and after release_killed_cli_runs (a
    killed run left STARTED would skip every tick). ``then``: what happens instead."""
    if (instance := instance_of(context)) is None:
        return None
    if pending := runs_pending(instance):
        return dg.SkipReason(
            f"run {first_and_more(pending)} is queued or in progress (it writes send.duckdb, one writer at a time): "
            f"{then}"
        )
    return None


TIMEZONE = "Europe/London"
TICK_MINUTES = (0, 20, 40)  # past 2am: a night deferred while an extract was being written is looked at again
NIGHT_TAG = "send/night"  # the date of the night a schedule tick requested the run for (YYYY-MM-DD)


def later_ticks(minute: int) -> str:
    """The night's ticks after the one at 02:``minute``, as "02:20, 02:40"; "" after the last."""
    return ", ".join(f"02:{m:02d}" for m in TICK_MINUTES if m > minute)


def tick_minute(context: dg.ScheduleEvaluationContext) -> int:
    """The minute past 2am the tick was scheduled for, in Europe/London."""
    return context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE)).minute


def night_of(context: dg.ScheduleEvaluationContext) -> str:
    """The date of the night the tick belongs to, in Europe/London."""
    return context.scheduled_execution_time.astimezone(ZoneInfo(TIMEZONE)).date().isoformat()


def run_of_the_night(context: dg.ScheduleEvaluationContext, night: str) -> dg.SkipReason | None:
    """A SkipReason when an earlier tick requested a run for this night (whatever became of it), else None."""
    if (instance := instance_of(context)) is None:
        return None
    runs = instance.get_runs(dg.RunsFilter(job_name=nightly_job.name, tags={NIGHT_TAG: night}), limit=1)
    if runs:
        return dg.SkipReason(f"tonight's nightly run {runs[0].run_id} was requested by an earlier tick")
    return None


def nightly_run_or_skip(
    reasons: list[str], settling: list[str] = (), night: str = "", later: str = ""
) -> dg.RunRequest | dg.SkipReason:
    """A run request naming why, or a SkipReason when there is no reason to run, or when an extract may still be
    being copied in (``settling``: written to in the last SETTLE_SECONDS; read half way, its figures would be
    published and their suppression carried forward). ``later``: the night's ticks still to come (later_ticks)."""
    if not reasons:
        return dg.SkipReason("no new or changed extracts and no code change since the current release was built")
    if settling:
        again = f"the schedule looks again at its next tick ({later})" if later else "this was the night's last tick"
        then = f"not run now; {again}, and the drop-zone sensor runs the job once a changed extract has settled"
        return dg.SkipReason(settling_message(settling, then))
    tags = {"send/trigger": "nightly_schedule", "send/reasons": describe(reasons)[:1000]}
    return dg.RunRequest(tags={**tags, NIGHT_TAG: night} if night else tags)


@dg.schedule(
    name="nightly_at_2am",
    job=nightly_job,
    cron_schedule=f"{','.join(str(m) for m in TICK_MINUTES)} 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 2am: the nightly job, unless nothing changed since the current release was built "
    "(at 02:20 and 02:40 again if an extract was still being written, once a night at most).",
)
def nightly_schedule(context: dg.ScheduleEvaluationContext):
    release_killed_cli_runs(context)
    later = later_ticks(tick_minute(context))
    after_the_run = (
        f"not run now; a later tick ({later}) looks again"
        if later
        else "not run now; this was the night's last tick: the drop-zone sensor runs the job on changed extracts, "
        "else the next night does"
    )
    if busy := run_queued_or_in_progress(context, after_the_run):
        return busy
    night = night_of(context)
    if done := run_of_the_night(context, night):
        return done
    settings = load_settings()
    if unread := unread_extracts(settings.raw_dir):
        return dg.SkipReason(unread_message(unread))
    reasons = nightly_reasons(settings)
    settling = recently_written(settings.raw_dir, time.time_ns()) if reasons else []
    return nightly_run_or_skip(reasons, settling, night, later)
