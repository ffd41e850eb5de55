"""Dagster's SQLite event log, keeping its database connections open between events.

Dagster's own `SqliteEventLogStorage` creates a SQLAlchemy engine, opens a connection and closes it again for every
write, and again to ask whether the index has a table. A nightly run writes ~1,100 events (each dbt model and test
is an asset materialization or an asset check evaluation, mirrored into the cross-run index database): ~3,400
connections and ~3 s of a 30 s Rutland run, mostly closing them (the last connection to a WAL database checkpoints
it). This subclass keeps one engine per database file it has recently used (a run's own file and the index), with
one pooled connection each, and remembers which tables it found. Everything else is Dagster's: the same files,
schema, WAL journal, busy timeout and a lock so one thread at a time uses a connection, as before.

Durability: its connections commit with `PRAGMA synchronous=NORMAL` instead of SQLite's default FULL, SQLite's
recommended setting for a WAL database: a commit no longer waits for the disk (one fsync per event: ~1 s of a demo
run, alternating A/B runs). A committed event survives a crash of the process; after a power cut or an operating
system crash the last events may be lost, never the file's integrity (https://www.sqlite.org/pragma.html
#pragma_synchronous). A run whose final events were lost shows as unfinished and the next night runs again (its
success hook's record, warehouse/state/last_build.json, is written after them).

Configured in dagster_home/dagster.yaml as the instance's `event_log_storage`, so the CLI run, the daemon's runs
and the webserver all use it. `_connect` is a private member of Dagster's class (dagster 1.13, pinned):
tests/test_event_log_storage.py fails if an upgrade stops routing run and index connections through it, or if
Dagster's own storage starts pooling them (then this module can go). For a deployment with many concurrent runs,
Dagster's answer is Postgres storage, not this.
"""

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

OPEN_DATABASES = 8  # run databases + the index kept open per process; the least recently used is closed


def _commit_without_fsync(dbapi_connection, _record) -> None:
    """SQLAlchemy's connect listener: WAL commits without an fsync each (see the module doc)."""
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def default_base_dir(env=os.environ) -> str:
    """Where Dagster's default SQLite storage keeps run event logs: $DAGSTER_HOME/history/runs."""
    home = env.get("DAGSTER_HOME")
    if not home:
        raise dg.DagsterInvariantViolationError(
            "PooledSqliteEventLogStorage: set base_dir in dagster.yaml or the DAGSTER_HOME environment variable"
        )
    return os.path.join(home, "history", "runs")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` with one open connection per recently used database file (see the module doc)."""

    def __init__(self, base_dir: str | None = None, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_found: set[str] = set()
        super().__init__(base_dir or default_base_dir(), inst_data=inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": dg.Field(dg.StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=QueuePool,
                pool_size=1,
                # the connection is used under self._db_lock, by whichever thread holds it
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            event.listen(engine, "connect", _commit_without_fsync)
        self._engines[shard] = engine  # most recently used last
        while len(self._engines) > OPEN_DATABASES:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        """Dagster asks before each asset event and each step in a pool whether the index has a table (a new
        connection each time). A table once there stays (migrations add tables), so only a miss is asked again."""
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    def close_databases(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self.close_databases()  # the run databases are deleted: no connection may outlive its file
        super().wipe()

    def dispose(self) -> None:
        self.close_databases()
        super().dispose()
