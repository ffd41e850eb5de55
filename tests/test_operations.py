"""Running it like production: BI readers during a rebuild, and kill -9 in the middle of a run."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from support import SEND_PIPELINE, send_pipeline

READERS = 8


def published(env) -> Path:
    return Path(env["SEND_WAREHOUSE_DIR"]) / "published"


def published_tables(env) -> dict[str, list[tuple]]:
    """The content of every published table (without the release id), to compare two releases."""
    with duckdb.connect(str(published(env) / "send_reporting.duckdb"), read_only=True) as con:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'reporting' "
            "AND table_name <> 'release' ORDER BY 1"
        ).fetchall()]  # fmt: skip
        return {
            n: con.execute(f"SELECT * EXCLUDE (release_id) FROM reporting.{n} ORDER BY ALL").fetchall() for n in names
        }


def live_release_id(env) -> str:
    with duckdb.connect(str(published(env) / "send_reporting.duckdb"), read_only=True) as con:
        return con.execute("SELECT release_id FROM reporting.release").fetchone()[0]


def kill_9_mid_dbt(env: dict, *args: str) -> None:
    """Start `send-pipeline <args>` and SIGKILL it once dbt has started a node."""
    dbt_log = Path(env["SEND_WAREHOUSE_DIR"]) / "logs" / "last_run_dbt.log"
    dbt_log.unlink(missing_ok=True)
    victim = subprocess.Popen([SEND_PIPELINE, *args], env=env, cwd=env["SEND_WAREHOUSE_DIR"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (dbt_log.exists() and "START" in dbt_log.read_text()):
        time.sleep(0.05)
    assert victim.poll() is None, "the run ended before it could be killed mid-dbt"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)


def test_readers_see_one_consistent_release_while_a_run_publishes(operations_env, tmp_path):
    before = live_release_id(operations_env)
    stop = tmp_path / "stop"
    outputs = [tmp_path / f"reader{i}.json" for i in range(READERS)]
    reader_script = Path(__file__).with_name("reader_process.py")
    readers = [
        subprocess.Popen([sys.executable, str(reader_script), str(published(operations_env)), str(stop), str(out)])
        for out in outputs
    ]
    try:
        time.sleep(1.0)
        run = send_pipeline(operations_env, "run", "--force")  # nothing changed: forced, so a release is published
        assert run.returncode == 0, run.stdout[-2000:]
        time.sleep(1.0)
    finally:
        stop.touch()
        for reader in readers:
            reader.wait(timeout=60)
    after = live_release_id(operations_env)
    assert after != before
    results = [json.loads(out.read_text()) for out in outputs]
    assert [r["errors"] for r in results] == [[]] * READERS
    assert all(r["inconsistent"] == 0 for r in results)
    assert all(r["reads"] > 10 for r in results)
    seen = set().union(*(r["releases"] for r in results))
    assert {before, after} <= seen  # they read through the swap, not around it


def test_kill_9_mid_run_leaves_the_release_and_the_next_run_recovers(operations_env):
    env = operations_env
    before = live_release_id(env)
    before_tables = published_tables(env)
    release_bytes = (published(env) / "send_reporting.duckdb").read_bytes()
    census = Path(env["SEND_RAW_DIR"]) / "census" / "2023_spring.csv"
    census.write_text(census.read_text().replace("\n", "\r\n"))  # new bytes, same rows: a re-ingest
    kill_9_mid_dbt(env, "run")
    assert live_release_id(env) == before
    assert (published(env) / "send_reporting.duckdb").read_bytes() == release_bytes

    rerun = send_pipeline(env, "run")
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert live_release_id(env) != before
    assert published_tables(env) == before_tables  # the same release as an uninterrupted run
    with duckdb.connect(str(Path(env["SEND_WAREHOUSE_DIR"]) / "send.duckdb"), read_only=True) as con:
        per_file = con.execute(
            "SELECT count(*), count(DISTINCT source_row) FROM raw.census_pupils "
            "WHERE source_file = 'census/2023_spring.csv'"
        ).fetchone()
        assert per_file[0] == per_file[1] > 6000  # loaded once, not twice
        ledger = con.execute(
            "SELECT rows_read, rows_loaded FROM raw.file_ledger WHERE file_name = 'census/2023_spring.csv' "
            "ORDER BY ingested_at DESC LIMIT 1"
        ).fetchone()
        assert ledger == (per_file[0], per_file[0])


def test_kill_9_under_a_dagster_instance_frees_the_writer_slot_for_the_next_run(operations_env, tmp_path):
    """With DAGSTER_HOME (production), a killed run stays STARTED holding pool send_duckdb_writer's one slot: the
    next run marks it failed and frees the slot instead of waiting for it for ever."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((Path(__file__).parents[1] / "dagster_home" / "dagster.yaml").read_text())
    env = {**operations_env, "DAGSTER_HOME": str(home)}
    kill_9_mid_dbt(env, "run", "--force")

    rerun = send_pipeline(env, "run", "--force", timeout=240)  # without the release it waits for ever
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert "had been killed mid-run: marked failed, its DuckDB writer slot freed" in rerun.stdout
    check = "import dagster as dg; print(sorted(r.status.value for r in dg.DagsterInstance.get().get_runs()))"
    statuses = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, check=True)
    assert statuses.stdout.strip() == "['FAILURE', 'SUCCESS']"


def signal_during_python(con) -> None:
    con.execute("SELECT 1")
    signal.raise_signal(signal.SIGTERM)  # as `timeout` or `systemctl stop` sends it
    time.sleep(5)  # the signal's exception is raised here


def signal_during_a_query(con) -> None:
    """DuckDB raises RuntimeError('Query interrupted') for a signal during a query, not the handler's exception: the
    step was retried as a transient failure (CI, 3 December: SIGTERM while the release's tables were counted)."""
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
    try:  # DuckDB looks for signals between its tasks: at times only once the query is done (~10 s here)
        con.execute("SELECT count(*) FROM range(3000000000) t(i) WHERE i % 7 = 3").fetchall()
    except RuntimeError as error:
        assert str(error) == "Query interrupted"  # the signal came during the query, not after it
        raise
    raise AssertionError("the query ended before the signal: make it longer")


def signal_turned_into_another_error(con) -> None:
    """Native code that turns the handler's exception into its own (DuckDB, measured: InvalidInputException "'pandas'
    is required", or a duckdb.Error whose message is the handler's traceback, for a signal during a conversion)."""
    try:
        signal_during_python(con)
    except BaseException as error:
        raise duckdb.InvalidInputException("'pandas' is required for this operation") from error


def signal_dropped(con) -> None:
    """Native code that swallows the handler's exception: the step went on and the run published (CI, 3 December)."""
    with contextlib.suppress(BaseException):  # what a library did to the signal
        signal_during_python(con)


@pytest.mark.parametrize(
    "stopped", [signal_during_python, signal_during_a_query, signal_turned_into_another_error, signal_dropped]
)
def test_a_signal_mid_step_fails_the_step_without_its_retries(tmp_path, stopped):
    """Dagster raises a SIGTERM (or Ctrl-C) that comes during a step in the step, and retries it under the step's
    retry policy, as a transient failure: the ingest and release steps (TRANSIENT_RETRY) ran again 10 s later and the
    run published. A signal while the step has the warehouse open now fails it once, with no retry."""
    import dagster as dg

    from pipeline.resources import STOPPED, TRANSIENT_RETRY, SendWarehouse

    attempts = []

    @dg.asset(retry_policy=TRANSIENT_RETRY)
    def stopped_mid_step(warehouse: SendWarehouse) -> None:
        attempts.append(1)
        with warehouse.connect() as con:
            stopped(con)

    warehouse = SendWarehouse(raw_dir=str(tmp_path / "raw"), warehouse_dir=str(tmp_path / "warehouse"))
    result = dg.materialize([stopped_mid_step], resources={"warehouse": warehouse}, raise_on_error=False)
    assert not result.success and attempts == [1]
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert STOPPED in str(failure.step_failure_data.user_failure_data.description)


def test_stopped_query_is_duckdb_s_interrupted_query_only():
    from pipeline.resources import stopped_query

    assert stopped_query(RuntimeError("Query interrupted"))
    assert not stopped_query(RuntimeError("Query interrupted by the user"))  # another message: a real failure
    assert not stopped_query(duckdb.InterruptException("Query interrupted"))  # con.interrupt(): not a signal


def test_sigterm_while_a_run_publishes_stops_it_and_the_release_stays(operations_env):
    """`timeout`, `systemctl stop` or a scheduler's cancel during publication: the release step was retried and the
    run swapped in its release and exited 0. Then (CI, 3 December, on a loaded machine) the signal's exception was
    turned by DuckDB into a duckdb.Error carrying the handler's traceback (measured: a signal while DuckDB read a
    pandas frame for the Parquet files), or dropped: pipeline.stop_signals notes the signal itself."""
    env = operations_env
    before = live_release_id(env)
    release_bytes = (published(env) / "send_reporting.duckdb").read_bytes()
    command = [SEND_PIPELINE, "run", "--force", "--log-level", "DEBUG"]  # DEBUG: each step's start
    victim = subprocess.Popen(command, env=env, cwd=env["SEND_WAREHOUSE_DIR"], text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)  # fmt: skip
    said = []
    for line in victim.stdout:
        said.append(line)
        if 'Started execution of step "publish_release"' in line:  # ~5 s at Rutland scale
            time.sleep(0.5)
            victim.send_signal(signal.SIGTERM)
            break
    said += victim.stdout.readlines()
    output = "".join(said)
    assert victim.wait(timeout=120) == 1, output[-3000:]
    assert "the run was told to stop" in output, output[-3000:]
    assert "run FAILED" in output and "NOT published" in output
    assert live_release_id(env) == before
    assert (published(env) / "send_reporting.duckdb").read_bytes() == release_bytes
