"""What the nightly job asks of dbt: `dbt build` incremental while the dbt project is the one that built the
warehouse, `--full-refresh` after it changed; `dbt docs generate` and `dbt parse` only when the project changed."""

import fcntl
import inspect
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from dagster_dbt import DbtCliResource

from pipeline.dbt_assets import (
    SendDbtCliResource,
    build_args,
    built_manifest,
    built_project_version,
    dbt_resource,
    keep_built_manifest,
    prune_run_targets,
)
from pipeline.dbt_docs import DOCS_FILES, DOCS_VERSION, docs_are_current, docs_generate_args
from pipeline.dbt_project import (
    MANIFEST_KEY,
    PARSE_LOCK,
    dbt_executable,
    manifest_is_current,
    manifest_key,
    prepare_dbt_project,
)
from pipeline.nightly_state import dbt_project_version
from pipeline.settings import load_settings


def test_the_same_project_builds_incrementally():
    assert build_args("v1", "v1") == ["build"]


def test_a_changed_or_unknown_project_builds_with_full_refresh():
    assert build_args("v1", "v2") == ["build", "--full-refresh"]
    assert build_args(None, "v2") == ["build", "--full-refresh"]


def test_the_build_record_is_read_or_ignored():
    assert built_project_version('{"dbt_project_version": "v1"}') == "v1"
    assert built_project_version(None) is None
    assert built_project_version("not json") is None
    assert built_project_version("{}") is None


def test_the_project_version_follows_its_files_and_the_home_la(tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(load_settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    before = dbt_project_version(project, "857")
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}")  # dbt's output is not the project
    assert dbt_project_version(project, "857") == before
    assert dbt_project_version(project, "925") != before
    versions = {before}
    for part, pattern in (("seeds", "*.csv"), ("macros", "*.sql"), ("models", "**/*.sql"), ("tests", "**/*.sql"),
                          ("models", "**/*.yml"), (".", "dbt_project.yml"), (".", "profiles.yml")):  # fmt: skip
        changed = next((project / part).glob(pattern))
        changed.write_text(changed.read_text() + "\n")
        versions.add(dbt_project_version(project, "857"))
    assert len(versions) == 8  # each change, a new version


def test_docs_are_current_only_with_every_file_and_the_same_version(tmp_path):
    for name in DOCS_FILES:
        (tmp_path / name).write_text("x")
    assert not docs_are_current(tmp_path, "v1")  # no version stamp yet
    (tmp_path / DOCS_VERSION).write_text("v1")
    assert docs_are_current(tmp_path, "v1")
    assert not docs_are_current(tmp_path, "v2")
    (tmp_path / "catalog.json").unlink()
    assert not docs_are_current(tmp_path, "v1")


def test_the_manifest_is_current_only_when_parsed_from_this_version(tmp_path):
    manifest = tmp_path / "manifest.json"
    assert not manifest_is_current(manifest, "v1")
    manifest.write_text("{}")
    assert not manifest_is_current(manifest, "v1")  # parsed, but from what is unknown
    (tmp_path / MANIFEST_KEY).write_text("v1\n")
    assert manifest_is_current(manifest, "v1")
    assert not manifest_is_current(manifest, "v2")


def test_the_manifest_key_follows_the_project_its_folder_and_the_profile(tmp_path):
    profile = {"SEND_DUCKDB_PATH": "/w/send.duckdb", "SEND_DUCKDB_MEMORY_LIMIT": "2GB", "UNRELATED": "x"}
    key = manifest_key("v1", tmp_path, profile)
    assert manifest_key("v1", tmp_path, {**profile, "UNRELATED": "y"}) == key
    assert manifest_key("v2", tmp_path, profile) != key
    assert manifest_key("v1", tmp_path / "moved", profile) != key  # seeds are cached with their absolute path
    assert manifest_key("v1", tmp_path, {**profile, "SEND_DUCKDB_PATH": "/other/send.duckdb"}) != key
    assert manifest_key("v1", tmp_path, {**profile, "SEND_DUCKDB_MEMORY_LIMIT": "4GB"}) != key


def test_a_prepared_project_leaves_dbt_nothing_to_parse(tmp_path):
    """The nightly build starts from the parse cache prepare_dbt_project made: nothing to re-parse, seeds included
    (dagster-dbt's preparer marks them changed), as long as the profile is the same."""
    # patch.dict puts os.environ back afterwards, including what prepare_dbt_project exports for dbt
    with mock.patch.dict(os.environ, {"SEND_WAREHOUSE_DIR": str(tmp_path / "warehouse")}):
        manifest = prepare_dbt_project(force=True)
        project = manifest.parent.parent
        parsed = subprocess.run(
            [dbt_executable(), "parse", "--project-dir", str(project), "--profiles-dir", str(project),
             "--target-path", str(manifest.parent), "--log-path", str(tmp_path),
             "--log-level-file", "debug"],  # dbt_project.yml keeps dbt.log at info; usage events log at debug
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    log = (tmp_path / "dbt.log").read_text()
    assert "Nothing changed, skipping partial parsing" in log, parsed.stdout[-2000:]
    assert "Sending event" not in log  # dbt_project.yml turns dbt's usage events off for a plain `dbt` too


def test_a_second_process_waits_for_the_parse_of_the_first(tmp_path):
    """The webserver and the daemon load the definitions at once: prepare_dbt_project takes target/'s parse lock,
    so a second process waits (seen in /proc/locks as a blocked flock) instead of writing target/ alongside."""
    with mock.patch.dict(os.environ, {"SEND_WAREHOUSE_DIR": str(tmp_path / "warehouse")}):
        manifest = prepare_dbt_project()
        with (manifest.parent / PARSE_LOCK).open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # as if a parse were running
            second = subprocess.Popen([sys.executable, "-m", "pipeline.dbt_project"], stdout=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 120
                while f" -> FLOCK  ADVISORY  WRITE {second.pid} " not in Path("/proc/locks").read_text():
                    assert second.poll() is None, "the second process did not wait for the lock"
                    assert time.monotonic() < deadline, "the second process never reached the lock"
                    time.sleep(0.1)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        out, _ = second.communicate(timeout=120)
    assert second.returncode == 0 and out.strip() == str(manifest)


def broken_project_copy(tmp_path: Path) -> tuple[Path, str]:
    """A copy of the dbt project with a Jinja syntax error in one model; the copy and the model's path in it."""
    project = tmp_path / "dbt_project"
    shutil.copytree(load_settings().dbt_project_dir, project, ignore=shutil.ignore_patterns("target", "logs"))
    model = "models/marts/census/fct_send_provision.sql"
    (project / model).write_text((project / model).read_text() + "\n{{ config(materialized='table' }}\n")
    return project, model


def test_a_failed_dbt_parse_names_the_project_and_the_broken_model(tmp_path, monkeypatch):
    """`dbt parse` of a project with a broken model: a RuntimeError naming the project folder and the model's file,
    without the pseudonym key, and no manifest key written (the next start parses again)."""
    import pipeline.dbt_project as dbt_project_module

    project, model = broken_project_copy(tmp_path)
    key = "never-in-a-message-0123456789"
    environ = {"SEND_DBT_PROJECT_DIR": str(project), "SEND_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
               "SEND_PSEUDONYM_KEY": key}  # fmt: skip
    with mock.patch.dict(os.environ, environ):
        monkeypatch.setattr(dbt_project_module, "dbt_project", dbt_project_module._project())
        with pytest.raises(RuntimeError, match=f"^dbt parse failed in {re.escape(str(project))}:") as failed:
            prepare_dbt_project()
    assert f"Compilation Error in model fct_send_provision ({model})" in str(failed.value)
    assert key not in str(failed.value)
    assert "\x1b[" not in str(failed.value)  # no terminal colour codes in an error a log or the UI shows
    assert not (project / "target" / MANIFEST_KEY).exists()


def test_a_failed_docs_build_fails_the_step_naming_the_model_and_the_log_and_keeps_the_old_docs(tmp_path):
    """The dbt docs asset over a project with a broken model: a dg.Failure (not retried: dbt's failures are
    deterministic) naming the command, the model's file and dbt's log, without the pseudonym key; the docs the
    last good project made stay where they are."""
    import dagster as dg

    from pipeline.dbt_docs import dbt_docs
    from pipeline.resources import SendWarehouse

    project, model = broken_project_copy(tmp_path)
    warehouse, key = tmp_path / "warehouse", "never-in-a-message-0123456789"
    docs = warehouse / "docs"
    docs.mkdir(parents=True)
    for name in (*DOCS_FILES, DOCS_VERSION):
        (docs / name).write_text("the last good docs")
    environ = {"SEND_DBT_PROJECT_DIR": str(project), "SEND_PSEUDONYM_KEY": key}
    with mock.patch.dict(os.environ, environ), pytest.raises(dg.Failure) as failed:
        dg.materialize([dbt_docs], resources={"warehouse": SendWarehouse(warehouse_dir=str(warehouse))})
    message = failed.value.description
    assert message.startswith("dbt docs generate --static failed: ")
    assert f"({model})" in message and key not in message
    assert message.endswith(f"(dbt log: {warehouse / '.docs-building' / 'dbt.log'})")
    assert (warehouse / ".docs-building" / "dbt.log").exists()
    assert failed.value.allow_retries is False
    assert {p.name: p.read_text() for p in docs.iterdir()} == dict.fromkeys(
        (*DOCS_FILES, DOCS_VERSION), "the last good docs"
    )


def test_docs_start_from_the_kept_build_manifest_of_the_same_version_only(tmp_path):
    target, kept, building = tmp_path / "target", tmp_path / "kept", tmp_path / "building"
    target.mkdir()
    (target / "manifest.json").write_text('{"built": true}')
    (target / "partial_parse.msgpack").write_bytes(b"cache")
    keep_built_manifest(target, kept, "v1")
    assert built_manifest(kept, "v1") == kept
    assert built_manifest(kept, "v2") is None  # built by another project version: compile again
    assert docs_generate_args(building, built_manifest(kept, "v2")) == ["docs", "generate", "--static"]
    assert not building.exists()
    assert docs_generate_args(building, built_manifest(kept, "v1"))[-1] == "--no-compile"
    assert (building / "manifest.json").read_text() == '{"built": true}'
    assert (building / "partial_parse.msgpack").read_bytes() == b"cache"
    (kept / "manifest.json").unlink()
    assert built_manifest(kept, "v1") is None  # no manifest kept (a build stopped half-way)


def test_only_the_newest_dbt_run_folders_are_kept(tmp_path):
    runs = []
    for age in range(5):  # send_dbt_models-0 is the newest
        folder = tmp_path / f"send_dbt_models-{age}"
        folder.mkdir()
        (folder / "manifest.json").write_text("{}")
        os.utime(folder, (1_000_000 - age, 1_000_000 - age))
        runs.append(folder)
    (tmp_path / "manifest.json").write_text("{}")  # the project's own parse: not a run folder
    (tmp_path / "other-run").mkdir()
    removed = prune_run_targets(tmp_path, "send_dbt_models", keep=3)
    assert sorted(removed) == runs[3:]
    assert [p.exists() for p in runs] == [True, True, True, False, False]
    assert (tmp_path / "manifest.json").exists() and (tmp_path / "other-run").exists()


def test_the_dbt_resource_reports_the_version_dbt_itself_reports():
    printed = subprocess.run([dbt_executable(), "--version"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"installed:\s*(\S+)", printed).group(1) == str(dbt_resource._cli_version)
    assert dbt_resource._cli_version.major == 1  # dbt Core: dagster-dbt takes the adapter path, not Fusion's


def test_the_dbt_resource_overrides_members_dagster_dbt_still_calls():
    # SendDbtCliResource skips `dbt --version` and the in-process adapter by overriding two private members of
    # DbtCliResource; if an upgrade renamed them, the overrides would silently stop applying.
    calls = inspect.getsource(DbtCliResource.cli)
    for member in ("_cli_version", "_initialize_dbt_core_adapter"):
        assert member in vars(DbtCliResource) and f"self.{member}" in calls, member
        assert member in vars(SendDbtCliResource), member
    assert SendDbtCliResource._initialize_dbt_core_adapter(dbt_resource, ["build"]) is None
