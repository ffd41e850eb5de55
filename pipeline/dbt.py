"""The dbt project as Dagster assets: one asset per model and seed, dbt tests as asset checks."""

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipeline.dbt_project import dbt_executable, dbt_project, prepare_dbt_project
from pipeline.resources import SendWarehouse
from pipeline.sources.asset_support import DUCKDB_WRITER_POOL

# `dagster dev` re-parses on load; elsewhere parse once if there is no manifest yet (the CLI parses every run).
dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():
    prepare_dbt_project()


class SendDbtTranslator(DagsterDbtTranslator):
    """Groups in the UI follow the dbt folders: staging, intermediate, marts; seeds are reference data."""

    def get_group_name(self, dbt_resource_props) -> str:
        if dbt_resource_props.get("resource_type") == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


dbt_resource = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


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
    warehouse.settings.export_for_dbt()
    yield from dbt.cli(["build"], context=context).stream()
