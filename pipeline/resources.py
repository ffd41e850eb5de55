"""Dagster resources. Paths come from pipeline.settings, so Dagster, dbt and the CLI agree on every file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from pipeline.settings import Settings, load_settings

# For steps that touch files (ingest, publication): a transient failure (a file still being copied into the drop
# zone, a full disk freed later) is retried; a contract or check failure raises dg.Failure(allow_retries=False).
# dbt is not retried: its failures are deterministic.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)
DUCKDB_WRITER_POOL = "send_duckdb_writer"  # pool limit 1 (dagster_home/dagster.yaml): DuckDB has one writer


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
        """send.duckdb with the memory limit and spill folder of the settings (a national census fits in 2 GB)."""
        settings = self.settings
        path = settings.duckdb_path
        path.parent.mkdir(parents=True, exist_ok=True)
        settings.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only, config=settings.duckdb_config())
        try:
            yield con
        finally:
            con.close()
