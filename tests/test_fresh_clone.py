"""The README's first command as a newcomer meets it: a fresh clone of this repository's HEAD and `make demo` in
it, with nothing but Python 3.11, make, git and the package index (its own .venv; no SEND_* setting, no DAGSTER_HOME,
nothing from beside the repository such as ../shared). Slow, as set-up is: it installs every dependency. One clone
per test session; uncommitted changes of a working tree are not in it."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from support import REPO_ROOT

PASSED_ON = ("HOME", "LANG", "LC_ALL", "TMPDIR", "CI", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY",
             "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")  # fmt: skip
SAYS_WHERE = ("internal warehouse", "published release", "report")


def newcomer_env() -> dict:
    """A shell's environment with no setting of the project's and no virtualenv of ours on PATH (pip's own
    settings, such as an index mirror, are kept)."""
    ours = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k in PASSED_ON or k.startswith("PIP_")}
    env["PATH"] = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != ours)
    return env


def make_demo(clone: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "demo"], cwd=clone, env=newcomer_env(), capture_output=True, text=True, timeout=2400)


def said_paths(stdout: str) -> dict[str, Path]:
    """What the run printed as `<what>: <path>` for each thing the README says `make demo` tells."""
    found = {}
    for what in SAYS_WHERE:
        match = re.search(rf"^{what}:\s+(\S+)$", stdout, re.MULTILINE)
        if match:
            found[what] = Path(match.group(1))
    return found


def release_id(published: Path) -> str:
    with duckdb.connect(str(published), read_only=True) as reader:
        return reader.execute("SELECT release_id FROM reporting.release").fetchone()[0]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    if not (REPO_ROOT / ".git").exists() or not all(shutil.which(t) for t in ("git", "make", "python3.11")):
        pytest.skip("needs a git checkout of the repository, git, make and python3.11")
    destination = tmp_path_factory.mktemp("fresh") / "send-warehouse"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(destination)], check=True, timeout=300)
    return destination


@pytest.fixture(scope="module")
def first_demo(clone) -> subprocess.CompletedProcess:
    return make_demo(clone)


def test_make_demo_in_a_fresh_clone_builds_everything_and_says_where(clone, first_demo):
    assert first_demo.returncode == 0, first_demo.stdout[-3000:] + first_demo.stderr[-3000:]
    where = said_paths(first_demo.stdout)
    assert set(where) == set(SAYS_WHERE), first_demo.stdout[-2000:]
    assert all(path.is_file() and path.resolve().is_relative_to(clone.resolve()) for path in where.values()), where
    assert release_id(where["published release"])
    assert (clone / ".venv" / "bin" / "send-pipeline").is_file()
    promised = re.search(r"`raw/<source>/\.\.\.`: ([a-z_, ]+) \|", (clone / "README.md").read_text())
    assert promised, "the README's table of what make demo writes"
    sources = {name.strip() for name in promised.group(1).split(",")}
    assert {p.name for p in (clone / "raw").iterdir() if p.is_dir() and any(p.iterdir())} == sources
    key = re.search(r"^SEND_PSEUDONYM_KEY=(\S+)$", (clone / ".env").read_text(), re.MULTILINE)
    assert key and len(key.group(1)) >= 32


def test_the_demo_run_is_in_the_instance_the_ui_is_opened_on(clone, first_demo, monkeypatch):
    """The demo ends saying how to open the Dagster UI: on dagster_home/, whose instance holds the demo's run (a
    throwaway instance left the UI with no run, no materialization and no check result)."""
    import dagster as dg

    assert first_demo.returncode == 0
    home = clone / "dagster_home"
    assert f"DAGSTER_HOME={home} .venv/bin/dagster dev -m pipeline.definitions" in first_demo.stdout
    # opened as the UI opens it: DAGSTER_HOME names the instance (the run-log storage finds its folder from it)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs(dg.RunsFilter(job_name="nightly"))
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert instance.get_latest_materialization_event(dg.AssetKey(["published", "send_reporting"]))


def test_the_demo_leaves_the_clone_as_git_has_it(clone, first_demo):
    """Everything the demo writes (.venv, raw/, warehouse/, .env, dbt's target) is ignored, nothing tracked changes:
    a newcomer's `git status` stays clean and no extract or key can be committed by accident."""
    assert first_demo.returncode == 0
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True)
    assert status.stdout == ""


def test_make_demo_again_installs_nothing_and_keeps_the_release(clone, first_demo):
    """The same extracts generated again: the ledger finds every file unchanged and the release stays."""
    before = release_id(said_paths(first_demo.stdout)["published release"])
    again = make_demo(clone)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "pip install" not in again.stdout
    assert release_id(said_paths(again.stdout)["published release"]) == before
