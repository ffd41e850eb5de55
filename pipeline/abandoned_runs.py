"""Runs whose process died (kill -9, a power cut, an out-of-memory kill) without telling Dagster.

Such a run stays STARTED in the instance and keeps the slot of pool ``send_duckdb_writer`` its step had claimed, so
the next `send-pipeline run` waits for that slot for ever (at 100 % of a core). `send-pipeline run` tags each run
with its process id, host and warehouse; before it starts, any STARTED or STARTING run of this host whose process is
gone is reported failed and its pool slots are freed, and so is any run tagged with this `send-pipeline run`'s own
warehouse, whatever its process id and host: this process holds the warehouse's run lock, which every `send-pipeline
run` holds until it ends, so no such run is alive (its process id reused after a reboot, or the host renamed as a
container is recreated, made a killed run block every later night). A run launched by the daemon (schedule, sensor,
UI) carries no such tag and is left alone here: Dagster's code server marks it failed when its process dies, run
monitoring frees its slot (dagster_home/dagster.yaml), and only if the code server died too must it be terminated in
the UI. While such a run is in progress, `send-pipeline run` does not start (runs_in_progress): it would wait on that
run's DuckDB lock; while any run is queued or in progress, the schedule and the sensor request nothing
(runs_pending).
"""

import os
import socket
from pathlib import Path

import dagster as dg

PID_TAG = "send/pid"
HOST_TAG = "send/host"
WAREHOUSE_TAG = "send/warehouse"
IN_PROGRESS = (dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING)
# A run that will write send.duckdb or is writing it: queued (or created, not yet queued), starting, started, or
# being canceled (its step still runs until it stops).
PENDING = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, *IN_PROGRESS, dg.DagsterRunStatus.CANCELING)


def run_tags(warehouse_dir: Path) -> dict[str, str]:
    """The tags that let a later run tell whether this process is still alive."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), WAREHOUSE_TAG: str(warehouse_dir.resolve())}


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def abandoned(run: dg.DagsterRun, host: str, locked_warehouse: Path | None = None) -> bool:
    """A run of `send-pipeline run` on this host whose process no longer exists, or (``locked_warehouse``: the
    warehouse whose run lock this process holds) one of that warehouse's."""
    if locked_warehouse is not None and run.tags.get(WAREHOUSE_TAG) == str(locked_warehouse.resolve()):
        return True
    pid = run.tags.get(PID_TAG, "")
    return run.tags.get(HOST_TAG) == host and pid.isdigit() and not process_alive(int(pid))


def release_abandoned_runs(instance: dg.DagsterInstance, locked_warehouse: Path | None = None) -> list[str]:
    """Report every abandoned run failed and free its pool slots; returns their run ids. ``locked_warehouse``: the
    warehouse whose run lock the caller holds (`send-pipeline run`), else None (the schedule, the sensor)."""
    host = socket.gethostname()
    released = []
    for run in instance.get_runs(dg.RunsFilter(statuses=list(IN_PROGRESS))):
        if not abandoned(run, host, locked_warehouse):
            continue
        instance.report_run_failed(run, f"the process of this run ({run.tags[PID_TAG]}) ended without finishing it")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released


def launched_by(run: dg.DagsterRun) -> str:
    """How a run was started, in the words of the Dagster UI."""
    if schedule := run.tags.get("dagster/schedule_name"):
        return f"schedule {schedule}"
    if sensor := run.tags.get("dagster/sensor_name"):
        return f"sensor {sensor}"
    if PID_TAG in run.tags:
        return f"send-pipeline run, pid {run.tags[PID_TAG]} on {run.tags.get(HOST_TAG, 'another host')}"
    return "the Dagster UI or a dagster command"  # neither tags its runs


def described_runs(instance: dg.DagsterInstance, runs: dg.RunsFilter) -> list[str]:
    """Each run of the instance the filter selects, as `<run id> (<launched by>)`."""
    return [f"{run.run_id} ({launched_by(run)})" for run in instance.get_runs(runs)]


def runs_in_progress(instance: dg.DagsterInstance) -> list[str]:
    """Each run of the instance still in progress (abandoned ones released first), as `<run id> (<launched by>)`."""
    return described_runs(instance, dg.RunsFilter(statuses=[*IN_PROGRESS, dg.DagsterRunStatus.CANCELING]))


def runs_pending(instance: dg.DagsterInstance) -> list[str]:
    """Each run of the instance queued, starting, started or being canceled, whatever its job (every run of this code
    location writes send.duckdb: the nightly job, assets materialized from the UI as `__ASSET_JOB`), as
    `<run id> (<launched by>)`."""
    return described_runs(instance, dg.RunsFilter(statuses=list(PENDING)))
