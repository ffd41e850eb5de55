"""The project's Dagster instance keeps its SQLite event log connections open between events
(pipeline/event_log_storage.py), and otherwise stores and reads runs as Dagster's own storage does."""

import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from sqlalchemy.pool import Pool

from pipeline import event_log_storage
from pipeline.event_log_storage import PooledSqliteEventLogStorage, default_base_dir
from pipeline.settings import REPO_ROOT


@dg.asset
def pupils():
    return 1


@dg.asset(deps=[pupils], check_specs=[dg.AssetCheckSpec("positive", asset="schools")])
def schools():
    yield dg.MaterializeResult(metadata={"rows": 2})
    yield dg.AssetCheckResult(passed=True)


@dg.multi_asset(
    specs=[dg.AssetSpec(f"mart_{i}", deps=[schools]) for i in range(20)],
    check_specs=[dg.AssetCheckSpec("not_null", asset=f"mart_{i}") for i in range(20)],
)
def marts():
    """Like the dbt assets: many materializations and check evaluations from one step."""
    for i in range(20):
        yield dg.MaterializeResult(asset_key=f"mart_{i}")
        yield dg.AssetCheckResult(asset_key=f"mart_{i}", check_name="not_null", passed=True)


ASSETS = [pupils, schools, marts]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A DAGSTER_HOME with the project's dagster.yaml."""
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def connections_opened():
    """The database file of each SQLite connection any SQLAlchemy pool opened while the test ran."""
    opened = []

    def count(dbapi_connection, record):  # noqa: ARG001 - SQLAlchemy's listener signature
        [(_, _, path)] = dbapi_connection.execute("PRAGMA database_list").fetchall()
        opened.append(Path(path))

    sa.event.listen(Pool, "connect", count)
    yield opened
    sa.event.remove(Pool, "connect", count)


def run_twice(instance) -> list[dg.ExecuteInProcessResult]:
    return [dg.materialize(ASSETS, instance=instance) for _ in range(2)]


def event_log_connections(opened: list[Path], folder: Path) -> int:
    """Connections to the event log's databases (each run's and the index), not the run or schedule storage's."""
    return sum(1 for path in opened if path.parent == folder)


def test_the_project_instance_uses_the_pooled_event_log(home):
    with dg.DagsterInstance.get() as instance:
        assert type(instance.event_log_storage) is PooledSqliteEventLogStorage
        assert instance.event_log_storage._base_dir == str(home / "history" / "runs")


def test_a_run_opens_a_few_connections_not_one_per_event(home, connections_opened):
    with dg.DagsterInstance.get() as instance:
        results = run_twice(instance)
        events = sum(len(instance.all_logs(r.run_id)) for r in results)
    assert all(r.success for r in results)
    assert events > 200
    # a few per database (the index, each run's) to set it up and one kept open; Dagster's SqliteEventLogStorage
    # opens at least one per stored event (test below)
    opened = event_log_connections(connections_opened, home / "history" / "runs")
    assert 3 <= opened < 30, f"{opened} connections for {events} events"


def test_the_event_log_commits_without_an_fsync_per_event(home):
    """synchronous=NORMAL (1) in WAL mode on every connection of the pooled event log, not elsewhere."""
    settings = []
    with dg.DagsterInstance.get() as instance:
        dg.materialize(ASSETS, instance=instance)
        storage = instance.event_log_storage
        for shard, engine in storage._engines.items():
            with engine.connect() as conn:
                settings.append((shard, conn.exec_driver_sql("PRAGMA synchronous").scalar(),
                                 conn.exec_driver_sql("PRAGMA journal_mode").scalar()))  # fmt: skip
    assert len(settings) >= 2  # the index and the run's own database
    assert all(synchronous == 1 and journal == "wal" for _, synchronous, journal in settings), settings


def test_dagsters_own_storage_opens_one_connection_per_write(tmp_path, monkeypatch, connections_opened):
    """The baseline the test above is measured against: if Dagster pooled its connections itself, this fails
    and the subclass can go."""
    runs = tmp_path / "history" / "runs"
    (tmp_path / "dagster.yaml").write_text(
        "event_log_storage:\n  module: dagster._core.storage.event_log\n  class: SqliteEventLogStorage\n"
        f"  config:\n    base_dir: {runs}\n"
    )
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.event_log_storage) is SqliteEventLogStorage
        results = run_twice(instance)
        events = sum(len(instance.all_logs(r.run_id)) for r in results)
    assert event_log_connections(connections_opened, runs) >= events


def test_runs_read_back_as_stored(home):
    with dg.DagsterInstance.get() as instance:
        first, second = run_twice(instance)
        materialization = instance.get_latest_materialization_event(dg.AssetKey("schools"))
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("schools"), "positive")]
        )
    assert materialization.run_id == second.run_id
    assert materialization.asset_materialization.metadata["rows"].value == 2
    assert next(iter(check.values())).run_id == second.run_id


def test_only_the_most_recently_used_databases_stay_open(tmp_path, monkeypatch):
    monkeypatch.setattr(event_log_storage, "OPEN_DATABASES", 2)
    storage = PooledSqliteEventLogStorage(str(tmp_path))
    for shard in ("run_a", "run_b", "index", "run_c"):
        with storage.run_connection(shard) as conn:
            conn.execute(sa.text("SELECT 1"))
    assert list(storage._engines) == ["index", "run_c"]
    storage.dispose()
    assert not storage._engines


def test_wipe_closes_the_databases_it_deletes(home):
    with dg.DagsterInstance.get() as instance:
        run_twice(instance)
        storage = instance.event_log_storage
        assert storage._engines
        instance.wipe()
        assert not [p for p in (home / "history" / "runs").glob("*.db") if p.name != "index.db"]
        result = dg.materialize([pupils], instance=instance)
        assert result.success and instance.all_logs(result.run_id)


def test_the_default_folder_is_dagsters(tmp_path):
    assert default_base_dir({"DAGSTER_HOME": str(tmp_path)}) == str(tmp_path / "history" / "runs")
    with pytest.raises(dg.DagsterInvariantViolationError, match="DAGSTER_HOME"):
        default_base_dir({})


def test_a_storage_configured_with_no_folder_and_no_dagster_home_says_which_to_set(monkeypatch):
    """dagster.yaml's event_log_storage without base_dir, in a process without DAGSTER_HOME: an error naming both,
    not a TypeError from os.path.join(None, ...)."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(dg.DagsterInvariantViolationError) as failed:
        PooledSqliteEventLogStorage.from_config_value(None, {})
    assert "set base_dir in dagster.yaml or the DAGSTER_HOME environment variable" in str(failed.value)
