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
