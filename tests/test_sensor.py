"""The drop-zone sensor: a new or changed extract requests a run; a touched but unchanged file does not."""

import json
import os
import time

import dagster as dg
import duckdb
import pytest

from pipeline.drop_zone import drop_zone_snapshot, file_sha256
from pipeline.ingest import ensure_raw_schema
from pipeline.nightly_state import record_build
from pipeline.sensors import changed_files, raw_drop_zone_sensor
from pipeline.settings import load_settings

from support import nightly_run


@pytest.fixture
def drop_zone(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "census").mkdir(parents=True)
    monkeypatch.setenv("SEND_RAW_DIR", str(raw))
    monkeypatch.setenv("SEND_WAREHOUSE_DIR", str(tmp_path / "warehouse"))  # none built yet
    return raw


def tick(cursor=None, last_tick=None):
    """One evaluation as the daemon makes it: the cursor and the time of the last tick it completed."""
    context = dg.SensorEvaluationContext(instance_ref=None, cursor=cursor, last_tick_completion_time=last_tick)
    result = raw_drop_zone_sensor(context)
    return result, context.cursor


def settled(path, seconds_ago=600):
    """The file as a finished copy: last written ``seconds_ago`` (a file written just now may still be copied in)."""
    then = time.time_ns() - seconds_ago * 10**9
    os.utime(path, ns=(then, then))
    return path


def write(path, text):
    path.write_text(text)
    return settled(path)


def test_new_file_requests_a_run_then_nothing(drop_zone):
    write(drop_zone / "census" / "2023_spring.csv", "upn\nA\n")
    result, cursor = tick()
    assert isinstance(result, dg.RunRequest)
    again, _ = tick(cursor)
    assert isinstance(again, dg.SkipReason)


def test_a_first_tick_on_the_files_of_the_current_release_requests_nothing(drop_zone):
    """A daemon started (or its sensor first turned on) over a drop zone the release was built from: no run."""
    path = write(drop_zone / "census" / "2023_spring.csv", "upn\nA\n")
    settings = load_settings()
    settings.warehouse_dir.mkdir()
    with duckdb.connect(str(settings.duckdb_path)) as con:
        ensure_raw_schema(con)
        con.execute(
            "INSERT INTO raw.file_ledger (source, file_name, sha256, rows_read, rows_loaded, rows_quarantined) "
            "VALUES ('census', 'census/2023_spring.csv', ?, 1, 1, 0)",
            [file_sha256(path)],
        )
    record_build(settings, release="r1")
    settings.published_dir.mkdir()
    duckdb.connect(str(settings.reporting_path)).close()  # the release it published
    result, cursor = tick()
    assert isinstance(result, dg.SkipReason)
    write(path, "upn\nB\n")
    assert isinstance(tick(cursor)[0], dg.RunRequest)


def test_touched_but_unchanged_file_triggers_nothing(drop_zone):
    path = write(drop_zone / "census" / "2023_spring.csv", "upn\nA\n")
    _, cursor = tick()
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    result, new_cursor = tick(cursor)
    assert isinstance(result, dg.SkipReason)
    assert json.loads(new_cursor)["census/2023_spring.csv"][1] == stat.st_mtime_ns + 5_000_000_000


def test_changed_content_requests_a_run_with_a_new_run_key(drop_zone):
    path = write(drop_zone / "census" / "2023_spring.csv", "upn\nA\n")
    first, cursor = tick()
    write(path, "upn\nB\n")
    second, _ = tick(cursor)
    assert isinstance(second, dg.RunRequest) and second.run_key != first.run_key


def test_hidden_and_lock_files_are_ignored(drop_zone):
    (drop_zone / "census" / ".2023_spring.csv.swp").write_text("x")
    (drop_zone / "census" / "~$2023_spring.xlsx").write_text("x")
    assert drop_zone_snapshot(drop_zone, {}) == {}


def test_changed_files_is_pure():
    previous = {"a": [1, 1, "h1"], "b": [1, 1, "h2"]}
    current = {"a": [1, 2, "h1"], "b": [2, 2, "h3"], "c": [1, 1, "h4"]}
    assert changed_files(previous, current) == ["b", "c"]
    assert changed_files(previous, {"b": [1, 1, "h2"]}) == ["a"]  # removed: the run deletes its rows


def test_a_removed_file_requests_a_run(drop_zone):
    path = write(drop_zone / "census" / "2023_spring.csv", "upn\nA\n")
    _, cursor = tick()
    path.unlink()
    result, _ = tick(cursor)
    assert isinstance(result, dg.RunRequest)


def test_a_file_still_being_written_requests_no_run_until_it_settles(drop_zone):
    """A census copied in slowly was ingested half-written (1,689 of 6,130 rows read) and published: the sensor
    waits until the file has not been written to for a while, and then requests one run for the whole file."""
    path = drop_zone / "census" / "2023_spring.csv"
    path.write_text("upn,laestab\nA,1\nB,")  # a copy in progress: the last row cut short
    result, cursor = tick()
    assert isinstance(result, dg.SkipReason) and "census/2023_spring.csv" in result.skip_message
    with path.open("a") as handle:
        handle.write("2\n")
    result, cursor = tick(cursor)
    assert isinstance(result, dg.SkipReason)
    settled(path)
    result, cursor = tick(cursor)
    assert isinstance(result, dg.RunRequest)
    assert isinstance(tick(cursor)[0], dg.SkipReason)


def test_a_file_put_back_as_it_was_requests_a_run_again(drop_zone):
    """Removing an extract and putting it back (or going back to the version before a correction) changes the
    drop zone each time: each change gets a run, not one skipped as a duplicate of an earlier run's key."""
    path = write(drop_zone / "census" / "2023_spring.csv", "upn\nA\n")
    kept = path.read_bytes(), path.stat().st_mtime_ns
    added, cursor = tick(last_tick=1000.0)
    path.unlink()
    removed, cursor = tick(cursor, last_tick=1060.0)
    path.write_bytes(kept[0])
    os.utime(path, ns=(kept[1], kept[1]))  # put back as it was (mv, cp -p)
    restored, _ = tick(cursor, last_tick=1120.0)
    assert all(isinstance(r, dg.RunRequest) for r in (added, removed, restored))
    assert restored.run_key not in {added.run_key, removed.run_key}


def test_a_killed_send_pipeline_run_is_released_by_the_sensor(drop_zone, tmp_path):
    """A `send-pipeline run` killed outright under the daemon's DAGSTER_HOME stayed STARTED: with one run at a time,
    every schedule, sensor and UI run then waited QUEUED for ever (run monitoring cannot tell a run it did not
    launch is dead). The sensor's tick, every minute on the daemon's host, releases such runs."""
    import socket
    import subprocess
    import sys

    from pipeline.abandoned_runs import HOST_TAG, PID_TAG

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.event_log_storage.set_concurrency_slots("send_duckdb_writer", 1)
        tags = {PID_TAG: str(child.pid), HOST_TAG: socket.gethostname()}
        killed = instance.add_run(dg.DagsterRun(job_name="nightly", status=dg.DagsterRunStatus.STARTED, tags=tags))
        assert instance.event_log_storage.claim_concurrency_slot(
            "send_duckdb_writer", killed.run_id, "send_dbt_models"
        ).is_claimed
        raw_drop_zone_sensor(dg.build_sensor_context(instance=instance))
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_info("send_duckdb_writer").claimed_slots == []


def test_nightly_schedule_requests_the_nightly_job_at_2am_london(tmp_path, monkeypatch):
    """On a warehouse with no recorded build (a fresh one) the schedule asks for the nightly job."""
    monkeypatch.setenv("SEND_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("SEND_RAW_DIR", str(tmp_path / "raw"))
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pipeline.schedules import nightly_schedule

    assert nightly_schedule.cron_schedule == "0,20,40 2 * * *"  # 02:20, 02:40: a night deferred, looked at again
    assert nightly_schedule.execution_timezone == "Europe/London"
    assert nightly_schedule.job_name == "nightly"
    when = datetime(2026, 7, 1, 2, 0, tzinfo=ZoneInfo("Europe/London"))  # 01:00 UTC in summer time
    context = dg.build_schedule_context(scheduled_execution_time=when)
    [request] = list(nightly_schedule.evaluate_tick(context).run_requests)
    assert isinstance(request, dg.RunRequest)


def test_the_sensor_waits_for_a_queued_or_running_nightly_run_and_then_requests_one_run(drop_zone, tmp_path):
    """While a nightly run is queued or in progress the sensor requests nothing and keeps its cursor, so the
    changes made meanwhile get one run once it has ended (not one queued run each), and its first tick does not
    read send.duckdb while that run writes it."""
    path = write(drop_zone / "census" / "2023_spring.csv", "upn\nA\n")
    with dg.instance_for_test() as instance:
        first = raw_drop_zone_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(first, dg.RunRequest)
        running = nightly_run(instance, dg.DagsterRunStatus.QUEUED)
        context = dg.build_sensor_context(instance=instance, cursor=None)
        waiting = raw_drop_zone_sensor(context)
        assert isinstance(waiting, dg.SkipReason) and running.run_id in waiting.skip_message
        assert context.cursor is None  # nothing read: the first tick is evaluated again later
        cursor = json.dumps(drop_zone_snapshot(drop_zone, {}))
        write(path, "upn\nB\n")
        write(drop_zone / "census" / "2024_spring.csv", "upn\nC\n")
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        assert isinstance(raw_drop_zone_sensor(context), dg.SkipReason) and context.cursor == cursor
        instance.report_run_failed(running)
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        after = raw_drop_zone_sensor(context)
        assert isinstance(after, dg.RunRequest) and after.tags["send/changed_files"] == "2"


def test_the_sensor_waits_for_assets_materialized_from_the_ui(drop_zone):
    """Assets materialized from the UI run as job __ASSET_JOB and write send.duckdb: while one is in progress the
    sensor requested a nightly run (after reading send.duckdb beside its writer on a first tick), which then waited
    on or failed with the DuckDB lock. It now skips, naming the run and who launched it, and keeps its cursor."""
    write(drop_zone / "census" / "2023_spring.csv", "upn\nA\n")
    with dg.instance_for_test() as instance:
        materializing = instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", status=dg.DagsterRunStatus.STARTED))
        context = dg.build_sensor_context(instance=instance, cursor=None)
        waiting = raw_drop_zone_sensor(context)
        assert isinstance(waiting, dg.SkipReason)
        by = "the Dagster UI or a dagster command"
        assert waiting.skip_message.startswith(f"run {materializing.run_id} ({by}) is queued or in progress")
        assert context.cursor is None
        instance.report_run_failed(materializing)
        assert isinstance(raw_drop_zone_sensor(dg.build_sensor_context(instance=instance)), dg.RunRequest)
