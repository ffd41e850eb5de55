"""Dagster resources. Paths come from pipeline.settings, so Dagster, dbt and the CLI agree on every file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from dagster._core.errors import DagsterExecutionInterruptedError  # raised by Dagster on a signal mid-step

from pipeline.settings import Settings, load_settings
from pipeline.stop_signals import StopRequested, stop_received, watching

# For steps that touch files (ingest, publication): a transient failure (a file still being copied into the drop
# zone, a full disk freed later) is retried; a contract or check failure raises dg.Failure(allow_retries=False).
# dbt is not retried: its failures are deterministic.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)
DUCKDB_WRITER_POOL = "send_duckdb_writer"  # pool limit 1 (dagster_home/dagster.yaml): DuckDB has one writer


# A signal that stops a run mid-step (SIGTERM: `timeout`, `systemctl stop`, a scheduler's cancel; or Ctrl-C) reaches
# the step as Dagster's DagsterExecutionInterruptedError (KeyboardInterrupt), which Dagster retries under the step's
# retry policy: `send-pipeline run` went on to publish a release and exited 0. SendWarehouse.connect fails the step
# instead, not to be retried, so nothing downstream runs and the last release stays live.
STOPPED = "the run was told to stop (SIGTERM or Ctrl-C): nothing more is done, and the last release stays live"


def stopped_query(error: BaseException) -> bool:
    """A DuckDB query the signal came during: DuckDB checks for signals while it runs a query, and raises
    RuntimeError('Query interrupted') in place of the exception the signal handler raised (which is lost)."""
    return type(error) is RuntimeError and str(error) == "Query interrupted"


@contextmanager
def stops_not_retried() -> Iterator[None]:
    """Within it, a signal that stops the run fails the step with STOPPED, not to be retried: whether it comes during
    Python code (Dagster's DagsterExecutionInterruptedError), during a DuckDB query (stopped_query), or during native
    code that turned its exception into another or dropped it (pipeline.stop_signals: the block then fails whatever
    it raised, or as it ends)."""
    with watching():
        try:
            yield
        except (KeyboardInterrupt, DagsterExecutionInterruptedError, StopRequested):
            raise dg.Failure(description=STOPPED, allow_retries=False) from None  # a stop, not a transient failure
        except BaseException as error:
            if not (stopped_query(error) or stop_received()):
                raise
            raise dg.Failure(description=STOPPED, allow_retries=False) from None
        if stop_received():  # its exception lost: the step must not pass, nor anything after it run
            raise dg.Failure(description=STOPPED, allow_retries=False)


class SendWarehouse(dg.ConfigurableResource):
    """The internal warehouse (send.duckdb) and the folders around it.

    Empty fields fall back to the environment (SEND_RAW_DIR, SEND_WAREHOUSE_DIR, SEND_LA_CODE).
    """

    raw_dir: str = ""
    warehouse_dir: str = ""
    la_code: str = ""

    @property
    def settings(self) -> Settings:
        overrides = {
            "SEND_RAW_DIR": self.raw_dir,
            "SEND_WAREHOUSE_DIR": self.warehouse_dir,
            "SEND_LA_CODE": self.la_code,
        }
        env = {**os.environ, **{k: v for k, v in overrides.items() if v}}
        return load_settings(env)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """send.duckdb with the memory limit and spill folder of the settings (a national census fits in 2 GB). A
        signal that stops the run while the connection is open fails the step, not to be retried (STOPPED)."""
        settings = self.settings
        path = settings.duckdb_path
        path.parent.mkdir(parents=True, exist_ok=True)
        settings.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only, config=settings.duckdb_config())
        try:
            with stops_not_retried():
                yield con
        finally:
            con.close()
