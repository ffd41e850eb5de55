"""One place that reads the environment. Dagster resources and dbt's profiles.yml read the same variables.

| variable | default | meaning |
|---|---|---|
| SEND_RAW_DIR | raw | drop zone of the raw extracts |
| SEND_WAREHOUSE_DIR | warehouse | internal DuckDB file and published/ release |
| SEND_LA_CODE | 857 | old (3-digit) DfE code of the home local authority (857 = Rutland) |
| SEND_PSEUDONYM_KEY | (none) | secret key of the keyed HMAC that pseudonymises identifiers at ingest |
| SEND_DBT_PROJECT_DIR | dbt_project beside the package | the dbt project to build |
| SEND_DUCKDB_PATH | set by this module | absolute path of send.duckdb, read by dbt's profiles.yml |
| SEND_DUCKDB_MEMORY_LIMIT | 2GB | DuckDB memory_limit of every connection that writes send.duckdb (dbt's too); above it
DuckDB spills to warehouse/send.duckdb.tmp/ |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MIN_KEY_BYTES = 16
DEFAULT_DUCKDB_MEMORY_LIMIT = "2GB"
# The folders under duckdb_temp_dir an ingest stages a file in while it reads it (raw identifiers in them):
# pipeline.extract_reader makes and removes them; a run killed mid-file leaves one (pipeline.nightly_state).
STAGING_PREFIX = "send-ingest-"


class SettingsError(RuntimeError):
    """The environment does not describe a runnable pipeline."""


@dataclass(frozen=True)
class Settings:
    raw_dir: Path
    warehouse_dir: Path
    la_code: str
    dbt_project_dir: Path
    duckdb_memory_limit: str = DEFAULT_DUCKDB_MEMORY_LIMIT

    @property
    def seeds_dir(self) -> Path:
        return self.dbt_project_dir / "seeds"  # as seeds_dir() below

    @property
    def duckdb_path(self) -> Path:
        return self.warehouse_dir / "send.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.warehouse_dir / "published"

    @property
    def reporting_path(self) -> Path:
        return self.published_dir / "send_reporting.duckdb"

    @property
    def duckdb_temp_dir(self) -> Path:
        """Where DuckDB spills what does not fit in memory_limit: beside send.duckdb (DuckDB's own default for a
        database file, which dbt's connections use too: they may not set it again once a spill used it)."""
        return self.warehouse_dir / "send.duckdb.tmp"

    def duckdb_config(self) -> dict[str, str]:
        """duckdb.connect(config=...) for a connection that writes send.duckdb (dbt gets the same via profiles.yml).

        Insertion order is kept here: the ingest numbers rows by their order in the file.
        """
        return {"memory_limit": self.duckdb_memory_limit, "temp_directory": str(self.duckdb_temp_dir)}

    def export_for_dbt(self) -> None:
        """dbt runs as a subprocess that inherits os.environ: give it the same absolute DuckDB path."""
        os.environ["SEND_DUCKDB_PATH"] = str(self.duckdb_path)
        os.environ["SEND_LA_CODE"] = self.la_code
        os.environ["SEND_DUCKDB_MEMORY_LIMIT"] = self.duckdb_memory_limit


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    la_code = env.get("SEND_LA_CODE", "857").strip()
    if not (len(la_code) == 3 and la_code.isdigit()):
        raise SettingsError(f"SEND_LA_CODE must be a 3-digit old LA code such as 857, got {la_code!r}")
    return Settings(
        raw_dir=Path(env.get("SEND_RAW_DIR", "raw")).resolve(),
        warehouse_dir=Path(env.get("SEND_WAREHOUSE_DIR", "warehouse")).resolve(),
        la_code=la_code,
        dbt_project_dir=dbt_project_dir(env),
        duckdb_memory_limit=duckdb_memory_limit(env),
    )


def dbt_project_dir(env: Mapping[str, str] | None = None) -> Path:
    """SEND_DBT_PROJECT_DIR, or the repository's dbt_project/. Read alone, without load_settings' checks of the other
    variables, by code that needs only the project (pipeline.published_tables reads seeds when it is imported)."""
    env = os.environ if env is None else env
    return Path(env.get("SEND_DBT_PROJECT_DIR", REPO_ROOT / "dbt_project")).resolve()


def seeds_dir(env: Mapping[str, str] | None = None) -> Path:
    """The seeds (code lists) of the dbt project the pipeline builds: every reader of a seed finds it here."""
    return dbt_project_dir(env) / "seeds"


def duckdb_memory_limit(env: Mapping[str, str]) -> str:
    """SEND_DUCKDB_MEMORY_LIMIT as DuckDB spells a size (2GB, 1500MB, 3GiB); an unreadable value is an error."""
    value = env.get("SEND_DUCKDB_MEMORY_LIMIT", "").strip() or DEFAULT_DUCKDB_MEMORY_LIMIT
    if not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value, re.IGNORECASE):
        raise SettingsError(f"SEND_DUCKDB_MEMORY_LIMIT must be a size such as 2GB or 1500MB, got {value!r}")
    return value


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
