"""The `send-pipeline` console script: main()'s exit code, and the interpreter left to exit without its final
garbage collection (gc.freeze, ~1.5 s after a nightly run)."""

import gc
import tomllib

import pytest

from pipeline import cli
from pipeline.settings import REPO_ROOT


def test_the_console_script_is_run():
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["send-pipeline"] == "pipeline.cli:run"


@pytest.mark.parametrize("code", [0, 1, 2])
def test_run_exits_with_the_code_of_main_and_freezes_the_heap(monkeypatch, code):
    monkeypatch.setattr(cli, "main", lambda: code)
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exited:
            cli.run()
        assert exited.value.code == code
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("enabled", [True, False])
def test_the_run_imports_without_the_collector_then_freezes_them(enabled):
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()
    try:
        with cli.imports_without_gc():
            assert not gc.isenabled()
            made = [[] for _ in range(1000)]  # objects the imports would make
        assert gc.get_freeze_count() >= len(made)
        assert gc.isenabled() is enabled  # the collector is left as it was
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_collector_is_on_again_when_an_import_fails():
    gc.unfreeze()
    try:
        with pytest.raises(ImportError), cli.imports_without_gc():
            import no_such_module_here  # noqa: F401
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()
