import os

import duckdb
import pytest

from support import generated_and_published

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="session")
def operations_env(tmp_path_factory) -> dict:
    """A warehouse with one good release, for the operations tests (kept apart from the e2e one)."""
    return generated_and_published(tmp_path_factory.mktemp("operations"))


@pytest.fixture
def con():
    """An in-memory DuckDB connection (the source tests ingest into it)."""
    connection = duckdb.connect()
    yield connection
    connection.close()
