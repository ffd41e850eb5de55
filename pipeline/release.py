"""Dagster asset for the published release (the logic is in pipeline.publish).

pipeline.publish (and the solvers it needs: SciPy, HiGHS) is imported by the step, not with the definitions: a run
imports it in the background while dbt works (pipeline/warm_imports.py), and the webserver never needs it.
"""

import dagster as dg

from pipeline.checks.gx import QUALITY_DIR
from pipeline.published_tables import PUBLISHED_TABLES
from pipeline.resources import TRANSIENT_RETRY, SendWarehouse
from pipeline.sources.asset_support import DUCKDB_WRITER_POOL

RELEASE_KEY = dg.AssetKey(["published", "send_reporting"])


@dg.asset(
    key=RELEASE_KEY,
    group_name="published",
    kinds={"duckdb"},
    retry_policy=TRANSIENT_RETRY,
    pool=DUCKDB_WRITER_POOL,  # it only reads send.duckdb, but DuckDB refuses a reader while another process writes
    deps=[
        *(dg.AssetKey(["marts", spec.mart]) for spec in PUBLISHED_TABLES),
        dg.AssetKey(["staging", "stg_dfe__ehcp_caseload"]),  # the home LA's geography; DfE's public LA figures
        dg.AssetKey(["staging", "stg_dfe__ehcp_sen_needs_all_plans"]),
    ],
    description="BI-facing release warehouse/published/send_reporting.duckdb (schema reporting): suppressed "
    "copies of the marts, swapped in atomically only after every blocking check passed (GX Data Docs of the "
    "checks, passed or failed: warehouse/quality/, internal).",
)
def send_reporting(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    from pipeline.publish import PublicationError, publish

    settings = warehouse.settings
    with warehouse.connect() as con:
        try:
            release = publish(con, settings.published_dir, settings.la_code, settings.warehouse_dir / QUALITY_DIR)
        except PublicationError as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
    context.log.info(f"published release {release.release_id} to {release.path}")
    return dg.MaterializeResult(
        metadata={
            "release_id": release.release_id,
            "path": dg.MetadataValue.path(str(release.path)),
            "tables": dg.MetadataValue.json(release.tables),
            "checks": dg.MetadataValue.json([r.summary() for r in release.checks]),
            "suppression": dg.MetadataValue.json(release.suppression),
            "public_figures": dg.MetadataValue.json(release.public_figures),
        }
    )
