"""The release step publishes only from assets whose blocking checks passed on their latest materialization.

A blocking check stops its downstream steps within the run that evaluates it; the release materialized on its own
(the UI's Materialize, `dagster asset materialize --select published/...`) would have published marts whose
census reconciliation (gx_census_totals) or error-severity dbt test had failed. The step now reads the latest
evaluations from the Dagster instance first. Evaluations here are reported to a real (temporary) instance.
"""

from types import SimpleNamespace

import dagster as dg
import pytest

from pipeline import published_tables
from pipeline.definitions import defs
from pipeline.ees import PublicFigures
from pipeline.published_tables import PUBLISHED_TABLES
from pipeline.release import (
    RELEASE_KEY,
    RELEASE_SOURCES,
    REPORT_KEY,
    evaluated_since_materialized,
    release_inputs,
    unpassed_blocking_checks,
)

from support import checks_passed_instance

GRAPH = defs.resolve_asset_graph()
CENSUS_TOTALS = dg.AssetCheckKey(dg.AssetKey(["marts", "fct_send_primary_need"]), "gx_census_totals")


def blocking_checks() -> list[dg.AssetCheckKey]:
    return [key for key in GRAPH.get_check_keys_for_assets(set(RELEASE_SOURCES)) if GRAPH.get_check_spec(key).blocking]


def materialize(instance, asset_key):
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key))


def evaluate(instance, key, passed=True, severity=dg.AssetCheckSeverity.ERROR):
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(asset_key=key.asset_key, check_name=key.name, passed=passed, severity=severity)
    )


@pytest.fixture
def instance():
    """Every asset the release reads materialized, then every blocking check on them passed."""
    with checks_passed_instance() as instance:
        yield instance


def test_the_blocking_checks_read_are_the_census_totals_and_the_error_severity_dbt_tests():
    keys = blocking_checks()
    assert CENSUS_TOTALS in keys
    assert any(GRAPH.get_check_spec(key).metadata.get("dagster_dbt/unique_id") for key in keys)  # dbt tests
    assert all(key.asset_key in RELEASE_SOURCES for key in keys)


def test_the_gate_reads_every_asset_upstream_of_the_release():
    """A staging model's error-severity test stops the marts built on it only in the run that evaluates it; the
    marts and the release materialized alone later would publish from it: the gate reads it too (the review of 3
    December 2026: only the release's direct sources were read)."""
    inputs = release_inputs(GRAPH)
    assert set(RELEASE_SOURCES) < inputs
    assert {dg.AssetKey(["staging", "stg_census__pupils"]), dg.AssetKey(["raw", "census_pupils"])} <= inputs
    assert RELEASE_KEY not in inputs and REPORT_KEY not in inputs


def test_the_gate_reads_every_relation_the_publication_reads():
    """The published marts, the home LA's geography, and every staging model DfE's public figures are read from
    (the attacker's knowledge: a failed test there would change the suppression), each an asset of the graph."""
    sources = set(RELEASE_SOURCES)
    assert {dg.AssetKey(["marts", spec.mart]) for spec in PUBLISHED_TABLES} <= sources
    assert dg.AssetKey(["intermediate", "int_home_la_geography"]) in sources
    read = {dg.AssetKey(["staging", name]) for name in ("stg_dfe__ehcp_caseload", "stg_dfe__ehcp_sen_needs_all_plans",
                                                         "stg_dfe__ehcp_requests", "stg_dfe__ehcp_newplans",
                                                         "stg_dfe__ehcp_timeliness_20_week")}  # fmt: skip
    assert read <= sources
    assert all(GRAPH.has(key) for key in sources)
    # a blocking dbt test of a model only the public figures read is one the gate asks about
    assert any(key.asset_key == dg.AssetKey(["staging", "stg_dfe__ehcp_requests"]) for key in blocking_checks())


def test_public_figures_relations_are_the_tables_their_queries_read(monkeypatch):
    figures = PublicFigures(name="t", table="t", source="s", match=("time_period",), query="""
        SELECT time_period, value FROM staging.first WHERE old_la_code = $la_code
        UNION ALL
        SELECT time_period, value FROM (SELECT * FROM staging.second WHERE old_la_code = $la_code)
    """)  # fmt: skip
    monkeypatch.setattr(published_tables, "PUBLIC_FIGURES", (figures,))
    assert published_tables.public_figures_relations() == ("staging.first", "staging.second")


def test_passed_checks_on_the_latest_materializations_let_the_release_publish(instance):
    assert unpassed_blocking_checks(instance, GRAPH, RELEASE_SOURCES) == []
    evaluate(instance, CENSUS_TOTALS, passed=False, severity=dg.AssetCheckSeverity.WARN)  # a warning blocks nothing
    assert unpassed_blocking_checks(instance, GRAPH, RELEASE_SOURCES) == []


def test_a_failed_a_stale_or_a_missing_evaluation_is_named(instance):
    evaluate(instance, CENSUS_TOTALS, passed=False)
    dbt_test = next(key for key in blocking_checks() if key.asset_key == dg.AssetKey(["marts", "fct_ehcp_caseload"]))
    materialize(instance, dbt_test.asset_key)  # dbt replaced the mart; its test has not passed since
    stale = [
        f"{key.name} on marts/fct_ehcp_caseload: not evaluated since the asset's latest materialization (run )"
        for key in sorted(blocking_checks(), key=lambda key: key.name)
        if key.asset_key == dbt_test.asset_key
    ]
    assert unpassed_blocking_checks(instance, GRAPH, RELEASE_SOURCES) == [
        *stale,
        "gx_census_totals on marts/fct_send_primary_need: failed (run reported outside a run)",
    ]
    with dg.instance_for_test() as empty:
        assert "gx_census_totals on marts/fct_send_primary_need: no completed evaluation" in unpassed_blocking_checks(
            empty, GRAPH, RELEASE_SOURCES
        )


def census_staging_test() -> dg.AssetCheckKey:
    """A blocking dbt test of the census's staging model, which the release does not read itself."""
    staging = dg.AssetKey(["staging", "stg_census__pupils"])
    return next(
        key
        for key in GRAPH.get_check_keys_for_assets({staging})
        if GRAPH.get_check_spec(key).blocking and GRAPH.get_check_spec(key).metadata.get("dagster_dbt/unique_id")
    )


@pytest.mark.parametrize("failed", [lambda: CENSUS_TOTALS, census_staging_test], ids=["reconciliation", "staging"])
def test_the_release_materialized_alone_after_a_failed_check_publishes_nothing(failed, instance, tmp_path, monkeypatch):
    """As an operator would after reading "select its asset and Materialize": the step fails before it opens
    anything, naming the check and the asset, and the last release stays live. The check may be on a mart the
    release reads (the census reconciliation) or on a model under it (a staging test: the marts were then
    materialized alone, their own tests passing; the gate read only the release's direct sources before 3 December)."""
    monkeypatch.setenv("SEND_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("SEND_RAW_DIR", str(tmp_path / "raw"))
    check = failed()
    evaluate(instance, check, passed=False)
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=instance, asset_selection=[RELEASE_KEY, REPORT_KEY], raise_on_error=False
    )
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert message.startswith("nothing published, the last release stays live: 1 blocking check(s)")
    assert f"{check.name} on {check.asset_key.to_user_string()}: failed" in message
    assert not (tmp_path / "warehouse" / "published").exists()


@dg.asset(key=CENSUS_TOTALS.asset_key)
def primary_need_mart() -> None:
    """A stand-in mart with the same key, so the runs below are real Dagster runs of a small graph."""


@dg.asset_check(asset=CENSUS_TOTALS.asset_key, name=CENSUS_TOTALS.name, blocking=True)
def census_totals() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def test_a_check_run_with_its_mart_is_current_until_a_run_rematerializes_the_mart_alone():
    """In runs (not reported outside one) the evaluation names the materialization it checked: the mart and its
    check in one run let the release publish; the mart rebuilt alone in a later run (`dagster asset materialize
    --select marts/...`) leaves the check's evaluation on the replaced table, and the release is refused."""
    graph = dg.Definitions(assets=[primary_need_mart], asset_checks=[census_totals]).resolve_asset_graph()
    with dg.instance_for_test() as instance:
        assert dg.materialize([primary_need_mart, census_totals], instance=instance).success
        assert unpassed_blocking_checks(instance, graph, [CENSUS_TOTALS.asset_key]) == []
        again = dg.materialize([primary_need_mart], instance=instance, selection=[CENSUS_TOTALS.asset_key])
        assert again.success
        assert unpassed_blocking_checks(instance, graph, [CENSUS_TOTALS.asset_key]) == [
            "gx_census_totals on marts/fct_send_primary_need: not evaluated since the asset's latest "
            f"materialization (run {again.run_id})"
        ]


def test_an_evaluation_naming_no_materialization_is_current_in_the_same_run_else_by_time():
    """The fallbacks, as the UI decides: an evaluation made in the materialization's run counts even if its clock
    reads earlier; one from another run counts only when made after it."""
    evaluation = dg.AssetCheckEvaluation(asset_key=CENSUS_TOTALS.asset_key, check_name=CENSUS_TOTALS.name, passed=True)
    materialized = SimpleNamespace(run_id="run-2", timestamp=200.0, storage_id=7)

    def made(run_id, timestamp):
        return SimpleNamespace(run_id=run_id, event=SimpleNamespace(timestamp=timestamp))

    assert evaluated_since_materialized(made("run-2", 199.0), evaluation, materialized)
    assert not evaluated_since_materialized(made("run-1", 199.0), evaluation, materialized)
    assert evaluated_since_materialized(made(None, 201.0), evaluation, materialized)
    assert evaluated_since_materialized(made("run-1", 199.0), evaluation, None)  # never materialized
