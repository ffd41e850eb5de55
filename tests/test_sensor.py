"""The drop-zone sensor: a new or changed extract requests a run; a touched but unchanged file does not."""

import json
import os

import dagster as dg
import duckdb
import pytest

from pipeline.ingest import ensure_raw_schema
from pipeline.nightly_state import drop_zone_snapshot, file_sha256, record_build
from pipeline.sensors import changed_files, raw_drop_zone_sensor
from pipeline.settings import load_settings


@pytest.fixture
def drop_zone(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    (raw / "census").mkdir(parents=True)
    monkeypatch.setenv("SEND_RAW_DIR", str(raw))
    monkeypatch.setenv("SEND_WAREHOUSE_DIR", str(tmp_path / "warehouse"))  # none built yet
    return raw


def tick(cursor=None):
    context = dg.build_sensor_context(cursor=cursor)
    result = raw_drop_zone_sensor(context)
    return result, context.cursor


def test_new_file_requests_a_run_then_nothing(drop_zone):
    (drop_zone / "census" / "2023_spring.csv").write_text("upn\nA\n")
    result, cursor = tick()
    assert isinstance(result, dg.RunRequest)
    again, _ = tick(cursor)
    assert isinstance(again, dg.SkipReason)


def test_a_first_tick_on_the_files_of_the_current_release_requests_nothing(drop_zone):
    """A daemon started (or its sensor first turned on) over a drop zone the release was built from: no run."""
    path = drop_zone / "census" / "2023_spring.csv"
    path.write_text("upn\nA\n")
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
    result, cursor = tick()
    assert isinstance(result, dg.SkipReason)
    path.write_text("upn\nB\n")
    assert isinstance(tick(cursor)[0], dg.RunRequest)


def test_touched_but_unchanged_file_triggers_nothing(drop_zone):
    path = drop_zone / "census" / "2023_spring.csv"
    path.write_text("upn\nA\n")
    _, cursor = tick()
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    result, new_cursor = tick(cursor)
    assert isinstance(result, dg.SkipReason)
    assert json.loads(new_cursor)["census/2023_spring.csv"][1] == stat.st_mtime_ns + 5_000_000_000


def test_changed_content_requests_a_run_with_a_new_run_key(drop_zone):
    path = drop_zone / "census" / "2023_spring.csv"
    path.write_text("upn\nA\n")
    first, cursor = tick()
    path.write_text("upn\nB\n")
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
    path = drop_zone / "census" / "2023_spring.csv"
    path.write_text("upn\nA\n")
    _, cursor = tick()
    path.unlink()
    result, _ = tick(cursor)
    assert isinstance(result, dg.RunRequest)


def test_nightly_schedule_requests_the_nightly_job_at_2am_london(tmp_path, monkeypatch):
    """On a warehouse with no recorded build (a fresh one) the schedule asks for the nightly job."""
    monkeypatch.setenv("SEND_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("SEND_RAW_DIR", str(tmp_path / "raw"))
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pipeline.schedules import nightly_schedule

    assert nightly_schedule.cron_schedule == "0 2 * * *"
    assert nightly_schedule.execution_timezone == "Europe/London"
    assert nightly_schedule.job_name == "nightly"
    when = datetime(2026, 7, 1, 2, 0, tzinfo=ZoneInfo("Europe/London"))  # 01:00 UTC in summer time
    context = dg.build_schedule_context(scheduled_execution_time=when)
    [request] = list(nightly_schedule.evaluate_tick(context).run_requests)
    assert isinstance(request, dg.RunRequest)
