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
# The GX suites every release is validated with before the swap (pipeline.publish.run_checks), each an asset check
# of the release: the UI shows them beside census_totals, passed or failed.
RELEASE_SUITES = {
    "published_counts": "GX suite published_counts: every count cell of the release is 0, a whole number of 6 or "
    "more, or a symbol (c, x, z, low), never 1 to 5; every percentage is 0-100 or a symbol. Blocks the swap when it "
    "fails.",
    "published_ees": "GX suite published_ees: every time, geography, filter and indicator cell of every table is "
    "present (never null or blank), time identifiers are EES's, dates YYYY-MM-DD. Blocks the swap when it fails.",
    "published_matches_marts": "GX suite published_matches_marts: every published figure that is not a suppression "
    "symbol equals the exact mart value it came from. Blocks the swap when it fails.",
}


def suite_check_results(results) -> list[dg.AssetCheckResult]:
    """One asset check result per suite that ran (a suite run once over the release and again table by table, when
    the first failed, passes only when every run did); metadata: each run's summary, never a cell's value."""
    by_suite: dict[str, list] = {}
    for result in results:
        by_suite.setdefault(result.suite, []).append(result)
    return [
        dg.AssetCheckResult(
            asset_key=RELEASE_KEY,
            check_name=f"gx_{suite}",
            passed=all(r.success for r in runs),
            metadata={"results": dg.MetadataValue.json([r.summary() for r in runs])},
        )
        for suite, runs in by_suite.items()
        if suite in RELEASE_SUITES
    ]


@dg.asset(
    key=RELEASE_KEY,
    group_name="published",
    kinds={"duckdb"},
    retry_policy=TRANSIENT_RETRY,
    check_specs=[
        dg.AssetCheckSpec(f"gx_{suite}", asset=RELEASE_KEY, description=description)
        for suite, description in RELEASE_SUITES.items()
    ],
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
def send_reporting(context: dg.AssetExecutionContext, warehouse: SendWarehouse):
    from pipeline.publish import PublicationError, publish

    settings = warehouse.settings
    with warehouse.connect() as con:
        try:
            release = publish(con, settings.published_dir, settings.la_code, settings.warehouse_dir / QUALITY_DIR)
        except PublicationError as error:
            yield from suite_check_results(result for _, result in error.checks)  # the failed ones among them
            raise dg.Failure(description=str(error), allow_retries=False) from None
    context.log.info(f"published release {release.release_id} to {release.path}")
    yield dg.MaterializeResult(
        check_results=suite_check_results(release.checks),
        metadata={
            "release_id": release.release_id,
            "path": dg.MetadataValue.path(str(release.path)),
            "tables": dg.MetadataValue.json(release.tables),
            "checks": dg.MetadataValue.json([r.summary() for r in release.checks]),
            "suppression": dg.MetadataValue.json(release.suppression),
            "public_figures": dg.MetadataValue.json(release.public_figures),
        },
    )
