"""pipeline.abandoned_runs: which runs a later `send-pipeline run` may declare dead (pure checks, a temporary
Dagster instance)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg

from pipeline.abandoned_runs import (
    HOST_TAG,
    PID_TAG,
    WAREHOUSE_TAG,
    abandoned,
    launched_by,
    release_abandoned_runs,
    run_tags,
    runs_in_progress,
    runs_pending,
)

POOL = "send_duckdb_writer"


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def run_with(tags: dict, status=dg.DagsterRunStatus.STARTED) -> dg.DagsterRun:
    return dg.DagsterRun(job_name="nightly", tags=tags, status=status)


def test_only_a_run_of_this_host_whose_process_is_gone_is_abandoned():
    host = socket.gethostname()
    assert abandoned(run_with({PID_TAG: str(dead_pid()), HOST_TAG: host}), host)
    assert not abandoned(run_with({PID_TAG: str(os.getpid()), HOST_TAG: host}), host)  # alive
    assert not abandoned(run_with({PID_TAG: str(dead_pid()), HOST_TAG: "another-host"}), host)
    assert not abandoned(run_with({}), host)  # launched by the daemon: no tags, left alone
    assert run_tags(Path("warehouse")) == {
        PID_TAG: str(os.getpid()), HOST_TAG: host, WAREHOUSE_TAG: str(Path("warehouse").resolve())
    }  # fmt: skip


def test_a_run_of_the_warehouse_whose_run_lock_this_process_holds_is_abandoned_whatever_its_pid_and_host(tmp_path):
    """Killed, then its process id taken by another process (after a reboot) or the host renamed (a container made
    again): the run was alive by its tags, and every later `send-pipeline run` stopped on it. The run lock of its
    warehouse, held by the caller, says no `send-pipeline run` of that warehouse is alive."""
    host = socket.gethostname()
    warehouse, other = tmp_path / "warehouse", tmp_path / "other"
    reused = run_with({**run_tags(warehouse), PID_TAG: str(os.getpid())})  # an alive process has its pid
    renamed = run_with({**run_tags(warehouse), PID_TAG: str(dead_pid()), HOST_TAG: "the-old-container"})
    assert not abandoned(reused, host) and not abandoned(renamed, host)
    assert abandoned(reused, host, locked_warehouse=warehouse) and abandoned(renamed, host, locked_warehouse=warehouse)
    assert not abandoned(run_with(run_tags(other)), host, locked_warehouse=warehouse)  # another warehouse's: alive
    assert not abandoned(run_with({}), host, locked_warehouse=warehouse)  # the daemon's: left alone


def test_an_abandoned_run_is_failed_and_its_slot_freed_a_live_one_kept(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.event_log_storage.set_concurrency_slots(POOL, 1)
        dead = instance.add_run(run_with({PID_TAG: str(dead_pid()), HOST_TAG: socket.gethostname()}))
        live = instance.add_run(run_with(run_tags(tmp_path)))
        assert instance.event_log_storage.claim_concurrency_slot(POOL, dead.run_id, "raw__census_pupils").is_claimed
        assert release_abandoned_runs(instance) == [dead.run_id]
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(live.run_id).status == dg.DagsterRunStatus.STARTED
        assert instance.event_log_storage.get_concurrency_info(POOL).claimed_slots == []
        assert release_abandoned_runs(instance) == []


def test_a_run_the_daemon_launched_is_in_progress_until_it_ends(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert runs_in_progress(instance) == []
        scheduled = instance.add_run(run_with({"dagster/schedule_name": "nightly_schedule"}))
        instance.add_run(run_with({}, status=dg.DagsterRunStatus.SUCCESS))
        assert runs_in_progress(instance) == [f"{scheduled.run_id} (schedule nightly_schedule)"]
        instance.report_run_failed(instance.get_run_by_id(scheduled.run_id), "ended")
        assert runs_in_progress(instance) == []


def test_launched_by_names_the_schedule_the_sensor_a_cli_run_or_the_ui():
    assert launched_by(run_with({"dagster/sensor_name": "raw_extracts"})) == "sensor raw_extracts"
    assert launched_by(run_with({PID_TAG: "42", HOST_TAG: "h"})) == "send-pipeline run, pid 42 on h"
    assert launched_by(run_with({})) == "the Dagster UI or a dagster command"


def test_a_run_of_any_job_is_pending_while_queued_starting_started_or_canceling(tmp_path):
    """Every run of this code location writes send.duckdb (the nightly job, assets materialized from the UI). A
    queued run needs a code location's origin: tests/test_no_change.py queues one."""
    status = dg.DagsterRunStatus
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        runs = {
            s: instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", status=s))
            for s in (status.NOT_STARTED, status.STARTING, status.STARTED, status.CANCELING, status.SUCCESS,
                      status.FAILURE, status.CANCELED)
        }  # fmt: skip
        pending = (status.NOT_STARTED, status.STARTING, status.STARTED, status.CANCELING)
        by = "the Dagster UI or a dagster command"
        assert sorted(runs_pending(instance)) == sorted(f"{runs[s].run_id} ({by})" for s in pending)
