"""`send-dbt` (pipeline/dbt_entry.py): dbt's command line with its imports frozen out of the garbage collector."""

import gc
import subprocess
import sys
from pathlib import Path

import dbt.cli.main
import pytest

from pipeline import dbt_entry
from pipeline.dbt_project import dbt_executable


def test_dbt_runs_with_its_imports_frozen_and_the_collector_on(monkeypatch):
    seen = {}

    def cli():
        seen.update(frozen=gc.get_freeze_count(), threshold=gc.get_threshold(), enabled=gc.isenabled())
        return 3

    monkeypatch.setattr(dbt.cli.main, "cli", cli)
    monkeypatch.setattr(gc, "set_threshold", lambda *t: seen.update(set=t))  # the test process keeps its own
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exited:
            dbt_entry.main()
    finally:
        gc.unfreeze()
        gc.enable()
    assert exited.value.code == 3  # dbt's exit code
    assert seen["frozen"] > 0 and seen["enabled"]
    assert seen["set"][0] == dbt_entry.YOUNG_THRESHOLD


def test_the_pipeline_runs_dbt_through_send_dbt_when_installed():
    assert Path(dbt_executable()) == Path(sys.executable).with_name("send-dbt")


def test_send_dbt_passes_dbt_its_arguments():
    printed = subprocess.run([dbt_executable(), "--help"], capture_output=True, text=True, check=True).stdout
    assert "Usage: send-dbt" in printed and "build" in printed


def test_dbt_itself_is_run_where_send_dbt_is_not_installed(tmp_path, monkeypatch):
    python = tmp_path / "python"
    monkeypatch.setattr(sys, "executable", str(python))
    assert dbt_executable() == "dbt"  # neither beside the interpreter: found on PATH, if anywhere
    (tmp_path / "dbt").touch()
    assert dbt_executable() == str(tmp_path / "dbt")
    (tmp_path / "send-dbt").touch()
    assert dbt_executable() == str(tmp_path / "send-dbt")
