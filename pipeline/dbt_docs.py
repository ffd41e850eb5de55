"""dbt docs for BI analysts: every model and column described, rendered to warehouse/docs/ when the dbt project
changed.

Internal (the catalog reads send.duckdb's schemas), never under published/. Not blocking: a docs failure does not
stop publication, which does not depend on it. `dbt docs generate` runs only when the docs were made from
another dbt project version (pipeline.nightly_state: its files and SEND_LA_CODE) or a file is missing: the docs
describe models and columns, which only a project change changes. It starts from the manifest the run's own
`dbt build` kept (`--no-compile`: the build compiled every node already, so the demo's docs take ~1 s, not a
whole compile) and compiles the project itself only when no build of this project version left one.

Unlike `dbt build` (a subprocess of dagster-dbt, whose events become asset materialisations and checks), `dbt docs
generate` runs in this process through dbt's programmatic entry point, `dbtRunner`: it reports nothing to Dagster
but its files, and a second dbt process costs ~1.6 s of Python start and imports (the demo's docs step took 2.6 s);
dbt's modules are imported in the background while `dbt build` runs (pipeline/warm_imports.py). dbt-duckdb keeps
its DuckDB connection in a class attribute after the command; it is closed at once, so the steps after this one can
open send.duckdb with their own settings (DuckDB refuses a second configuration of an open file in one process).
"""

import os
import shutil
from pathlib import Path

import dagster as dg

from pipeline.dbt_assets import BUILT_MANIFEST_DIR, BUILT_MANIFEST_FILES, built_manifest, send_dbt_models
from pipeline.nightly_state import dbt_project_version
from pipeline.resources import DUCKDB_WRITER_POOL, SendWarehouse

DOCS_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json")
DOCS_VERSION = ".dbt_project_version"


def docs_generate_args(building: Path, kept: Path | None) -> list[str]:
    """`dbt docs generate` into ``building``: from the kept build manifest (copied there) when there is one."""
    if kept is None:
        return ["docs", "generate", "--static"]
    building.mkdir(parents=True, exist_ok=True)
    for name in BUILT_MANIFEST_FILES:
        if (kept / name).exists():
            shutil.copy2(kept / name, building / name)
    return ["docs", "generate", "--static", "--no-compile"]


def dbt_in_process(args: list[str], project_dir: Path, target: Path) -> None:
    """Run the dbt command ``args`` in this process, its artifacts and log in ``target``; dg.Failure if it fails.

    The DuckDB connection dbt-duckdb keeps open after the command is closed, whatever the outcome.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    paths = ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--target-path", str(target)]
    quiet = ["--log-path", str(target), "--quiet", "--no-send-anonymous-usage-stats", "--no-use-colors"]
    try:
        result = dbtRunner().invoke([*args, *paths, *quiet])
    finally:
        DuckDBConnectionManager.close_all_connections()
    if not result.success:
        raise dg.Failure(
            f"dbt {' '.join(args)} failed: {result.exception or 'see the log'} (dbt log: {target / 'dbt.log'})",
            allow_retries=False,
        )


def docs_are_current(docs: Path, version: str) -> bool:
    """Every docs file is there and they were generated from dbt project version ``version``."""
    stamp = docs / DOCS_VERSION
    return all((docs / name).exists() for name in DOCS_FILES) and stamp.exists() and stamp.read_text() == version


@dg.asset(
    key=["docs", "dbt_docs"],
    group_name="docs",
    deps=list(send_dbt_models.keys),
    pool=DUCKDB_WRITER_POOL,
    kinds={"dbt"},
    description="`dbt docs generate --static` into warehouse/docs/ (static_index.html opens without a server), "
    "when the dbt project changed.",
)
def dbt_docs(warehouse: SendWarehouse) -> dg.MaterializeResult:
    settings = warehouse.settings
    settings.export_for_dbt()
    docs = settings.warehouse_dir / "docs"
    version = dbt_project_version(settings.dbt_project_dir, settings.la_code)
    path = dg.MetadataValue.path(str(docs / "static_index.html"))
    if docs_are_current(docs, version):
        return dg.MaterializeResult(metadata={"path": path, "regenerated": False})
    building = settings.warehouse_dir / ".docs-building"
    shutil.rmtree(building, ignore_errors=True)
    kept = built_manifest(settings.warehouse_dir / BUILT_MANIFEST_DIR, version)
    dbt_in_process(docs_generate_args(building, kept), settings.dbt_project_dir, building)
    docs.mkdir(exist_ok=True)
    (docs / DOCS_VERSION).unlink(missing_ok=True)
    for name in DOCS_FILES:
        os.replace(building / name, docs / name)
    (docs / DOCS_VERSION).write_text(version)
    shutil.rmtree(building, ignore_errors=True)
    return dg.MaterializeResult(metadata={"path": path, "regenerated": True})
