"""One place that reads the environment. Dagster resources and dbt's profiles.yml read the same variables.

| variable | default | meaning |
|---|---|---|
| SEND_RAW_DIR | raw | drop zone of the raw extracts |
| SEND_WAREHOUSE_DIR | warehouse | internal DuckDB file and published/ release |
| SEND_LA_CODE | 857 | old (3-digit) DfE code of the home local authority (857 = Rutland) |
| SEND_PSEUDONYM_KEY | (none) | secret key of the keyed HMAC that pseudonymises identifiers at ingest |
| SEND_DBT_PROJECT_DIR | dbt_project beside the package | the dbt project to build |
| SEND_DUCKDB_PATH | set by this module | absolute path of send.duckdb, read by dbt's profiles.yml |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MIN_KEY_BYTES = 16


class SettingsError(RuntimeError):
    """The environment does not describe a runnable pipeline."""


@dataclass(frozen=True)
class Settings:
    raw_dir: Path
    warehouse_dir: Path
    la_code: str
    dbt_project_dir: Path

    @property
    def duckdb_path(self) -> Path:
        return self.warehouse_dir / "send.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.warehouse_dir / "published"

    @property
    def reporting_path(self) -> Path:
        return self.published_dir / "send_reporting.duckdb"

    def export_for_dbt(self) -> None:
        """dbt runs as a subprocess that inherits os.environ: give it the same absolute DuckDB path."""
        os.environ["SEND_DUCKDB_PATH"] = str(self.duckdb_path)
        os.environ["SEND_LA_CODE"] = self.la_code


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    la_code = env.get("SEND_LA_CODE", "857").strip()
    if not (len(la_code) == 3 and la_code.isdigit()):
        raise SettingsError(f"SEND_LA_CODE must be a 3-digit old LA code such as 857, got {la_code!r}")
    return Settings(
        raw_dir=Path(env.get("SEND_RAW_DIR", "raw")).resolve(),
        warehouse_dir=Path(env.get("SEND_WAREHOUSE_DIR", "warehouse")).resolve(),
        la_code=la_code,
        dbt_project_dir=Path(env.get("SEND_DBT_PROJECT_DIR", REPO_ROOT / "dbt_project")).resolve(),
    )


def pseudonym_key(env: Mapping[str, str] | None = None) -> bytes:
    """The HMAC key, from the environment only (never from a file in the repo, never logged)."""
    env = os.environ if env is None else env
    key = env.get("SEND_PSEUDONYM_KEY", "")
    if len(key.encode()) < MIN_KEY_BYTES:
        raise SettingsError(
            "SEND_PSEUDONYM_KEY is not set or shorter than 16 bytes. Set it to a long random secret "
            "(`send-pipeline demo` writes one to .env for local use)."
        )
    return key.encode()
