"""Helpers shared by the tests that run `send-pipeline` as a user would (a subprocess per command)."""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

SEND_PIPELINE = str(Path(sys.executable).with_name("send-pipeline"))
REPO_ROOT = Path(__file__).resolve().parent.parent


def pipeline_env(root: Path, **overrides: str) -> dict:
    """Environment for a `send-pipeline` subprocess against its own raw/ and warehouse/ under root."""
    env = {
        **os.environ,
        "SEND_RAW_DIR": str(root / "raw"),
        "SEND_WAREHOUSE_DIR": str(root / "warehouse"),
        "SEND_PSEUDONYM_KEY": "test-key-not-secret-0123456789",
        "SEND_DBT_PROJECT_DIR": os.environ.get("SEND_DBT_PROJECT_DIR", str(REPO_ROOT / "dbt_project")),
        **overrides,
    }
    env.pop("DAGSTER_HOME", None)
    (root / "warehouse").mkdir(parents=True, exist_ok=True)
    return env


def send_pipeline(env: dict, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SEND_PIPELINE, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=env["SEND_WAREHOUSE_DIR"]
    )


def generated_and_published(root: Path) -> dict:
    """Generate the Rutland extracts under root and run the pipeline once; returns the environment."""
    env = pipeline_env(root)
    generated = send_pipeline(env, "generate", "--scale", "rutland", "--seed", "2023", "--out", env["SEND_RAW_DIR"])
    assert generated.returncode == 0, generated.stderr[-3000:]
    first = send_pipeline(env, "run")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return env


def dbt(database: Path, work: Path, *args: str, la_code: str = "857", **env: str) -> subprocess.CompletedProcess:
    """`dbt <args>` on the project (SEND_DBT_PROJECT_DIR or the repository's) against one DuckDB file, its target
    and logs under ``work``, for tests that build models without the whole pipeline."""
    project = os.environ.get("SEND_DBT_PROJECT_DIR", str(REPO_ROOT / "dbt_project"))
    command = [str(Path(sys.executable).with_name("dbt")), *args, "--project-dir", project, "--profiles-dir", project,
               "--target-path", str(work / "target"), "--log-path", str(work / "logs")]  # fmt: skip
    environment = {**os.environ, "SEND_DUCKDB_PATH": str(database), "SEND_LA_CODE": la_code, **env}
    return subprocess.run(command, env=environment, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)


def dbt_statuses(work: Path, kind: str | None = None) -> dict[str, str]:
    """unique_id -> status of every node of the last dbt invocation in ``work`` (only ``kind`` nodes, e.g. "test")."""
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"]: r["status"] for r in results if kind is None or r["unique_id"].startswith(f"{kind}.")}


def dbt_test_failures(database: Path, work: Path) -> dict[str, set[str]]:
    """The dbt tests that failed in the last invocation in ``work``: test name -> the columns a failed
    not_null_columns test reports with NULLs (its compiled query re-run on ``database``), empty for other tests."""
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    nodes = json.loads((work / "target" / "manifest.json").read_text())["nodes"]
    failures: dict[str, set[str]] = {}
    with duckdb.connect(str(database), read_only=True) as con:
        for result in results:
            if result["status"] != "fail":
                continue
            node = nodes[result["unique_id"]]
            columns = set()
            if (node.get("test_metadata") or {}).get("name") == "not_null_columns":
                columns = {row[0] for row in con.execute(result["compiled_code"]).fetchall()}
            failures[node["name"]] = columns
    return failures


def nightly_run(instance, status, tags=None):
    """A run of the nightly job recorded in ``instance`` with ``status``; a QUEUED one as the daemon's run queue
    records it (enqueued, with the origin of the code location it runs from)."""
    import dagster as dg
    from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="pipeline.definitions")), "__repository__"
        ),
        "nightly",
    )
    queued = status == dg.DagsterRunStatus.QUEUED
    run = instance.add_run(
        dg.DagsterRun(
            job_name="nightly",
            status=dg.DagsterRunStatus.NOT_STARTED if queued else status,
            tags=tags or {},
            remote_job_origin=origin,
        )
    )
    if queued:
        instance.report_dagster_event(dg.DagsterEvent.job_enqueue(run), run.run_id)
    assert instance.get_run_by_id(run.run_id).status == status
    return run


@contextlib.contextmanager
def checks_passed_instance():
    """A temporary Dagster instance in which every asset the release is built from was materialized, then passed each
    blocking check on it (the release step publishes nothing otherwise: pipeline.release.unpassed_blocking_checks)."""
    import dagster as dg

    from pipeline.definitions import defs
    from pipeline.release import release_inputs

    graph = defs.resolve_asset_graph()
    inputs = release_inputs(graph)
    with dg.instance_for_test() as instance:
        for asset_key in sorted(inputs):
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key))
        for key in graph.get_check_keys_for_assets(inputs):
            if graph.get_check_spec(key).blocking:
                instance.report_runless_asset_event(
                    dg.AssetCheckEvaluation(asset_key=key.asset_key, check_name=key.name, passed=True)
                )
        yield instance
