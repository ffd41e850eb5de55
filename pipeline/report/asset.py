"""Dagster asset for the needs-assessment report (the logic is in pipeline.report.build).

Downstream of the published release: it opens only published/send_reporting.duckdb, read-only, so it needs no
place in the DuckDB writer pool. No retries: a failure here is deterministic (a missing release, a bug).

The report's modules (Altair, ~0.1 s to import) are imported by the step, not with the definitions: a run imports
them in the background while dbt works (pipeline/warm_imports.py), and the webserver never needs them.
"""

import dagster as dg

from pipeline.release import RELEASE_KEY
from pipeline.resources import SendWarehouse

REPORT_KEY = dg.AssetKey(["published", "report"])


@dg.asset(
    key=REPORT_KEY,
    group_name="published",
    deps=[RELEASE_KEY],
    kinds={"html"},
    description="The SEND needs-assessment document regenerated from the published release only: "
    "warehouse/published/report/index.html (self-contained HTML, charts as inline SVG; a PDF too when "
    "WeasyPrint is installed), written into the live release folder it was built from. The analysts' sections "
    "come from report/narrative/*.md, their placeholders filled from the release.",
)
def send_report(context: dg.AssetExecutionContext, warehouse: SendWarehouse) -> dg.MaterializeResult:
    from pipeline.report.build import ReportError, build_release_report
    from pipeline.report.narrative import ReportDataError

    published = warehouse.settings.published_dir
    try:
        report = build_release_report(published)
    except (ReportError, ReportDataError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    context.log.info(f"report for release {report.release_id}: {report.path}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(report.path)),
            "release_id": report.release_id,
            "sections": report.sections,
            "tables": report.tables,
            "charts": report.charts,
            "pdf": dg.MetadataValue.path(str(report.pdf)) if report.pdf else "not written (WeasyPrint not installed)",
            # analyst-written sections without a file in report/narrative/ (shown as "section not written")
            "narrative_not_written": ", ".join(report.not_written) or "none",
        }
    )
