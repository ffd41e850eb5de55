"""dbt docs for BI analysts: every model and column described, rendered to warehouse/docs/ each run.

Internal (the catalog reads send.duckdb's schemas), never under published/. Not blocking: a docs failure does not
stop publication, which does not depend on it.
"""

import os
import shutil

import dagster as dg
from dagster_dbt import DbtCliResource

from pipeline.dbt import send_dbt_models
from pipeline.resources import SendWarehouse
from pipeline.sources.asset_support import DUCKDB_WRITER_POOL

DOCS_FILES = ("index.html", "static_index.html", "manifest.json", "catalog.json")


@dg.asset(
    key=["docs", "dbt_docs"],
    group_name="docs",
    deps=list(send_dbt_models.keys),
    pool=DUCKDB_WRITER_POOL,
    kinds={"dbt"},
    description="`dbt docs generate --static` into warehouse/docs/ (static_index.html opens without a server).",
)
def dbt_docs(dbt: DbtCliResource, warehouse: SendWarehouse) -> dg.MaterializeResult:
    settings = warehouse.settings
    settings.export_for_dbt()
    building = settings.warehouse_dir / ".docs-building"
    shutil.rmtree(building, ignore_errors=True)
    dbt.cli(["docs", "generate", "--static"], target_path=building).wait()
    docs = settings.warehouse_dir / "docs"
    docs.mkdir(exist_ok=True)
    for name in DOCS_FILES:
        os.replace(building / name, docs / name)
    shutil.rmtree(building, ignore_errors=True)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(docs / "static_index.html"))})
