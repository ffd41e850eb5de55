"""Dagster assets for the published release and its report, made in one step (the logic is in pipeline.publish and
pipeline.report.build).

One step, because publication is atomic, the report included: the report is built from the new release's own
send_reporting.duckdb inside the release's folder before the folder is swapped in, so a reader of
warehouse/published never finds a release without its report, nor one release's report beside another's data; a
report that cannot be built stops the release as a failed check does, and the last good release and its report stay
live.

Blocking checks block the release whatever selected it: a blocking check (gx_census_totals, a dbt test of severity
error) stops its downstream steps only within the run that evaluates it, so the release materialized alone (the UI's
Materialize, `dagster asset materialize`) would have published marts whose reconciliation failed, or that dbt had
replaced before one of their tests failed. Before anything is opened, the step reads the Dagster instance's latest
evaluation of every blocking check on every asset upstream of the release (release_inputs: the marts it reads,
RELEASE_SOURCES, and everything they are built from, down to the ingest, as a staging model's failed test stops the
marts built on it only in the run that evaluates it): each must have passed (or failed with severity WARN) and have
been made after that asset's latest materialization; otherwise the step fails naming the checks and assets, and the
last release stays live.

pipeline.publish (and the solvers it needs: SciPy, HiGHS) and the report's modules (Altair) are imported by the step,
not with the definitions: a run imports them in the background while dbt works (pipeline/warm_imports.py), and the
webserver never needs them.
"""

import dagster as dg

from pipeline.checks.gx import QUALITY_DIR
from pipeline.published_tables import PUBLISHED_TABLES, public_figures_relations
from pipeline.resources import DUCKDB_WRITER_POOL, TRANSIENT_RETRY, SendWarehouse, stops_not_retried

RELEASE_KEY = dg.AssetKey(["published", "send_reporting"])
REPORT_KEY = dg.AssetKey(["published", "report"])
RELEASE_STEP = "publish_release"  # the step that makes both
# The GX suites every release is validated with before the swap (pipeline.publish.run_checks), each an asset check
# of the release: the UI shows them beside gx_census_totals, passed or failed.
RELEASE_SUITES = {
    "published_counts": "GX suite published_counts: every count cell of the release is 0, a whole number of 6 or "
    "more, or a symbol (c, x, z, low), never 1 to 5; every percentage is 0-100 or a symbol. Blocks the swap when it "
    "fails.",
    "published_rates": "GX suite published_rates: a percentage beside a suppressed count or whole, or of fewer "
    "than ten children, is a symbol, never a number (rule 5). Blocks the swap when it fails.",
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


# What the release is built from: its checks' evaluations must be current and passed (unpassed_blocking_checks).
RELEASE_SOURCES = (
    *dict.fromkeys(dg.AssetKey(["marts", spec.mart]) for spec in PUBLISHED_TABLES),
    dg.AssetKey(["intermediate", "int_home_la_geography"]),  # the home LA's geography
    # DfE's public LA figures (the suppression's attacker knows them): the staging models their queries read
    *(dg.AssetKey(relation.split(".")) for relation in public_figures_relations()),
)


def release_inputs(asset_graph) -> set[dg.AssetKey]:
    """Every asset upstream of the release in ``asset_graph``: the ones it reads and all they are built from."""
    return set(asset_graph.get_ancestor_asset_keys(RELEASE_KEY))


def evaluated_since_materialized(record, evaluation: dg.AssetCheckEvaluation, materialized) -> bool:
    """Whether a check evaluation was made against the asset's latest materialization (``materialized``: its
    EventLogRecord, or None when the instance has none), as Dagster's UI decides it: the materialization the
    evaluation names, else the same run, else the evaluation's time."""
    if materialized is None:
        return True
    if evaluation.target_materialization_data is not None:
        return evaluation.target_materialization_data.storage_id >= materialized.storage_id
    if record.run_id and record.run_id == materialized.run_id:
        return True
    return record.event.timestamp > materialized.timestamp


def unpassed_blocking_checks(instance: dg.DagsterInstance, asset_graph, assets) -> list[str]:
    """Each blocking check on ``assets`` (of ``asset_graph``) whose latest evaluation in ``instance`` failed with
    severity ERROR, was made before the asset's latest materialization, or is missing (never run, or planned and not
    completed): `<check> on <asset>: <why>`. Empty when the release may be built from these assets."""
    keys = sorted(
        (key for key in asset_graph.get_check_keys_for_assets(set(assets)) if asset_graph.get_check_spec(key).blocking),
        key=lambda key: (key.asset_key.to_user_string(), key.name),
    )
    if not keys:
        return []
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    materialized = {
        record.asset_entry.asset_key: record.asset_entry.last_materialization_record
        for record in instance.get_asset_records(list({key.asset_key for key in keys}))
    }
    problems = []
    for key in keys:
        name = f"{key.name} on {key.asset_key.to_user_string()}"
        record = latest.get(key)
        evaluation = record.evaluation if record is not None and record.event is not None else None
        if not isinstance(evaluation, dg.AssetCheckEvaluation):  # none, or planned and never completed
            problems.append(f"{name}: no completed evaluation")
        elif not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            problems.append(f"{name}: failed (run {record.run_id or 'reported outside a run'})")
        elif not evaluated_since_materialized(record, evaluation, materialized.get(key.asset_key)):
            run = materialized[key.asset_key].run_id
            problems.append(f"{name}: not evaluated since the asset's latest materialization (run {run})")
    return problems


@dg.multi_asset(
    name=RELEASE_STEP,
    specs=[
        dg.AssetSpec(
            RELEASE_KEY,
            group_name="published",
            kinds={"duckdb"},
            deps=list(RELEASE_SOURCES),
            description="BI-facing release warehouse/published/send_reporting.duckdb (schema reporting), with its EES "
            "CSVs and Parquet files: suppressed copies of the marts, swapped in atomically with the report only after "
            "every blocking check passed and the report was built (GX Data Docs of the checks, passed or failed: "
            "warehouse/quality/, internal). Refused, whatever run selected it, unless the latest evaluation of every "
            "blocking check on the assets it reads passed after their latest materialization.",
        ),
        dg.AssetSpec(
            REPORT_KEY,
            group_name="published",
            kinds={"html"},
            deps=[RELEASE_KEY],
            description="The SEND needs-assessment document built from the published release only, before the "
            "release is swapped in: warehouse/published/report/index.html (self-contained HTML, charts as inline SVG; "
            "a PDF too when WeasyPrint is installed). The analysts' sections come from report/narrative/*.md, their "
            "placeholders filled from the release. A report that cannot be built stops the release.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(f"gx_{suite}", asset=RELEASE_KEY, description=description)
        for suite, description in RELEASE_SUITES.items()
    ],
    retry_policy=TRANSIENT_RETRY,
    pool=DUCKDB_WRITER_POOL,  # it only reads send.duckdb, but DuckDB refuses a reader while another process writes
)
def publish_release(context: dg.AssetExecutionContext, warehouse: SendWarehouse):
    with stops_not_retried():  # a signal while the modules below are imported too (the step is retried otherwise)
        yield from _publish_release(context, warehouse)


def _publish_release(context: dg.AssetExecutionContext, warehouse: SendWarehouse):
    # defs: the code location's whole asset graph (a run of the release alone knows no checks of other assets, and a
    # run executed in process, `send-pipeline run`, no repository)
    from pipeline.definitions import defs
    from pipeline.publish import PublicationError, publish
    from pipeline.report import ReportDataError, ReportError, build_release_report

    graph = defs.resolve_asset_graph()
    if unpassed := unpassed_blocking_checks(context.instance, graph, release_inputs(graph)):
        raise dg.Failure(
            description=f"nothing published, the last release stays live: {len(unpassed)} blocking check(s) on the "
            f"assets the release is built from did not pass on their latest materialization: {'; '.join(unpassed[:10])}"
            f"{f'; and {len(unpassed) - 10} more' if len(unpassed) > 10 else ''}. Run the nightly job (or materialize "
            "the release with everything upstream of it, +published/send_reporting), which evaluates them again",
            allow_retries=False,
        )
    settings = warehouse.settings
    with warehouse.connect() as con:
        try:
            release = publish(
                con,
                settings.published_dir,
                settings.la_code,
                settings.warehouse_dir / QUALITY_DIR,
                write_report=build_release_report,
            )
        except PublicationError as error:
            yield from suite_check_results(result for _, result in error.checks)  # the failed ones among them
            raise dg.Failure(description=str(error), allow_retries=False) from None
        except (ReportError, ReportDataError) as error:
            raise dg.Failure(
                description=f"nothing published, the last release stays live: the report of the new release "
                f"cannot be built: {error}",
                allow_retries=False,
            ) from None
    report = release.report
    context.log.info(f"published release {release.release_id} and its report to {settings.published_dir}")
    yield dg.MaterializeResult(
        asset_key=RELEASE_KEY,
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
    live = settings.published_dir / report.path.parent.name  # report/, inside the release now live
    yield dg.MaterializeResult(
        asset_key=REPORT_KEY,
        metadata={
            "path": dg.MetadataValue.path(str(live / report.path.name)),
            "release_id": report.release_id,
            "sections": report.sections,
            "tables": report.tables,
            "charts": report.charts,
            "pdf": dg.MetadataValue.path(str(live / report.pdf.name))
            if report.pdf
            else "not written (WeasyPrint not installed)",
            # analyst-written sections without a file in report/narrative/ (shown as "section not written")
            "narrative_not_written": ", ".join(report.not_written) or "none",
        },
    )
