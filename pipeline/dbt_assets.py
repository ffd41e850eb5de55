"""The dbt project as Dagster assets: one asset per model and seed, dbt tests as asset checks.

The census intermediate int_census_pupils_profiled is incremental by census term. When the dbt project itself (or
SEND_LA_CODE) changed since the last full `dbt build` of this warehouse, the build runs with --full-refresh, so no
term keeps rows that older SQL or code lists made; the project version built is kept in
warehouse/state/dbt_build.json.
"""

import importlib.metadata
import json
import shutil
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from packaging import version

from pipeline.dbt_project import dbt_executable, dbt_project, prepare_dbt_project
from pipeline.nightly_state import dbt_project_version
from pipeline.resources import DUCKDB_WRITER_POOL, SendWarehouse
from pipeline.warm_imports import import_in_background

DBT_BUILD_RECORD = "state/dbt_build.json"
# The manifest of the last whole-project build (compiled SQL of every node) and its parse cache: `dbt docs
# generate --no-compile` starts from them instead of compiling the whole project again (pipeline/dbt_docs.py).
BUILT_MANIFEST_DIR = "state/dbt_built"
BUILT_MANIFEST_FILES = ("manifest.json", "partial_parse.msgpack")
# dagster-dbt gives every invocation its own target folder (<asset>-<run id>-<hash>: compiled SQL, run results,
# manifest, log; ~9 MB for the demo's build, `du -sh` 9.3M each, ~28 MB for the three kept); the newest few are kept
# for debugging, older ones are removed after each build.
RUN_TARGETS_KEPT = 3

# `dagster dev` re-parses on load; elsewhere parse only when the manifest is missing or stale (a cached manifest
# keyed on the project's file hashes, its folder and the dbt profile, pipeline/dbt_project.py).
dbt_project.prepare_if_dev()
prepare_dbt_project()


class SendDbtTranslator(DagsterDbtTranslator):
    """Groups in the UI follow the dbt folders: staging, intermediate, marts; seeds are reference data."""

    def get_group_name(self, dbt_resource_props) -> str:
        if dbt_resource_props.get("resource_type") == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


class SendDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two set-up costs this project never uses (~2.3 s per invocation).

    - `_cli_version`: dagster-dbt runs `dbt --version` in a subprocess (~1.4 s) to tell dbt Core from the Fusion
      engine; the executable here is always the dbt-core installed beside this interpreter (`dbt_executable`),
      so its version is the installed package's.
    - `_initialize_dbt_core_adapter`: an in-process dbt adapter (~1 s: profile, plugin, macros) that dagster-dbt
      uses only for `fetch_column_metadata` / `fetch_row_counts`, which these assets do not call.

    Both are private members of DbtCliResource (dagster-dbt 0.29, pinned); tests/test_dbt_rebuilds.py fails if
    an upgrade renames them, so the overrides cannot silently stop applying.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - the base class's signature
        return None


dbt_resource = SendDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


def build_args(built_version: str | None, current_version: str) -> list[str]:
    """`dbt build`, with --full-refresh unless this warehouse was last built by this very project version."""
    return ["build"] if built_version == current_version else ["build", "--full-refresh"]


def keep_built_manifest(target: Path, kept: Path, version: str) -> None:
    """Copy a build's manifest and parse cache from its dbt target folder to ``kept``, stamped with ``version``."""
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    for name in BUILT_MANIFEST_FILES:
        if (target / name).exists():
            shutil.copy2(target / name, kept / name)
    (kept / "dbt_project_version").write_text(version)


def prune_run_targets(target: Path, prefix: str, keep: int = RUN_TARGETS_KEPT) -> list[Path]:
    """Remove all but the ``keep`` newest invocation folders ``<prefix>-*`` of a dbt target folder; the removed."""
    runs = sorted((p for p in target.glob(f"{prefix}-*") if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for folder in runs[keep:]:
        shutil.rmtree(folder, ignore_errors=True)
    return runs[keep:]


def built_manifest(kept: Path, version: str) -> Path | None:
    """The kept manifest folder when it holds a manifest built by dbt project version ``version``, else None."""
    stamp = kept / "dbt_project_version"
    if (kept / "manifest.json").exists() and stamp.exists() and stamp.read_text() == version:
        return kept
    return None


def built_project_version(record_text: str | None) -> str | None:
    try:
        return json.loads(record_text)["dbt_project_version"] if record_text else None
    except (ValueError, KeyError, TypeError):
        return None


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=SendDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=True)
    ),
    pool=DUCKDB_WRITER_POOL,
)
def send_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: SendWarehouse):
    """`dbt build` (seeds, models and their tests) once per run over the selected models."""
    settings = warehouse.settings
    settings.export_for_dbt()
    record = settings.warehouse_dir / DBT_BUILD_RECORD
    current = dbt_project_version(settings.dbt_project_dir, settings.la_code)
    built = built_project_version(record.read_text() if record.exists() else None)
    args = build_args(built, current)
    if "--full-refresh" in args:
        context.log.info("the dbt project changed since this warehouse was built: dbt build --full-refresh")
    whole_project = set(context.selected_asset_keys) == set(send_dbt_models.keys)
    kept = settings.warehouse_dir / BUILT_MANIFEST_DIR
    if whole_project:
        record.unlink(missing_ok=True)  # a build stopped half-way is followed by a full refresh
        shutil.rmtree(kept, ignore_errors=True)
    invocation = dbt.cli(args, context=context)
    import_in_background()  # what the steps after dbt import, while this process waits for dbt
    try:
        yield from invocation.stream()
    finally:
        # dagster-dbt names each invocation's folder <op name>-<run id>-<hash>
        prune_run_targets(invocation.target_path.parent, context.op_execution_context.op.name)
    if whole_project:
        keep_built_manifest(invocation.target_path, kept, current)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"dbt_project_version": current}) + "\n")
