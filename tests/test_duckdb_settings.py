"""DuckDB's memory limit and spill folder: one setting (SEND_DUCKDB_MEMORY_LIMIT) for the ingest's connections and
dbt's (profiles.yml reads what pipeline.settings exports), spilling beside send.duckdb (send.duckdb.tmp/)."""

import os

import pytest

from pipeline.resources import SendWarehouse
from pipeline.settings import SettingsError, load_settings


def test_the_memory_limit_defaults_to_2gb_and_spills_under_the_warehouse(tmp_path):
    settings = load_settings({"SEND_WAREHOUSE_DIR": str(tmp_path)})
    assert settings.duckdb_config() == {"memory_limit": "2GB", "temp_directory": str(tmp_path / "send.duckdb.tmp")}


@pytest.mark.parametrize("value", ["1500MB", "3GiB", "2.5GB"])
def test_a_size_is_accepted(tmp_path, value):
    assert load_settings({"SEND_DUCKDB_MEMORY_LIMIT": value}).duckdb_memory_limit == value


@pytest.mark.parametrize("value", ["lots", "2", "-1GB", "2 GB RAM"])
def test_a_value_that_is_not_a_size_is_an_error(value):
    with pytest.raises(SettingsError, match="SEND_DUCKDB_MEMORY_LIMIT"):
        load_settings({"SEND_DUCKDB_MEMORY_LIMIT": value})


def test_the_warehouse_connection_uses_the_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("SEND_DUCKDB_MEMORY_LIMIT", "300MB")
    with SendWarehouse(warehouse_dir=str(tmp_path)).connect() as con:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        temp = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    assert limit.replace(" ", "") in ("286.1MiB", "300.0MB", "300MB")
    assert temp == str(tmp_path / "send.duckdb.tmp")


def test_dbt_gets_the_same_limit_and_spill_folder(tmp_path, monkeypatch):
    for exported in ("SEND_DUCKDB_PATH", "SEND_LA_CODE"):  # restored after the test
        monkeypatch.setenv(exported, os.environ.get(exported, "857" if exported == "SEND_LA_CODE" else ""))
    monkeypatch.setenv("SEND_DUCKDB_MEMORY_LIMIT", "1GB")
    load_settings({**os.environ, "SEND_WAREHOUSE_DIR": str(tmp_path)}).export_for_dbt()
    assert os.environ["SEND_DUCKDB_MEMORY_LIMIT"] == "1GB"
    profiles = (load_settings().dbt_project_dir / "profiles.yml").read_text()
    assert "env_var('SEND_DUCKDB_MEMORY_LIMIT'" in profiles
