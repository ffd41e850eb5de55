"""A night with nothing new is skipped, by `send-pipeline run` and by the nightly schedule, through one helper
(pipeline.nightly_state): unchanged extracts and code -> skipped; a changed extract or a changed dbt project -> run.

The warehouse here is a small stand-in (an ingest ledger and a build record, as the nightly job's success hook
writes them), so no test runs the whole pipeline; the bench smoke test (tests/test_bench.py) skips a real one.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from pipeline import cli
from pipeline import dbt_project as dbt_project_module  # bound to the repository's project at import, not a test's
from pipeline.drop_zone import SETTLE_SECONDS, drop_zone_hashes, drop_zone_snapshot, file_sha256
from pipeline.ingest import ensure_raw_schema
from pipeline.nightly_state import (
    REMOVED,
    BuildRecord,
    code_version,
    lock_holder,
    nightly_reasons,
    read_build_record,
    reasons_to_run,
    record_build,
)
from pipeline.settings import load_settings

from support import REPO_ROOT, nightly_run

SEND_PIPELINE = str(Path(sys.executable).with_name("send-pipeline"))


# ---------- the pure helper ----------


def test_nothing_changed_gives_no_reason():
    files = {"census/2023_spring.csv": "a1", "finance/2022-23.csv": "b2"}
    assert reasons_to_run(files, files, BuildRecord("code-1", files), "code-1") == []


def test_a_changed_or_new_file_is_a_reason():
    built = {"census/2023_spring.csv": "a1"}
    drop_zone = {"census/2023_spring.csv": "a2", "census/2024_spring.csv": "c3"}
    assert reasons_to_run(drop_zone, built, BuildRecord("code-1", built), "code-1") == [
        "census/2023_spring.csv changed",
        "census/2024_spring.csv is new",
    ]


def test_a_file_outside_every_ingested_source_folder_is_no_reason():
    built = {"census/2023_spring.csv": "a1"}
    drop_zone = {**built, "notes.txt": "n1", "scratch/copy.csv": "s1", "census/2024_spring.csv": "c3"}
    assert reasons_to_run(drop_zone, built, BuildRecord("code-1", built), "code-1") == ["census/2024_spring.csv is new"]


def test_a_removed_file_is_a_reason_until_the_ingest_recorded_it_removed():
    built = {"census/2022_spring.csv": "a0", "census/2023_spring.csv": "a1"}
    assert reasons_to_run({"census/2023_spring.csv": "a1"}, built, BuildRecord("code-1", built), "code-1") == [
        "census/2022_spring.csv was removed"
    ]
    after = {"census/2022_spring.csv": REMOVED, "census/2023_spring.csv": "a1"}
    assert reasons_to_run({"census/2023_spring.csv": "a1"}, after, BuildRecord("code-1", after), "code-1") == []


def test_changed_code_is_a_reason():
    files = {"census/2023_spring.csv": "a1"}
    assert reasons_to_run(files, files, BuildRecord("code-1", files), "code-2") == [
        "the code or the dbt project changed since the current release was built"
    ]


def test_a_file_ingested_after_the_last_build_is_a_reason():
    """The ingest of a run whose later steps failed: the ledger moved on, the release did not."""
    ledger = {"census/2023_spring.csv": "a2"}
    built = BuildRecord("code-1", {"census/2023_spring.csv": "a1"})
    assert reasons_to_run(ledger, ledger, built, "code-1") == [
        "census/2023_spring.csv was ingested after the current release was built"
    ]


def test_no_build_record_or_no_ledger_is_a_reason():
    files = {"census/2023_spring.csv": "a1"}
    assert reasons_to_run(files, files, None, "code-1") == ["no successful build is recorded for this warehouse"]
    assert reasons_to_run(files, None, BuildRecord("code-1", files), "code-1") == ["the warehouse has no ingest ledger"]


def test_the_lock_holder_is_the_process_duckdb_names():
    locked = duckdb.IOException(
        'IO Error: Could not set lock on file "/w/send.duckdb": Conflicting lock is held in /usr/bin/python3.11 '
        "(PID 4242) by user send. See also https://duckdb.org/docs/current/connect/concurrency"
    )
    assert lock_holder(locked) == "/usr/bin/python3.11 (PID 4242) by user send"
    assert lock_holder(duckdb.IOException('IO Error: Could not set lock on file "/w/send.duckdb"')) == "another process"
    assert lock_holder(duckdb.IOException("IO Error: Cannot open file: No such file or directory")) is None
    assert lock_holder(PermissionError(13, "Permission denied")) is None


# ---------- a warehouse whose current release was built from its drop zone ----------


def _copied_in(path: Path, text: str, seconds_ago: float) -> None:
    path.write_text(text)
    when = time.time() - seconds_ago
    os.utime(path, (when, when))


@pytest.fixture
def built(tmp_path, monkeypatch) -> dict:
    """raw/ with two extracts, a ledger holding them and the build record, and the env pointing at them."""
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse"
    for name, text in (("census/2023_spring.csv", "upn,census_date\nA,2023-01-19\n"), ("finance/fy.csv", "x\n1\n")):
        (raw / name).parent.mkdir(parents=True, exist_ok=True)
        _copied_in(raw / name, text, SETTLE_SECONDS + 3600)  # copied in an hour or more ago
    (raw / "README.md").write_text("not an extract\n")
    project = tmp_path / "dbt_project"
    shutil.copytree(
        load_settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    env = {"SEND_RAW_DIR": str(raw), "SEND_WAREHOUSE_DIR": str(warehouse), "SEND_DBT_PROJECT_DIR": str(project)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SEND_PSEUDONYM_KEY", "test-key-not-secret-0123456789")
    warehouse.mkdir()
    settings = load_settings()
    with duckdb.connect(str(settings.duckdb_path)) as con:
        ensure_raw_schema(con)
        for path in sorted(p for p in raw.rglob("*.csv")):
            con.execute(
                "INSERT INTO raw.file_ledger (source, file_name, sha256, rows_read, rows_loaded, rows_quarantined) "
                "VALUES (?, ?, ?, 1, 1, 0)",
                [path.parent.name, str(path.relative_to(raw)), file_sha256(path)],
            )
    record_build(settings, release="r1")
    settings.published_dir.mkdir()
    duckdb.connect(str(settings.reporting_path)).close()  # the release it published
    return {"raw": raw, "warehouse": warehouse, "project": project, "env": env}


def test_a_release_gone_from_its_folder_is_a_reason_to_run(built):
    """The releases folder removed or moved (a clean-up, a partial restore): the skip said 'nothing changed' and
    printed the path of a release that was not there."""
    settings = load_settings()
    assert nightly_reasons(settings) == []
    settings.reporting_path.unlink()
    assert nightly_reasons(settings) == [f"the published release {settings.reporting_path} is missing"]


def test_a_night_with_nothing_to_load_removes_what_a_killed_ingest_left_unless_the_warehouse_is_open(built):
    """A run killed mid-file leaves its staging folder (raw UPNs and dates of birth) beside send.duckdb; the ingest
    removed it only when it next staged a file, which a skipped night never does. Not while another process has the
    warehouse open: that may be a run staging a file."""
    settings = load_settings()
    stale = settings.duckdb_temp_dir / "send-ingest-abc123"
    stale.mkdir(parents=True)
    (stale / "staging.duckdb").write_bytes(b"raw identifiers")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
         "print('open', flush=True); sys.stdin.read()", str(settings.duckdb_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == "open\n"
        assert nightly_reasons(settings) == [] and stale.exists()
    finally:
        holder.communicate("")
    assert nightly_reasons(settings) == [] and not stale.exists()


def test_a_corrected_extract_counts_by_its_last_ingest_until_built_then_is_no_reason(built):
    """The ledger keeps every version of a file ingested under one name: its latest is the one loaded."""
    path = built["raw"] / "census/2023_spring.csv"
    _copied_in(path, "upn,census_date\nA,2023-01-19\nB,2023-01-19\n", SETTLE_SECONDS + 60)
    settings = load_settings()
    with duckdb.connect(str(settings.duckdb_path)) as con:
        con.execute(
            "INSERT INTO raw.file_ledger (source, file_name, sha256, rows_read, rows_loaded, rows_quarantined, "
            "ingested_at) VALUES ('census', 'census/2023_spring.csv', ?, 2, 2, 0, now()::TIMESTAMP + INTERVAL 1 HOUR)",
            [file_sha256(path)],
        )
    assert nightly_reasons(settings) == ["census/2023_spring.csv was ingested after the current release was built"]
    record_build(settings, release="r2")
    assert read_build_record(built["warehouse"]).files["census/2023_spring.csv"] == file_sha256(path)
    assert nightly_reasons(settings) == []


def test_the_build_record_holds_the_ledger_and_the_code_version(built):
    record = read_build_record(built["warehouse"])
    assert record.files == {"census/2023_spring.csv": file_sha256(built["raw"] / "census/2023_spring.csv"),
                            "finance/fy.csv": file_sha256(built["raw"] / "finance/fy.csv")}  # fmt: skip
    assert record.code_version == code_version(load_settings()) and record.release == "r1"


def test_unchanged_drop_zone_and_code_give_no_reason(built):
    assert nightly_reasons(load_settings()) == []


def test_a_touched_but_unchanged_file_is_no_reason(built):
    path = built["raw"] / "census/2023_spring.csv"
    path.write_text(path.read_text())  # new mtime, same content
    assert nightly_reasons(load_settings()) == []


def test_a_changed_extract_is_a_reason(built):
    (built["raw"] / "census/2023_spring.csv").write_text("upn,census_date\nB,2023-01-19\n")
    assert nightly_reasons(load_settings()) == ["census/2023_spring.csv changed"]


def test_a_changed_dbt_project_is_a_reason(built):
    model = next((built["project"] / "models").rglob("*.sql"))
    model.write_text(model.read_text() + "\n-- edited\n")
    assert nightly_reasons(load_settings()) == [
        "the code or the dbt project changed since the current release was built"
    ]


@pytest.mark.parametrize("how", ["edited", "edited in place", "copied over"])
def test_a_changed_file_is_hashed_again_even_with_its_size_and_mtime_kept(tmp_path, how):
    """The hash cache holds while a file's size, mtime, ctime and inode do. An amount edited to another of the same
    length with the mtime set back (touch -r), or a file copied over another of the same size with its mtime
    (cp -p): size and mtime held, and the cached hash made every later night 'nothing changed', publishing the old
    figure. The ctime and the inode do not hold."""
    raw = tmp_path / "raw"
    (raw / "finance").mkdir(parents=True)
    path = raw / "finance" / "2022-23.csv"
    path.write_text("amount\n548,864.42\n")
    cache = tmp_path / "cache.json"
    first = drop_zone_hashes(raw, cache)
    kept = path.stat()
    if how.startswith("edited"):
        path.write_text("amount\n948,864.42\n")
    else:
        other = tmp_path / "other.csv"
        other.write_text("amount\n948,864.42\n")
        os.replace(other, path)
    if how != "edited":  # the mtime set back
        os.utime(path, ns=(kept.st_atime_ns, kept.st_mtime_ns))
        assert (path.stat().st_size, path.stat().st_mtime_ns) == (kept.st_size, kept.st_mtime_ns)
    assert drop_zone_hashes(raw, cache) == {"finance/2022-23.csv": file_sha256(path)} != first


# ---------- the CLI ----------


def test_the_cli_skips_an_unchanged_night_before_loading_dagster(built):
    env = {**{k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}, **built["env"]}
    env["SEND_PSEUDONYM_KEY"] = "test-key-not-secret-0123456789"
    done = subprocess.run([SEND_PIPELINE, "run"], env=env, capture_output=True, text=True, timeout=120,
                          cwd=built["warehouse"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert cli.NOTHING_CHANGED in done.stdout
    assert "running the nightly job" not in done.stdout


class _Started(Exception):
    """Raised where the run would start preparing dbt and Dagster."""


def _stop_at_dbt(monkeypatch) -> None:
    def started(*_args, **_kwargs):
        raise _Started

    monkeypatch.setattr(dbt_project_module, "prepare_dbt_project", started)


def test_the_cli_runs_when_an_extract_changed(built, monkeypatch, capsys):
    (built["raw"] / "finance/fy.csv").write_text("x\n2\n")
    _stop_at_dbt(monkeypatch)
    with pytest.raises(_Started):
        cli.main(["run"])
    assert "running because: finance/fy.csv changed" in capsys.readouterr().out


def test_the_cli_runs_when_forced(built, monkeypatch, capsys):
    _stop_at_dbt(monkeypatch)
    with pytest.raises(_Started):
        cli.main(["run", "--force"])
    assert "running because: --force" in capsys.readouterr().out


@contextlib.contextmanager
def held_for_writing(path: Path, read_only: bool = False):
    """send.duckdb open for writing in another process (a run's step, dbt, a DuckDB shell) until the block ends;
    ``read_only``: open for reading (a maintainer reading the ledger)."""
    code = (f"import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only={read_only}); print('open', flush=True); "
            "sys.stdin.read()")  # fmt: skip
    holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        yield holder
    finally:
        holder.stdin.close()  # the holder reads stdin to its end, then exits, closing send.duckdb
        holder.wait(timeout=60)


def test_the_cli_names_the_run_in_progress_that_holds_the_warehouse(built, tmp_path, monkeypatch, capsys):
    """The schedule's run writing send.duckdb at 02:00: `send-pipeline run` read the ledger first, met DuckDB's lock,
    said it was running because the ledger could not be read, and prepared dbt and loaded Dagster before it found
    that run. It now stops there, before dbt, naming the run (exit 2)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    _stop_at_dbt(monkeypatch)
    with dg.DagsterInstance.get() as instance, held_for_writing(load_settings().duckdb_path):
        run = instance.add_run(dg.DagsterRun(job_name="nightly", status=dg.DagsterRunStatus.STARTED,
                                             tags={"dagster/schedule_name": "nightly_at_2am"}))  # fmt: skip
        assert cli.main(["run"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"send-pipeline: DAGSTER_HOME: run {run.run_id} (schedule nightly_at_2am) is in progress")
    assert "running because" not in out


def test_a_warehouse_held_for_writing_is_a_reason_to_run_for_the_schedule_and_a_stop_for_the_cli(built):
    """The schedule and the sensor (no stop_when_locked) get a reason to run, which queues behind the run holding
    the file; `send-pipeline run` (stop_when_locked) is told which process holds it."""
    from pipeline.nightly_state import LedgerLocked

    settings = load_settings()
    with held_for_writing(settings.duckdb_path) as holder:
        assert nightly_reasons(settings) == ["the ingest ledger cannot be read (IOException)"]
        with pytest.raises(LedgerLocked) as locked:
            nightly_reasons(settings, stop_when_locked=True)
    assert f"PID {holder.pid}" in locked.value.holder
    assert nightly_reasons(settings) == []


def test_the_cli_names_the_process_that_holds_the_warehouse_when_no_run_is_in_progress(built, monkeypatch, capsys):
    """Without a Dagster run to name (no DAGSTER_HOME, or a DuckDB shell or dbt writing send.duckdb), the run went
    ahead and failed on DuckDB's lock in its steps. It now stops at once naming the process (exit 2), and once the
    file is closed a night with nothing new is skipped as before."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    _stop_at_dbt(monkeypatch)
    duckdb_path = load_settings().duckdb_path
    with held_for_writing(duckdb_path) as holder:
        assert cli.main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"send-pipeline: SEND_WAREHOUSE_DIR: {duckdb_path} is open in another process")
    assert f"(PID {holder.pid})" in err
    assert cli.main(["run"]) == 0
    assert cli.NOTHING_CHANGED in capsys.readouterr().out


def test_a_run_stops_at_once_naming_a_process_that_reads_the_warehouse_and_a_skipped_night_does_not(
    built, monkeypatch, capsys
):
    """A maintainer reading raw.file_ledger in a DuckDB shell (read-only): the check before the run saw writers only,
    and every ingest step then failed on DuckDB's lock after its retries (~45 s), exit 1. A reader stops no skip."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    _stop_at_dbt(monkeypatch)
    settings = load_settings()
    with held_for_writing(settings.duckdb_path, read_only=True) as holder:
        assert cli.main(["run"]) == 0
        assert cli.NOTHING_CHANGED in capsys.readouterr().out
        assert cli.main(["run", "--force"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"send-pipeline: SEND_WAREHOUSE_DIR: {settings.duckdb_path} is open in another process")
    assert f"(PID {holder.pid})" in err and "running because" not in out


@pytest.mark.parametrize("forced", [True, False])
def test_a_forced_or_unrecorded_run_stops_when_the_warehouse_is_held(built, forced, monkeypatch, capsys):
    """--force (nothing compared) and a warehouse whose last run failed (no build record: nothing to compare with)
    skipped reading the ledger, so a process writing send.duckdb was met by the run's steps, after Dagster started.
    Both stop before it now, naming the process (exit 2)."""
    from pipeline.nightly_state import forget_build

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    _stop_at_dbt(monkeypatch)
    settings = load_settings()
    if not forced:
        forget_build(settings.warehouse_dir)
    with held_for_writing(settings.duckdb_path) as holder:
        assert cli.main(["run", "--force"] if forced else ["run"]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"send-pipeline: SEND_WAREHOUSE_DIR: {settings.duckdb_path} is open in another process")
    assert f"(PID {holder.pid})" in err and "running because" not in out
    with pytest.raises(_Started):  # the file closed: the run goes ahead
        cli.main(["run", "--force"] if forced else ["run"])


# ---------- the schedule ----------


TONIGHT = datetime(2026, 7, 1, 2, 0, tzinfo=ZoneInfo("Europe/London"))


def _tick(instance=None, when=TONIGHT):
    from pipeline.schedules import nightly_schedule

    return nightly_schedule.evaluate_tick(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))


def test_the_schedule_skips_an_unchanged_night(built):
    result = _tick()
    assert not list(result.run_requests or [])
    assert "no new or changed extracts" in result.skip_message


def test_the_schedule_runs_when_an_extract_changed(built):
    _copied_in(built["raw"] / "census/2023_spring.csv", "upn,census_date\nC,2023-01-19\n", SETTLE_SECONDS + 60)
    [request] = list(_tick().run_requests)
    assert request.tags["send/reasons"] == "census/2023_spring.csv changed"


def test_the_schedule_does_not_run_while_an_extract_may_still_be_copied_in(built):
    """An extract written to a minute ago may be a copy in progress: read half way, its figures would be published
    (and their suppression carried forward). The schedule leaves it to the sensor, which runs once it has settled."""
    _copied_in(built["raw"] / "census/2023_spring.csv", "upn,census_date\nC,2023-01-19\n", 60)
    result = _tick()
    assert not list(result.run_requests or [])
    assert result.skip_message.startswith("census/2023_spring.csv written to in the last")
    assert "looks again at its next tick (02:20, 02:40)" in result.skip_message
    last = _tick(when=TONIGHT.replace(minute=40))
    assert "this was the night's last tick, and the drop-zone sensor runs the job" in last.skip_message
    assert "looks again" not in last.skip_message


def test_a_tick_names_only_the_ticks_still_to_come_that_night():
    from pipeline.schedules import later_ticks

    assert [later_ticks(minute) for minute in (0, 20, 40)] == ["02:20, 02:40", "02:40", ""]


@pytest.mark.parametrize(
    ("stray", "said"),
    [("Census/2024_spring.csv", "Census/2024_spring.csv is in no source's folder"),
     ("ehcna/request_latest.csv", "ehcna/request_latest.csv: its name gives no extract date"),
     ("census/2022/2022_spring.csv", "census/2022/2022_spring.csv: in a subfolder of census/, which is never read"),
     ("finance/notes.pdf", "finance/notes.pdf: not a CSV (.csv, .txt) or XLSX file")],
)  # fmt: skip
def test_the_schedule_and_the_sensor_do_not_run_while_an_extract_is_one_no_source_reads(built, stray, said):
    from pipeline.sensors import raw_drop_zone_sensor

    (built["raw"] / stray).parent.mkdir(parents=True, exist_ok=True)
    _copied_in(built["raw"] / stray, "upn\n", SETTLE_SECONDS + 60)
    result = _tick()
    assert not list(result.run_requests or [])
    assert said in result.skip_message
    sensed = raw_drop_zone_sensor(dg.build_sensor_context(cursor="{}"))
    assert isinstance(sensed, dg.SkipReason) and said in sensed.skip_message


def test_an_extract_that_cannot_be_read_is_a_reason_to_run_not_a_traceback_and_is_not_cached(built, monkeypatch):
    """The check before a run hashes raw/: a file it cannot read (no permission) made it fail with a traceback. It
    is now a change (the run's ingest then fails naming the file), and its hash is not cached, so once readable
    again it is hashed again."""
    import pipeline.drop_zone as state

    census = built["raw"] / "census/2023_spring.csv"
    _copied_in(census, "upn,census_date\nB,2023-01-19\n", SETTLE_SECONDS + 60)
    real = state.file_sha256_and_lines

    def denied(path):
        if path == census:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(state, "file_sha256_and_lines", denied)
    assert "census/2023_spring.csv changed" in nightly_reasons(load_settings())
    monkeypatch.setattr(state, "file_sha256_and_lines", real)
    assert drop_zone_hashes(built["raw"], built["warehouse"] / "state" / "drop_zone_hashes.json")[
        "census/2023_spring.csv"
    ] == file_sha256(census)


def test_the_schedule_runs_when_the_dbt_project_changed(built):
    (built["project"] / "dbt_project.yml").write_text((built["project"] / "dbt_project.yml").read_text() + "\n")
    [request] = list(_tick().run_requests)
    assert "dbt project changed" in request.tags["send/reasons"]


def test_the_nightly_job_records_the_build_after_the_release_step():
    from pipeline.release import RELEASE_KEY, RELEASE_STEP, publish_release
    from pipeline.schedules import nightly_job, record_release_build

    assert record_release_build in nightly_job.hooks
    assert publish_release.op.name == RELEASE_STEP and RELEASE_KEY in publish_release.keys


def test_the_narrative_the_suites_and_the_report_template_are_part_of_the_code_version(tmp_path):
    for name in ("pipeline/cli.py", "pipeline/report/template.html", "report/narrative/01-introduction.md",
                 "expectations/published_counts.json", "dbt/dbt_project.yml"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("v1")
    settings = load_settings({"SEND_DBT_PROJECT_DIR": str(tmp_path / "dbt"), "SEND_WAREHOUSE_DIR": str(tmp_path)})
    before = code_version(settings, tmp_path / "pipeline")
    for name in ("pipeline/report/template.html", "report/narrative/01-introduction.md",
                 "expectations/published_counts.json"):  # fmt: skip
        (tmp_path / name).write_text("v2")
        after = code_version(settings, tmp_path / "pipeline")
        assert after != before, name
        before = after
    # what Python, editors and notes leave beside them is not code: no new version, no run
    for name in ("pipeline/__pycache__/cli.cpython-311.pyc", "report/__pycache__/x.pyc", "pipeline/notes.txt",
                 "expectations/.published_counts.json.swp", "dbt/models/__pycache__/m.pyc"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("cache")
        assert code_version(settings, tmp_path / "pipeline") == before, name


SENSOR = {"dagster/sensor_name": "raw_drop_zone_sensor"}


@pytest.mark.parametrize(
    ("job", "status", "tags", "by"),
    [("nightly", dg.DagsterRunStatus.QUEUED, SENSOR, "sensor raw_drop_zone_sensor"),
     ("nightly", dg.DagsterRunStatus.STARTED, SENSOR, "sensor raw_drop_zone_sensor"),
     ("__ASSET_JOB", dg.DagsterRunStatus.STARTED, {}, "the Dagster UI or a dagster command"),
     ("__ASSET_JOB", dg.DagsterRunStatus.CANCELING, {}, "the Dagster UI or a dagster command")],
)  # fmt: skip
def test_the_schedule_skips_while_any_run_is_queued_or_in_progress_without_opening_the_warehouse(
    built, tmp_path, monkeypatch, job, status, tags, by
):
    """A nightly run the sensor launched, queued or running at 02:00: the schedule (the build record still stale)
    asked for a second full run, after opening send.duckdb read-only while that run wrote it (which can fail its dbt
    step). Assets materialized from the UI (job __ASSET_JOB) write send.duckdb too, and did not hold the schedule.
    It now skips while any run is queued or in progress, naming it and who launched it, before reading the
    warehouse; once the run has ended, it runs again."""
    _copied_in(built["raw"] / "census/2023_spring.csv", "upn,census_date\nC,2023-01-19\n", SETTLE_SECONDS + 60)

    def opened(_path):
        raise AssertionError("the schedule opened send.duckdb while a run was queued or in progress")

    with dg.instance_for_test() as instance:
        if job == "nightly":
            run = nightly_run(instance, status, tags)
        else:
            run = instance.add_run(dg.DagsterRun(job_name=job, status=status, tags=tags))
        with monkeypatch.context() as patched:
            patched.setattr("pipeline.nightly_state.ledger_hashes", opened)
            result = _tick(instance)
        assert not list(result.run_requests or [])
        assert result.skip_message.startswith(f"run {run.run_id} ({by}) is queued or in progress")
        assert result.skip_message.endswith("not run now; a later tick (02:20, 02:40) looks again")
        last = _tick(instance, when=TONIGHT.replace(minute=40)).skip_message
        assert last.endswith("this was the night's last tick: the drop-zone sensor runs the job on changed extracts, "
                             "else the next night does")  # fmt: skip
        instance.report_run_failed(run)  # ended: the schedule runs
        [request] = list(_tick(instance).run_requests)
        assert request.tags["send/reasons"] == "census/2023_spring.csv changed"


def test_a_night_deferred_for_an_extract_rewritten_unchanged_runs_at_a_later_tick_once(built, tmp_path):
    """A council export job rewrites every extract at 01:59, unchanged. On a night with another reason to run (here
    a code deploy) the 02:00 tick defers, as for a copy in progress, but the sensor runs on new content only and
    requested nothing: the night was lost. The schedule now looks again at 02:20 and 02:40, and runs once."""
    from pipeline.schedules import nightly_schedule
    from pipeline.sensors import raw_drop_zone_sensor

    census = built["raw"] / "census/2023_spring.csv"
    seen = json.dumps(drop_zone_snapshot(built["raw"], {}))  # the sensor's cursor before 01:59
    _copied_in(census, census.read_text(), 60)  # rewritten unchanged a minute ago
    (built["project"] / "dbt_project.yml").write_text((built["project"] / "dbt_project.yml").read_text() + "\n")
    with dg.instance_for_test() as instance:
        deferred = _tick(instance)
        assert not list(deferred.run_requests or [])
        assert deferred.skip_message.startswith("census/2023_spring.csv written to in the last")
        sensed = raw_drop_zone_sensor(dg.build_sensor_context(instance=instance, cursor=seen))
        assert isinstance(sensed, dg.SkipReason)  # same content: the sensor requests nothing
        _copied_in(census, census.read_text(), SETTLE_SECONDS + 60)  # settled by 02:20
        [request] = list(_tick(instance, TONIGHT + timedelta(minutes=20)).run_requests)
        assert "dbt project changed" in request.tags["send/reasons"] and request.tags["send/night"] == "2026-07-01"
        run = instance.add_run(dg.DagsterRun(job_name="nightly", status=dg.DagsterRunStatus.FAILURE,
                                             tags=request.tags))  # fmt: skip
        again = _tick(instance, TONIGHT + timedelta(minutes=40))  # the night's run failed: not retried tonight
        assert not list(again.run_requests or [])
        assert again.skip_message == f"tonight's nightly run {run.run_id} was requested by an earlier tick"
        [tomorrow] = list(_tick(instance, TONIGHT + timedelta(days=1)).run_requests)
        assert tomorrow.tags["send/night"] == "2026-07-02"
    assert nightly_schedule.cron_schedule == "0,20,40 2 * * *"  # the daemon ticks at 02:00, 02:20 and 02:40
